"""Writes to import jobs: creating one (audited), an upload from the web or the API, applying a
column mapping, issuing a job's activation codes, and the runner's bookkeeping (claiming a job,
recording each batch with its issues, finishing)."""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts.models import Role
from santong.accounts.roles import REGION_LEVEL
from santong.accounts.services import IssuedCode, issue_activation_codes
from santong.audit.models import AuditEvent
from santong.audit.services import record_event
from santong.core.actors import Actor
from santong.imports.headers import (
    ColumnSpec,
    HeaderMapping,
    apply_mapping,
    find_header_row,
    map_headers,
)
from santong.imports.kinds import get_kind, kind_names
from santong.imports.models import ImportIssue, ImportJob
from santong.imports.pipeline import (
    DEFAULT_BATCH_SIZE,
    HEADER_SCAN_ROWS,
    ImportOutcome,
    Progress,
)
from santong.imports.readers import ImportFileError, open_table
from santong.imports.report import Issue
from santong.imports.selectors import job_spec, needs_mapping
from santong.imports.templates import write_template
from santong.orgs.models import School

ISSUE_TEXT_LIMIT = 500


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _clean_options(options: dict[str, Any]) -> dict[str, Any]:
    allowed = {"dry_run", "strict", "sheet", "school", "ignore_unknown", "batch_size", "mapping"}
    unknown = set(options) - allowed
    if unknown:
        raise ValidationError(
            {"options": _("未知的导入选项：%(names)s") % {"names": "、".join(sorted(unknown))}}
        )
    cleaned = dict(options)
    cleaned["dry_run"] = bool(options.get("dry_run", False))
    cleaned["strict"] = bool(options.get("strict", False))
    cleaned["ignore_unknown"] = bool(options.get("ignore_unknown", False))
    cleaned["batch_size"] = int(options.get("batch_size", DEFAULT_BATCH_SIZE))
    if not 1 <= cleaned["batch_size"] <= 100_000:
        raise ValidationError({"options": _("每批行数应在1到100000之间。")})
    return cleaned


@transaction.atomic
def create_import_job(
    *,
    actor: Actor,
    kind: str,
    options: dict[str, Any],
    source_path: Path | None = None,
    upload: UploadedFile[bytes] | None = None,
) -> ImportJob:
    """A queued import of an uploaded file, or of a local file (the command line), by `actor`."""
    actor.require_admin()
    if kind not in kind_names():
        raise ValidationError({"kind": _("未知的导入类型：%(kind)s") % {"kind": kind}})
    if (source_path is None) == (upload is None):
        raise ValidationError({"file": _("请提供一个文件。")})
    job = ImportJob(
        kind=kind,
        options=_clean_options(options),
        created_by=actor.user,
        role=actor.role,
        role_label=str(actor.role)[:100] if actor.role is not None else "",
        path=actor.scope_path or "",
    )
    if upload is not None:
        job.source_name = Path(upload.name or "upload").name[:255]
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        job.source_digest = digest.hexdigest()
        upload.seek(0)
        job.file.save(job.source_name, upload, save=False)
    else:
        assert source_path is not None
        resolved = source_path.resolve()
        job.source_name = resolved.name[:255]
        job.source_path = str(resolved)
        job.source_digest = file_digest(resolved)
    job.save()
    record_event(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=job,
        path=job.path,
        detail={"kind": kind, "file": job.source_name, "options": job.options},
    )
    return job


@transaction.atomic
def apply_header_mapping(
    *, actor: Actor, job: ImportJob, choices: dict[int, str | None]
) -> HeaderMapping:
    """Answers a job's column-mapping step: `choices` maps file columns to fields (or None to
    ignore a column). When the result is complete the job is queued again with it."""
    actor.require_admin()
    actor.require_within(job.path or "")
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if not needs_mapping(job):
        raise ValidationError({"mapping": _("该任务不需要设置列对应关系。")})
    assert job.header_mapping is not None
    try:
        mapping = apply_mapping(job_spec(job), HeaderMapping.from_json(job.header_mapping), choices)
    except ValueError as exc:
        raise ValidationError({"mapping": str(exc)}) from exc
    job.header_mapping = mapping.to_json()
    if mapping.complete:
        job.options = {**job.options, "mapping": mapping.to_json(), "ignore_unknown": True}
        job.status = ImportJob.Status.QUEUED
        job.message = ""
        job.finished_at = None
    job.save(update_fields=["header_mapping", "options", "status", "message", "finished_at"])
    record_event(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=job,
        path=job.path,
        detail={"mapping": {job.header_mapping["headers"][i]: f for i, f in choices.items()}},
    )
    return mapping


# --------------------------------------------------------------------------- uploads

UPLOAD_SUFFIXES = (".xlsx", ".xls", ".csv")

# The roles whose accounts an import of each kind of people opens.
PEOPLE_KINDS: dict[str, tuple[str, ...]] = {
    "students": (Role.Kind.STUDENT,),
    "teachers": (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER),
    "parents": (Role.Kind.PARENT,),
}


# The order the pages offer the kinds in: units before the people in them.
KIND_ORDER = ("schools", "students", "teachers", "parents")


def importable_kinds(actor: Actor) -> dict[str, str]:
    """The kinds `actor` may import, in `KIND_ORDER`: schools only from an education bureau."""
    names = kind_names()
    role = actor.role
    if role is not None and role.kind not in REGION_LEVEL:
        names.pop("schools", None)
    rank = {name: i for i, name in enumerate(KIND_ORDER)}
    return dict(sorted(names.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def check_upload(upload: UploadedFile[bytes]) -> None:
    """Refuses a file the readers cannot take before anything is stored: its type by name,
    an empty file, or one over SANTONG_IMPORT_MAX_BYTES."""
    name = Path(upload.name or "").name
    if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise ValidationError(
            {
                "file": _("文件“%(name)s”的类型不支持，请上传 .xlsx、.xls 或 .csv 文件。")
                % {"name": name}
            }
        )
    size = upload.size or 0
    if size == 0:
        raise ValidationError({"file": _("文件“%(name)s”是空的。") % {"name": name}})
    limit = settings.SANTONG_IMPORT_MAX_BYTES
    if size > limit:
        raise ValidationError(
            {
                "file": _("文件过大（%(size)s），不能超过 %(limit)s。")
                % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
            }
        )


def file_header_mapping(spec: ColumnSpec, path: Path) -> HeaderMapping:
    """How the header row of the file at `path` maps onto `spec`, found the way the pipeline
    finds it (the leading row with the most recognised headers)."""
    with open_table(path) as table:
        head = list(itertools.islice(table.rows(), HEADER_SCAN_ROWS))
    located = find_header_row(spec, ((row.number, row.values) for row in head))
    if located is None:
        located = (head[0].number, head[0].values) if head else (1, [])
    return map_headers(spec, located[1], header_row=located[0])


def _mapping_by_header(
    spec: ColumnSpec, found: HeaderMapping, by_header: Mapping[str, str | None]
) -> HeaderMapping:
    """`found` with the caller's choices, given by header text, applied; refused unless the
    result is complete."""
    positions: dict[str, list[int]] = {}
    for position, header in enumerate(found.headers):
        positions.setdefault(header, []).append(position)
    choices: dict[int, str | None] = {}
    for header, name in by_header.items():
        if header.strip() not in positions:
            raise ValidationError(
                {"mapping": _("文件的表头中没有“%(header)s”列。") % {"header": header}}
            )
        for position in positions[header.strip()]:
            choices[position] = name or None
    try:
        mapping = apply_mapping(spec, found, choices)
    except ValueError as exc:
        raise ValidationError({"mapping": _("列对应关系中有未知的字段。")}) from exc
    if not mapping.complete:
        raise ValidationError({"mapping": mapping.describe()})
    return mapping


@transaction.atomic
def upload_import(
    *,
    actor: Actor,
    kind: str,
    upload: UploadedFile[bytes],
    school: School | None = None,
    dry_run: bool = False,
    strict: bool = False,
    mapping: Mapping[str, str | None] | None = None,
) -> ImportJob:
    """An uploaded file queued as a background import job by `actor` (the web and the API).

    A school administrator's people imports go to its own school; an administrator above may
    name the school, or leave the school to the file's 学校标识码 column. `mapping` (file header
    → field, or None to skip the column) answers the column-mapping step in advance; without
    it, a file whose headers do not match stops at that step. The job starts once the
    transaction commits.
    """
    from santong.imports.jobs import start_job

    actor.require_admin()
    if kind not in importable_kinds(actor):
        raise ValidationError({"kind": _("不能导入这种数据：%(kind)s") % {"kind": kind}})
    check_upload(upload)
    role = actor.role
    if school is not None:
        if kind == "schools":
            raise ValidationError({"school": _("导入学校时不能指定所属学校。")})
        actor.require_within(school.path)
    elif kind != "schools" and role is not None and role.kind == Role.Kind.SCHOOL_ADMIN:
        school = role.school
    options: dict[str, Any] = {"dry_run": dry_run, "strict": strict}
    if school is not None:
        options["school"] = school.code
    job = create_import_job(actor=actor, kind=kind, options=options, upload=upload)
    if mapping:
        spec = job_spec(job)
        try:
            found = file_header_mapping(spec, Path(job.file.path))
            resolved = _mapping_by_header(spec, found, mapping)
        except (ImportFileError, ValidationError) as exc:
            # The job row goes with the transaction; its stored upload must go as well.
            job.file.delete(save=False)
            if isinstance(exc, ImportFileError):
                raise ValidationError({"file": str(exc)}) from exc
            raise
        job.options = {**job.options, "mapping": resolved.to_json(), "ignore_unknown": True}
        job.header_mapping = resolved.to_json()
        job.save(update_fields=["options", "header_mapping"])
    start_job(job)
    return job


@transaction.atomic
def map_columns(*, actor: Actor, job: ImportJob, choices: dict[int, str | None]) -> HeaderMapping:
    """The web's column-mapping step: applies the choices and, once the mapping is complete,
    starts the job again with it."""
    from santong.imports.jobs import start_job

    mapping = apply_header_mapping(actor=actor, job=job, choices=choices)
    if mapping.complete:
        start_job(job)
    return mapping


def record_report_download(*, actor: Actor, job: ImportJob) -> None:
    """Audits a download of a job's report: it repeats the file's rows, full ID numbers
    included."""
    actor.require_admin()
    actor.require_within(job.path or "")
    record_event(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        obj=job,
        path=job.path,
        detail={"report": job.report.name, "rows": job.rows_read},
    )


@transaction.atomic
def download_template(*, actor: Actor, kind: str, out: Path) -> Path:
    """Writes `kind`'s import template to `out` for `actor` and audits it as an export: its
    drop-downs list the code tables as `actor` may use them."""
    actor.require_admin()
    if kind not in importable_kinds(actor):
        raise ValidationError({"kind": _("不能导入这种数据：%(kind)s") % {"kind": kind}})
    import_kind = get_kind(kind)
    written = write_template(import_kind, out, actor=actor)
    record_event(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        object_id=kind,
        object_repr=_("%(label)s导入模板") % {"label": import_kind.label},
        path=actor.scope_path or "",
        detail={"template": kind},
    )
    return written


def issue_class_list(*, actor: Actor, job: ImportJob, school: School) -> list[IssuedCode]:
    """New activation codes for the accounts of a people import's kind at `school` that have
    not chosen a password yet (earlier codes stop working); audited by the accounts service."""
    if job.kind not in PEOPLE_KINDS:
        raise ValidationError({"kind": _("这种导入没有账号激活名单。")})
    actor.require_within(job.path or "")
    return issue_activation_codes(actor=actor, path=school.path, kinds=PEOPLE_KINDS[job.kind])


@transaction.atomic
def claim_job(*, job_id: int) -> ImportJob:
    """Marks a job as running in this process; a rerun after a crash keeps its progress."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    now = timezone.now()
    job.status = ImportJob.Status.RUNNING
    job.worker = worker_name()
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.finished_at = None
    job.message = ""
    if job.options.get("strict") or job.options.get("dry_run"):
        # Nothing of a strict or dry run is kept between runs: it starts over.
        job.issues.all().delete()
        job.last_committed_batch = -1
        _set_counts(job, Progress())
    job.save()
    return job


def _set_counts(job: ImportJob, progress: Progress) -> None:
    job.rows_read = progress.rows_read
    job.rows_created = progress.created
    job.rows_updated = progress.updated
    job.rows_unchanged = progress.unchanged
    job.rows_rejected = progress.rejected
    job.rows_warned = progress.warnings
    job.rows_estimated = progress.total_estimate


def _cut(text: str | None, limit: int = ISSUE_TEXT_LIMIT) -> str:
    return (text or "")[:limit]


def record_batch(
    *, job_id: int, batch_index: int, progress: Progress, issues: Sequence[Issue]
) -> None:
    """Stores one batch's issues and the job's progress; the caller holds the batch's
    transaction, so they commit together with the batch's rows or not at all."""
    ImportIssue.objects.bulk_create(
        [
            ImportIssue(
                job_id=job_id,
                row_number=issue.row,
                header=_cut(issue.header, 100),
                field=_cut(issue.field, 64),
                value=_cut(issue.value),
                repaired=_cut(issue.repaired),
                message=_cut(issue.message),
                suggestion=_cut(issue.suggestion, 200),
                severity=issue.severity.value,
            )
            for issue in issues
        ],
        batch_size=2000,
    )
    ImportJob.objects.filter(pk=job_id).update(
        last_committed_batch=batch_index,
        heartbeat_at=timezone.now(),
        rows_read=progress.rows_read,
        rows_created=progress.created,
        rows_updated=progress.updated,
        rows_unchanged=progress.unchanged,
        rows_rejected=progress.rejected,
        rows_warned=progress.warnings,
        rows_estimated=progress.total_estimate,
    )


@transaction.atomic
def finish_job(*, job: ImportJob, outcome: ImportOutcome) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _set_counts(job, outcome.progress)
    job.notes = outcome.notes
    job.header_mapping = outcome.mapping.to_json()
    job.status = ImportJob.Status.FAILED if outcome.strict_refused else ImportJob.Status.SUCCEEDED
    job.message = outcome.message
    job.finished_at = timezone.now()
    if outcome.report is not None:
        with outcome.report.open("rb") as handle:
            name = _("导入报告")
            job.report.save(f"{job.pk}-{name}.xlsx", File(handle), save=False)
    job.save()
    return job


@transaction.atomic
def fail_job(*, job: ImportJob, message: str, mapping: HeaderMapping | None = None) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    job.status = ImportJob.Status.FAILED
    job.message = message
    job.finished_at = timezone.now()
    if mapping is not None:
        job.header_mapping = mapping.to_json()
    job.save()
    return job
