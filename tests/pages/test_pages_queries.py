"""Hot pages cost a fixed number of queries: pinned here, and the same with few rows as many."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from santong.accounts import services as account_services
from santong.accounts.models import Role
from santong.core.actors import SYSTEM
from santong.orgs import services as org_services
from santong.orgs.models import Grade, School
from santong.testing.world import make_person


def queries(client, url, **params):
    client.get(url, params)  # warm caches (content types, sessions) out of the count
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(context.captured_queries)


def grow(world, schools=12, classes_per_school=2, students_per_class=4):
    """More schools, classes, teachers and students inside 锦江区 (the county admin's scope)."""
    grade = Grade.objects.get(code="14")
    for s in range(schools):
        school = org_services.create_school(
            actor=SYSTEM,
            code=f"15101047{s:02d}",
            name=f"锦江区扩展小学{s:02d}",
            kind=School.Kind.PRIMARY,
            operator=School.Operator.PUBLIC,
            locale=School.Locale.URBAN,
            county=world.county,
        )
        for number in range(1, classes_per_school + 1):
            school_class = org_services.create_class(
                actor=SYSTEM, school=school, school_year=world.year, grade=grade, number=number
            )
            teacher = make_person(f"教师{s}{number}")
            account_services.create_account(
                actor=SYSTEM,
                username=f"t{s}_{number}",
                person=teacher,
                kind=Role.Kind.HEAD_TEACHER,
                school_class=school_class,
            )
            for k in range(students_per_class):
                student = make_person(f"学生{s}{number}{k}", birth=date(2015, 3, 1))
                account_services.create_account(
                    actor=SYSTEM,
                    username=f"s{s}_{number}_{k}",
                    person=student,
                    kind=Role.Kind.STUDENT,
                    school_class=school_class,
                )


@pytest.mark.parametrize(
    ("key", "budget"),
    [("province_admin", 12), ("city_admin", 12), ("county_admin", 12), ("school_admin", 12)],
)
def test_home_of_each_admin_level(world, browse, django_assert_max_num_queries, key, budget):
    client = browse(key)
    client.get(reverse("core:home"))
    with django_assert_max_num_queries(budget):
        assert client.get(reverse("core:home")).status_code == 200


def test_hot_pages_stay_within_their_budgets(world, browse, django_assert_max_num_queries):
    client = browse("county_admin")
    budgets = [
        (reverse("orgs:school_list"), 7),
        (reverse("orgs:class_detail", args=[world.school_class.pk]), 10),
        (reverse("accounts:person_list"), 8),
        (reverse("audit:event_list"), 7),
        (reverse("orgs:tree"), 16),
    ]
    for url, budget in budgets:
        client.get(url)
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200


def test_teacher_home_budget(world, browse, django_assert_max_num_queries):
    client = browse("head_teacher")
    client.get(reverse("core:home"))
    with django_assert_max_num_queries(7):
        assert client.get(reverse("core:home")).status_code == 200


def test_no_query_per_row(world, browse):
    """Each page costs the same with one school as with thirteen, with one student as with
    a hundred: nothing is fetched per row, per child unit or per person."""
    county = browse("county_admin")
    province = browse("province_admin")
    pages = [
        (county, reverse("core:home"), {}),
        (province, reverse("core:home"), {}),
        (county, reverse("orgs:school_list"), {}),
        (county, reverse("orgs:class_list"), {}),
        (county, reverse("accounts:person_list"), {}),
        (county, reverse("accounts:account_list"), {}),
        (county, reverse("accounts:role_list"), {}),
        (county, reverse("audit:event_list"), {}),
        (county, reverse("orgs:tree"), {}),
        (province, reverse("orgs:tree"), {}),
        (province, reverse("orgs:tree_node", args=[world.city.code]), {}),
        (county, reverse("orgs:school_detail", args=[world.school.pk]), {}),
    ]
    few = [queries(client, url, **params) for client, url, params in pages]
    grow(world)
    many = [queries(client, url, **params) for client, url, params in pages]
    assert many == few


def test_class_detail_costs_the_same_for_a_full_class(world, browse):
    client = browse("school_admin")
    url = reverse("orgs:class_detail", args=[world.school_class.pk])
    few = queries(client, url)
    for k in range(30):
        student = make_person(f"同学{k}", birth=date(2016, 1, 1))
        account_services.create_account(
            actor=SYSTEM,
            username=f"classmate{k}",
            person=student,
            kind=Role.Kind.STUDENT,
            school_class=world.school_class,
        )
    assert queries(client, url) == few
    assert len(client.get(url).context["students"]) == 31


def test_grown_counts_are_right(world, browse):
    grow(world, schools=3, classes_per_school=2, students_per_class=5)
    response = browse("county_admin").get(reverse("orgs:tree"))
    rows = {row["unit"].code: row["counts"] for row in response.context["tables"][0]["rows"]}
    assert rows["1510104700"] == [0, 2, 2, 10]
    assert response.context["totals"][3][1] == 1 + 3 * 2 * 5
