"""The test world seen from the API: for each role, the place it lives in and places outside it.

`santong.testing.world` gives every role a home (锦江区实验小学, 三年级（1）班) and a few places
outside. Here every role also gets a *nearest* outside place, so each scope boundary is tested
where it is tightest: a class role against the next class of its own school, a school
administrator against the next school of its county, the province against another province.
"""

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.files.base import ContentFile
from django.db.models import Model
from rest_framework.authtoken.models import Token

from santong.accounts.identity import get_vault, make_resident_id
from santong.accounts.models import Person, Role, User
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM
from santong.imports.models import ImportJob
from santong.orgs import services as org_services
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear, Term
from santong.registry import services as registry_services
from santong.registry.models import (
    ClassSuccession,
    Rollover,
    SchoolChange,
    SchoolProfile,
    StudentEvent,
    StudentNumberAlias,
    StudentRecord,
    StudentRequest,
    TeacherEvent,
    TeacherRecord,
    TeacherTransfer,
    TemporaryNumberCounter,
    TitleHistory,
)
from santong.testing.world import World, make_account

ADMINS = frozenset({"province_admin", "city_admin", "county_admin", "school_admin"})
REGIONAL_ADMINS = frozenset({"province_admin", "city_admin", "county_admin"})
CLASS_ROLES = frozenset({"head_teacher", "subject_teacher", "student", "parent"})


@dataclass
class PlaceRecords:
    """A place's registry objects (filled in by `build_registry`): its student's record, a
    teacher, and a student request and a teacher transfer that never reach beyond the place."""

    student: StudentRecord | None = None
    teacher: TeacherRecord | None = None
    student_request: StudentRequest | None = None
    teacher_transfer: TeacherTransfer | None = None
    import_job: ImportJob | None = None


@dataclass(frozen=True)
class Place:
    """A county, a school in it, a class in that school, and a student in that class."""

    name: str
    county: Region
    school: School
    school_class: SchoolClass
    student: User
    records: PlaceRecords = field(default_factory=PlaceRecords, compare=False, repr=False)

    @property
    def person(self) -> Person:
        assert self.student.person is not None
        return self.student.person

    @property
    def student_role(self) -> Role:
        return self.student.roles.get()

    @property
    def class_created_event(self) -> AuditEvent:
        return AuditEvent.objects.get(
            action=AuditEvent.Action.CREATE,
            object_type="schoolclass",
            object_id=str(self.school_class.pk),
        )


# Where each role stands, nearest outside place first.
OUTSIDE_PLACES: dict[str, tuple[str, ...]] = {
    "province_admin": ("beyond",),
    "city_admin": ("far", "beyond"),
    "county_admin": ("other", "far", "beyond"),
    "school_admin": ("neighbour", "other", "far", "beyond"),
    **dict.fromkeys(CLASS_ROLES, ("sibling", "neighbour", "other", "far", "beyond")),
}


@dataclass
class ScopeWorld:
    world: World
    home: Place
    places: dict[str, Place] = field(default_factory=dict)
    registry: "RegistryWorld | None" = None
    imports_built: bool = False

    def outside(self, key: str) -> list[Place]:
        return [self.places[name] for name in OUTSIDE_PLACES[key]]

    def nearest_outside(self, key: str) -> Place:
        return self.outside(key)[0]


_id_sequence = itertools.count()


def fresh_id_number(*, male: bool = True) -> str:
    """A valid resident ID no world person has (none of them was born on 2015-02-03)."""
    return make_resident_id("510104", date(2015, 2, 3), next(_id_sequence) % 500, male)


def _school(code: str, name: str, county: Region) -> School:
    return org_services.create_school(
        actor=SYSTEM,
        code=code,
        name=name,
        kind=School.Kind.PRIMARY,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.URBAN,
        county=county,
    )


def _class(school: School, year: SchoolYear, number: int) -> SchoolClass:
    return org_services.create_class(
        actor=SYSTEM,
        school=school,
        school_year=year,
        grade=Grade.objects.get(code="13"),
        number=number,
    )


def _student(world: World, key: str, name: str, school_class: SchoolClass) -> User:
    return make_account(world, key, name, Role.Kind.STUDENT, school_class=school_class)


def build_scope_world(world: World) -> ScopeWorld:
    org_services.load_regions(provinces=["50"])
    beyond_county = Region.objects.get(code="500101")
    sibling_class = _class(world.school, world.year, 2)
    neighbour_school = _school("1510104003", "成都市锦江区第二小学", world.county)
    neighbour_class = _class(neighbour_school, world.year, 1)
    beyond_school = _school("1500101001", "重庆市万州区第一小学", beyond_county)
    beyond_class = _class(beyond_school, world.year, 1)
    home = Place("home", world.county, world.school, world.school_class, world.users["student"])
    places = {
        "sibling": Place(
            "sibling",
            world.other_county,
            neighbour_school,
            sibling_class,
            _student(world, "sibling_student", "林小溪", sibling_class),
        ),
        "neighbour": Place(
            "neighbour",
            world.other_county,
            neighbour_school,
            neighbour_class,
            _student(world, "neighbour_student", "何晓东", neighbour_class),
        ),
        "other": Place(
            "other",
            world.other_county,
            world.other_school,
            world.other_class,
            _student(world, "other_student", "郑可欣", world.other_class),
        ),
        "far": Place(
            "far", world.far_county, world.far_school, world.far_class, world.users["far_student"]
        ),
        "beyond": Place(
            "beyond",
            beyond_county,
            beyond_school,
            beyond_class,
            _student(world, "beyond_student", "唐嘉怡", beyond_class),
        ),
    }
    return ScopeWorld(world=world, home=home, places=places)


TRACKED_MODELS: tuple[type[Model], ...] = (
    Region,
    School,
    SchoolClass,
    SchoolYear,
    Person,
    User,
    Role,
    AuditEvent,
    Token,
    # The registries, and what their year rollover adds to the org tree.
    Term,
    SchoolProfile,
    SchoolChange,
    TeacherRecord,
    TeacherRecord.subjects.through,
    TitleHistory,
    TeacherTransfer,
    TeacherEvent,
    StudentRecord,
    StudentNumberAlias,
    TemporaryNumberCounter,
    StudentRequest,
    StudentEvent,
    Rollover,
    ClassSuccession,
    ImportJob,
)


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the API can write, audit log included, for before/after checks."""
    return {
        model._meta.label: [
            {name: _plain(value) for name, value in row.items()}
            for row in model._default_manager.order_by("pk").values()
        ]
        for model in TRACKED_MODELS
    }


def result_keys(response: Any, key: str = "id") -> set[str]:
    """The keys of the rows on a list page, as strings."""
    return {str(row[key]) for row in response.data["results"]}


# --------------------------------------------------------------------------- the registries


def fresh_adult_id_number(*, male: bool = True) -> str:
    """A valid resident ID of a grown-up no world person has (born 1988-04-02)."""
    return make_resident_id("510104", date(1988, 4, 2), next(_id_sequence) % 500, male)


@dataclass
class RegistryWorld:
    """The home place's registry objects each workflow row acts on.

    `twin` is a second school in the home county: transfers into the home school come from it
    and transfers out of the home school go to it. Requests wait at a known step: the
    `*_to_accept` ones at the home school, the `*_to_approve` ones at the home county.
    """

    twin: School
    twin_class: SchoolClass
    own_teachers: dict[str, TeacherRecord]
    student_to_accept: StudentRequest
    student_to_approve: StudentRequest
    teacher_to_accept: TeacherTransfer
    teacher_to_approve: TeacherTransfer
    suspended: StudentRecord
    unidentified: StudentRecord
    unidentified_id_number: str
    graduating: StudentRecord


def _clear_id_number(person: Person) -> str:
    return get_vault().decrypt(bytes(person.id_cipher or b""))


def _student_row(school_class: SchoolClass, person: Person) -> registry_services.StudentRow:
    return registry_services.StudentRow(
        school_class=school_class,
        name=person.name,
        id_type=Person.IdType.RESIDENT,
        id_number=_clear_id_number(person),
        ethnicity="01",
    )


def _new_student_row(school_class: SchoolClass, name: str) -> registry_services.StudentRow:
    return registry_services.StudentRow(
        school_class=school_class,
        name=name,
        id_type=Person.IdType.RESIDENT,
        id_number=fresh_id_number(),
        ethnicity="01",
    )


def _teacher_row(
    school: School, name: str, person: Person | None = None
) -> registry_services.TeacherRow:
    return registry_services.TeacherRow(
        school=school,
        name=person.name if person is not None else name,
        id_type=Person.IdType.RESIDENT,
        id_number=_clear_id_number(person) if person is not None else fresh_adult_id_number(),
        ethnicity="01",
        education="21",
        title="3",
        position="07",
        hired_on=date(2010, 9, 1),
        employment="1",
    )


def _transfer(
    record: StudentRecord, to_school: School, accept_into: SchoolClass | None
) -> StudentRequest:
    request = registry_services.request_transfer(
        actor=SYSTEM, record=record, to_school=to_school, reason="随父母工作调动"
    )
    if accept_into is not None:
        request = registry_services.approve_request(
            actor=SYSTEM, request=request, school_class=accept_into
        )
    return request


def _move(teacher: TeacherRecord, to_school: School, accepted: bool) -> TeacherTransfer:
    transfer = registry_services.request_teacher_transfer(
        actor=SYSTEM, teacher=teacher, to_school=to_school, reason="交流轮岗"
    )
    if accepted:
        transfer = registry_services.approve_teacher_transfer(actor=SYSTEM, transfer=transfer)
    return transfer


def build_registry(sw: ScopeWorld) -> RegistryWorld:
    """Fills in every place's registry objects and the home place's workflow targets (once).

    Each place's request and transfer stays inside the place's own county, between the place's
    school and a second school there, so a role outside the place sees neither end of it. In
    the home county they wait at the home school (to accept) and at the county (to approve);
    in the other, far and beyond counties they wait at the county, so the county work queues
    have rows to leave out.
    """
    if sw.registry is not None:
        return sw.registry
    world = sw.world
    home = sw.home
    places = sw.places
    twins = {
        "home": _school("1510104004", "成都市锦江区第四小学", world.county),
        "other": _school("1510107004", "成都市武侯区第四小学", world.other_county),
        "far": _school("1510703004", "绵阳市涪城区第四小学", world.far_county),
        "beyond": _school("1500101004", "重庆市万州区第四小学", places["beyond"].county),
    }
    twin_classes = {name: _class(school, world.year, 1) for name, school in twins.items()}
    final_class = org_services.create_class(
        actor=SYSTEM,
        school=home.school,
        school_year=world.year,
        grade=Grade.objects.get(code="16"),
        number=1,
    )
    account_students = ["home", "sibling", "neighbour", "other", "far", "beyond"]
    all_places = {"home": home, **places}
    rows = [
        _student_row(all_places[name].school_class, all_places[name].person)
        for name in account_students
    ]
    rows += [
        _new_student_row(twin_classes["home"], "高子涵"),
        _new_student_row(home.school_class, "马思远"),
        _new_student_row(home.school_class, "许若彤"),
        _new_student_row(final_class, "钱一诺"),
        registry_services.StudentRow(
            school_class=home.school_class,
            name="白晨曦",
            id_type=Person.IdType.NONE,
            gender=Person.Gender.MALE,
            birth_date=date(2015, 2, 3),
            ethnicity="01",
        ),
    ]
    enrolled = registry_services.bulk_enrol_students(actor=SYSTEM, rows=rows)
    assert not enrolled.errors, enrolled.errors
    records = dict(
        zip(
            [*account_students, "incoming", "leaving", "suspended", "graduating", "unidentified"],
            enrolled.records,
            strict=True,
        )
    )

    head, subject = world.users["head_teacher"].person, world.users["subject_teacher"].person
    place_teachers = {
        "home": "周敏",
        "neighbour": "吴刚",
        "other": "郑晓燕",
        "far": "冯涛",
        "beyond": "蒋文",
    }
    teacher_rows = [
        _teacher_row(all_places[name].school, teacher) for name, teacher in place_teachers.items()
    ]
    teacher_rows += [
        _teacher_row(home.school, "", head),
        _teacher_row(home.school, "", subject),
        _teacher_row(twins["home"], "孔德明"),
        _teacher_row(home.school, "严丽"),
    ]
    registered = registry_services.bulk_upsert_teachers(actor=SYSTEM, rows=teacher_rows)
    assert not registered.errors, registered.errors
    teachers = dict(
        zip(
            [
                "home",
                "neighbour",
                "other",
                "far",
                "beyond",
                "head_teacher",
                "subject_teacher",
                "incoming",
                "leaving",
            ],
            registered.records,
            strict=True,
        )
    )

    student_requests = {
        "home": _transfer(records["leaving"], twins["home"], twin_classes["home"]),
        "neighbour": _transfer(records["neighbour"], twins["home"], None),
    }
    teacher_transfers = {
        "home": _move(teachers["leaving"], twins["home"], accepted=True),
        "neighbour": _move(teachers["neighbour"], twins["home"], accepted=False),
    }
    for name in ("other", "far", "beyond"):
        student_requests[name] = _transfer(records[name], twins[name], twin_classes[name])
        teacher_transfers[name] = _move(teachers[name], twins[name], accepted=True)
    student_to_accept = _transfer(records["incoming"], home.school, None)
    teacher_to_accept = _move(teachers["incoming"], home.school, accepted=False)
    suspension = registry_services.request_suspension(
        actor=SYSTEM, record=records["suspended"], reason="因病休学"
    )
    registry_services.approve_request(actor=SYSTEM, request=suspension)
    registry_services.update_school_profile(
        actor=SYSTEM, school=home.school, principal="林建华", reason="校长换届"
    )
    # As the rollover leaves final-grade students: one at home, one in the far county.
    StudentRecord.objects.filter(pk__in=[records["graduating"].pk, records["far"].pk]).update(
        graduating=True
    )

    for name, place in all_places.items():
        place.records.student = records[name]
        source = "neighbour" if name == "sibling" else name
        place.records.student_request = student_requests[source]
        place.records.teacher_transfer = teacher_transfers[source]
        place.records.teacher = teachers["home" if name == "sibling" else name]
    unidentified = records["unidentified"]
    sw.registry = RegistryWorld(
        twin=twins["home"],
        twin_class=twin_classes["home"],
        own_teachers={key: teachers[key] for key in ("head_teacher", "subject_teacher")},
        student_to_accept=student_to_accept,
        student_to_approve=student_requests["home"],
        teacher_to_accept=teacher_to_accept,
        teacher_to_approve=teacher_transfers["home"],
        suspended=StudentRecord.objects.get(pk=records["suspended"].pk),
        unidentified=unidentified,
        # fresh_id_number's birth date and gender, which the record carries.
        unidentified_id_number=fresh_id_number(male=True),
        graduating=records["graduating"],
    )
    return sw.registry


# --------------------------------------------------------------------------- imports

REPORT_BYTES = b"PK\x03\x04 a stand-in for an import report"


def build_imports(sw: ScopeWorld) -> None:
    """A finished import job with a report at every place's school (once): the home one started
    by the home school's administrator, the others by nobody the roles know. A job belongs to
    the unit of the role that started it, so each stands for its school."""
    if sw.imports_built:
        return
    school_admin = sw.world.users["school_admin"]
    for place in [sw.home, *sw.places.values()]:
        home = place is sw.home
        job = ImportJob(
            kind="students",
            source_name=f"{place.name}.csv",
            status=ImportJob.Status.SUCCEEDED,
            rows_read=1,
            rows_created=1,
            path=place.school.path,
            created_by=school_admin if home else None,
            role=sw.world.roles["school_admin"] if home else None,
        )
        job.report.save(f"{place.name}-report.xlsx", ContentFile(REPORT_BYTES), save=False)
        job.save()
        place.records.import_job = job
    sw.imports_built = True
