"""Pages of web imports: the jobs of the acting administrator, templates, the upload, the
column-mapping step, progress and the result with its report and activation class list.

A job is read through the imports selectors with the active role, so a job the role may not
see is a 404; every write (the upload, the mapping, a report download, issuing activation
codes) goes through the imports services, which check scope and write the audit row.
"""

import io
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from santong.accounts.models import Role
from santong.accounts.services import ACTIVATION_DAYS
from santong.core.forms import apply_service_errors
from santong.core.views import PAGE_SIZE, actor_for, role_page
from santong.imports import selectors, services
from santong.imports.class_list import write_pdf, write_xlsx
from santong.imports.forms import ClassListForm, MappingForm, UploadForm
from santong.imports.kinds import get_kind, kind_names
from santong.imports.models import ImportJob

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_ERRORS = 100
FINISHED = (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)


def _job(role: Role, pk: int) -> ImportJob:
    job = selectors.job(role=role, job_id=pk)
    if job is None:
        raise Http404(_("导入任务不存在。"))
    return job


def _kind_label(kind: str) -> str:
    try:
        return str(get_kind(kind).label)
    except KeyError:
        raise Http404(_("未知的导入类型。")) from None


def _download(write: Callable[[Path], Path], filename: str, content_type: str) -> FileResponse:
    """A file written to scratch space, sent from memory (templates and class lists are small)
    so nothing is left behind on disk."""
    with tempfile.TemporaryDirectory(prefix="santong-download-") as scratch:
        data = write(Path(scratch) / "download").read_bytes()
    return FileResponse(
        io.BytesIO(data), as_attachment=True, filename=filename, content_type=content_type
    )


def _kinds(request: HttpRequest, role: Role) -> dict[str, str]:
    return services.importable_kinds(actor_for(request, role))


@role_page(admin=True)
def job_list(request: HttpRequest, role: Role) -> HttpResponse:
    page = Paginator(selectors.jobs(role=role), PAGE_SIZE).get_page(request.GET.get("page"))
    page_range = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    return render(
        request,
        "imports/job_list.html",
        {
            "page": page,
            "page_range": page_range,
            "kinds": _kinds(request, role),
            "kind_labels": kind_names(),
        },
    )


@role_page(admin=True)
def template(request: HttpRequest, role: Role, kind: str) -> HttpResponseBase:
    if kind not in _kinds(request, role):
        raise Http404(_("未知的导入类型。"))
    actor = actor_for(request, role)
    return _download(
        lambda out: services.download_template(actor=actor, kind=kind, out=out),
        _("%(kind)s导入模板.xlsx") % {"kind": _kind_label(kind)},
        XLSX,
    )


@role_page(admin=True)
def upload(request: HttpRequest, role: Role, kind: str) -> HttpResponseBase:
    if kind not in _kinds(request, role):
        raise Http404(_("未知的导入类型。"))
    form = UploadForm(request.POST or None, request.FILES or None, role=role, kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.upload_import(
                actor=actor_for(request, role),
                kind=kind,
                upload=form.cleaned_data["file"],
                school=form.cleaned_data.get("school"),
                dry_run=form.cleaned_data["dry_run"],
                strict=form.cleaned_data["strict"],
            )
        except (ValidationError, PermissionDenied) as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("imports:job", pk=job.pk)
    return render(
        request,
        "imports/upload.html",
        {"form": form, "kind": kind, "kind_label": _kind_label(kind), "role": role},
        status=400 if form.errors else 200,
    )


def _status(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "finished": job.status in FINISHED,
        "needs_mapping": selectors.needs_mapping(job),
        "rows_read": job.rows_read,
        "rows_estimated": job.rows_estimated,
        "rows_imported": job.rows_imported,
        "rows_rejected": job.rows_rejected,
        "message": job.message,
    }


@role_page(admin=True)
def job_detail(request: HttpRequest, role: Role, pk: int) -> HttpResponseBase:
    job = _job(role, pk)
    if selectors.needs_mapping(job):
        return redirect("imports:mapping", pk=job.pk)
    context: dict[str, Any] = {"job": job, "kind_label": _kind_label(job.kind)}
    if job.status not in FINISHED:
        context["status"] = _status(job)
        return render(request, "imports/job_progress.html", context)
    context["errors"] = selectors.rejected_rows(role=role, job_id=job.pk, limit=FIRST_ERRORS)
    school = selectors.job_school(role=role, job=job)
    context["school"] = school
    if job.kind in services.PEOPLE_KINDS and not job.options.get("dry_run"):
        context["class_list_form"] = ClassListForm(
            role=role, initial={"school": school.code if school else None}
        )
    return render(request, "imports/job_result.html", context)


@role_page(admin=True)
def job_status(request: HttpRequest, role: Role, pk: int) -> JsonResponse:
    job = _job(role, pk)
    data = _status(job)
    data["url"] = reverse("imports:job", args=[job.pk])
    return JsonResponse(data)


@role_page(admin=True)
def mapping(request: HttpRequest, role: Role, pk: int) -> HttpResponseBase:
    job = _job(role, pk)
    if not selectors.needs_mapping(job):
        return redirect("imports:job", pk=job.pk)
    step = selectors.mapping_step(job)
    form = MappingForm(request.POST or None, step=step)
    problem = ""
    if request.method == "POST" and form.is_valid():
        try:
            result = services.map_columns(
                actor=actor_for(request, role), job=job, choices=form.choices()
            )
        except (ValidationError, PermissionDenied) as exc:
            apply_service_errors(form, exc)
        else:
            if result.complete:
                messages.success(request, _("已按设置的列对应关系重新开始导入。"))
                return redirect("imports:job", pk=job.pk)
            # The columns chosen are kept; the step asks again about what is still missing.
            job.refresh_from_db()
            step = selectors.mapping_step(job)
            form = MappingForm(step=step)
            problem = result.describe()
    return render(
        request,
        "imports/mapping.html",
        {
            "job": job,
            "step": step,
            "form": form,
            "problem": problem,
            "kind_label": _kind_label(job.kind),
        },
        status=400 if form.errors or problem else 200,
    )


@role_page(admin=True)
def report(request: HttpRequest, role: Role, pk: int) -> HttpResponseBase:
    job = _job(role, pk)
    if not job.report:
        raise Http404(_("该任务没有报告。"))
    services.record_report_download(actor=actor_for(request, role), job=job)
    return FileResponse(
        job.report.open("rb"),
        as_attachment=True,
        filename=_("导入报告-%(name)s.xlsx") % {"name": Path(job.source_name).stem},
        content_type=XLSX,
    )


@require_POST
@role_page(admin=True)
def class_list(request: HttpRequest, role: Role, pk: int) -> HttpResponseBase:
    job = _job(role, pk)
    form = ClassListForm(request.POST, role=role)
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("imports:job", pk=job.pk)
    school = form.cleaned_data["school"]
    try:
        codes = services.issue_class_list(actor=actor_for(request, role), job=job, school=school)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
        return redirect("imports:job", pk=job.pk)
    if not codes:
        messages.info(request, _("%(school)s 没有待激活的账号。") % {"school": school.name})
        return redirect("imports:job", pk=job.pk)
    as_pdf = form.cleaned_data["format"] == "pdf"
    writer = write_pdf if as_pdf else write_xlsx
    expires = timezone.now() + timedelta(days=ACTIVATION_DAYS)
    return _download(
        lambda out: writer(codes, out, school=school.name, expires=expires),
        _("%(school)s账号激活名单.%(suffix)s")
        % {"school": school.name, "suffix": "pdf" if as_pdf else "xlsx"},
        "application/pdf" if as_pdf else XLSX,
    )
