"""The registries over the API: every workflow walked from each side that takes part in it,
refusals that name the field and the reason in Chinese, and list query counts that do not grow
with the page. The scope of every endpoint is checked in test_scope_matrix.py."""

import re
from datetime import date
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from santong.accounts.identity import get_vault, make_resident_id
from santong.accounts.models import Person, Role
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM
from santong.orgs import services as org_services
from santong.orgs.models import Grade, School, SchoolClass, SchoolYear
from santong.registry import services
from santong.registry.models import (
    Rollover,
    SchoolChange,
    StudentEvent,
    StudentRecord,
    StudentRequest,
    TeacherRecord,
    TeacherTransfer,
)
from santong.testing.world import World, make_account

pytestmark = pytest.mark.django_db

STUDENTS = "/api/v1/students/"
TEACHERS = "/api/v1/teachers/"
REQUESTS = "/api/v1/student-requests/"
TRANSFERS = "/api/v1/teacher-transfers/"
ROLLOVER = "/api/v1/rollover/"
QUEUES = "/api/v1/queues/"
CHINESE = re.compile(r"[\u4e00-\u9fff]")

_sequence = iter(range(10_000))


def id_number(*, birth: date = date(2016, 9, 1), male: bool = True) -> str:
    """A valid resident ID number no other test person has (born in 成都 on `birth`)."""
    return make_resident_id("510104", birth, next(_sequence) % 500, male)


def ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.data
    return response.data


def refused(response: Any, *fields: str) -> dict[str, list[str]]:
    """A 400 naming exactly `fields`, each with reasons in Chinese."""
    assert response.status_code == 400, response.data
    assert set(response.data) == set(fields), response.data
    for messages in response.data.values():
        assert messages, response.data
        assert all(CHINESE.search(str(m)) for m in messages), messages
    data: dict[str, list[str]] = response.data
    return data


@pytest.fixture
def bureaus(world: World) -> World:
    """The far county's and other city's bureaus and the far school's administrator, so every
    step of a transfer across cities has a named decider."""
    kinds = Role.Kind
    make_account(world, "far_county_admin", "郑华", kinds.COUNTY_ADMIN, region=world.far_county)
    make_account(world, "far_school_admin", "冯敏", kinds.SCHOOL_ADMIN, school=world.far_school)
    make_account(world, "other_city_admin", "何勇", kinds.CITY_ADMIN, region=world.other_city)
    return world


def new_class(school: School, grade: str = "13", number: int = 2, year: Any = None) -> SchoolClass:
    return org_services.create_class(
        actor=SYSTEM,
        school=school,
        school_year=year or SchoolYear.objects.get(is_current=True),
        grade=Grade.objects.get(code=grade),
        number=number,
    )


def enrol(api, key: str = "school_admin", **fields: Any) -> dict[str, Any]:
    body = {
        "school_class": fields.pop("school_class"),
        "name": "李明",
        "id_type": "1",
        "id_number": id_number(),
        "ethnicity": "01",
        **fields,
    }
    return ok(api(key).post(STUDENTS, body, format="json"), 201)


def history(api, key: str, record_id: int) -> list[dict[str, Any]]:
    data = ok(api(key).get(f"{STUDENTS}{record_id}/events/", {"page_size": 100}))
    rows: list[dict[str, Any]] = data["results"]
    return rows


def post(api, key: str, target: str, body: dict[str, Any] | None = None) -> Any:
    return api(key).post(target, body or {}, format="json")


# --------------------------------------------------------------------------- 转学


def test_a_transfer_across_counties_from_every_side(world, api):
    """The sending school asks, the receiving school accepts into a class, the sending county
    and then the receiving county approve; each side sees the request in its list and its work
    queue while it waits for them, and the student moves only at the last approval."""
    student = enrol(api, school_class=world.school_class.pk, name="王一")
    target = new_class(world.other_school)

    request = ok(
        post(
            api,
            "school_admin",
            REQUESTS,
            {
                "kind": "transfer",
                "record": student["id"],
                "to_school": world.other_school.pk,
                "reason": "随父母工作调动",
            },
        ),
        201,
    )
    assert [(step["level"], step["path"]) for step in request["steps"]] == [
        ("school", world.other_school.path),
        ("county", "510104"),
        ("county", "510107"),
    ]
    sides = ("school_admin", "other_school_admin", "county_admin", "other_county_admin")
    for key in sides:
        listed = ok(api(key).get(REQUESTS))["results"]
        assert [row["id"] for row in listed] == [request["id"]], key

    deciders = [
        ("other_school_admin", "accept", {"school_class": target.pk, "note": "同意接收"}),
        ("county_admin", "approve", {"note": "同意转出"}),
        ("other_county_admin", "approve", {}),
    ]
    for position, (key, step, body) in enumerate(deciders):
        waiting = ok(api(key).get(REQUESTS, {"waiting": "true"}))["results"]
        assert [row["id"] for row in waiting] == [request["id"]], key
        queue = {item["key"]: item["count"] for item in ok(api(key).get(QUEUES))}
        assert queue["transfer"] == 1, key
        for other, _step, _body in deciders[position + 1 :]:
            assert ok(api(other).get(REQUESTS, {"waiting": "true"}))["results"] == [], other
        record = StudentRecord.objects.get(pk=student["id"])
        assert record.school == world.school, "the student moved before the last approval"
        request = ok(post(api, key, f"{REQUESTS}{request['id']}/{step}/", body))

    assert request["status"] == "approved"
    assert request["to_class"] == target.pk
    record = StudentRecord.objects.get(pk=student["id"])
    assert (record.school, record.school_class, record.path) == (
        world.other_school,
        target,
        target.path,
    )
    # The student's history, as the receiving school now reads it.
    rows = history(api, "other_school_admin", student["id"])
    assert [row["kind"] for row in reversed(rows)] == [
        "enrolled",
        "requested",
        "step_approved",
        "step_approved",
        "step_approved",
        "transferred",
    ]
    assert [row["step"] for row in reversed(rows)][2:5] == [
        "成都市武侯区第一小学 接收",
        "锦江区 审批",
        "武侯区 审批",
    ]
    assert rows[0]["actor_name"] == "孙丽"
    assert rows[0]["detail"]["to_class"] == target.name
    # The sending school no longer reads the student; the request stays visible to it.
    assert api("school_admin").get(f"{STUDENTS}{student['id']}/").status_code == 404
    assert ok(api("school_admin").get(f"{REQUESTS}{request['id']}/"))["status"] == "approved"


def test_a_transfer_within_the_county_needs_one_approval_after_acceptance(world, api):
    student = enrol(api, school_class=world.school_class.pk)
    neighbour = org_services.create_school(
        actor=SYSTEM,
        code="1510104009",
        name="锦江区第九小学",
        kind=School.Kind.PRIMARY,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.URBAN,
        county=world.county,
    )
    make_account(world, "neighbour_admin", "钱多", Role.Kind.SCHOOL_ADMIN, school=neighbour)
    target = new_class(neighbour, number=1)
    body = {
        "kind": "transfer",
        "record": student["id"],
        "to_school": neighbour.pk,
        "reason": "搬家",
    }
    request = ok(post(api, "school_admin", REQUESTS, body), 201)
    assert len(request["steps"]) == 2
    path = f"{REQUESTS}{request['id']}"
    # The sending school can neither accept for the receiving one nor approve for its county.
    assert (
        post(
            api, "school_admin", f"{path}/accept/", {"school_class": world.school_class.pk}
        ).status_code
        == 403
    )
    assert post(api, "school_admin", f"{path}/approve/").status_code == 403
    ok(post(api, "neighbour_admin", f"{path}/accept/", {"school_class": target.pk}))
    assert ok(post(api, "county_admin", f"{path}/approve/"))["status"] == "approved"
    assert StudentRecord.objects.get(pk=student["id"]).school_class == target


@pytest.mark.parametrize("step", [0, 1, 2])
def test_each_step_rejects_with_a_reason_kept_in_the_history(world, api, step):
    student = enrol(api, school_class=world.school_class.pk)
    target = new_class(world.other_school)
    request = ok(
        post(
            api,
            "school_admin",
            REQUESTS,
            {
                "kind": "transfer",
                "record": student["id"],
                "to_school": world.other_school.pk,
                "reason": "随父母工作调动",
            },
        ),
        201,
    )
    path = f"{REQUESTS}{request['id']}"
    deciders = [
        ("other_school_admin", "accept", {"school_class": target.pk}),
        ("county_admin", "approve", {}),
        ("other_county_admin", "approve", {}),
    ]
    for key, action, body in deciders[:step]:
        ok(post(api, key, f"{path}/{action}/", body))
    decider = deciders[step][0]
    refused(post(api, decider, f"{path}/reject/", {"reason": "  "}), "reason")
    refused(post(api, decider, f"{path}/reject/"), "reason")
    rejected = ok(post(api, decider, f"{path}/reject/", {"reason": "学位已满"}))
    assert (rejected["status"], rejected["decision_note"], rejected["waiting"]) == (
        "rejected",
        "学位已满",
        None,
    )
    assert StudentRecord.objects.get(pk=student["id"]).school == world.school
    latest = history(api, "school_admin", student["id"])[0]
    assert (latest["kind"], latest["reason"]) == ("rejected", "学位已满")
    assert latest["step"] == ["成都市武侯区第一小学 接收", "锦江区 审批", "武侯区 审批"][step]
    # A closed request takes no more decisions, and the student may be asked for again.
    refused(post(api, decider, f"{path}/reject/", {"reason": "再次驳回"}), "status")
    again = {"kind": "transfer", "record": student["id"], "to_school": world.other_school.pk}
    ok(post(api, "school_admin", REQUESTS, {**again, "reason": "重新申请"}), 201)


def test_the_sending_school_withdraws_before_the_last_approval(world, api):
    student = enrol(api, school_class=world.school_class.pk)
    target = new_class(world.other_school)
    body = {
        "kind": "transfer",
        "record": student["id"],
        "to_school": world.other_school.pk,
        "reason": "随父母工作调动",
    }
    path = f"{REQUESTS}{ok(post(api, 'school_admin', REQUESTS, body), 201)['id']}"
    ok(post(api, "other_school_admin", f"{path}/accept/", {"school_class": target.pk}))
    assert post(api, "other_school_admin", f"{path}/withdraw/").status_code == 403
    assert post(api, "county_admin", f"{path}/withdraw/").status_code == 403
    withdrawn = ok(post(api, "school_admin", f"{path}/withdraw/", {"reason": "家长改变主意"}))
    assert withdrawn["status"] == "withdrawn"
    refused(post(api, "county_admin", f"{path}/approve/"), "status")
    latest = history(api, "school_admin", student["id"])[0]
    assert (latest["kind"], latest["reason"]) == ("withdrawn", "家长改变主意")


@override_settings(SANTONG_TRANSFER_CITY_APPROVAL=True)
def test_across_cities_both_cities_approve_when_so_configured(bureaus, api):
    world = bureaus
    student = enrol(api, school_class=world.school_class.pk)
    body = {
        "kind": "transfer",
        "record": student["id"],
        "to_school": world.far_school.pk,
        "reason": "随父母工作调动",
    }
    request = ok(post(api, "school_admin", REQUESTS, body), 201)
    assert [step["path"] for step in request["steps"]] == [
        world.far_school.path,
        "510104",
        "510703",
        "5101",
        "5107",
    ]
    path = f"{REQUESTS}{request['id']}"
    ok(post(api, "far_school_admin", f"{path}/accept/", {"school_class": world.far_class.pk}))
    for key in ("county_admin", "far_county_admin", "city_admin"):
        ok(post(api, key, f"{path}/approve/"))
    assert {i["key"]: i["count"] for i in ok(api("other_city_admin").get(QUEUES))}["transfer"] == 1
    assert ok(post(api, "other_city_admin", f"{path}/approve/"))["status"] == "approved"
    assert StudentRecord.objects.get(pk=student["id"]).school == world.far_school


def test_a_transfer_out_of_the_region_is_approved_by_the_sending_side_only(world, api):
    student = enrol(api, school_class=world.school_class.pk)
    refused(
        post(
            api,
            "school_admin",
            REQUESTS,
            {"kind": "transfer_out", "record": student["id"], "reason": "出国"},
        ),
        "destination",
    )
    body = {
        "kind": "transfer_out",
        "record": student["id"],
        "destination": "北京市海淀区中关村第一小学",
        "reason": "随父母迁居北京",
    }
    request = ok(post(api, "school_admin", REQUESTS, body), 201)
    assert request["to_school"] is None
    assert [step["path"] for step in request["steps"]] == ["510104"]
    assert post(api, "school_admin", f"{REQUESTS}{request['id']}/approve/").status_code == 403
    approved = ok(post(api, "county_admin", f"{REQUESTS}{request['id']}/approve/"))
    assert approved["status"] == "approved"
    record = ok(api("school_admin").get(f"{STUDENTS}{student['id']}/"))
    assert (record["status"], record["destination"]) == (
        "transferred_out",
        "北京市海淀区中关村第一小学",
    )
    assert history(api, "school_admin", student["id"])[0]["kind"] == "transferred_out"


# --------------------------------------------------------------------------- other requests


def test_suspend_resume_drop_out_and_deregister_with_the_county_s_approval(world, api):
    student = enrol(api, school_class=world.school_class.pk)
    suspend = {"kind": "suspend", "record": student["id"], "reason": "因病休学"}
    request = ok(post(api, "school_admin", REQUESTS, suspend), 201)
    assert post(api, "school_admin", f"{REQUESTS}{request['id']}/approve/").status_code == 403
    ok(post(api, "county_admin", f"{REQUESTS}{request['id']}/approve/"))
    assert ok(api("school_admin").get(f"{STUDENTS}{student['id']}/"))["status"] == "suspended"
    # A suspended student is not transferred.
    transfer = {
        "kind": "transfer",
        "record": student["id"],
        "to_school": world.other_school.pk,
        "reason": "转学",
    }
    assert (
        "休学学生不能转学"
        in refused(post(api, "school_admin", REQUESTS, transfer), "record")["record"][0]
    )
    resumed = ok(
        post(
            api,
            "school_admin",
            f"{STUDENTS}{student['id']}/resume/",
            {"school_class": world.school_class.pk, "reason": "病愈"},
        )
    )
    assert resumed["status"] == "enrolled"
    for kind, status in (("drop_out", "dropped_out"), ("deregister", "deregistered")):
        other = enrol(api, school_class=world.school_class.pk)
        body = {"kind": kind, "record": other["id"], "reason": "经核实"}
        request = ok(post(api, "school_admin", REQUESTS, body), 201)
        ok(post(api, "county_admin", f"{REQUESTS}{request['id']}/approve/"))
        assert StudentRecord.objects.get(pk=other["id"]).status == status
    refused(
        post(api, "school_admin", REQUESTS, {**suspend, "to_school": world.other_school.pk}),
        "to_school",
    )


# --------------------------------------------------------------------------- 新生注册


def test_enrolling_a_registered_student_names_the_school_and_its_record(world, api):
    number = id_number()
    first = enrol(api, school_class=world.school_class.pk, name="赵一", id_number=number)
    response = post(
        api,
        "other_school_admin",
        STUDENTS,
        {
            "school_class": world.other_class.pk,
            "name": "赵一",
            "id_type": "1",
            "id_number": number.lower(),
            "ethnicity": "01",
        },
    )
    assert response.status_code == 409, response.data
    assert response.data["record"] == first["id"]
    assert response.data["school_name"] == "成都市锦江区实验小学"
    assert "成都市锦江区实验小学" in response.data["detail"]
    assert number not in str(response.data)
    assert StudentRecord.objects.count() == 1
    # With the record's id, the school holding it starts the transfer the refusal offers.
    body = {
        "kind": "transfer",
        "record": response.data["record"],
        "to_school": world.other_school.pk,
        "reason": "学生将转入武侯区第一小学",
    }
    ok(post(api, "school_admin", REQUESTS, body), 201)


def test_a_student_without_id_gets_an_l_number_then_the_g_number(world, api):
    student = enrol(
        api,
        school_class=world.school_class.pk,
        id_type="9",
        id_number="",
        gender="2",
        birth_date="2016-03-08",
    )
    assert student["number"].startswith("L5101042025")
    temporary = student["number"]
    number = make_resident_id("510104", date(2016, 3, 8), 321, False)
    recorded = ok(
        post(
            api,
            "school_admin",
            f"{STUDENTS}{student['id']}/record-id/",
            {"id_type": "1", "id_number": number},
        )
    )
    assert recorded["number"] == f"G{number[:6]}********{number[-4:]}"
    found = ok(api("county_admin").get(STUDENTS, {"number": temporary}))["results"]
    assert [row["id"] for row in found] == [student["id"]]
    found = ok(api("county_admin").get(STUDENTS, {"number": f"g{number}"}))["results"]
    assert [row["id"] for row in found] == [student["id"]]
    revealed = ok(post(api, "county_admin", f"{STUDENTS}{student['id']}/reveal-number/"))
    assert revealed == {"number": f"G{number}"}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REVEAL).count() == 1


def test_student_lists_search_and_filter(world, api):
    second = new_class(world.school, number=2)
    wang = enrol(api, school_class=world.school_class.pk, name="王可馨")
    li = enrol(api, school_class=second.pk, name="李子轩")
    enrol(api, key="other_school_admin", school_class=world.other_class.pk, name="王子豪")
    client = api("county_admin")

    def ids(**params: Any) -> set[int]:
        return {row["id"] for row in ok(client.get(STUDENTS, params))["results"]}

    assert ids(search="王") == {wang["id"]}
    assert ids(search=wang["number"].lower()) == {wang["id"]}
    assert ids(school_class=second.pk) == {li["id"]}
    assert ids(school=world.school.pk, grade="13") == {wang["id"], li["id"]}
    assert ids(grade="14") == set()
    assert ids(status="suspended") == set()
    assert ids(
        number="G"
        + get_vault().decrypt(bytes(StudentRecord.objects.get(pk=li["id"]).person.id_cipher))
    ) == {li["id"]}
    assert ids(number="G110101201001010000") == set()
    row = ok(client.get(f"{STUDENTS}{wang['id']}/"))
    assert re.fullmatch(r"G510104\*{8}[0-9X]{4}", row["number"])
    assert row["id_masked"] == row["number"][1:]
    assert (row["grade"], row["grade_name"], row["class_name"]) == ("13", "三年级", "三年级（1）班")
    refused(client.get(STUDENTS, {"status": "studying"}), "status")
    refused(client.get(STUDENTS, {"search": "王" * 101}), "search")
    refused(client.get(STUDENTS, {"graduating": "maybe"}), "graduating")


def test_a_student_and_a_parent_read_the_student_s_own_record_and_history(world, api):
    person = world.users["student"].person
    record = services.enrol_student(
        actor=world.actor("school_admin"),
        school_class=world.school_class,
        name=person.name,
        id_type="1",
        id_number=get_vault().decrypt(bytes(person.id_cipher)),
        ethnicity="01",
    )
    enrol(api, school_class=world.school_class.pk, name="同班同学")
    for key in ("student", "parent"):
        listed = ok(api(key).get(STUDENTS))["results"]
        assert [row["id"] for row in listed] == [record.pk], key
        assert history(api, key, record.pk)[0]["kind"] == "enrolled"
        assert post(api, key, f"{STUDENTS}{record.pk}/reveal-number/").status_code == 403
    assert len(ok(api("head_teacher").get(STUDENTS))["results"]) == 2


# --------------------------------------------------------------------------- 升级, 毕业


def test_rollover_preview_then_run_then_run_again(world, api):
    for name in ("周一", "周二"):
        enrol(api, school_class=world.school_class.pk, name=name)
    final = new_class(world.school, grade="16", number=1)
    enrol(api, school_class=final.pk, name="周三")
    client = api("county_admin")

    preview = ok(client.get(f"{ROLLOVER}preview/", {"school": world.school.pk}))
    assert preview["dry_run"] is True
    expected = {"to_promote": 2, "to_mark_graduating": 1, "classes_to_create": 1}
    assert {key: preview["plan"][key] for key in expected} == expected
    assert (preview["plan"]["from_year"], preview["plan"]["to_year"]) == (2025, 2026)
    dry = ok(client.post(ROLLOVER, {"school": world.school.pk, "dry_run": True}, format="json"))
    assert dry["plan"] == preview["plan"]
    assert not SchoolYear.objects.filter(start_year=2026).exists()
    assert not Rollover.objects.exists()

    run = ok(client.post(ROLLOVER, {"school": world.school.pk}, format="json"))
    assert (run["dry_run"], run["promoted"], run["marked_graduating"], run["classes_created"]) == (
        False,
        2,
        1,
        1,
    )
    assert run["rollover"] == Rollover.objects.get().pk
    promoted = ok(client.get(STUDENTS, {"grade": "14"}))["results"]
    assert sorted(row["name"] for row in promoted) == ["周一", "周二"]
    graduating = ok(client.get(STUDENTS, {"graduating": "true"}))["results"]
    assert [row["name"] for row in graduating] == ["周三"]
    queue = {item["key"]: item["count"] for item in ok(client.get(QUEUES))}
    assert queue["graduating"] == 1

    events = StudentEvent.objects.count()
    again = ok(client.post(ROLLOVER, {"school": world.school.pk}, format="json"))
    assert (again["rollover"], again["promoted"], again["marked_graduating"]) == (None, 0, 0)
    assert again["plan"]["has_work"] is False
    assert Rollover.objects.count() == 1
    assert StudentEvent.objects.count() == events
    preview = ok(client.get(f"{ROLLOVER}preview/"))
    assert preview["plan"]["has_work"] is False

    # Graduation is the county's decision, not the school's.
    assert post(api, "school_admin", f"{STUDENTS}graduate/").status_code == 403
    assert ok(post(api, "county_admin", f"{STUDENTS}graduate/")) == {"graduated": 1}
    assert ok(post(api, "county_admin", f"{STUDENTS}graduate/")) == {"graduated": 0}


def test_rollover_refuses_what_it_cannot_do(world, api):
    client = api("school_admin")
    refused(
        client.post(ROLLOVER, {"school": world.school.pk, "region": "510104"}, format="json"),
        "region",
    )
    refused(client.post(ROLLOVER, {"school": world.other_school.pk}, format="json"), "school")
    refused(client.post(ROLLOVER, {"region": ""}, format="json"), "region")
    # A preview names what it reads in its query: what the role cannot see is not found.
    for query in ({"school": world.other_school.pk}, {"school_year": 999999}):
        response = client.get(f"{ROLLOVER}preview/", query)
        assert (response.status_code, response.data) == (404, {"detail": "对象不存在。"})
    refused(client.get(f"{ROLLOVER}preview/", {"page": 1}), "page")
    refused(client.get(f"{ROLLOVER}preview/", {"school": "一"}), "school")
    assert api("head_teacher").get(f"{ROLLOVER}preview/").status_code == 403


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("region=+", "region", "行政区划代码应为2位、4位或6位数字。"),
        ("region=%2B", "region", "行政区划代码应为2位、4位或6位数字。"),
        ("region=5101041", "region", "行政区划代码应为2位、4位或6位数字。"),
        ("school_year=0", "school_year", "学年编号应为正整数。"),
        ("school_year=-1", "school_year", "学年编号应为正整数。"),
        ("school=0", "school", "学校编号应为正整数。"),
        ("school=1.5", "school", "学校编号应为正整数。"),
    ],
)
def test_a_preview_query_the_schema_forbids_is_refused_naming_the_field(
    world, api, query, field, reason
):
    """The schema gives the region code's pattern and the ids' minimum; what breaks them is a
    400 naming the field, what fits them but names nothing the role can see is a 404."""
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in api("county_admin")
        .get("/api/schema/?format=json")
        .json()["paths"][f"{ROLLOVER}preview/"]["get"]["parameters"]
    }
    assert parameters["region"]["pattern"] == r"^[0-9]{2}(?:[0-9]{2}){0,2}$"
    assert parameters["school"]["minimum"] == parameters["school_year"]["minimum"] == 1
    errors = refused(api("county_admin").get(f"{ROLLOVER}preview/?{query}"), field)
    assert errors[field] == [reason]


def test_a_preview_of_a_unit_that_fits_the_schema_is_answered(world, api):
    client = api("county_admin")
    plan = ok(client.get(f"{ROLLOVER}preview/", {"region": "510104"}))["plan"]
    assert plan["path"] == "510104"
    # An empty parameter is a parameter not given, as a form sends it.
    assert ok(client.get(f"{ROLLOVER}preview/?region=&school_year="))["plan"]["path"] == "510104"
    response = client.get(f"{ROLLOVER}preview/", {"region": "999999"})
    assert (response.status_code, response.data) == (404, {"detail": "对象不存在。"})


@pytest.mark.parametrize("target", [ROLLOVER, f"{STUDENTS}graduate/"])
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"region": ""}, "行政区划不能为空；不限定行政区划时请不传此字段。"),
        ({"region": None}, "行政区划不能为空；不限定行政区划时请不传此字段。"),
        ({"region": " "}, "行政区划代码应为2位、4位或6位数字。"),
        ({"school": ""}, "学校不能为空；不限定学校时请不传此字段。"),
        ({"school": 0}, "学校编号应为正整数。"),
        ({"school": True}, "学校编号应为正整数。"),
    ],
)
def test_a_set_based_run_refuses_an_empty_or_malformed_unit(world, api, target, body, reason):
    students = StudentRecord.objects.count()
    errors = refused(post(api, "county_admin", target, body), *body)
    assert errors == {name: [reason] for name in body}
    assert not Rollover.objects.exists()
    assert StudentRecord.objects.count() == students


def test_a_rollover_refuses_an_empty_or_malformed_school_year(world, api):
    for value, reason in (
        ("", "学年不能为空；按当前学年升级时请不传此字段。"),
        (0, "学年编号应为正整数。"),
        (None, "学年不能为空；按当前学年升级时请不传此字段。"),
    ):
        errors = refused(post(api, "county_admin", ROLLOVER, {"school_year": value}), "school_year")
        assert errors["school_year"] == [reason]
    assert not Rollover.objects.exists()


# --------------------------------------------------------------------------- 教师库


def teacher_body(school: School, **fields: Any) -> dict[str, Any]:
    return {
        "school": school.pk,
        "name": "周老师",
        "id_type": "1",
        "id_number": id_number(birth=date(1988, 4, 2)),
        "ethnicity": "01",
        "education": "21",
        "title": "3",
        "position": "07",
        "subjects": ["02"],
        "hired_on": "2010-09-01",
        "employment": "1",
        **fields,
    }


def test_a_teacher_moves_across_counties_and_the_history_says_who_and_why(world, api):
    teacher = ok(post(api, "school_admin", TEACHERS, teacher_body(world.school)), 201)
    assert teacher["subjects"] == ["02"]
    path = f"{TEACHERS}{teacher['id']}"
    changed = ok(
        api("school_admin").patch(
            path + "/", {"title": "2", "title_since": "2024-09-01"}, format="json"
        )
    )
    assert changed["title"] == "2"
    titles = ok(api("county_admin").get(f"{path}/titles/"))["results"]
    assert {(row["title"], row["since"]) for row in titles if row["title"] == "2"} == {
        ("2", "2024-09-01")
    }
    assert sorted(row["title"] for row in titles) == ["2", "3"]

    body = {"teacher": teacher["id"], "to_school": world.other_school.pk, "reason": "交流轮岗"}
    transfer = ok(post(api, "school_admin", TRANSFERS, body), 201)
    flow = f"{TRANSFERS}{transfer['id']}"
    for key in ("school_admin", "other_school_admin", "county_admin", "other_county_admin"):
        assert [row["id"] for row in ok(api(key).get(TRANSFERS))["results"]] == [transfer["id"]]
    # 调动 in progress: no leave or retirement until it is decided.
    refused(post(api, "school_admin", f"{path}/start-leave/", {"reason": "病假"}), "status")
    ok(post(api, "other_school_admin", f"{flow}/accept/", {"note": "欢迎"}))
    ok(post(api, "county_admin", f"{flow}/approve/"))
    assert TeacherRecord.objects.get(pk=teacher["id"]).school == world.school
    done = ok(post(api, "other_county_admin", f"{flow}/approve/"))
    assert done["status"] == "approved"
    assert TeacherRecord.objects.get(pk=teacher["id"]).school == world.other_school
    assert api("school_admin").get(path + "/").status_code == 404
    events = ok(api("other_school_admin").get(f"{path}/events/"))["results"]
    assert [row["kind"] for row in events][:2] == ["transferred", "step_approved"]
    assert events[0]["reason"] == "交流轮岗"
    assert events[0]["detail"] == {
        "from_school": "成都市锦江区实验小学",
        "to_school": "成都市武侯区第一小学",
    }


def test_teacher_transfers_reject_and_withdraw(world, api):
    teachers = [
        ok(post(api, "school_admin", TEACHERS, teacher_body(world.school, name=name)), 201)
        for name in ("甲老师", "乙老师")
    ]
    flows = [
        ok(
            post(
                api,
                "school_admin",
                TRANSFERS,
                {"teacher": t["id"], "to_school": world.other_school.pk, "reason": "交流"},
            ),
            201,
        )
        for t in teachers
    ]
    first, second = (f"{TRANSFERS}{flow['id']}" for flow in flows)
    assert post(api, "county_admin", f"{first}/reject/", {"reason": "不同意"}).status_code == 403
    rejected = ok(post(api, "other_school_admin", f"{first}/reject/", {"reason": "编制已满"}))
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "编制已满")
    events = ok(api("school_admin").get(f"{TEACHERS}{teachers[0]['id']}/events/"))["results"]
    assert (events[0]["kind"], events[0]["reason"], events[0]["step"]) == (
        "rejected",
        "编制已满",
        "成都市武侯区第一小学 接收",
    )
    ok(post(api, "other_school_admin", f"{second}/accept/"))
    assert ok(post(api, "school_admin", f"{second}/withdraw/"))["status"] == "withdrawn"
    assert set(TeacherRecord.objects.values_list("school", flat=True)) == {world.school.pk}


def test_teacher_leave_and_retirement(world, api):
    teacher = ok(post(api, "school_admin", TEACHERS, teacher_body(world.school)), 201)
    path = f"{TEACHERS}{teacher['id']}"
    on_leave = ok(post(api, "school_admin", f"{path}/start-leave/", {"reason": "产假"}))
    assert on_leave["status"] == "on_leave"
    assert ok(post(api, "school_admin", f"{path}/end-leave/"))["status"] == "active"
    retired = ok(post(api, "county_admin", f"{path}/retire/", {"on": "2025-12-31"}))
    assert (retired["status"], retired["left_on"]) == ("retired", "2025-12-31")
    refused(api("school_admin").patch(path + "/", {"title": "1"}, format="json"), "status")
    assert ok(api("county_admin").get(TEACHERS, {"status": "retired"}))["count"] == 1


# --------------------------------------------------------------------------- 学校库, code tables


def test_school_profile_changes_are_kept_with_who_and_why(world, api):
    path = f"/api/v1/school-profiles/{world.school.pk}/"
    before = ok(api("school_admin").get(path))
    assert (before["status"], before["principal"]) == ("open", None)
    changed = ok(
        api("school_admin").patch(
            path,
            {
                "principal": "林建华",
                "phone": "028-86661234",
                "address": "东大街200号",
                "reason": "换届",
            },
            format="json",
        )
    )
    assert (changed["principal"], changed["phone"], changed["address"]) == (
        "林建华",
        "028-86661234",
        "东大街200号",
    )
    rows = ok(api("county_admin").get(path + "history/"))["results"]
    assert {(row["field"], row["new_value"], row["reason"]) for row in rows} == {
        ("principal", "林建华", "换届"),
        ("phone", "028-86661234", "换届"),
        ("address", "东大街200号", "换届"),
    }
    assert {row["actor_name"] for row in rows} == {"刘芳"}
    refused(api("school_admin").patch(path, {"phone": "电话"}, format="json"), "phone")
    refused(
        api("school_admin").patch(path, {"founded_on": "2999-01-01"}, format="json"), "founded_on"
    )
    refused(api("school_admin").patch(path, {"code": "1510104999"}, format="json"), "code")
    assert SchoolChange.objects.count() == 3
    closed = post(
        api, "county_admin", f"/api/v1/school-profiles/{world.school.pk}/close/", {"reason": "撤并"}
    )
    assert "教学点" in refused(closed, "school")["school"][0]
    listed = ok(api("county_admin").get("/api/v1/school-profiles/", {"status": "open"}))
    assert world.school.pk in {row["id"] for row in listed["results"]}


def test_code_tables_list_every_table_with_its_values(world, api):
    tables = ok(api("student").get("/api/v1/code-tables/"))["results"]
    names = {table["name"] for table in tables}
    assert {"ethnicity", "teacher_title", "hukou", "health", "education"} <= names
    ethnicity = ok(api("parent").get("/api/v1/code-tables/ethnicity/"))
    # The 56 groups, then 97 其他 and 98 外国血统中国籍人士.
    assert [value["code"] for value in ethnicity["values"]] == [
        *(f"{n:02d}" for n in range(1, 57)),
        "97",
        "98",
    ]
    assert ethnicity["values"][0] == {"code": "01", "name": "汉族", "order": 0, "active": True}
    assert api("parent").get("/api/v1/code-tables/nothing/").status_code == 404


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"id_number": "51010420160901001"}, {"id_number"}),  # 17 characters
        ({"id_number": "510104160901001"}, {"id_number"}),  # an old 15-digit number
        ({"id_number": "510104201502290012"}, {"id_number"}),  # 29 February 2015
        ({"name": ""}, {"name"}),
        ({"ethnicity": "99"}, {"ethnicity"}),
        ({"ethnicity": "0101"}, {"ethnicity"}),
        ({"hukou": "9", "health": "x"}, {"hukou", "health"}),
        ({"id_type": "7"}, {"id_type"}),
        ({"id_type": "9", "id_number": ""}, {"gender"}),
        ({"enrolled_on": "2999-09-01"}, {"enrolled_on"}),
        ({"enrolled_on": "明天"}, {"enrolled_on"}),
        ({"school_class": 10**30}, {"school_class"}),
        ({"school_class": "三班"}, {"school_class"}),
        ({"grade": "13"}, {"grade"}),
    ],
)
def test_a_bad_enrolment_answers_400_naming_each_field_in_chinese(world, api, change, fields):
    body = {
        "school_class": world.school_class.pk,
        "name": "李明",
        "id_type": "1",
        "id_number": id_number(),
        "ethnicity": "01",
        **change,
    }
    refused(post(api, "school_admin", STUDENTS, body), *fields)
    assert not StudentRecord.objects.exists()
    assert not Person.objects.filter(name="李明").exists()


def test_a_check_character_off_by_one_is_refused(world, api):
    number = id_number()
    check = "0123456789X"
    wrong = number[:-1] + check[(check.index(number[-1]) + 1) % len(check)]
    errors = refused(
        post(
            api,
            "school_admin",
            STUDENTS,
            {
                "school_class": world.school_class.pk,
                "name": "李明",
                "id_type": "1",
                "id_number": wrong,
                "ethnicity": "01",
            },
        ),
        "id_number",
    )
    assert "校验" in errors["id_number"][0]


@pytest.mark.parametrize(
    ("target", "body", "fields"),
    [
        (REQUESTS, {"kind": "transfer", "reason": "x"}, {"record"}),
        (REQUESTS, {"kind": "move", "record": 10**9, "reason": "x"}, {"kind", "record"}),
        (REQUESTS, {"kind": "suspend", "record": "abc", "reason": ""}, {"record", "reason"}),
        (TEACHERS, {"name": "周老师"}, None),
        (TRANSFERS, {"teacher": None, "to_school": None, "reason": "x" * 201}, None),
        (ROLLOVER, {"dry_run": "perhaps"}, {"dry_run"}),
        (f"{STUDENTS}graduate/", {"school": [1]}, {"school"}),
        (f"{STUDENTS}graduate/", [], {"non_field_errors"}),
    ],
)
def test_bad_requests_answer_400_never_500(world, api, target, body, fields):
    response = api("county_admin").post(target, body, format="json")
    if fields is None:
        assert response.status_code == 400, response.data
        refused(response, *response.data)
    else:
        refused(response, *fields)
    assert not StudentRequest.objects.exists()
    assert not TeacherTransfer.objects.exists()


def test_decisions_refuse_what_the_step_does_not_take(world, api):
    student = enrol(api, school_class=world.school_class.pk)
    body = {
        "kind": "transfer",
        "record": student["id"],
        "to_school": world.other_school.pk,
        "reason": "随父母工作调动",
    }
    path = f"{REQUESTS}{ok(post(api, 'school_admin', REQUESTS, body), 201)['id']}"
    refused(post(api, "other_school_admin", f"{path}/accept/"), "school_class")
    # A class the receiving school cannot see does not exist for it.
    refused(
        post(api, "other_school_admin", f"{path}/accept/", {"school_class": world.school_class.pk}),
        "school_class",
    )
    refused(post(api, "other_school_admin", f"{path}/accept/", {"class": 1}), "class")
    assert StudentRequest.objects.get().step == 0


# --------------------------------------------------------------------------- query counts


def add_students(school_class: SchoolClass, count: int) -> None:
    rows = [
        services.StudentRow(
            school_class=school_class,
            name=f"学生{n}",
            id_type="1",
            id_number=id_number(),
            ethnicity="01",
        )
        for n in range(count)
    ]
    result = services.bulk_enrol_students(actor=SYSTEM, rows=rows)
    assert not result.errors


def add_teachers(school: School, count: int) -> list[TeacherRecord]:
    rows = [
        services.TeacherRow(
            school=school,
            name=f"教师{n}",
            id_type="1",
            id_number=id_number(birth=date(1980, 1, 1)),
            ethnicity="01",
            education="21",
            title="3",
            position="07",
            subjects=("01", "02"),
            hired_on=date(2005, 9, 1),
            employment="1",
        )
        for n in range(count)
    ]
    result = services.bulk_upsert_teachers(actor=SYSTEM, rows=rows)
    assert not result.errors
    return result.records


def add_flows(world: World, count: int) -> None:
    target = SchoolClass.objects.filter(school=world.other_school).first()
    records = StudentRecord.objects.filter(school=world.school).exclude(requests__status="pending")
    for record in records.order_by("pk")[:count]:
        request = services.request_transfer(
            actor=SYSTEM, record=record, to_school=world.other_school, reason="转学"
        )
        services.approve_request(actor=SYSTEM, request=request, school_class=target)
    teachers = TeacherRecord.objects.filter(school=world.school).exclude(
        transfers__status="pending"
    )
    for teacher in teachers.order_by("pk")[:count]:
        services.request_teacher_transfer(
            actor=SYSTEM, teacher=teacher, to_school=world.other_school, reason="交流"
        )


# The active role, the page's count, the page; a teacher list also reads the page's subjects.
LIST_QUERIES = {STUDENTS: 3, TEACHERS: 4, REQUESTS: 3, TRANSFERS: 3}
# The active role, then every count of the queue in one query.
QUEUE_QUERIES = 2


@pytest.mark.parametrize("route", sorted(LIST_QUERIES))
def test_hot_lists_cost_the_same_queries_for_few_or_many_rows(
    world, api, django_assert_num_queries, route
):
    client: APIClient = api("county_admin")
    add_students(world.school_class, 2)
    add_teachers(world.school, 2)
    add_flows(world, 2)
    with django_assert_num_queries(LIST_QUERIES[route]):
        few = ok(client.get(route))
    add_students(world.school_class, 40)
    add_teachers(world.school, 40)
    add_flows(world, 40)
    with django_assert_num_queries(LIST_QUERIES[route]):
        many = ok(client.get(route))
    assert few["count"] < many["count"]
    assert len(many["results"]) > 30


@pytest.mark.parametrize("key", ["other_school_admin", "county_admin"])
def test_the_work_queue_costs_the_same_queries_for_few_or_many_items(
    world, api, django_assert_num_queries, key
):
    """The receiving school's queue holds the requests to accept; the sending county's, once
    accepted, those to approve and the students the rollover marked graduating."""
    client: APIClient = api(key)
    add_students(world.school_class, 30)
    add_teachers(world.school, 30)
    target = new_class(world.other_school, number=3)
    with django_assert_num_queries(QUEUE_QUERIES):
        empty = ok(client.get(QUEUES))
    assert all(item["count"] == 0 for item in empty)
    accepted = key == "county_admin"
    for record in StudentRecord.objects.order_by("pk")[:30]:
        request = services.request_transfer(
            actor=SYSTEM, record=record, to_school=world.other_school, reason="转学"
        )
        if accepted:
            services.approve_request(actor=SYSTEM, request=request, school_class=target)
    for teacher in TeacherRecord.objects.order_by("pk")[:30]:
        transfer = services.request_teacher_transfer(
            actor=SYSTEM, teacher=teacher, to_school=world.other_school, reason="交流"
        )
        if accepted:
            services.approve_teacher_transfer(actor=SYSTEM, transfer=transfer)
    add_students(new_class(world.school, grade="16", number=1), 5)
    StudentRecord.objects.filter(school_class__grade="16").update(graduating=True)
    with django_assert_num_queries(QUEUE_QUERIES):
        full = {item["key"]: item["count"] for item in ok(client.get(QUEUES))}
    assert (full["transfer"], full["teacher_transfer"]) == (30, 30)
    if accepted:
        assert full["graduating"] == 5
    else:
        assert "graduating" not in full
    assert [item["name"] for item in empty][:2] == ["转学", "转出本区域"]
