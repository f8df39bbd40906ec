"""Scoped reads of the registries: every query starts from what the acting role may read.

Administrators read everything inside their unit's subtree; a head or subject teacher reads the
students of their class and their own teacher record; a student reads their own record and a
parent their child's. Requests are visible from both ends: the sending and the receiving side.
"""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from santong.accounts.identity import IdNumberError, IdType, get_vault, validate_id_number
from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS, RANK
from santong.core.scope import subtree_q
from santong.orgs import selectors as org_selectors
from santong.orgs.models import School
from santong.registry.models import (
    LEVEL_OF_KIND,
    ApprovalFlow,
    CodeValue,
    SchoolChange,
    SchoolProfile,
    StudentEvent,
    StudentRecord,
    StudentRequest,
    TeacherEvent,
    TeacherRecord,
    TeacherTransfer,
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
    """What waits for this role's decision, with counts (for the home page); three queries."""
    counts = dict.fromkeys(StudentRequest.Kind.values, 0)
    waiting = (
        waiting_student_requests(role=role)
        .order_by()
        .values_list("kind")
        .annotate(count=Count("pk"))
    )
    for kind, count in waiting:
        counts[kind] = count
    items = [
        QueueItem(key=kind, label=str(StudentRequest.Kind(kind).label), count=counts[kind])
        for kind in StudentRequest.Kind.values
    ]
    items.append(
        QueueItem(
            key="teacher_transfer",
            label=str(TeacherTransfer._meta.verbose_name),
            count=waiting_teacher_transfers(role=role).count(),
        )
    )
    if role.kind in ADMIN_KINDS and RANK[role.kind] <= RANK[Role.Kind.COUNTY_ADMIN]:
        items.append(
            QueueItem(
                key="graduating",
                label=str(StudentEvent.Kind.GRADUATING.label),
                count=graduating_students(role=role).count(),
            )
        )
    return items
