"""Running import jobs: in a background thread on the embedded default (nothing else running),
on Celery workers when `CELERY_BROKER_URL` is set, and in the foreground from the command line.

Whichever runs it, a job reads its file, runs the pipeline with the job as its ledger (each
batch's rows, issues and progress commit together), and ends succeeded or failed with the
reason in Chinese. A job left `running` by a process that died can be run again: it resumes
after its last committed batch.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.core.actors import SYSTEM, Actor
from santong.imports import selectors, services
from santong.imports.headers import HeaderMapping
from santong.imports.kinds import ImportContext, get_kind
from santong.imports.models import ImportJob
from santong.imports.pipeline import HeaderMismatchError, Progress, run_import
from santong.imports.readers import ImportFileError
from santong.imports.report import Issue

logger = logging.getLogger(__name__)

# A job on another machine whose heartbeat is older than this is taken to be dead.
STALE_AFTER = timedelta(minutes=10)


class JobLedger:
    """The pipeline's ledger backed by an `ImportJob` row and its issues."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job

    @property
    def resume_after(self) -> int:
        return self.job.last_committed_batch

    def restored_progress(self) -> Progress:
        job = self.job
        return Progress(
            rows_read=job.rows_read,
            created=job.rows_created,
            updated=job.rows_updated,
            unchanged=job.rows_unchanged,
            rejected=job.rows_rejected,
            warnings=job.rows_warned,
            batches=job.last_committed_batch + 1,
        )

    def commit(self, *, batch_index: int, progress: Progress, issues: Sequence[Issue]) -> None:
        services.record_batch(
            job_id=self.job.pk, batch_index=batch_index, progress=progress, issues=issues
        )

    def stored_issues(self, first_row: int, last_row: int) -> list[Issue]:
        return selectors.stored_issues(job_id=self.job.pk, first_row=first_row, last_row=last_row)


def job_actor(job: ImportJob) -> Actor:
    """Who the job acts as: the person and role that started it, or the system (command line
    without `--as`)."""
    if job.created_by is None:
        return SYSTEM
    return Actor(user=job.created_by, role=job.role)


def job_source(job: ImportJob) -> Path:
    return Path(job.file.path) if job.file else Path(job.source_path)


def run_job(job_id: int, *, progress: Callable[[Progress], None] | None = None) -> ImportJob:
    """Runs (or resumes) a job in this thread and returns it finished."""
    job = services.claim_job(job_id=job_id)
    options = job.options
    kind = get_kind(job.kind, ImportContext(school_code=options.get("school")))
    mapping = HeaderMapping.from_json(options["mapping"]) if options.get("mapping") else None
    with tempfile.TemporaryDirectory(prefix="santong-import-") as scratch:
        try:
            outcome = run_import(
                kind,
                job_source(job),
                actor=job_actor(job),
                dry_run=options.get("dry_run", False),
                strict=options.get("strict", False),
                progress=progress,
                ledger=JobLedger(job),
                sheet=options.get("sheet"),
                mapping=mapping,
                ignore_unknown=options.get("ignore_unknown", False),
                batch_size=options["batch_size"],
                report_path=Path(scratch) / "report.xlsx",
            )
        except HeaderMismatchError as exc:
            return services.fail_job(job=job, message=str(exc), mapping=exc.mapping)
        except (ImportFileError, PermissionDenied) as exc:
            return services.fail_job(job=job, message=str(exc))
        except ValidationError as exc:
            return services.fail_job(job=job, message="；".join(exc.messages))
        except Exception:
            logger.exception("import job %s failed", job_id)
            return services.fail_job(job=job, message=_("导入时发生内部错误，详情已记入日志。"))
        return services.finish_job(job=job, outcome=outcome)


def start_job(job: ImportJob) -> None:
    """Runs the job once the current transaction has committed (the job row must be visible)."""
    job_id = job.pk
    transaction.on_commit(lambda: dispatch(job_id))


def dispatch(job_id: int) -> None:
    if settings.CELERY_BROKER_URL:
        from santong.imports.tasks import run_import_job

        run_import_job.delay(job_id)
        return
    threading.Thread(
        target=_run_in_thread, args=(job_id,), name=f"import-job-{job_id}", daemon=True
    ).start()


def _run_in_thread(job_id: int) -> None:
    try:
        run_job(job_id)
    finally:
        connections.close_all()


def is_abandoned(job: ImportJob) -> bool:
    """Whether a `running` job's process is gone, so another run may take it over."""
    if job.status != ImportJob.Status.RUNNING:
        return True
    host, _sep, pid = job.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return not any(t.name == f"import-job-{job.pk}" for t in threading.enumerate())
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return job.heartbeat_at is None or job.heartbeat_at < timezone.now() - STALE_AFTER
