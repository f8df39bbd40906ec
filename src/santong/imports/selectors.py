"""Scoped reads of import jobs: a job belongs to the unit of the role that started it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from santong.accounts.models import Role, User
from santong.accounts.roles import ADMIN_KINDS
from santong.core.scope import subtree_q
from santong.imports.headers import ColumnSpec, HeaderMapping, normalize_header
from santong.imports.kinds import ImportContext, get_kind
from santong.imports.models import ImportIssue, ImportJob
from santong.imports.report import Issue, Severity
from santong.orgs import selectors as org_selectors
from santong.orgs.models import School


def readable_jobs_q(role: Role) -> Q:
    """An administrator reads the jobs it started in its unit and every job started by a unit
    below it; a fellow administrator of the same unit does not read another's jobs (their
    files and reports hold full ID numbers)."""
    if role.kind in ADMIN_KINDS:
        return subtree_q(role.path) & (Q(created_by_id=role.user_id) | ~Q(path=role.path))
    return Q(pk__in=[])


def jobs(*, role: Role) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(readable_jobs_q(role)).select_related("created_by__person")


def job(*, role: Role, job_id: int) -> ImportJob | None:
    return jobs(role=role).filter(pk=job_id).first()


def job_school(*, role: Role, job: ImportJob) -> School | None:
    """The school a job imported into, when it named one the role can see."""
    code = job.options.get("school")
    return org_selectors.schools(role=role).filter(code=code).first() if code else None


def rejected_rows(*, role: Role, job_id: int, limit: int) -> list[ImportIssue]:
    """The first errors of a job, in row order, for its result page."""
    return list(
        job_issues(role=role, job_id=job_id)
        .filter(severity=ImportIssue.Severity.ERROR)
        .order_by("row_number", "id")[:limit]
    )


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


def job_spec(job: ImportJob) -> ColumnSpec:
    """The columns of a job's kind with the job's options (a target school makes the school
    column optional)."""
    return get_kind(job.kind, ImportContext(school_code=job.options.get("school"))).spec


def needs_mapping(job: ImportJob) -> bool:
    """Whether a job stopped before reading any row because the file's headers did not match,
    and waits for its column-mapping step."""
    if job.status != ImportJob.Status.FAILED or job.rows_read or job.header_mapping is None:
        return False
    return not HeaderMapping.from_json(job.header_mapping).exact


@dataclass(frozen=True)
class MappingColumn:
    """A column of the file the mapping step asks about, with the field it most resembles."""

    position: int
    header: str
    guess: str | None


@dataclass(frozen=True)
class MappingStep:
    ask: list[MappingColumn]
    matched: list[tuple[str, str]]  # (file header, template header) already recognised
    missing: list[str]
    duplicated: list[str]
    choices: list[tuple[str, str]]  # (field, template header) a column may be mapped to


# Below this similarity a file header is not taken for a template column at all.
GUESS_THRESHOLD = 0.5


def _similarity(header: str, names: list[str]) -> float:
    wanted = normalize_header(header)
    best = 0.0
    for name in names:
        candidate = normalize_header(name)
        if not wanted or not candidate:
            continue
        if wanted in candidate or candidate in wanted:
            best = max(best, 0.9)
        best = max(best, difflib.SequenceMatcher(None, wanted, candidate).ratio())
    return best


def mapping_step(job: ImportJob) -> MappingStep:
    """What the column-mapping step shows for a job: each unrecognised column of the file with
    its best guess among the columns not yet filled, the columns recognised, and what is still
    missing or given twice."""
    assert job.header_mapping is not None
    mapping = HeaderMapping.from_json(job.header_mapping)
    spec = job_spec(job)
    by_field = spec.by_field
    taken = {name for name in mapping.fields if name is not None}
    open_columns = [c for c in spec.columns if c.field not in taken]
    scored: list[tuple[float, int, str]] = []
    unknown = set(mapping.unknown)
    ask_positions = [
        i for i, name in enumerate(mapping.fields) if name is None and mapping.headers[i] in unknown
    ]
    for position in ask_positions:
        for column in open_columns:
            names = [column.header, column.field, *column.aliases]
            score = _similarity(mapping.headers[position], names)
            if score >= GUESS_THRESHOLD:
                scored.append((score, position, column.field))
    guesses: dict[int, str] = {}
    for _score, position, name in sorted(scored, key=lambda item: -item[0]):
        if position not in guesses and name not in guesses.values():
            guesses[position] = name
    return MappingStep(
        ask=[MappingColumn(i, mapping.headers[i], guesses.get(i)) for i in ask_positions],
        matched=[
            (mapping.headers[i], by_field[name].header)
            for i, name in enumerate(mapping.fields)
            if name is not None and name in by_field
        ],
        missing=mapping.missing,
        duplicated=mapping.duplicated,
        choices=[(c.field, c.header) for c in spec.columns],
    )
