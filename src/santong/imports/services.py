"""Writes to import jobs: creating one (audited), applying a column mapping, and the runner's
bookkeeping (claiming a job, recording each batch with its issues, finishing)."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.audit.models import AuditEvent
from santong.audit.services import record_event
from santong.core.actors import Actor
from santong.imports.headers import HeaderMapping, apply_mapping
from santong.imports.kinds import get_kind, kind_names
from santong.imports.models import ImportIssue, ImportJob
from santong.imports.pipeline import DEFAULT_BATCH_SIZE, ImportOutcome, Progress
from santong.imports.report import Issue

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
    if job.header_mapping is None:
        raise ValidationError({"mapping": _("该任务不需要设置列对应关系。")})
    spec = get_kind(job.kind).spec
    try:
        mapping = apply_mapping(spec, HeaderMapping.from_json(job.header_mapping), choices)
    except ValueError as exc:
        raise ValidationError({"mapping": str(exc)}) from exc
    job.header_mapping = mapping.to_json()
    if mapping.complete:
        job.options = {**job.options, "mapping": mapping.to_json(), "ignore_unknown": True}
        job.status = ImportJob.Status.QUEUED
        job.message = ""
    job.save(update_fields=["header_mapping", "options", "status", "message"])
    return mapping


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
            job.report.save(f"{job.pk}-{_('导入报告')}.xlsx", File(handle), save=False)
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
