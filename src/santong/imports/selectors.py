"""Scoped reads of import jobs: a job belongs to the unit of the role that started it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from santong.accounts.models import Role, User
from santong.accounts.roles import ADMIN_KINDS
from santong.core.scope import subtree_q
from santong.imports.models import ImportIssue, ImportJob
from santong.imports.report import Issue, Severity


def readable_jobs_q(role: Role) -> Q:
    if role.kind in ADMIN_KINDS:
        return subtree_q(role.path)
    return Q(pk__in=[])


def jobs(*, role: Role) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(readable_jobs_q(role)).select_related("created_by", "role")


def job_issues(*, role: Role, job_id: int) -> QuerySet[ImportIssue]:
    return ImportIssue.objects.filter(job__in=jobs(role=role).filter(pk=job_id))


def resumable_job(
    *, kind: str, digest: str, user: User | None, options: dict[str, object]
) -> ImportJob | None:
    """An unfinished import of the same file with the same options by the same person, which
    the command line continues instead of starting over."""
    candidates = ImportJob.objects.filter(
        kind=kind,
        source_digest=digest,
        created_by=user,
        status__in=[ImportJob.Status.RUNNING, ImportJob.Status.QUEUED],
    ).order_by("-created_at", "-id")
    return next((job for job in candidates[:20] if job.options == options), None)


def stored_issues(*, job_id: int, first_row: int, last_row: int) -> list[Issue]:
    """A job's issues for a range of rows, as the pipeline's `Issue` (for rebuilding reports)."""
    return [
        Issue(
            row=i.row_number,
            header=i.header,
            value=i.value,
            message=i.message,
            severity=Severity(i.severity),
            field=i.field,
            suggestion=i.suggestion,
            repaired=i.repaired or None,
        )
        for i in ImportIssue.objects.filter(
            job_id=job_id, row_number__gte=first_row, row_number__lte=last_row
        ).order_by("row_number", "id")
    ]
