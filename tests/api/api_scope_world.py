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

from django.db.models import Model
from rest_framework.authtoken.models import Token

from santong.accounts.identity import make_resident_id
from santong.accounts.models import Person, Role, User
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM
from santong.orgs import services as org_services
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear
from santong.testing.world import World, make_account

ADMINS = frozenset({"province_admin", "city_admin", "county_admin", "school_admin"})
REGIONAL_ADMINS = frozenset({"province_admin", "city_admin", "county_admin"})
CLASS_ROLES = frozenset({"head_teacher", "subject_teacher", "student", "parent"})


@dataclass(frozen=True)
class Place:
    """A county, a school in it, a class in that school, and a student in that class."""

    name: str
    county: Region
    school: School
    school_class: SchoolClass
    student: User

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
