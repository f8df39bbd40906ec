"""The set-based bulk services the demo (and imports) write through: checks first, then one
write per table, one audit row per batch, nothing left behind when a row is refused."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from santong.accounts.identity import get_vault, make_resident_id
from santong.accounts.models import Person, Role, User
from santong.accounts.services import NewAccount, NewRole, bulk_create_people_with_accounts
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM, ScopeError
from santong.core.bulk import common_unit, in_slices
from santong.orgs.models import School, SchoolClass
from santong.orgs.services import (
    NewClass,
    NewSchool,
    bulk_create_classes,
    bulk_create_schools,
    class_path,
)

pytestmark = pytest.mark.django_db


def school(code: str, **changes) -> NewSchool:
    fields = {
        "code": code,
        "name": f"测试学校{code[-3:]}",
        "kind": School.Kind.PRIMARY,
        "operator": School.Operator.PUBLIC,
        "locale": School.Locale.URBAN,
        "county_code": "510104",
    }
    fields.update(changes)
    return NewSchool(**fields)


def resident(n: int, *, male: bool = False, birth: date = date(2016, 3, 1)) -> str:
    # Order codes from 300 up: the world's people use the low ones.
    return make_resident_id("510104", birth, 300 + n, male)


def test_common_unit_is_the_smallest_unit_holding_every_path():
    assert common_unit(["510104/1510104001/20251301", "510104/1510104002"]) == "510104"
    assert common_unit(["510104/1510104001/20251301"]) == "510104/1510104001/20251301"
    assert common_unit(["510104", "510107"]) == "5101"
    assert common_unit(["510104", "520102"]) == ""
    assert common_unit([]) == ""


def test_in_slices_keeps_order_and_size():
    assert list(in_slices(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_schools_with_teaching_points_hosted_in_the_batch_or_already_stored(world):
    ids = bulk_create_schools(
        actor=world.actor("county_admin"),
        schools=[
            school("1510104101"),
            school(
                "1510104102",
                kind=School.Kind.TEACHING_POINT,
                locale=School.Locale.RURAL,
                host_code="1510104101",
            ),
            school(
                "1510104103",
                kind=School.Kind.TEACHING_POINT,
                locale=School.Locale.RURAL,
                host_code=world.school.code,
            ),
        ],
    )
    assert list(ids) == ["1510104101", "1510104102", "1510104103"]
    point = School.objects.get(code="1510104102")
    assert point.pk == ids["1510104102"]
    assert point.host_school_id == ids["1510104101"]
    assert point.path == "510104/1510104101/1510104102"
    assert School.objects.get(code="1510104103").path == f"{world.school.path}/1510104103"
    assert School.objects.get(code="1510104101").created_at is not None
    event = AuditEvent.objects.get(object_type="school", detail__created=3)
    assert event.path == "510104"
    assert event.actor == world.users["county_admin"]


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([school("151010410")], "code"),
        ([school("1510104101"), school("1510104101")], "code"),
        ([school("1510104001")], "code"),  # the world's school
        ([school("1510104101", county_code="5101")], "county"),
        ([school("1510104101", kind="university")], "kind"),
        ([school("1510104101", name=" ")], "name"),
        ([school("1510104101", host_code="1510104001")], "host_school"),
        (
            [
                school(
                    "1510104101", kind=School.Kind.TEACHING_POINT, host_code="1510107001"
                )  # host in 武侯区
            ],
            "host_school",
        ),
        (
            [school("1510104101", kind=School.Kind.TEACHING_POINT, host_code="1510104002")],
            "host_school",  # the world's teaching point cannot host another
        ),
    ],
)
def test_a_bad_school_row_refuses_the_whole_batch(world, rows, field):
    before = School.objects.count()
    with pytest.raises(ValidationError) as caught:
        bulk_create_schools(actor=SYSTEM, schools=[school("1510104150"), *rows])
    assert field in caught.value.message_dict
    assert School.objects.count() == before


def test_schools_outside_the_actors_county_are_refused(world):
    with pytest.raises(ScopeError):
        bulk_create_schools(
            actor=world.actor("county_admin"),
            schools=[school("1510107101", county_code="510107")],
        )
    assert not School.objects.filter(code="1510107101").exists()


def test_classes_get_their_names_and_paths(world):
    ids = bulk_create_classes(
        actor=world.actor("school_admin"),
        school_year=world.year,
        classes=[NewClass(world.school.pk, "11", 1), NewClass(world.school.pk, "11", 2)],
    )
    classes = SchoolClass.objects.in_bulk(ids)
    first = classes[ids[0]]
    assert first.name == "一年级（1）班"
    assert first.path == class_path(
        school=world.school, school_year=world.year, grade=first.grade, number=1
    )
    assert classes[ids[1]].school_year == world.year
    assert AuditEvent.objects.filter(object_type="schoolclass", detail__created=2).exists()


@pytest.mark.parametrize(
    ("grade", "number", "field"),
    [("21", 1, "grade"), ("13", 1, "number"), ("11", 0, "number"), ("99", 1, "grade")],
)
def test_a_bad_class_row_refuses_the_whole_batch(world, grade, number, field):
    before = SchoolClass.objects.count()
    with pytest.raises(ValidationError) as caught:
        bulk_create_classes(
            actor=SYSTEM,
            school_year=world.year,
            classes=[NewClass(world.school.pk, "12", 1), NewClass(world.school.pk, grade, number)],
        )
    assert field in caught.value.message_dict
    assert SchoolClass.objects.count() == before


def student_and_parent(world, n: int, *, child: str | None = None) -> list[NewAccount]:
    class_id = world.school_class.pk
    return [
        NewAccount(
            f"bulk_s{n}",
            "李小花",
            resident(n),
            (NewRole(Role.Kind.STUDENT, school_class_id=class_id),),
        ),
        NewAccount(
            f"bulk_p{n}",
            "李大山",
            resident(n, male=True, birth=date(1985, 6, 1)),
            (
                NewRole(
                    Role.Kind.PARENT, school_class_id=class_id, child_username=child or f"bulk_s{n}"
                ),
            ),
        ),
    ]


def test_people_accounts_and_roles_written_set_based(world):
    teacher = NewAccount(
        "bulk_t1",
        "周老师",
        resident(9, birth=date(1990, 1, 2)),
        (
            NewRole(Role.Kind.HEAD_TEACHER, school_class_id=world.school_class.pk),
            NewRole(
                Role.Kind.SUBJECT_TEACHER, school_class_id=world.school_class.pk, subject_code="01"
            ),
        ),
    )
    created = bulk_create_people_with_accounts(
        actor=world.actor("school_admin"), accounts=[*student_and_parent(world, 1), teacher]
    )
    assert created == 3
    student = User.objects.select_related("person").get(username="bulk_s1")
    person = student.person
    number = resident(1)
    assert get_vault().decrypt(person.id_cipher) == number
    assert person.id_digest == get_vault().digest(Person.IdType.RESIDENT, number)
    assert person.id_masked == f"{number[:6]}********{number[-4:]}"
    assert (person.gender, person.birth_date) == ("2", date(2016, 3, 1))
    assert not student.has_usable_password()
    assert student.is_active
    assert not student.is_staff
    parent_role = Role.objects.get(user__username="bulk_p1")
    assert parent_role.child == person
    assert parent_role.path == world.school_class.path
    assert parent_role.granted_by == world.users["school_admin"]
    assert set(Role.objects.filter(user__username="bulk_t1").values_list("kind", "subject_id")) == {
        (Role.Kind.HEAD_TEACHER, None),
        (Role.Kind.SUBJECT_TEACHER, "01"),
    }
    events = AuditEvent.objects.filter(path=world.school_class.path)
    assert events.get(object_type="user", action=AuditEvent.Action.CREATE, detail__created=3)
    assert events.get(
        object_type="role", action=AuditEvent.Action.GRANT, detail__has_key="granted"
    ).detail == {"granted": {"student": 1, "parent": 1, "head_teacher": 1, "subject_teacher": 1}}


def test_regional_administrators_bind_to_regions_of_their_level(world):
    bulk_create_people_with_accounts(
        actor=SYSTEM,
        accounts=[
            NewAccount(
                "bulk_city",
                "赵主任",
                resident(20, birth=date(1975, 5, 5)),
                (NewRole(Role.Kind.CITY_ADMIN, region_code="5107"),),
            )
        ],
    )
    assert Role.objects.get(user__username="bulk_city").path == "5107"
    with pytest.raises(ValidationError) as caught:
        bulk_create_people_with_accounts(
            actor=SYSTEM,
            accounts=[
                NewAccount(
                    "bulk_county",
                    "钱主任",
                    resident(21, birth=date(1975, 5, 5)),
                    (NewRole(Role.Kind.COUNTY_ADMIN, region_code="5107"),),
                )
            ],
        )
    assert "region" in caught.value.message_dict


def existing_number(world, key: str) -> str:
    return get_vault().decrypt(world.users[key].person.id_cipher)


@pytest.mark.parametrize(
    "case",
    [
        "bad_check_character",
        "taken_username",
        "taken_id_number",
        "repeated_id_number",
        "child_not_in_batch",
        "subject_missing",
        "unit_of_wrong_kind",
        "no_roles",
    ],
)
def test_a_bad_account_row_refuses_the_whole_batch(world, case):
    rows = student_and_parent(world, 2)
    good = rows[0]
    field = {
        "bad_check_character": "id_number",
        "taken_username": "username",
        "taken_id_number": "id_number",
        "repeated_id_number": "id_number",
        "child_not_in_batch": "child",
        "subject_missing": "subject",
        "unit_of_wrong_kind": "school",
        "no_roles": "kind",
    }[case]
    if case == "bad_check_character":
        number = good.id_number
        rows[0] = good._replace(id_number=number[:17] + ("0" if number[17] != "0" else "1"))
    elif case == "taken_username":
        rows[1] = rows[1]._replace(username="student")
    elif case == "taken_id_number":
        rows[0] = good._replace(id_number=existing_number(world, "student"))
    elif case == "repeated_id_number":
        rows[1] = rows[1]._replace(id_number=good.id_number)
    elif case == "child_not_in_batch":
        rows = student_and_parent(world, 2, child="student")
    elif case == "subject_missing":
        rows[0] = good._replace(
            roles=(NewRole(Role.Kind.SUBJECT_TEACHER, school_class_id=world.school_class.pk),)
        )
    elif case == "unit_of_wrong_kind":
        rows[0] = good._replace(roles=(NewRole(Role.Kind.STUDENT, school_id=world.school.pk),))
    else:
        rows[0] = good._replace(roles=())
    counts = (Person.objects.count(), User.objects.count(), Role.objects.count())
    with pytest.raises(ValidationError) as caught:
        bulk_create_people_with_accounts(actor=SYSTEM, accounts=rows)
    assert field in caught.value.message_dict
    assert (Person.objects.count(), User.objects.count(), Role.objects.count()) == counts


@pytest.mark.parametrize(
    ("key", "role"),
    [
        ("head_teacher", NewRole(Role.Kind.STUDENT, school_class_id=0)),
        ("school_admin", NewRole(Role.Kind.COUNTY_ADMIN, region_code="510104")),
        ("county_admin", NewRole(Role.Kind.SCHOOL_ADMIN, school_id=0)),
    ],
)
def test_grants_beyond_the_actors_rank_or_scope_are_refused(world, key, role):
    if role.school_class_id == 0:
        role = role._replace(school_class_id=world.school_class.pk)
    if role.school_id == 0:
        role = role._replace(school_id=world.other_school.pk)
    before = User.objects.count()
    with pytest.raises(ScopeError):
        bulk_create_people_with_accounts(
            actor=world.actor(key),
            accounts=[NewAccount("bulk_x", "孙某", resident(30, birth=date(1980, 1, 1)), (role,))],
        )
    assert User.objects.count() == before
