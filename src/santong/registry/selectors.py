"""Scoped reads of the registries: every query starts from what the acting role may read.

Administrators read everything inside their unit's subtree; a head or subject teacher reads the
students of their class and their own teacher record; a student reads their own record and a
parent their child's. Requests are visible from both ends: the sending and the receiving side.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from santong.accounts.identity import IdNumberError, IdType, get_vault, validate_id_number
from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS, RANK
from santong.core.scope import ancestors, subtree_q
from santong.orgs import selectors as org_selectors
from santong.orgs.models import School
from santong.registry.models import (
    LEVEL_OF_KIND,
    ApprovalFlow,
    CodeTable,
    CodeValue,
    Rollover,
    SchoolChange,
    SchoolProfile,
    StudentEvent,
    StudentRecord,
    StudentRequest,
    TeacherEvent,
    TeacherRecord,
    TeacherTransfer,
    TitleHistory,
)

NOTHING = Q(pk__in=[])
TEACHER_KINDS = (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER)

# --------------------------------------------------------------------------- code tables


def code_values(table: str, *, include_inactive: bool = False) -> QuerySet[CodeValue]:
    """A code table's values in display order, for forms, templates and export templates."""
    qs = CodeValue.objects.filter(table_id=table)
    if not include_inactive:
        qs = qs.filter(active=True)
    return qs.order_by("order", "code")


def active_codes(table: str) -> dict[str, str]:
    """{code: name} of a table's active values."""
    return dict(code_values(table).values_list("code", "name"))


def code_choices(table: str) -> list[tuple[str, str]]:
    return list(code_values(table).values_list("code", "name"))


# --------------------------------------------------------------------------- 学校库


def readable_school_profiles_q(role: Role, prefix: str = "") -> Q:
    if role.kind in ADMIN_KINDS:
        return subtree_q(role.path, f"{prefix}path")
    return NOTHING


def schools(*, role: Role, status: str | None = None) -> QuerySet[School]:
    """Schools the role reads, each with `registry_status` (open when it has no profile yet)."""
    qs = org_selectors.schools(role=role).annotate(
        registry_status=Coalesce("profile__status", Value(SchoolProfile.Status.OPEN))
    )
    if status:
        qs = qs.filter(registry_status=status)
    return qs


def school_profile(*, role: Role, school: School) -> SchoolProfile:
    """The school's profile, or an unsaved open one if nothing was recorded yet."""
    found = (
        SchoolProfile.objects.filter(readable_school_profiles_q(role), school=school)
        .select_related("merged_into")
        .first()
    )
    return found or SchoolProfile(school=school, path=school.path)


def school_changes(*, role: Role, school: School | None = None) -> QuerySet[SchoolChange]:
    qs = SchoolChange.objects.filter(readable_school_profiles_q(role)).select_related("school")
    if school is not None:
        qs = qs.filter(school=school)
    return qs.order_by("-at", "-id")


# --------------------------------------------------------------------------- 教师库


def readable_teachers_q(role: Role, prefix: str = "") -> Q:
    if role.kind in ADMIN_KINDS:
        return subtree_q(role.path, f"{prefix}path")
    if role.kind in TEACHER_KINDS:
        return Q(**{f"{prefix}person__account__id": role.user_id})
    return NOTHING


def teachers(*, role: Role, status: str | None = None, search: str = "") -> QuerySet[TeacherRecord]:
    qs = TeacherRecord.objects.filter(readable_teachers_q(role)).select_related("person", "school")
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(person__name__icontains=search.strip())
    return qs.order_by("path", "person__name", "pk")


def teacher_events(*, role: Role, teacher: TeacherRecord) -> QuerySet[TeacherEvent]:
    return TeacherEvent.objects.filter(
        readable_teachers_q(role, "teacher__"), teacher=teacher
    ).order_by("-at", "-id")


def teacher_titles(*, role: Role, teacher: TeacherRecord) -> QuerySet[TitleHistory]:
    """A teacher's professional titles (职称变动), the latest first."""
    return TitleHistory.objects.filter(
        readable_teachers_q(role, "teacher__"), teacher=teacher
    ).order_by("-since", "-id")


def readable_flows_q(role: Role) -> Q:
    """Requests an administrator sees: those leaving from or arriving inside its subtree."""
    if role.kind in ADMIN_KINDS:
        return subtree_q(role.path, "from_path") | subtree_q(role.path, "to_path")
    return NOTHING


def teacher_transfers(*, role: Role, status: str | None = None) -> QuerySet[TeacherTransfer]:
    qs = TeacherTransfer.objects.filter(readable_flows_q(role)).select_related(
        "teacher__person", "from_school", "to_school"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-id")


# --------------------------------------------------------------------------- 学籍库


def readable_students_q(role: Role, prefix: str = "") -> Q:
    if role.kind in ADMIN_KINDS or role.kind in TEACHER_KINDS:
        return subtree_q(role.path, f"{prefix}path")
    if role.kind == Role.Kind.STUDENT:
        return Q(**{f"{prefix}person__account__id": role.user_id})
    if role.kind == Role.Kind.PARENT and role.child_id:
        return Q(**{f"{prefix}person_id": role.child_id})
    return NOTHING


def students(
    *,
    role: Role,
    status: str | None = None,
    search: str = "",
    school: School | None = None,
) -> QuerySet[StudentRecord]:
    qs = StudentRecord.objects.filter(readable_students_q(role)).select_related(
        "person", "school", "school_class__grade"
    )
    if status:
        qs = qs.filter(status=status)
    if school is not None:
        qs = qs.filter(school=school)
    if search:
        term = search.strip()
        qs = qs.filter(Q(person__name__icontains=term) | Q(number_masked=term.upper()))
    return qs.order_by("path", "person__name", "pk")


def student_events(*, role: Role, record: StudentRecord) -> QuerySet[StudentEvent]:
    """The student's history, newest first, as shown on the student's page."""
    return StudentEvent.objects.filter(
        readable_students_q(role, "record__"), record=record
    ).order_by("-at", "-id")


def find_student(*, role: Role, number: str) -> StudentRecord | None:
    """The record with national student number `number`: a `G` number (found through the ID
    digest, the number itself is not stored), a current `L` number, or a replaced one."""
    number = number.strip().upper()
    qs = students(role=role)
    if number.startswith("G"):
        try:
            parsed = validate_id_number(IdType.RESIDENT, number[1:])
        except IdNumberError:
            return None
        return qs.filter(id_digest=get_vault().digest(IdType.RESIDENT, parsed.number)).first()
    return qs.filter(Q(temporary_number=number) | Q(aliases__number=number)).first()


def student_requests(
    *, role: Role, kind: str | None = None, status: str | None = None
) -> QuerySet[StudentRequest]:
    qs = StudentRequest.objects.filter(readable_flows_q(role)).select_related(
        "record__person", "from_school", "to_school", "from_class", "to_class"
    )
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-id")


# --------------------------------------------------------------------------- work queues


def _waiting_q(role: Role) -> Q:
    level = LEVEL_OF_KIND.get(role.kind)
    if level is None:
        return NOTHING
    return Q(status=ApprovalFlow.Status.PENDING, waiting_level=level) & subtree_q(
        role.path, "waiting_path"
    )


def waiting_student_requests(*, role: Role) -> QuerySet[StudentRequest]:
    """Student requests waiting for this role's decision, oldest first."""
    return (
        StudentRequest.objects.filter(_waiting_q(role))
        .select_related("record__person", "from_school", "to_school")
        .order_by("requested_at", "pk")
    )


def waiting_teacher_transfers(*, role: Role) -> QuerySet[TeacherTransfer]:
    return (
        TeacherTransfer.objects.filter(_waiting_q(role))
        .select_related("teacher__person", "from_school", "to_school")
        .order_by("requested_at", "pk")
    )


def graduating_students(*, role: Role) -> QuerySet[StudentRecord]:
    """Students marked graduating by the rollover, waiting for the county to confirm."""
    if role.kind not in ADMIN_KINDS:
        return StudentRecord.objects.none()
    return students(role=role, status=StudentRecord.Status.ENROLLED).filter(graduating=True)


@dataclass(frozen=True)
class QueueItem:
    key: str
    label: str
    count: int


def work_queue(*, role: Role) -> list[QueueItem]:
    """What waits for this role's decision, with counts (for the home page and the work
    queue): one query, the waiting requests by kind, the waiting moves and the students to
    graduate counted together (UNION ALL)."""
    bureau = role.kind in ADMIN_KINDS and RANK[role.kind] <= RANK[Role.Kind.COUNTY_ADMIN]
    waiting = (
        waiting_student_requests(role=role)
        .order_by()
        .values_list("kind")
        .annotate(count=Count("pk"))
    )
    moves = (
        waiting_teacher_transfers(role=role)
        .order_by()
        .annotate(key=Value("teacher_transfer"))
        .values_list("key")
        .annotate(count=Count("pk"))
    )
    parts: list[QuerySet[Any, Any]] = [moves]
    if bureau:
        parts.append(
            graduating_students(role=role)
            .order_by()
            .annotate(key=Value("graduating"))
            .values_list("key")
            .annotate(count=Count("pk"))
        )
    counts = {**dict.fromkeys(StudentRequest.Kind.values, 0), "teacher_transfer": 0}
    for key, count in waiting.union(*parts, all=True):
        counts[key] = count
    items = [
        QueueItem(key=kind, label=str(StudentRequest.Kind(kind).label), count=counts[kind])
        for kind in StudentRequest.Kind.values
    ]
    items.append(
        QueueItem(
            key="teacher_transfer",
            label=str(TeacherTransfer._meta.verbose_name),
            count=counts["teacher_transfer"],
        )
    )
    if bureau:
        items.append(
            QueueItem(
                key="graduating",
                label=str(StudentEvent.Kind.GRADUATING.label),
                count=counts.get("graduating", 0),
            )
        )
    return items


# --------------------------------------------------------------------------- for the pages


def receiving_schools(*, search: str) -> QuerySet[School]:
    """Schools still open anywhere in the region whose code is `search`, or whose name holds
    it: where a transfer or a move may be sent. The receiving side need not lie in the
    requester's subtree, so this reads the whole region, and reads only what names a school."""
    term = search.strip()
    if not term:
        return School.objects.none()
    closed = (SchoolProfile.Status.MERGED, SchoolProfile.Status.CLOSED)
    qs = School.objects.exclude(profile__status__in=closed).select_related("county__parent")
    qs = qs.filter(code=term) if term.isdigit() else qs.filter(name__icontains=term)
    return qs.order_by("code")


def student_request_events(*, role: Role, request: StudentRequest) -> QuerySet[StudentEvent]:
    """One request's history, oldest first, for whoever sees the request (its sending and its
    receiving side): who decided each step, when, and why."""
    visible = StudentRequest.objects.filter(readable_flows_q(role), pk=request.pk)
    return StudentEvent.objects.filter(request__in=visible).order_by("at", "id")


def teacher_transfer_events(*, role: Role, transfer: TeacherTransfer) -> QuerySet[TeacherEvent]:
    visible = TeacherTransfer.objects.filter(readable_flows_q(role), pk=transfer.pk)
    return TeacherEvent.objects.filter(transfer__in=visible).order_by("at", "id")


def code_tables() -> list[tuple[CodeTable, int]]:
    """Every code table in display order, with how many codes it holds (two queries)."""
    counts = dict(CodeValue.objects.order_by().values_list("table_id").annotate(n=Count("pk")))
    return [(table, counts.get(table.name, 0)) for table in CodeTable.objects.order_by("order")]


def code_names(*tables: str, include_inactive: bool = True) -> dict[str, dict[str, str]]:
    """{table: {code: name}} for `tables` in display order, in one query. Inactive codes are
    included by default: stored records may still carry them."""
    names: dict[str, dict[str, str]] = {table: {} for table in tables}
    rows = CodeValue.objects.filter(table_id__in=tables)
    if not include_inactive:
        rows = rows.filter(active=True)
    for table, code, name in rows.order_by("table_id", "order", "code").values_list(
        "table_id", "code", "name"
    ):
        names[table][code] = name
    return names


def graduating_students_in(*, role: Role, path: str) -> QuerySet[StudentRecord]:
    """The students marked graduating inside the unit at `path`, as far as the role reads."""
    return graduating_students(role=role).filter(subtree_q(path))


def rollovers(*, role: Role) -> QuerySet[Rollover]:
    """Rollover runs that covered the role's unit: run at or above it, or inside it."""
    if role.kind not in ADMIN_KINDS:
        return Rollover.objects.none()
    return (
        Rollover.objects.filter(Q(path__in=ancestors(role.path)) | subtree_q(role.path))
        .select_related("from_year", "to_year")
        .order_by("-at", "-id")
    )
