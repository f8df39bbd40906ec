"""Regions, schools, classes and the code tables over the API: filters, writes, errors, and
query counts that do not grow with the page."""

import pytest
from api_scope_world import result_keys

from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM
from santong.orgs import services as org_services
from santong.orgs.models import Grade, Region, School, SchoolClass

SCHOOLS = "/api/v1/schools/"
CLASSES = "/api/v1/classes/"
# The acting role, the page's count, the page itself: however many rows the page holds.
LIST_QUERIES = 3


def school_payload(**overrides):
    payload = {
        "code": "1510104050",
        "name": "锦江区第五十小学",
        "kind": School.Kind.PRIMARY,
        "operator": School.Operator.PUBLIC,
        "locale": School.Locale.URBAN,
        "county": "510104",
        "address": "锦江区春熙路1号",
    }
    payload.update(overrides)
    return payload


def add_schools(county: Region, count: int, start: int = 100) -> list[School]:
    return [
        org_services.create_school(
            actor=SYSTEM,
            code=f"1{county.code}{start + n:03d}",
            name=f"测试小学{n}",
            kind=School.Kind.PRIMARY,
            operator=School.Operator.PUBLIC,
            locale=School.Locale.RURAL,
            county=county,
        )
        for n in range(count)
    ]


# --------------------------------------------------------------------------- regions


def test_regions_filter_by_level_and_parent_and_search_by_name(world, api):
    client = api("city_admin")
    counties = client.get("/api/v1/regions/", {"level": "county", "page_size": 500})
    assert counties.status_code == 200
    codes = result_keys(counties, "code")
    assert {"510104", "510107"} <= codes
    assert all(code.startswith("5101") and len(code) == 6 for code in codes)
    children = client.get("/api/v1/regions/", {"parent": "5101", "page_size": 500})
    assert result_keys(children, "code") == codes
    found = client.get("/api/v1/regions/", {"search": "锦江"})
    assert [row["code"] for row in found.data["results"]] == ["510104"]
    assert found.data["results"][0]["level_display"] == "区县级"


def test_region_filter_outside_scope_is_simply_empty(world, api):
    response = api("county_admin").get("/api/v1/regions/", {"parent": "5107"})
    assert response.status_code == 200
    assert response.data["count"] == 0


# --------------------------------------------------------------------------- schools


def test_school_list_shows_chinese_labels_and_filters(world, api):
    client = api("county_admin")
    response = client.get(SCHOOLS, {"kind": "teaching_point"})
    assert response.status_code == 200
    [row] = response.data["results"]
    assert row["code"] == "1510104002"
    assert row["kind_display"] == "教学点"
    assert row["locale_display"] == "乡村"
    assert row["operator_display"] == "公办"
    assert row["county_name"] == "锦江区"
    assert row["city_name"] == "成都市"
    assert row["host_school_name"] == "成都市锦江区实验小学"
    by_host = client.get(SCHOOLS, {"host_school": world.school.pk})
    assert result_keys(by_host) == {str(world.teaching_point.pk)}
    by_county = api("city_admin").get(SCHOOLS, {"county": "510107"})
    assert result_keys(by_county) == {str(world.other_school.pk)}
    assert client.get(SCHOOLS, {"locale": "urban"}).data["count"] == 1


def test_school_search_and_ordering(world, api):
    client = api("city_admin")
    by_code = client.get(SCHOOLS, {"search": "1510107001"})
    assert result_keys(by_code) == {str(world.other_school.pk)}
    by_name = client.get(SCHOOLS, {"search": "实验小学"})
    assert result_keys(by_name) == {str(world.school.pk), str(world.teaching_point.pk)}
    descending = client.get(SCHOOLS, {"ordering": "-code"})
    codes = [row["code"] for row in descending.data["results"]]
    assert codes == sorted(codes, reverse=True)


def test_list_is_paginated(world, api):
    add_schools(world.county, 5)
    response = api("county_admin").get(SCHOOLS, {"page_size": 3})
    assert response.data["count"] == 7
    assert len(response.data["results"]) == 3
    assert response.data["next"] is not None


def test_county_admin_creates_a_school_with_an_audit_row(world, api):
    response = api("county_admin").post(SCHOOLS, school_payload(), format="json")
    assert response.status_code == 201, response.data
    school = School.objects.get(code="1510104050")
    assert response.data["id"] == school.pk
    assert response.data["kind_display"] == "小学"
    assert school.path == "510104/1510104050"
    event = AuditEvent.objects.get(object_type="school", object_id=str(school.pk))
    assert event.action == AuditEvent.Action.CREATE
    assert event.actor == world.users["county_admin"]


def test_teaching_point_is_created_under_its_host(world, api):
    payload = school_payload(
        code="1510104051", kind=School.Kind.TEACHING_POINT, host_school=world.school.pk
    )
    response = api("county_admin").post(SCHOOLS, payload, format="json")
    assert response.status_code == 201, response.data
    assert School.objects.get(code="1510104051").path == "510104/1510104001/1510104051"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "12345"}, "code", "学校标识码应为10位数字。"),
        ({"code": "1510104001"}, "code", "学校标识码 1510104001 已被其他学校使用。"),
        ({"county": "5101"}, "county", "学校必须隶属于区县。"),
        ({"kind": School.Kind.TEACHING_POINT}, "host_school", "教学点必须指定主校。"),
        ({"county": "510703"}, "county", "对象不存在。"),
        ({"host_school": 99999}, "host_school", "对象不存在。"),
        ({"kind": "castle"}, "kind", "“castle” 不是合法选项。"),
        ({"name": ""}, "name", "该字段不能为空。"),
        ({"founded": "1900"}, "founded", "不接受此字段。"),
    ],
)
def test_bad_school_input_answers_400_naming_the_field(world, api, overrides, field, message):
    before = (School.objects.count(), AuditEvent.objects.count())
    response = api("city_admin").post(SCHOOLS, school_payload(**overrides), format="json")
    assert response.status_code == 400
    assert response.data == {field: [message]}
    assert (School.objects.count(), AuditEvent.objects.count()) == before


def test_errors_follow_the_users_language(world, api):
    response = api("county_admin").post(
        SCHOOLS, school_payload(name=""), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.data == {"name": ["This field may not be blank."]}


def test_malformed_bodies_answer_400(world, api):
    client = api("county_admin")
    assert client.post(SCHOOLS, [1, 2], format="json").status_code == 400
    response = client.post(SCHOOLS, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert client.get(f"{SCHOOLS}not-a-number/").status_code == 404


def test_school_admin_edits_its_school_but_not_its_code(world, api):
    client = api("school_admin")
    url = f"{SCHOOLS}{world.school.pk}/"
    response = client.patch(url, {"address": "锦江区东大街200号"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["address"] == "锦江区东大街200号"
    event = AuditEvent.objects.filter(object_type="school", action="update").get()
    assert event.detail == {"address": ["四川省成都市锦江区东大街100号", "锦江区东大街200号"]}
    refused = client.patch(url, {"code": "1510104999", "name": "新名"}, format="json")
    assert refused.status_code == 400
    assert refused.data == {"code": ["不接受此字段。"]}
    world.school.refresh_from_db()
    assert (world.school.code, world.school.name) == ("1510104001", "成都市锦江区实验小学")


def test_school_admin_may_not_found_schools(world, api):
    response = api("school_admin").post(SCHOOLS, school_payload(), format="json")
    assert response.status_code == 403
    assert response.data["detail"] == "当前角色无权执行此操作。"


def test_school_list_query_count_does_not_grow(world, api, django_assert_num_queries):
    client = api("county_admin")
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(SCHOOLS, {"page_size": 100}).data["count"] == 2
    add_schools(world.county, 20)
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(SCHOOLS, {"page_size": 100}).data["count"] == 22


# --------------------------------------------------------------------------- classes


def test_classes_filter_by_school_year_and_grade(world, api):
    client = api("city_admin")
    org_services.create_class(
        actor=SYSTEM,
        school=world.school,
        school_year=world.year,
        grade=Grade.objects.get(code="11"),
        number=1,
    )
    by_school = client.get(CLASSES, {"school": world.school.pk})
    assert by_school.data["count"] == 2
    by_grade = client.get(CLASSES, {"school": world.school.pk, "grade": "13"})
    assert result_keys(by_grade) == {str(world.school_class.pk)}
    [row] = by_grade.data["results"]
    assert row["grade_name"] == "三年级"
    assert row["school_name"] == "成都市锦江区实验小学"
    assert row["school_year_name"] == "2025-2026"
    by_year = client.get(CLASSES, {"school_year": world.year.pk})
    assert by_year.data["count"] == 3


def test_class_is_created_and_renamed(world, api):
    client = api("school_admin")
    payload = {"school": world.school.pk, "school_year": world.year.pk, "grade": "13", "number": 2}
    created = client.post(CLASSES, payload, format="json")
    assert created.status_code == 201, created.data
    assert created.data["name"] == "三年级（2）班"
    duplicate = client.post(CLASSES, payload, format="json")
    assert duplicate.status_code == 400
    assert duplicate.data == {"number": ["三年级（2）班 在该学年已存在。"]}
    renamed = client.patch(f"{CLASSES}{created.data['id']}/", {"name": "  星光班 "}, format="json")
    assert renamed.status_code == 200
    assert SchoolClass.objects.get(pk=created.data["id"]).name == "星光班"
    blank = client.patch(f"{CLASSES}{created.data['id']}/", {"name": " "}, format="json")
    assert blank.status_code == 400
    assert blank.data == {"name": ["该字段不能为空。"]}


def test_class_of_a_stage_the_school_does_not_teach_is_refused(world, api):
    payload = {"school": world.school.pk, "school_year": world.year.pk, "grade": "31", "number": 1}
    response = api("school_admin").post(CLASSES, payload, format="json")
    assert response.status_code == 400
    assert response.data == {"grade": ["小学 不开设 高一。"]}


def test_head_teacher_reads_only_its_class(world, api):
    response = api("head_teacher").get(CLASSES)
    assert result_keys(response) == {str(world.school_class.pk)}


def test_class_list_query_count_does_not_grow(world, api, django_assert_num_queries):
    client = api("school_admin")
    grade = Grade.objects.get(code="14")
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(CLASSES).data["count"] == 1
    for number in range(1, 21):
        org_services.create_class(
            actor=SYSTEM, school=world.school, school_year=world.year, grade=grade, number=number
        )
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(CLASSES).data["count"] == 21


# --------------------------------------------------------------------------- code tables


@pytest.mark.parametrize(
    ("route", "key", "expected"),
    [
        ("/api/v1/grades/13/", "code", {"name": "三年级", "stage_name": "小学"}),
        ("/api/v1/subjects/02/", "code", {"name": "数学"}),
        ("/api/v1/stages/1/", "code", {"name": "小学"}),
    ],
)
def test_code_tables_are_readable_by_every_role(world, api, route, key, expected):
    response = api("parent").get(route)
    assert response.status_code == 200
    assert {name: response.data[name] for name in expected} == expected


def test_current_school_year_filter(world, api):
    org_services.ensure_school_year(start_year=2024)
    response = api("student").get("/api/v1/school-years/", {"is_current": "true"})
    assert [row["name"] for row in response.data["results"]] == ["2025-2026"]


@pytest.mark.parametrize(
    "query",
    [
        {"host_school": "1.5"},
        {"host_school": "99999999999999999999999"},
        {"host_school": "-3"},
        {"kind": "castle"},
    ],
)
def test_bad_filter_values_answer_400(world, api, query):
    response = api("county_admin").get(SCHOOLS, query)
    assert response.status_code == 400
    assert set(response.data) == set(query)


@pytest.mark.parametrize("key", ["99999999999999999999999", "1.5", "-1"])
def test_odd_ids_in_the_path_answer_404(world, api, key):
    client = api("county_admin")
    assert client.get(f"{SCHOOLS}{key}/").status_code == 404
    assert client.post(f"/api/v1/people/{key}/reveal/").status_code == 404
