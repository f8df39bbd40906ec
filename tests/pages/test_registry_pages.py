"""The registry's pages: every page renders for the roles that may open it and is a 404 outside
their scope; each workflow branch runs through the pages (POST forms), bad input is answered in
Chinese with nothing written; the student list and the work queue cost a fixed number of
queries however many rows they hold."""

import io
import itertools
from datetime import date, timedelta

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from santong.accounts.identity import get_vault, make_resident_id
from santong.accounts.models import Person, Role
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM
from santong.orgs import services as org_services
from santong.orgs.models import Grade
from santong.registry import services
from santong.registry.models import (
    Rollover,
    SchoolChange,
    SchoolProfile,
    StudentRecord,
    StudentRequest,
    TeacherRecord,
    TeacherTransfer,
    TitleHistory,
)
from santong.testing.world import ROLE_KEYS, make_account

ADMINS = ("province_admin", "city_admin", "county_admin", "school_admin")
REGIONAL = ("province_admin", "city_admin", "county_admin")
TEACHERS = ("head_teacher", "subject_teacher")
_numbers = itertools.count(1)


def new_id_number(*, birth=date(2016, 9, 1), male=True):
    """A valid resident ID number (区划 510105) no other call in this process returned."""
    n = next(_numbers)
    return make_resident_id("510105", birth + timedelta(days=n // 499), n % 499, male)


def clear_id(person):
    return get_vault().decrypt(bytes(person.id_cipher))


def enrol(world, name="李明", school_class=None, by="school_admin", **fields):
    fields.setdefault("id_type", Person.IdType.RESIDENT)
    if fields["id_type"] == Person.IdType.RESIDENT:
        fields.setdefault("id_number", new_id_number())
    return services.enrol_student(
        actor=world.actor(by),
        school_class=school_class or world.school_class,
        name=name,
        ethnicity=fields.pop("ethnicity", "01"),
        **fields,
    )


def register_teacher(world, name="周老师", school=None, by="school_admin", **fields):
    fields.setdefault("id_number", new_id_number(birth=date(1988, 4, 2)))
    return services.register_teacher(
        actor=world.actor(by),
        school=school or world.school,
        name=name,
        id_type=Person.IdType.RESIDENT,
        ethnicity="01",
        education="21",
        title=fields.pop("title", "3"),
        position="07",
        hired_on=date(2010, 9, 1),
        employment="1",
        **fields,
    )


@pytest.fixture
def reg(world):
    """The world with registry records: 王小雨 (the world's student, with her parent) and 陈静
    (the head teacher) registered, a pending transfer of 王小雨 to 武侯区第一小学, a pending
    move of another teacher, and the far county's and far school's administrators."""
    make_account(world, "far_county_admin", "郑华", Role.Kind.COUNTY_ADMIN, region=world.far_county)
    make_account(world, "far_school_admin", "冯敏", Role.Kind.SCHOOL_ADMIN, school=world.far_school)
    student = world.users["student"].person
    world.record = enrol(world, student.name, id_number=clear_id(student), ethnicity="01")
    head = world.users["head_teacher"].person
    world.teacher = register_teacher(world, head.name, id_number=clear_id(head))
    world.mover = register_teacher(world, "孙老师")
    world.flow = services.request_transfer(
        actor=world.actor("school_admin"),
        record=world.record,
        to_school=world.other_school,
        reason="随父母工作调动",
    )
    world.move = services.request_teacher_transfer(
        actor=world.actor("school_admin"),
        teacher=world.mover,
        to_school=world.other_school,
        reason="交流轮岗",
    )
    return world


# --------------------------------------------------------------------------- who sees what


def page_urls(world):
    record, teacher, flow, move = world.record, world.teacher, world.flow, world.move
    r = reverse
    return [
        (r("registry:student_list"), ROLE_KEYS),
        (r("registry:student_detail", args=[record.pk]), ROLE_KEYS),
        (r("registry:student_enrol"), ADMINS),
        (r("registry:student_edit", args=[record.pk]), ADMINS),
        (r("registry:student_record_id", args=[record.pk]), ADMINS),
        (r("registry:student_transfer", args=[record.pk]), ADMINS),
        (r("registry:student_resume", args=[record.pk]), ADMINS),
        (r("registry:student_status", args=[record.pk, "suspend"]), ADMINS),
        (r("registry:student_status", args=[record.pk, "drop_out"]), ADMINS),
        (r("registry:student_status", args=[record.pk, "deregister"]), ADMINS),
        (r("registry:request_list"), ADMINS),
        (r("registry:request_detail", args=[flow.pk]), ADMINS),
        (r("registry:queue"), ADMINS),
        (r("registry:graduate"), REGIONAL),
        (r("registry:teacher_list"), ROLE_KEYS),
        (r("registry:teacher_detail", args=[teacher.pk]), (*ADMINS, "head_teacher")),
        (r("registry:teacher_create"), ADMINS),
        (r("registry:teacher_edit", args=[teacher.pk]), ADMINS),
        (r("registry:teacher_transfer", args=[teacher.pk]), ADMINS),
        (r("registry:teacher_leave", args=[teacher.pk]), ADMINS),
        (r("registry:teacher_return", args=[teacher.pk]), ADMINS),
        (r("registry:teacher_retire", args=[teacher.pk]), ADMINS),
        (r("registry:teacher_transfer_list"), ADMINS),
        (r("registry:teacher_transfer_detail", args=[move.pk]), ADMINS),
        (r("registry:school_list"), ADMINS),
        (r("registry:school_detail", args=[world.school.pk]), ADMINS),
        (r("registry:school_edit", args=[world.school.pk]), ADMINS),
        (r("registry:school_merge", args=[world.teaching_point.pk]), REGIONAL),
        (r("registry:school_close", args=[world.teaching_point.pk]), REGIONAL),
        (r("registry:rollover"), ADMINS),
        (r("registry:code_tables"), ADMINS),
        (r("registry:code_table", args=["ethnicity"]), ADMINS),
        (r("registry:code_table", args=["grade"]), ADMINS),
    ]


@pytest.mark.parametrize("key", ROLE_KEYS)
def test_every_registry_page_answers_each_role_as_allowed(reg, browse, key):
    client = browse(key)
    for url, allowed in page_urls(reg):
        response = client.get(url)
        if key in allowed:
            assert response.status_code == 200, url
            assert "三通两平台" in response.content.decode()
        else:
            assert response.status_code in (403, 404), url


def test_navigation_names_the_registries(reg, browse):
    html = browse("county_admin").get(reverse("core:home")).content.decode()
    assert ">基础库</a>" in html
    for label in ("待办", "学籍", "教师", "学校档案"):
        assert f"</i> {label}</a>" in html, label
    teacher = browse("head_teacher").get(reverse("core:home")).content.decode()
    assert ">学籍</a>" in teacher
    assert reverse("registry:queue") not in teacher
    parent = browse("parent").get(reverse("core:home")).content.decode()
    assert reverse("registry:student_list") not in parent


@pytest.mark.parametrize(
    ("key", "name", "target"),
    [
        ("county_admin", "registry:student_detail", "outside_record"),
        ("county_admin", "registry:student_transfer", "outside_record"),
        ("county_admin", "registry:teacher_detail", "outside_teacher"),
        ("county_admin", "registry:school_detail", "other_school"),
        ("county_admin", "registry:request_detail", "outside_flow"),
        ("city_admin", "registry:student_detail", "far_record"),
        ("city_admin", "registry:school_edit", "far_school"),
        ("school_admin", "registry:student_detail", "outside_record"),
        ("school_admin", "registry:teacher_edit", "outside_teacher"),
        ("school_admin", "registry:school_detail", "other_school"),
        ("school_admin", "registry:request_detail", "outside_flow"),
        ("head_teacher", "registry:student_detail", "outside_record"),
        ("student", "registry:student_detail", "outside_record"),
    ],
)
def test_records_outside_the_scope_answer_404(reg, browse, key, name, target):
    world = reg
    world.outside_record = enrol(world, "外校学生", world.other_class, by="other_school_admin")
    world.far_record = enrol(world, "远方学生", world.far_class, by="far_school_admin")
    world.outside_teacher = register_teacher(
        world, "外校老师", world.other_school, by="other_school_admin"
    )
    world.outside_flow = services.request_transfer(
        actor=world.actor("other_school_admin"),
        record=world.outside_record,
        to_school=world.far_school,
        reason="搬家",
    )
    response = browse(key).get(reverse(name, args=[getattr(world, target).pk]))
    assert response.status_code == 404
    assert "不在您当前角色的管理范围内" in response.content.decode()


def test_posts_to_records_outside_the_scope_write_nothing(reg, browse):
    world = reg
    outside = enrol(world, "外校学生", world.other_class, by="other_school_admin")
    client = browse("school_admin")
    url = reverse("registry:student_status", args=[outside.pk, "suspend"])
    assert client.post(url, {"reason": "病休"}).status_code == 404
    url = reverse("registry:request_approve", args=[world.flow.pk])
    assert browse("far_county_admin").post(url, {"decide-note": ""}).status_code == 404
    assert StudentRequest.objects.filter(record=outside).count() == 0
    assert StudentRequest.objects.get(pk=world.flow.pk).step == 0


def test_lists_leave_out_records_outside_the_scope(reg, browse):
    world = reg
    enrol(world, "外校学生", world.other_class, by="other_school_admin")
    students = browse("county_admin").get(reverse("registry:student_list")).content.decode()
    assert "王小雨" in students
    assert "外校学生" not in students
    own = browse("student").get(reverse("registry:student_list"))
    assert [r.person.name for r in own.context["page"].object_list] == ["王小雨"]
    teachers = browse("other_school_admin").get(reverse("registry:teacher_list")).content
    assert "陈静" not in teachers.decode()


# --------------------------------------------------------------------------- 新生注册


def enrol_data(world, **changes):
    data = {
        "school_class": world.school_class.pk,
        "name": "赵子涵",
        "id_type": Person.IdType.RESIDENT,
        "id_number": new_id_number(),
        "gender": "",
        "birth_date": "",
        "ethnicity": "01",
        "hukou": "3",
        "health": "1",
        "enrolled_on": "",
    }
    return {**data, **changes}


def test_school_admin_enrols_a_student(reg, browse):
    world = reg
    client = browse("school_admin")
    response = client.post(reverse("registry:student_enrol"), enrol_data(world))
    record = StudentRecord.objects.get(person__name="赵子涵")
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:student_detail", args=[record.pk])
    assert record.number_masked.startswith("G510105")
    html = client.get(response["Location"]).content.decode()
    assert "新生注册" in html
    assert "居民户口" in html
    assert "刘芳" in html  # who registered, in the history


def test_work_the_system_did_is_named_in_the_page_language(reg, browse):
    """A record the system wrote (the demo, a command-line import) names no person as its
    author: the history says 系统, in the page's language, never the stored "system"."""
    record = services.enrol_student(
        actor=SYSTEM,
        school_class=reg.school_class,
        name="钱多多",
        id_type=Person.IdType.RESIDENT,
        id_number=new_id_number(),
        ethnicity="01",
    )
    client = browse("school_admin")
    html = client.get(reverse("registry:student_detail", args=[record.pk])).content.decode()
    assert "系统" in html
    assert ">system<" not in html
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("registry:student_detail", args=[record.pk])).content.decode()
    assert ">system<" not in html


def test_enrol_with_a_wrong_check_character_writes_nothing(reg, browse):
    world = reg
    number = new_id_number()
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    people, records = Person.objects.count(), StudentRecord.objects.count()
    response = browse("school_admin").post(
        reverse("registry:student_enrol"), enrol_data(world, id_number=wrong)
    )
    assert response.status_code == 200
    assert "校验码不正确" in str(response.context["form"].errors["id_number"])
    response = browse("school_admin").post(
        reverse("registry:student_enrol"), enrol_data(world, name="", ethnicity="99")
    )
    assert "该字段是必填项。" in response.context["form"].errors["name"]
    assert "ethnicity" in response.context["form"].errors
    assert (Person.objects.count(), StudentRecord.objects.count()) == (people, records)


def test_enrol_without_an_id_gives_a_temporary_number_replaced_later(reg, browse):
    world = reg
    client = browse("school_admin")
    data = enrol_data(
        world, id_type=Person.IdType.NONE, id_number="", gender="2", birth_date="2016-10-01"
    )
    response = client.post(reverse("registry:student_enrol"), data)
    record = StudentRecord.objects.get(person__name="赵子涵")
    assert response.status_code == 302
    assert record.number_masked.startswith("L510104")
    temporary = record.number_masked
    url = reverse("registry:student_record_id", args=[record.pk])
    bad = client.post(url, {"id_type": "1", "id_number": "51010519991231"})
    assert bad.status_code == 200
    assert "身份证号码" in str(bad.context["form"].errors["id_number"])
    number = make_resident_id("510105", date(2016, 10, 1), 77, False)
    response = client.post(url, {"id_type": "1", "id_number": number})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.number_masked.startswith("G510105")
    found = client.get(reverse("registry:student_list"), {"q": temporary})
    assert [r.pk for r in found.context["page"].object_list] == [record.pk]


def test_regional_administrator_names_the_school_first(reg, browse):
    world = reg
    client = browse("county_admin")
    first = client.get(reverse("registry:student_enrol"))
    assert "请先输入学生就读学校的学校标识码。" in first.content.decode()
    assert "注册学籍" not in first.content.decode()
    outside = client.get(reverse("registry:student_enrol"), {"school": world.other_school.code})
    assert "不在您的管理范围内" in str(outside.context["school_form"].errors["school"])
    inside = client.get(reverse("registry:student_enrol"), {"school": world.school.code})
    classes = list(inside.context["form"].fields["school_class"].queryset)
    assert classes == [world.school_class]


def test_second_registration_names_the_school_and_offers_a_transfer(reg, browse):
    world = reg
    point_class = org_services.create_class(
        actor=SYSTEM,
        school=world.teaching_point,
        school_year=world.year,
        grade=Grade.objects.get(code="13"),
        number=1,
    )
    services.withdraw_request(actor=world.actor("school_admin"), request=world.flow)
    student = world.users["student"].person
    url = reverse("registry:student_enrol") + f"?school={world.teaching_point.code}"
    response = browse("county_admin").post(
        url,
        enrol_data(
            world, school_class=point_class.pk, name=student.name, id_number=clear_id(student)
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "该学生已在 成都市锦江区实验小学 注册学籍" in html
    transfer_url = (
        reverse("registry:student_transfer", args=[world.record.pk])
        + f"?to={world.teaching_point.code}"
    )
    assert transfer_url in html
    assert StudentRecord.objects.filter(person=student).count() == 1
    # One click later the transfer form is filled in with the receiving school.
    form = browse("county_admin").get(transfer_url).context["form"]
    assert form["to_school"].value() == world.teaching_point.code

    elsewhere = browse("other_school_admin").post(
        reverse("registry:student_enrol"),
        enrol_data(
            world, school_class=world.other_class.pk, name=student.name, id_number=clear_id(student)
        ),
    )
    html = elsewhere.content.decode()
    assert elsewhere.context["holder"]["record"] is None
    assert "请联系 成都市锦江区实验小学，由该校发起转学申请" in html
    assert reverse("registry:student_transfer", args=[world.record.pk]) not in html


# --------------------------------------------------------------------------- 转学


def transfer_data(**changes):
    data = {
        "destination_kind": "within",
        "to_school": "",
        "destination": "",
        "reason": "随父母工作调动",
    }
    return {**data, **changes}


def test_bad_transfer_requests_are_explained_and_write_nothing(reg, browse):
    world = reg
    record = enrol(world, "李明")
    client = browse("school_admin")
    url = reverse("registry:student_transfer", args=[record.pk])
    before = StudentRequest.objects.count()
    errors = client.post(url, transfer_data()).context["form"].errors
    assert "请填写学校标识码或学校名称。" in errors["to_school"]
    many = client.post(url, transfer_data(to_school="小学"))
    assert "找到多所学校，请在下面选择一所。" in many.context["form"].errors["to_school"]
    assert world.other_school.code in many.content.decode()
    assert world.school.code not in [s.code for s in many.context["form"].matches]
    none = client.post(url, transfer_data(to_school="不存在的学校"))
    assert "未找到该学校" in str(none.context["form"].errors["to_school"])
    no_reason = client.post(url, transfer_data(to_school=world.other_school.code, reason=""))
    assert "该字段是必填项。" in no_reason.context["form"].errors["reason"]
    outside = client.post(url, transfer_data(destination_kind="outside"))
    assert "请填写转入学校名称。" in outside.context["form"].errors["destination"]
    twice = client.post(
        reverse("registry:student_transfer", args=[world.record.pk]),
        transfer_data(to_school=world.far_school.code),
    )
    assert "该学生已有审批中的申请" in twice.content.decode()
    assert StudentRequest.objects.count() == before


def test_transfer_across_counties_through_every_side(reg, browse):
    world = reg
    record = enrol(world, "李明")
    response = browse("school_admin").post(
        reverse("registry:student_transfer", args=[record.pk]),
        transfer_data(to_school="武侯区第一小学"),
    )
    flow = StudentRequest.objects.get(record=record)
    assert response["Location"] == reverse("registry:request_detail", args=[flow.pk])
    detail = reverse("registry:request_detail", args=[flow.pk])

    receiving = browse("other_school_admin")
    page = receiving.get(detail)
    assert list(page.context["decide_form"].fields["school_class"].queryset) == [world.other_class]
    assert [step["state"] for step in page.context["steps"]] == ["waiting", "later", "later"]
    accept = reverse("registry:request_accept", args=[flow.pk])
    wrong = receiving.post(accept, {"decide-school_class": world.school_class.pk})
    assert "school_class" in wrong.context["decide_form"].errors
    assert StudentRequest.objects.get(pk=flow.pk).step == 0
    response = receiving.post(
        accept, {"decide-school_class": world.other_class.pk, "decide-note": "同意接收"}
    )
    assert response.status_code == 302

    sending = browse("school_admin").post(
        reverse("registry:request_approve", args=[flow.pk]), {"decide-note": ""}
    )
    assert "该对象不在您的管理范围内。" in sending.content.decode()
    assert StudentRequest.objects.get(pk=flow.pk).step == 1

    for key in ("county_admin", "other_county_admin"):
        response = browse(key).post(
            reverse("registry:request_approve", args=[flow.pk]), {"decide-note": "同意"}
        )
        assert response.status_code == 302
    record.refresh_from_db()
    assert (record.school, record.school_class) == (world.other_school, world.other_class)
    page = browse("county_admin").get(detail)
    assert [step["state"] for step in page.context["steps"]] == ["approved"] * 3
    assert [step["event"].actor_name for step in page.context["steps"]] == ["周强", "张伟", "孙丽"]
    html = page.content.decode()
    assert "已通过" in html
    assert "成都市锦江区实验小学 三年级（1）班 → 成都市武侯区第一小学 三年级（1）班" in html


@pytest.mark.parametrize(
    ("step", "decider"), [(0, "other_school_admin"), (1, "county_admin"), (2, "other_county_admin")]
)
def test_each_step_rejects_with_a_reason(reg, browse, step, decider):
    world = reg
    flow = world.flow
    if step >= 1:
        services.approve_request(
            actor=world.actor("other_school_admin"), request=flow, school_class=world.other_class
        )
    if step >= 2:
        services.approve_request(actor=world.actor("county_admin"), request=flow)
    client = browse(decider)
    url = reverse("registry:request_reject", args=[flow.pk])
    empty = client.post(url, {"reject-reason": ""})
    assert "该字段是必填项。" in empty.context["reject_form"].errors["reason"]
    assert StudentRequest.objects.get(pk=flow.pk).status == "pending"
    response = client.post(url, {"reject-reason": "学位已满"})
    assert response.status_code == 302
    flow.refresh_from_db()
    assert (flow.status, flow.decision_note) == ("rejected", "学位已满")
    world.record.refresh_from_db()
    assert world.record.school == world.school
    page = browse("school_admin").get(reverse("registry:request_detail", args=[flow.pk]))
    states = [row["state"] for row in page.context["steps"]]
    assert states[step] == "rejected"
    assert page.context["steps"][step]["event"].reason == "学位已满"


def test_the_requester_withdraws_and_others_may_not(reg, browse):
    world = reg
    url = reverse("registry:request_withdraw", args=[world.flow.pk])
    detail = browse("other_school_admin").get(
        reverse("registry:request_detail", args=[world.flow.pk])
    )
    assert detail.context["withdraw_form"] is None
    refused = browse("other_school_admin").post(url, {"withdraw-reason": ""})
    assert "该对象不在您的管理范围内。" in refused.content.decode()
    refused = browse("county_admin").post(url, {"withdraw-reason": ""})
    assert "只有申请人或转出学校可以撤回申请。" in refused.content.decode()
    assert StudentRequest.objects.get(pk=world.flow.pk).status == "pending"
    response = browse("school_admin").post(url, {"withdraw-reason": "家长改变主意"})
    assert response.status_code == 302
    assert StudentRequest.objects.get(pk=world.flow.pk).status == "withdrawn"


def test_out_of_region_transfer_needs_only_this_side(reg, browse):
    world = reg
    record = enrol(world, "李明")
    browse("school_admin").post(
        reverse("registry:student_transfer", args=[record.pk]),
        transfer_data(destination_kind="outside", destination="重庆市渝中区人和街小学"),
    )
    flow = StudentRequest.objects.get(record=record)
    assert flow.kind == "transfer_out"
    assert [step["level"] for step in flow.steps] == ["county"]
    browse("county_admin").post(
        reverse("registry:request_approve", args=[flow.pk]), {"decide-note": ""}
    )
    record.refresh_from_db()
    assert (record.status, record.destination) == ("transferred_out", "重庆市渝中区人和街小学")


def test_suspend_resume_and_a_rejected_drop_out(reg, browse):
    world = reg
    record = enrol(world, "李明")
    school = browse("school_admin")
    county = browse("county_admin")
    empty = school.post(
        reverse("registry:student_status", args=[record.pk, "suspend"]), {"reason": ""}
    )
    assert "该字段是必填项。" in empty.context["form"].errors["reason"]
    school.post(reverse("registry:student_status", args=[record.pk, "suspend"]), {"reason": "病休"})
    flow = StudentRequest.objects.get(record=record, kind="suspend")
    county.post(reverse("registry:request_approve", args=[flow.pk]), {"decide-note": ""})
    record.refresh_from_db()
    assert record.status == "suspended"
    page = school.get(reverse("registry:student_detail", args=[record.pk]))
    assert page.context["may_resume"]
    assert not page.context["may_transfer"]
    url = reverse("registry:student_resume", args=[record.pk])
    assert "school_class" in school.post(url, {"school_class": ""}).context["form"].errors
    school.post(url, {"school_class": world.school_class.pk, "reason": "康复返校"})
    record.refresh_from_db()
    assert record.status == "enrolled"
    school.post(
        reverse("registry:student_status", args=[record.pk, "drop_out"]), {"reason": "外出务工"}
    )
    flow = StudentRequest.objects.get(record=record, kind="drop_out")
    county.post(reverse("registry:request_reject", args=[flow.pk]), {"reject-reason": "须劝返复学"})
    record.refresh_from_db()
    assert record.status == "enrolled"
    assert (
        browse("school_admin")
        .get(reverse("registry:student_status", args=[record.pk, "nonsense"]))
        .status_code
        == 404
    )


def test_reveal_shows_the_full_number_once_and_is_audited(reg, browse):
    world = reg
    response = browse("school_admin").post(
        reverse("registry:student_reveal", args=[world.record.pk])
    )
    number = "G" + clear_id(world.users["student"].person)
    assert response.context["revealed"] == number
    assert number in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action="reveal").count() == 1
    assert (
        number
        not in browse("school_admin")
        .get(reverse("registry:student_detail", args=[world.record.pk]))
        .content.decode()
    )
    assert (
        browse("head_teacher")
        .post(reverse("registry:student_reveal", args=[world.record.pk]))
        .status_code
        == 403
    )


def test_student_edit_keeps_history_and_refuses_unknown_codes(reg, browse):
    world = reg
    client = browse("school_admin")
    url = reverse("registry:student_edit", args=[world.record.pk])
    bad = client.post(url, {"ethnicity": "99", "hukou": "", "health": ""})
    assert "ethnicity" in bad.context["form"].errors
    client.post(url, {"ethnicity": "03", "hukou": "1", "health": ""})
    world.record.refresh_from_db()
    assert (world.record.ethnicity, world.record.hukou) == ("03", "1")
    html = client.get(reverse("registry:student_detail", args=[world.record.pk])).content.decode()
    assert "民族：汉族 → 回族" in html


# --------------------------------------------------------------------------- 升级, 毕业, 待办


def sixth_grade(world, names=("毕业生甲", "毕业生乙")):
    school_class = org_services.create_class(
        actor=SYSTEM,
        school=world.school,
        school_year=world.year,
        grade=Grade.objects.get(code="16"),
        number=1,
    )
    return [enrol(world, name, school_class) for name in names]


def test_rollover_preview_confirm_run_and_run_again(reg, browse):
    world = reg
    sixth_grade(world)
    client = browse("school_admin")
    url = reverse("registry:rollover")
    preview = client.get(url, {"school_year": world.year.pk, "preview": "1"})
    plan = preview.context["plan"]
    assert (plan.classes_to_create, plan.to_promote, plan.to_mark_graduating) == (1, 1, 2)
    assert "执行升级" in preview.content.decode()
    unconfirmed = client.post(url, {"school_year": world.year.pk})
    assert "请勾选确认后再执行。" in unconfirmed.context["confirm_form"].errors["confirm"]
    assert Rollover.objects.count() == 0
    assert StudentRecord.objects.filter(graduating=True).count() == 0
    done = client.post(url, {"school_year": world.year.pk, "confirm": "on"})
    result = done.context["result"]
    assert (result.classes_created, result.promoted, result.marked_graduating) == (1, 1, 2)
    assert "已从 2025 学年升入 2026 学年" in done.content.decode()
    world.record.refresh_from_db()
    assert world.record.school_class.school_year.start_year == 2026
    again = client.post(url, {"school_year": world.year.pk, "confirm": "on"})
    assert again.context["result"].rollover is None
    assert "没有需要升级的学生，未做任何改动。" in again.content.decode()
    preview = client.get(url, {"school_year": world.year.pk, "preview": "1"})
    assert not preview.context["plan"].has_work
    assert "没有需要升级的学生：该范围本学年已经升级" in preview.content.decode()
    assert Rollover.objects.count() == 1


def test_regional_rollover_chooses_a_region_or_a_school(reg, browse):
    world = reg
    client = browse("city_admin")
    url = reverse("registry:rollover")
    response = client.get(url, {"school_year": world.year.pk, "school": world.school.code})
    assert response.context["plan"].path == world.school.path
    response = client.get(url, {"school_year": world.year.pk, "region": world.county.code})
    assert response.context["plan"].path == world.county.code
    outside = client.get(url, {"school_year": world.year.pk, "school": world.far_school.code})
    assert "school" in outside.context["form"].errors
    assert "plan" not in outside.context


def test_county_confirms_graduation_from_the_queue(reg, browse):
    world = reg
    graduates = sixth_grade(world)
    services.rollover_year(actor=world.actor("county_admin"), path="510104", from_year=world.year)
    county = browse("county_admin")
    queue = county.get(reverse("registry:queue"))
    assert queue.context["counts"]["graduating"] == 2
    page = county.get(reverse("registry:graduate"))
    assert page.context["count"] == 2
    refused = county.post(reverse("registry:graduate"), {"region": ""})
    assert "请勾选确认后再执行。" in refused.context["confirm_form"].errors["confirm"]
    assert StudentRecord.objects.filter(status="graduated").count() == 0
    response = county.post(reverse("registry:graduate"), {"region": "", "confirm": "on"})
    assert response.status_code == 302
    assert {r.status for r in StudentRecord.objects.filter(pk__in=[g.pk for g in graduates])} == {
        "graduated"
    }
    assert browse("school_admin").get(reverse("registry:graduate")).status_code == 403


def test_queue_lists_what_waits_for_each_side(reg, browse):
    world = reg
    receiving = browse("other_school_admin").get(reverse("registry:queue"))
    assert [flow.pk for flow in receiving.context["student_requests"]] == [world.flow.pk]
    assert [move.pk for move in receiving.context["teacher_transfers"]] == [world.move.pk]
    assert receiving.context["counts"]["transfer"] == 1
    sending = browse("county_admin").get(reverse("registry:queue"))
    assert sending.context["student_requests"] == []
    assert sending.context["total"] == 0
    home = browse("other_school_admin").get(reverse("core:home")).content.decode()
    assert "待办事项" in home
    assert "data-queue-total>2<" in home


def test_home_shows_pending_counts_for_each_deciding_role(reg, browse):
    world = reg
    services.approve_request(
        actor=world.actor("other_school_admin"), request=world.flow, school_class=world.other_class
    )
    html = browse("county_admin").get(reverse("core:home")).content.decode()
    assert "data-queue-total>1<" in html
    assert "待办事项" in browse("school_admin").get(reverse("core:home")).content.decode()


# --------------------------------------------------------------------------- 教师


def teacher_data(world, **changes):
    data = {
        "school": world.school.pk,
        "name": "吴老师",
        "id_type": Person.IdType.RESIDENT,
        "id_number": new_id_number(birth=date(1990, 3, 3)),
        "gender": "",
        "birth_date": "",
        "ethnicity": "01",
        "political_status": "",
        "education": "21",
        "title": "4",
        "title_since": "",
        "position": "07",
        "subjects": ["01", "02"],
        "hired_on": "2012-09-01",
        "employment": "1",
    }
    return {**data, **changes}


def test_register_a_teacher_and_refuse_bad_input(reg, browse):
    world = reg
    client = browse("school_admin")
    before = TeacherRecord.objects.count()
    bad = client.post(reverse("registry:teacher_create"), teacher_data(world, id_number="123"))
    assert "id_number" in bad.context["form"].errors
    future = client.post(
        reverse("registry:teacher_create"), teacher_data(world, hired_on="2999-01-01")
    )
    assert "参加工作日期不能晚于今天。" in future.context["form"].errors["hired_on"]
    assert TeacherRecord.objects.count() == before
    response = client.post(reverse("registry:teacher_create"), teacher_data(world))
    teacher = TeacherRecord.objects.get(person__name="吴老师")
    assert response["Location"] == reverse("registry:teacher_detail", args=[teacher.pk])
    assert sorted(teacher.subjects.values_list("code", flat=True)) == ["01", "02"]
    county = browse("county_admin").post(
        reverse("registry:teacher_create"),
        teacher_data(world, name="郑老师", school=world.other_school.code),
    )
    assert "不在您的管理范围内" in str(county.context["form"].errors["school"])


def test_title_change_keeps_its_history(reg, browse):
    world = reg
    client = browse("school_admin")
    url = reverse("registry:teacher_edit", args=[world.teacher.pk])
    form = client.get(url).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data.update(title="2", title_since="2024-09-01", hired_on="2010-09-01", subjects=["01"])
    data = {k: v if v is not None else "" for k, v in data.items()}
    response = client.post(url, data)
    assert response.status_code == 302
    titles = TitleHistory.objects.filter(teacher=world.teacher)
    assert ("2", date(2024, 9, 1)) in set(titles.values_list("title", "since"))
    html = client.get(reverse("registry:teacher_detail", args=[world.teacher.pk])).content
    assert "高级教师" in html.decode()
    assert "职称变动" in html.decode() or "信息变更" in html.decode()


def test_teacher_move_through_every_side(reg, browse):
    world = reg
    move = world.move
    detail = reverse("registry:teacher_transfer_detail", args=[move.pk])
    page = browse("other_school_admin").get(detail)
    assert page.context["accepting"]
    response = browse("other_school_admin").post(
        reverse("registry:teacher_transfer_accept", args=[move.pk]), {"decide-note": "同意"}
    )
    assert response.status_code == 302
    for key in ("county_admin", "other_county_admin"):
        browse(key).post(
            reverse("registry:teacher_transfer_approve", args=[move.pk]), {"decide-note": ""}
        )
    world.mover.refresh_from_db()
    assert world.mover.school == world.other_school
    page = browse("county_admin").get(detail)
    assert [step["state"] for step in page.context["steps"]] == ["approved"] * 3


def test_teacher_move_is_rejected_or_withdrawn(reg, browse):
    world = reg
    url = reverse("registry:teacher_transfer_reject", args=[world.move.pk])
    empty = browse("other_school_admin").post(url, {"reject-reason": ""})
    assert "该字段是必填项。" in empty.context["reject_form"].errors["reason"]
    browse("other_school_admin").post(url, {"reject-reason": "编制已满"})
    world.move.refresh_from_db()
    assert (world.move.status, world.move.decision_note) == ("rejected", "编制已满")
    start = reverse("registry:teacher_transfer", args=[world.mover.pk])
    browse("school_admin").post(start, {"to_school": world.far_school.code, "reason": "支教"})
    second = TeacherTransfer.objects.get(teacher=world.mover, status="pending")
    browse("school_admin").post(
        reverse("registry:teacher_transfer_withdraw", args=[second.pk]), {"withdraw-reason": ""}
    )
    second.refresh_from_db()
    assert second.status == "withdrawn"
    world.mover.refresh_from_db()
    assert world.mover.school == world.school


def test_leave_return_and_retirement(reg, browse):
    world = reg
    client = browse("school_admin")
    teacher = world.teacher
    empty = client.post(reverse("registry:teacher_leave", args=[teacher.pk]), {"reason": ""})
    assert "该字段是必填项。" in empty.context["form"].errors["reason"]
    client.post(reverse("registry:teacher_leave", args=[teacher.pk]), {"reason": "进修"})
    teacher.refresh_from_db()
    assert teacher.status == "on_leave"
    client.post(reverse("registry:teacher_return", args=[teacher.pk]), {"on": ""})
    teacher.refresh_from_db()
    assert teacher.status == "active"
    client.post(reverse("registry:teacher_retire", args=[teacher.pk]), {"on": "", "reason": ""})
    teacher.refresh_from_db()
    assert teacher.status == "retired"
    again = client.post(reverse("registry:teacher_leave", args=[teacher.pk]), {"reason": "进修"})
    assert "该教师状态为“退休”" in again.content.decode()


# --------------------------------------------------------------------------- 学校档案


def profile_data(world, **changes):
    data = {
        "name": world.school.name,
        "operator": "public",
        "locale": "urban",
        "address": world.school.address,
        "principal": "张校长",
        "phone": "028-86661234",
        "founded_on": "1952-09-01",
        "reason": "年度核对",
    }
    return {**data, **changes}


def test_school_profile_edit_keeps_a_change_history(reg, browse):
    world = reg
    client = browse("school_admin")
    url = reverse("registry:school_edit", args=[world.school.pk])
    bad = client.post(url, profile_data(world, phone="abc"))
    assert "联系电话应为7到20位数字" in str(bad.context["form"].errors["phone"])
    assert SchoolChange.objects.count() == 0
    response = client.post(url, profile_data(world, locale="town"))
    assert response.status_code == 302
    fields = set(SchoolChange.objects.filter(school=world.school).values_list("field", flat=True))
    assert fields == {"principal", "phone", "founded_on", "locale"}
    html = client.get(reverse("registry:school_detail", args=[world.school.pk])).content.decode()
    assert "张校长" in html
    assert "城区" in html
    assert "镇区" in html
    assert "年度核对" in html


def test_merge_asks_for_confirmation_first(reg, browse):
    world = reg
    client = browse("county_admin")
    url = reverse("registry:school_merge", args=[world.teaching_point.pk])
    assert browse("school_admin").post(url, {"into": world.school.code}).status_code == 403
    first = client.post(url, {"into": "锦江区实验小学", "reason": "撤点并校"})
    assert "将把 锦江区实验小学三圣教学点 并入 成都市锦江区实验小学" in first.content.decode()
    assert SchoolProfile.objects.filter(status="merged").count() == 0
    itself = client.post(url, {"into": world.teaching_point.code, "reason": "x"})
    assert "未找到该学校" in str(itself.context["form"].errors["into"])
    response = client.post(
        url, {"into": world.school.code, "reason": "撤点并校", "on": "", "confirm": "1"}
    )
    assert response.status_code == 302
    profile = SchoolProfile.objects.get(school=world.teaching_point)
    assert (profile.status, profile.merged_into) == ("merged", world.school)
    page = client.get(reverse("registry:school_detail", args=[world.teaching_point.pk]))
    assert "已合并" in page.content.decode()
    assert not page.context["may_edit"]


def test_close_refuses_a_school_with_people_and_closes_an_empty_one(reg, browse):
    world = reg
    client = browse("county_admin")
    url = reverse("registry:school_close", args=[world.school.pk])
    confirm = client.post(url, {"reason": "生源枯竭"})
    assert "data-confirm" in confirm.content.decode()
    refused = client.post(url, {"reason": "生源枯竭", "on": "", "confirm": "1"})
    assert refused.status_code == 200
    assert "教学点" in str(refused.context["form"].non_field_errors())
    assert SchoolProfile.objects.filter(status="closed").count() == 0
    point = reverse("registry:school_close", args=[world.teaching_point.pk])
    client.post(point, {"reason": "生源枯竭", "on": "", "confirm": "1"})
    assert SchoolProfile.objects.get(school=world.teaching_point).status == "closed"


# --------------------------------------------------------------------------- 代码表, 导出


def workbook_rows(response):
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_code_tables_are_browsable_and_exported(reg, browse):
    client = browse("county_admin")
    page = client.get(reverse("registry:code_tables"))
    names = [table["name"] for table in page.context["tables"]]
    assert names[:2] == ["gender", "ethnicity"]
    assert {"stage", "grade", "subject"} <= set(names)
    counts = {table["name"]: table["count"] for table in page.context["tables"]}
    assert counts["grade"] == Grade.objects.count() > 0
    assert counts["ethnicity"] >= 56
    ethnicity = client.get(reverse("registry:code_table", args=["ethnicity"]))
    assert len(ethnicity.context["values"]) >= 56
    assert "汉族" in ethnicity.content.decode()
    rows = workbook_rows(
        client.get(reverse("registry:code_table", args=["ethnicity"]), {"format": "xlsx"})
    )
    assert rows[0] == ["代码", "名称"]
    assert rows[1] == ["01", "汉族"]
    grades = workbook_rows(
        client.get(reverse("registry:code_table", args=["grade"]), {"format": "xlsx"})
    )
    assert ["13", "三年级"] in grades
    assert client.get(reverse("registry:code_table", args=["nonsense"])).status_code == 404
    assert AuditEvent.objects.filter(action="export").count() == 2


def test_student_export_masks_numbers_and_keeps_the_scope(reg, browse):
    world = reg
    enrol(world, "外校学生", world.other_class, by="other_school_admin")
    response = browse("county_admin").get(reverse("registry:student_list"), {"format": "xlsx"})
    rows = workbook_rows(response)
    header = rows[0]
    assert header[:2] == ["全国学籍号", "姓名"]
    names = [row[1] for row in rows[1:]]
    assert names == ["王小雨"]
    student = dict(zip(header, rows[1], strict=True))
    assert "*" in student["全国学籍号"]
    assert "*" in student["证件号码"]
    assert clear_id(world.users["student"].person) not in str(rows)
    assert student["民族"] == "汉族"
    assert student["学籍状态"] == "在读"
    event = AuditEvent.objects.get(action="export")
    assert event.detail["rows"] == 1


def test_every_registry_list_exports(reg, browse):
    client = browse("county_admin")
    for name in (
        "registry:student_list",
        "registry:teacher_list",
        "registry:request_list",
        "registry:teacher_transfer_list",
        "registry:school_list",
    ):
        rows = workbook_rows(client.get(reverse(name), {"format": "xlsx"}))
        assert len(rows) >= 2, name


def test_student_list_filters(reg, browse):
    world = reg
    enrol(world, "李明")
    client = browse("school_admin")
    url = reverse("registry:student_list")

    def names(**query):
        return sorted(r.person.name for r in client.get(url, query).context["page"].object_list)

    assert names() == ["李明", "王小雨"]
    assert names(q="李") == ["李明"]
    assert names(q=world.record.number_masked) == ["王小雨"]
    assert names(q="G" + clear_id(world.users["student"].person)) == ["王小雨"]
    assert names(school_class=world.school_class.pk, grade="13") == ["李明", "王小雨"]
    assert names(grade="14") == []
    assert names(status="suspended") == []
    assert "暂无符合条件的学籍" in client.get(url, {"q": "没有这个人"}).content.decode()
    regional = browse("county_admin")
    filtered = regional.get(url, {"school": world.school.code})
    assert list(filtered.context["form"].fields["school_class"].queryset) == [world.school_class]
    assert "school_class" not in regional.get(url).context["form"].fields
    for query in ({"school_class": "x"}, {"grade": "99"}, {"status": "?"}, {"page": "9"}):
        assert client.get(url, query).status_code == 200


# --------------------------------------------------------------------------- query pins


def queries(client, url, **params):
    client.get(url, params)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(context.captured_queries)


def grow(world, students=30, requests=8):
    """More students in the class, and requests waiting for 武侯区第一小学."""
    records = [enrol(world, f"学生{n:02d}") for n in range(students)]
    for record in records[:requests]:
        services.request_transfer(
            actor=world.actor("school_admin"),
            record=record,
            to_school=world.other_school,
            reason="搬家",
        )
    for n in range(requests):
        teacher = register_teacher(world, f"教师{n:02d}")
        services.request_teacher_transfer(
            actor=world.actor("school_admin"),
            teacher=teacher,
            to_school=world.other_school,
            reason="轮岗",
        )


def test_student_list_and_queue_cost_the_same_with_many_rows(reg, browse):
    world = reg
    pages = [
        (browse("school_admin"), reverse("registry:student_list")),
        (browse("county_admin"), reverse("registry:student_list")),
        (browse("other_school_admin"), reverse("registry:queue")),
        (browse("county_admin"), reverse("registry:queue")),
        (browse("school_admin"), reverse("registry:request_list")),
        (browse("school_admin"), reverse("registry:teacher_list")),
    ]
    few = [queries(client, url) for client, url in pages]
    grow(world)
    many = [queries(client, url) for client, url in pages]
    assert many == few
    assert (
        len(browse("other_school_admin").get(reverse("registry:queue")).context["student_requests"])
        == 9
    )


def test_student_list_and_queue_budgets(reg, browse, django_assert_max_num_queries):
    grow(reg, students=5, requests=3)
    for key, name, budget in (
        ("school_admin", "registry:student_list", 9),
        ("county_admin", "registry:student_list", 8),
        ("other_school_admin", "registry:queue", 8),
        ("county_admin", "registry:queue", 8),
    ):
        client = browse(key)
        client.get(reverse(name))
        with django_assert_max_num_queries(budget):
            assert client.get(reverse(name)).status_code == 200


def test_registry_pages_read_in_english(reg, browse):
    client = browse("county_admin")
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    students = client.get(reverse("registry:student_list")).content.decode()
    for english in ("Registries", "Work queue", "Students", "Name or student number", "Enrolled"):
        assert english in students, english
    for chinese in ("基础库", "学籍状态", "导出 Excel"):
        assert chinese not in students, chinese
    flow = client.get(reverse("registry:request_detail", args=[reg.flow.pk])).content.decode()
    assert "Approval step" in flow
    assert "Waiting" in flow
    queue = client.get(reverse("registry:queue")).content.decode()
    assert "Student requests waiting for me" in queue
    rollover = client.get(reverse("registry:rollover"), {"school_year": reg.year.pk})
    assert "Students to promote" in rollover.content.decode()


def test_after_dropping_out_the_student_account_has_no_class_and_the_parent_still_reads(
    reg, browse
):
    """The student's class role ends with the drop-out: a session still open in it is told
    the account has no role, never shown the record; the parent still opens the child's page
    and its history."""
    world = reg
    services.withdraw_request(actor=world.actor("school_admin"), request=world.flow)
    student, parent = browse("student"), browse("parent")
    flow = services.request_drop_out(
        actor=world.actor("school_admin"), record=world.record, reason="多次劝返无效"
    )
    services.approve_request(actor=world.actor("county_admin"), request=flow)
    assert not Role.objects.filter(pk=world.roles["student"].pk).exists()
    for target in ("/", reverse("registry:student_detail", args=[world.record.pk])):
        response = student.get(target)
        assert response.status_code == 403
        assert "您的账号尚未分配角色" in response.content.decode()
    html = parent.get(reverse("registry:student_detail", args=[world.record.pk])).content.decode()
    assert "辍学" in html
    assert "多次劝返无效" in html
