"""The demo's registries: every demo student and teacher registered through the registry's
set-based services, a few requests left waiting so each side's work queue has something in it,
and the principals and telephones of the showcase county's primary schools on record. Runs at
the end of `santong demo`, after the population is built or found.

It is idempotent and resumable: people who already hold a record are skipped, and the waiting
requests are opened only when no request exists yet. The coded facts (ethnicity, 户口, health,
education, title, ...) follow from the seed and the person, like the rest of the population.
No request is carried to its end here, so no role moves and the population's accounts and
roles stay exactly what the generator wrote.
"""

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import accumulate, islice
from typing import TypeVar

from django.db.models import Exists, Min, OuterRef

from santong.accounts.identity import IdentityVault, get_vault
from santong.accounts.models import Person, Role
from santong.core.actors import SYSTEM, Actor
from santong.demo.generator import DEFAULT_SEED, SHOWCASE_COUNTY, START_YEAR, grade_table
from santong.orgs.models import School, SchoolClass
from santong.registry import services
from santong.registry.models import (
    SchoolChange,
    StudentRecord,
    StudentRequest,
    TeacherRecord,
    TeacherTransfer,
)

BATCH = 5000
T = TypeVar("T")
TEACHER_KINDS = (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER)
# Sichuan's largest minorities after the Han: 彝族, 藏族, 羌族, 回族, 苗族, 土家族.
ETHNICITIES = (("01", 930), ("07", 30), ("04", 20), ("33", 8), ("03", 5), ("06", 4), ("15", 3))
HUKOU = (("1", 45), ("2", 20), ("3", 35))
HEALTH = (("1", 96), ("2", 3), ("6", 1))
EDUCATION = (("21", 62), ("31", 26), ("14", 9), ("41", 3))
TITLES = (("1", 1), ("2", 14), ("3", 38), ("4", 32), ("5", 5), ("9", 10))
POLITICAL = (("01", 35), ("03", 10), ("13", 55))
EMPLOYMENT = (("1", 88), ("2", 12))


@dataclass(frozen=True)
class RegistryCounts:
    students: int
    teachers: int
    requests: int


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    codes, cumulative = _cumulative(weighted)
    # The same draw as `choices(codes, weights=...)`, which accumulates the weights each call.
    return rng.choices(codes, cum_weights=cumulative)[0]


@cache
def _cumulative(weighted: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    return tuple(code for code, _w in weighted), tuple(accumulate(w for _c, w in weighted))


def _batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _clear(vault: IdentityVault, cipher: bytes | memoryview | None) -> str:
    assert cipher is not None  # the demo gives every person a resident ID
    return vault.decrypt(bytes(cipher))


def pending_students() -> int:
    return (
        Role.objects.filter(kind=Role.Kind.STUDENT)
        .exclude(Exists(StudentRecord.objects.filter(person_id=OuterRef("user__person_id"))))
        .count()
    )


def pending_teachers() -> int:
    return (
        Role.objects.filter(kind__in=TEACHER_KINDS)
        .exclude(Exists(TeacherRecord.objects.filter(person_id=OuterRef("user__person_id"))))
        .values("user_id")
        .distinct()
        .count()
    )


def _entry_dates() -> dict[int, date]:
    """The day each current class's students entered their stage: 1 September of the year
    their cohort began it."""
    positions = {code: i for codes in grade_table().values() for i, code in enumerate(codes)}
    return {
        pk: date(START_YEAR - positions[grade], 9, 1)
        for pk, grade in SchoolClass.objects.filter(school_year__start_year=START_YEAR)
        .values_list("pk", "grade_id")
        .iterator()
    }


def register_students(*, seed: int, progress: Callable[[int], object]) -> int:
    """Every student role's person enrolled into that class, a batch at a time."""
    vault = get_vault()
    entered = _entry_dates()
    unregistered = (
        Role.objects.filter(kind=Role.Kind.STUDENT)
        .exclude(Exists(StudentRecord.objects.filter(person_id=OuterRef("user__person_id"))))
        .order_by("user__username")
        .values_list(
            "school_class_id", "user__username", "user__person__name", "user__person__id_cipher"
        )
    )
    classes: dict[int, SchoolClass] = {}
    written = 0
    for batch in _batches(unregistered.iterator(chunk_size=BATCH)):
        rows = []
        for class_id, username, name, cipher in batch:
            rng = random.Random(f"{seed}/registry/{username}")
            school_class = classes.get(class_id)
            if school_class is None:
                school_class = classes[class_id] = SchoolClass(pk=class_id)
            rows.append(
                services.StudentRow(
                    school_class=school_class,
                    name=str(name),
                    id_type=Person.IdType.RESIDENT,
                    id_number=_clear(vault, cipher),
                    ethnicity=_pick(rng, ETHNICITIES),
                    hukou=_pick(rng, HUKOU),
                    health=_pick(rng, HEALTH),
                    enrolled_on=entered.get(int(class_id), date(START_YEAR, 9, 1)),
                )
            )
        result = services.bulk_enrol_students(actor=SYSTEM, rows=rows)
        written += result.created + result.updated
        progress(len(batch))
    return written


def register_teachers(*, seed: int, progress: Callable[[int], object]) -> int:
    """Every teacher (head or subject teacher) given a record at the school they teach in."""
    vault = get_vault()
    subjects: dict[int, set[str]] = {}
    for user_id, subject in Role.objects.filter(
        kind=Role.Kind.SUBJECT_TEACHER, subject__isnull=False
    ).values_list("user_id", "subject_id"):
        subjects.setdefault(user_id, set()).add(subject)
    teachers = (
        Role.objects.filter(kind__in=TEACHER_KINDS)
        .exclude(Exists(TeacherRecord.objects.filter(person_id=OuterRef("user__person_id"))))
        .values("user_id", "user__username", "user__person__name", "user__person__id_cipher")
        .annotate(
            teaching_school=Min("school_class__school_id"), birth=Min("user__person__birth_date")
        )
        .order_by("user__username")
        .values_list(
            "user_id",
            "user__username",
            "user__person__name",
            "user__person__id_cipher",
            "teaching_school",
            "birth",
        )
    )
    written = 0
    for batch in _batches(teachers.iterator(chunk_size=BATCH)):
        rows = []
        for user_id, username, name, cipher, school_id, birth in batch:
            rng = random.Random(f"{seed}/registry/{username}")
            assert isinstance(birth, date)
            hired = date(birth.year + rng.randint(21, 24), 9, 1)
            title = _pick(rng, TITLES)
            rows.append(
                services.TeacherRow(
                    school=School(pk=school_id),
                    name=str(name),
                    id_type=Person.IdType.RESIDENT,
                    id_number=_clear(vault, cipher),
                    ethnicity=_pick(rng, ETHNICITIES),
                    political_status=_pick(rng, POLITICAL),
                    education=_pick(rng, EDUCATION),
                    title=title,
                    title_since=date(min(hired.year + rng.randint(3, 15), START_YEAR), 9, 1),
                    position="07",
                    subjects=tuple(sorted(subjects.get(int(user_id), ()))),
                    hired_on=min(hired, date(START_YEAR, 9, 1)),
                    employment=_pick(rng, EMPLOYMENT),
                )
            )
        result = services.bulk_upsert_teachers(actor=SYSTEM, rows=rows)
        written += result.created + result.updated
        progress(len(batch))
    return written


def _admin(school: School) -> Actor:
    role = Role.objects.select_related("user").get(kind=Role.Kind.SCHOOL_ADMIN, school=school)
    return Actor(user=role.user, role=role)


def _county_admin(code: str) -> Actor:
    role = Role.objects.select_related("user").get(kind=Role.Kind.COUNTY_ADMIN, region_id=code)
    return Actor(user=role.user, role=role)


def _class_like(school: School, record: StudentRecord) -> SchoolClass | None:
    """The receiving school's class of the student's grade and year, or else any of its year."""
    assert record.school_class is not None
    classes = SchoolClass.objects.filter(
        school=school, school_year_id=record.school_class.school_year_id
    ).order_by("number")
    return classes.filter(grade_id=record.school_class.grade_id).first() or classes.first()


def open_requests() -> int:
    """Requests waiting at every step in the showcase county: transfers to and from its first
    primary school (the demo school administrator's), one already accepted and waiting for the
    county, one to another county, one out of the region, a suspension, and teacher moves."""
    if StudentRequest.objects.exists() or TeacherTransfer.objects.exists():
        return 0
    # The demo school administrator's school, and a neighbour teaching the same grades.
    teaching_primary = School.objects.filter(
        county_id=SHOWCASE_COUNTY, kind__in=(School.Kind.PRIMARY, School.Kind.NINE_YEAR)
    ).order_by("code")
    home = teaching_primary.filter(kind=School.Kind.PRIMARY).first()
    if home is None:
        return 0
    neighbour = teaching_primary.exclude(pk=home.pk).first()
    if neighbour is None:
        return 0
    elsewhere = (
        School.objects.filter(county__parent_id=SHOWCASE_COUNTY[:4], kind=School.Kind.PRIMARY)
        .exclude(county_id=SHOWCASE_COUNTY)
        .order_by("code")
        .first()
    )
    school_admin, neighbour_admin = _admin(home), _admin(neighbour)
    county_admin = _county_admin(SHOWCASE_COUNTY)
    # The demo student's own class (三年级（1）班) is left alone: its pages stay as described.
    movable = (
        StudentRecord.objects.filter(school=home, status=StudentRecord.Status.ENROLLED)
        .exclude(school_class__grade_id="13", school_class__number=1)
        .select_related("school_class", "person")
        .order_by("path", "person__name")
    )
    students = list(movable[:6])
    incoming = (
        StudentRecord.objects.filter(
            school=neighbour,
            status=StudentRecord.Status.ENROLLED,
            school_class__grade__stage_id="1",
        )
        .select_related("school_class")
        .order_by("path", "person__name")
        .first()
    )
    if len(students) < 6 or incoming is None:
        return 0
    opened = 0
    reasons = ("随父母工作调动", "家庭搬迁", "就近入学", "随迁子女返乡")
    waiting_school = services.request_transfer(
        actor=school_admin, record=students[0], to_school=neighbour, reason=reasons[0]
    )
    accepted = services.request_transfer(
        actor=school_admin, record=students[1], to_school=neighbour, reason=reasons[1]
    )
    services.approve_request(
        actor=neighbour_admin,
        request=accepted,
        school_class=_class_like(neighbour, students[1]),
        note="同意接收",
    )
    services.request_transfer(
        actor=neighbour_admin, record=incoming, to_school=home, reason=reasons[2]
    )
    opened += 3
    if elsewhere is not None:
        services.request_transfer(
            actor=school_admin, record=students[2], to_school=elsewhere, reason=reasons[3]
        )
        opened += 1
    services.request_transfer_out(
        actor=school_admin,
        record=students[3],
        destination="重庆市渝中区人和街小学",
        reason="随父母迁居重庆",
    )
    services.request_suspension(actor=school_admin, record=students[4], reason="因病休学一年")
    rejected = services.request_drop_out(actor=school_admin, record=students[5], reason="外出务工")
    services.reject_request(actor=county_admin, request=rejected, reason="义务教育阶段须劝返复学")
    opened += 3
    assert waiting_school.pk is not None

    home_teachers = list(
        TeacherRecord.objects.filter(school=home, status=TeacherRecord.Status.ACTIVE).order_by(
            "person__name"
        )[:2]
    )
    neighbour_teacher = (
        TeacherRecord.objects.filter(school=neighbour, status=TeacherRecord.Status.ACTIVE)
        .order_by("person__name")
        .first()
    )
    if len(home_teachers) == 2 and neighbour_teacher is not None:
        services.request_teacher_transfer(
            actor=school_admin, teacher=home_teachers[0], to_school=neighbour, reason="交流轮岗"
        )
        move = services.request_teacher_transfer(
            actor=school_admin, teacher=home_teachers[1], to_school=neighbour, reason="支援薄弱学校"
        )
        services.approve_teacher_transfer(actor=neighbour_admin, transfer=move, note="同意接收")
        services.request_teacher_transfer(
            actor=neighbour_admin, teacher=neighbour_teacher, to_school=home, reason="夫妻团聚"
        )
        opened += 3
    return opened


def record_profiles() -> int:
    """The showcase county's primary schools get their principal and telephone on record,
    entered by the county bureau, so their profiles show a change history."""
    schools = School.objects.filter(
        county_id=SHOWCASE_COUNTY, kind__in=(School.Kind.PRIMARY, School.Kind.NINE_YEAR)
    ).order_by("code")
    if SchoolChange.objects.filter(school__in=schools).exists():
        return 0
    county_admin = _county_admin(SHOWCASE_COUNTY)
    for number, school in enumerate(schools, 1):
        principal = Role.objects.filter(kind=Role.Kind.SCHOOL_ADMIN, school=school).first()
        services.update_school_profile(
            actor=county_admin,
            school=school,
            reason="学校基本信息年度核对",
            principal=principal.user.display_name if principal else "",
            phone=f"028-8493{number:04d}",
            founded_on=date(1950 + 7 * number, 9, 1),
        )
    return schools.count()


def populate_registry(
    *, seed: int = DEFAULT_SEED, progress: Callable[[int], object] = lambda n: None
) -> RegistryCounts:
    """Registers the demo's students and teachers and opens the demo requests (idempotent)."""
    students = register_students(seed=seed, progress=progress)
    teachers = register_teachers(seed=seed, progress=progress)
    requests = open_requests()
    record_profiles()
    return RegistryCounts(students=students, teachers=teachers, requests=requests)
