"""A small, realistic world for tests: real counties, real-format school codes, named people.

Inside: 四川省 → 成都市 → 锦江区, with 锦江区实验小学 (1510104001), its teaching point, and
class 三年级（1）班 with its head teacher, a maths teacher, a student and her parent.
Outside: 武侯区 (same city) and 绵阳市涪城区 (another city), each with a school and a class,
so every role has an object inside its scope and one outside it.
"""

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

from santong.accounts import services as account_services
from santong.accounts.identity import make_resident_id
from santong.accounts.models import Person, Role, User
from santong.core.actors import SYSTEM, Actor
from santong.orgs import services as org_services
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear, Subject

PASSWORD = "Santong-Test-2026"


@dataclass
class World:
    province: Region
    city: Region
    county: Region
    other_county: Region
    other_city: Region
    far_county: Region
    year: SchoolYear
    school: School
    teaching_point: School
    other_school: School
    far_school: School
    school_class: SchoolClass
    other_class: SchoolClass
    far_class: SchoolClass
    users: dict[str, User] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)

    def actor(self, key: str) -> Actor:
        return Actor(user=self.users[key], role=self.roles[key], ip="127.0.0.1")


_counter = itertools.count(1)


def make_person(
    name: str, *, region: str = "510104", birth: date = date(1985, 3, 14), male: bool = True
) -> Person:
    """A person with a valid synthetic ID number, never the same one twice in a process."""
    n = next(_counter)
    number = make_resident_id(region, birth + timedelta(days=n // 499), n % 499, male)
    return account_services.create_person(
        name=name, id_type=Person.IdType.RESIDENT, id_number=number
    )


def make_account(
    world: World, key: str, name: str, kind: str, *, male: bool = True, **unit: object
) -> User:
    birth = date(2016, 5, 20) if kind == Role.Kind.STUDENT else date(1982, 7, 1)
    person = make_person(name, birth=birth, male=male)
    user = account_services.create_account(
        actor=SYSTEM,
        username=key,
        person=person,
        kind=kind,
        password=PASSWORD,
        **unit,  # type: ignore[arg-type]
    )
    world.users[key] = user
    world.roles[key] = user.roles.get()
    return user


def build_world() -> World:
    org_services.load_regions(provinces=["51"])
    year = org_services.ensure_school_year(start_year=2025, make_current=True)
    county = Region.objects.get(code="510104")
    other_county = Region.objects.get(code="510107")
    far_county = Region.objects.get(code="510703")
    root = SYSTEM
    school = org_services.create_school(
        actor=root,
        code="1510104001",
        name="成都市锦江区实验小学",
        kind=School.Kind.PRIMARY,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.URBAN,
        county=county,
        address="四川省成都市锦江区东大街100号",
    )
    teaching_point = org_services.create_school(
        actor=root,
        code="1510104002",
        name="锦江区实验小学三圣教学点",
        kind=School.Kind.TEACHING_POINT,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.RURAL,
        county=county,
        host_school=school,
    )
    other_school = org_services.create_school(
        actor=root,
        code="1510107001",
        name="成都市武侯区第一小学",
        kind=School.Kind.PRIMARY,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.URBAN,
        county=other_county,
    )
    far_school = org_services.create_school(
        actor=root,
        code="1510703001",
        name="绵阳市涪城区中心小学",
        kind=School.Kind.PRIMARY,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.TOWN,
        county=far_county,
    )
    grade = Grade.objects.get(code="13")
    world = World(
        province=Region.objects.get(code="51"),
        city=Region.objects.get(code="5101"),
        county=county,
        other_county=other_county,
        other_city=Region.objects.get(code="5107"),
        far_county=far_county,
        year=year,
        school=school,
        teaching_point=teaching_point,
        other_school=other_school,
        far_school=far_school,
        school_class=org_services.create_class(
            actor=root, school=school, school_year=year, grade=grade, number=1
        ),
        other_class=org_services.create_class(
            actor=root, school=other_school, school_year=year, grade=grade, number=1
        ),
        far_class=org_services.create_class(
            actor=root, school=far_school, school_year=year, grade=grade, number=1
        ),
    )
    maths = Subject.objects.get(code="02")
    kinds = Role.Kind
    make_account(world, "province_admin", "王建国", kinds.PROVINCE_ADMIN, region=world.province)
    make_account(world, "city_admin", "李红梅", kinds.CITY_ADMIN, male=False, region=world.city)
    make_account(world, "county_admin", "张伟", kinds.COUNTY_ADMIN, region=county)
    make_account(world, "school_admin", "刘芳", kinds.SCHOOL_ADMIN, male=False, school=school)
    make_account(
        world,
        "head_teacher",
        "陈静",
        kinds.HEAD_TEACHER,
        male=False,
        school_class=world.school_class,
    )
    make_account(
        world,
        "subject_teacher",
        "赵磊",
        kinds.SUBJECT_TEACHER,
        school_class=world.school_class,
        subject=maths,
    )
    student = make_account(
        world, "student", "王小雨", kinds.STUDENT, male=False, school_class=world.school_class
    )
    make_account(
        world,
        "parent",
        "王大军",
        kinds.PARENT,
        school_class=world.school_class,
        child=student.person,
    )
    # Their counterparts outside: a county administrator, a school administrator and a
    # student elsewhere, so lists have rows to leave out.
    make_account(
        world, "other_county_admin", "孙丽", kinds.COUNTY_ADMIN, male=False, region=other_county
    )
    make_account(world, "other_school_admin", "周强", kinds.SCHOOL_ADMIN, school=other_school)
    make_account(world, "far_student", "吴天宇", kinds.STUDENT, school_class=world.far_class)
    return world


ROLE_KEYS = (
    "province_admin",
    "city_admin",
    "county_admin",
    "school_admin",
    "head_teacher",
    "subject_teacher",
    "student",
    "parent",
)
__all__ = ["PASSWORD", "ROLE_KEYS", "SYSTEM", "World", "build_world"]
