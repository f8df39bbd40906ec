"""The registry's additions to the test world: the far county's and other city's bureaus and
the far school's administrator, so every approval step has a named decider; and helpers that
enrol students and register teachers with fresh valid ID numbers."""

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from santong.accounts.identity import get_vault, make_resident_id
from santong.accounts.models import Person, Role
from santong.core.actors import SYSTEM, Actor
from santong.orgs import services as org_services
from santong.orgs.models import Grade, School, SchoolClass
from santong.registry import services
from santong.registry.models import StudentRecord, TeacherRecord
from santong.testing.world import World, make_account

_numbers = itertools.count(1)


def new_id_number(*, birth: date = date(2016, 9, 1), male: bool = True, region: str = "510107"):
    """A valid resident ID number no other test in this process has used."""
    n = next(_numbers)
    return make_resident_id(region, birth + timedelta(days=n // 499), n % 499, male)


@dataclass
class Registry:
    world: World

    def actor(self, key: str) -> Actor:
        return self.world.actor(key)

    def enrol(
        self,
        school_class: SchoolClass | None = None,
        *,
        by: str = "school_admin",
        name: str = "李明",
        **fields,
    ) -> StudentRecord:
        fields.setdefault("id_type", Person.IdType.RESIDENT)
        if fields["id_type"] == Person.IdType.RESIDENT:
            fields.setdefault("id_number", new_id_number())
        fields.setdefault("ethnicity", "01")
        return services.enrol_student(
            actor=SYSTEM if by == "system" else self.actor(by),
            school_class=school_class or self.world.school_class,
            name=name,
            **fields,
        )

    def teacher(
        self, school: School | None = None, *, by: str = "school_admin", name: str = "周老师", **f
    ) -> TeacherRecord:
        f.setdefault("id_type", Person.IdType.RESIDENT)
        f.setdefault("id_number", new_id_number(birth=date(1988, 4, 2)))
        return services.register_teacher(
            actor=SYSTEM if by == "system" else self.actor(by),
            school=school or self.world.school,
            name=name,
            ethnicity=f.pop("ethnicity", "01"),
            education=f.pop("education", "21"),
            title=f.pop("title", "3"),
            position=f.pop("position", "07"),
            hired_on=f.pop("hired_on", date(2010, 9, 1)),
            employment=f.pop("employment", "1"),
            **f,
        )

    def school_class(self, school: School, grade: str = "13", number: int = 2) -> SchoolClass:
        return org_services.create_class(
            actor=SYSTEM,
            school=school,
            school_year=self.world.year,
            grade=Grade.objects.get(code=grade),
            number=number,
        )


@pytest.fixture
def reg(world: World) -> Registry:
    kinds = Role.Kind
    make_account(world, "far_county_admin", "郑华", kinds.COUNTY_ADMIN, region=world.far_county)
    make_account(world, "far_school_admin", "冯敏", kinds.SCHOOL_ADMIN, school=world.far_school)
    make_account(world, "other_city_admin", "何勇", kinds.CITY_ADMIN, region=world.other_city)
    return Registry(world)


@pytest.fixture
def student(reg):
    """王小雨, the world's student with an account and a parent, given a registry record."""
    world = reg.world
    person = world.users["student"].person
    record = services.bulk_enrol_students(
        actor=world.actor("school_admin"),
        rows=[
            services.StudentRow(
                school_class=world.school_class,
                name=person.name,
                id_type="1",
                id_number=get_vault().decrypt(bytes(person.id_cipher)),
                ethnicity="01",
            )
        ],
    ).records[0]
    assert record.person == person
    return record
