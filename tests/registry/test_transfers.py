"""转学 and the other student requests: every step approves, rejects with a reason, can be
withdrawn; nothing changes before the last approval, and then everything at once."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError

from santong.accounts.models import Role
from santong.audit.models import AuditEvent
from santong.core.actors import ScopeError
from santong.registry import services
from santong.registry.models import StudentEvent, StudentRecord, StudentRequest

pytestmark = pytest.mark.django_db
Kind = StudentEvent.Kind


def request(reg, record, to_school, by="school_admin"):
    return services.request_transfer(
        actor=reg.actor(by), record=record, to_school=to_school, reason="随父母工作调动"
    )


def unchanged(record):
    fresh = StudentRecord.objects.get(pk=record.pk)
    return (fresh.school_id, fresh.school_class_id, fresh.path, fresh.status) == (
        record.school_id,
        record.school_class_id,
        record.path,
        record.status,
    )


def test_within_the_county_the_receiving_school_then_the_county(reg, student):
    world = reg.world
    point_class = reg.school_class(world.teaching_point, grade="13", number=1)
    transfer = request(reg, student, world.teaching_point)
    assert [step["path"] for step in transfer.steps] == [world.teaching_point.path, "510104"]
    # The host school's administrator decides for its teaching point.
    transfer = services.approve_request(
        actor=reg.actor("school_admin"), request=transfer, school_class=point_class
    )
    assert transfer.status == StudentRequest.Status.PENDING
    assert unchanged(student)
    transfer = services.approve_request(actor=reg.actor("county_admin"), request=transfer)
    assert transfer.status == StudentRequest.Status.APPROVED
    assert transfer.waiting_path == ""
    student.refresh_from_db()
    assert student.school == world.teaching_point
    assert student.path == point_class.path


def test_across_counties_both_counties_approve_and_everything_moves_at_the_end(reg, student):
    world = reg.world
    target = reg.school_class(world.other_school)
    transfer = request(reg, student, world.other_school)
    assert [(s["level"], s["path"]) for s in transfer.steps] == [
        ("school", world.other_school.path),
        ("county", "510104"),
        ("county", "510107"),
    ]
    for key in ("other_school_admin", "county_admin"):
        transfer = services.approve_request(
            actor=reg.actor(key),
            request=transfer,
            school_class=target if key == "other_school_admin" else None,
        )
        assert unchanged(student)
        assert Role.objects.get(pk=world.roles["student"].pk).path == world.school_class.path
    transfer = services.approve_request(actor=reg.actor("other_county_admin"), request=transfer)
    student.refresh_from_db()
    assert (student.school, student.school_class, student.path) == (
        world.other_school,
        target,
        target.path,
    )
    assert Role.objects.get(pk=world.roles["student"].pk).school_class == target
    assert Role.objects.get(pk=world.roles["parent"].pk).path == target.path
    kinds = list(student.events.order_by("at", "id").values_list("kind", "step"))
    assert [kind for kind, _step in kinds] == [
        Kind.ENROLLED,
        Kind.REQUESTED,
        Kind.STEP_APPROVED,
        Kind.STEP_APPROVED,
        Kind.STEP_APPROVED,
        Kind.TRANSFERRED,
    ]
    assert kinds[2][1] == "成都市武侯区第一小学 接收"
    assert kinds[3][1] == "锦江区 审批"
    moved = student.events.get(kind=Kind.TRANSFERRED)
    assert moved.detail["to_school"] == "成都市武侯区第一小学"
    assert moved.actor == world.users["other_county_admin"]
    assert (
        AuditEvent.objects.filter(object_type="studentrequest", object_id=str(transfer.pk)).count()
        == 4
    )


@pytest.mark.parametrize(
    ("wrong", "step"),
    [
        ("county_admin", 0),  # a county cannot accept for a school
        ("school_admin", 0),  # the sending school cannot accept for the receiving one
        ("other_county_admin", 1),  # the receiving county cannot approve for the sending one
        ("city_admin", 1),  # the city watches but does not decide for its counties
        ("other_school_admin", 2),  # a school cannot approve for its county
        ("head_teacher", 2),
    ],
)
def test_only_the_waiting_unit_decides(reg, student, wrong, step):
    target = reg.school_class(reg.world.other_school)
    transfer = request(reg, student, reg.world.other_school)
    deciders = ["other_school_admin", "county_admin", "other_county_admin"]
    for key in deciders[:step]:
        transfer = services.approve_request(
            actor=reg.actor(key),
            request=transfer,
            school_class=target if key == deciders[0] else None,
        )
    with pytest.raises(ScopeError):
        services.approve_request(actor=reg.actor(wrong), request=transfer, school_class=target)
    with pytest.raises(ScopeError):
        services.reject_request(actor=reg.actor(wrong), request=transfer, reason="不同意")
    assert StudentRequest.objects.get(pk=transfer.pk).step == step


@pytest.mark.parametrize("step", [0, 1, 2])
def test_each_step_can_reject_with_a_reason(reg, student, step):
    target = reg.school_class(reg.world.other_school)
    transfer = request(reg, student, reg.world.other_school)
    deciders = ["other_school_admin", "county_admin", "other_county_admin"]
    for key in deciders[:step]:
        transfer = services.approve_request(
            actor=reg.actor(key),
            request=transfer,
            school_class=target if key == deciders[0] else None,
        )
    with pytest.raises(ValidationError):
        services.reject_request(actor=reg.actor(deciders[step]), request=transfer, reason="  ")
    transfer = services.reject_request(
        actor=reg.actor(deciders[step]), request=transfer, reason="学位已满"
    )
    assert transfer.status == StudentRequest.Status.REJECTED
    assert transfer.decision_note == "学位已满"
    assert unchanged(student)
    rejected = student.events.get(kind=Kind.REJECTED)
    assert rejected.reason == "学位已满"
    assert rejected.step == ["成都市武侯区第一小学 接收", "锦江区 审批", "武侯区 审批"][step]
    with pytest.raises(ValidationError):
        services.approve_request(actor=reg.actor(deciders[step]), request=transfer)
    # Closed, so the student may ask again.
    assert request(reg, student, reg.world.other_school).status == StudentRequest.Status.PENDING


def test_the_requester_withdraws_before_the_last_approval(reg, student):
    target = reg.school_class(reg.world.other_school)
    transfer = request(reg, student, reg.world.other_school)
    transfer = services.approve_request(
        actor=reg.actor("other_school_admin"), request=transfer, school_class=target
    )
    transfer = services.approve_request(actor=reg.actor("county_admin"), request=transfer)
    with pytest.raises(ScopeError):
        services.withdraw_request(actor=reg.actor("other_school_admin"), request=transfer)
    transfer = services.withdraw_request(
        actor=reg.actor("school_admin"), request=transfer, reason="家长改变主意"
    )
    assert transfer.status == StudentRequest.Status.WITHDRAWN
    assert unchanged(student)
    with pytest.raises(ValidationError):
        services.approve_request(actor=reg.actor("other_county_admin"), request=transfer)
    with pytest.raises(ValidationError):
        services.withdraw_request(actor=reg.actor("school_admin"), request=transfer)


def test_an_approved_request_cannot_be_withdrawn(reg, student):
    transfer = request(reg, student, reg.world.teaching_point)
    point_class = reg.school_class(reg.world.teaching_point, grade="13", number=1)
    services.approve_request(
        actor=reg.actor("school_admin"), request=transfer, school_class=point_class
    )
    transfer = services.approve_request(actor=reg.actor("county_admin"), request=transfer)
    with pytest.raises(ValidationError):
        services.withdraw_request(actor=reg.actor("school_admin"), request=transfer)


def test_the_receiving_school_must_name_one_of_its_classes_of_the_same_year(reg, student):
    transfer = request(reg, student, reg.world.other_school)
    with pytest.raises(ValidationError):
        services.approve_request(actor=reg.actor("other_school_admin"), request=transfer)
    with pytest.raises(ValidationError):
        services.approve_request(
            actor=reg.actor("other_school_admin"),
            request=transfer,
            school_class=reg.world.school_class,
        )
    target = reg.school_class(reg.world.other_school)
    services.approve_request(
        actor=reg.actor("other_school_admin"), request=transfer, school_class=target
    )
    with pytest.raises(ValidationError):
        services.approve_request(
            actor=reg.actor("county_admin"), request=transfer, school_class=target
        )


def test_across_cities_both_cities_approve_when_configured(reg, student, settings):
    settings.SANTONG_TRANSFER_CITY_APPROVAL = True
    world = reg.world
    target = reg.school_class(world.far_school)
    transfer = request(reg, student, world.far_school)
    assert [(s["level"], s["path"]) for s in transfer.steps] == [
        ("school", world.far_school.path),
        ("county", "510104"),
        ("county", "510703"),
        ("city", "5101"),
        ("city", "5107"),
    ]
    for key in ("far_school_admin", "county_admin", "far_county_admin", "city_admin"):
        transfer = services.approve_request(
            actor=reg.actor(key),
            request=transfer,
            school_class=target if key == "far_school_admin" else None,
        )
        assert unchanged(student)
    services.approve_request(actor=reg.actor("other_city_admin"), request=transfer)
    student.refresh_from_db()
    assert student.school == world.far_school


def test_across_cities_without_the_setting_only_the_counties_approve(reg, student):
    transfer = request(reg, student, reg.world.far_school)
    assert [s["level"] for s in transfer.steps] == ["school", "county", "county"]


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("true", True), ("0", False)])
def test_the_city_approval_setting_is_read_from_the_environment(value, expected):
    environment = {k: v for k, v in os.environ.items() if k != "SANTONG_TRANSFER_CITY_APPROVAL"}
    if value is not None:
        environment["SANTONG_TRANSFER_CITY_APPROVAL"] = value
    script = "import santong.settings.base as s; print(s.SANTONG_TRANSFER_CITY_APPROVAL)"
    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == str(expected)


def test_out_of_the_region_only_this_side_approves(reg, student):
    with pytest.raises(ValidationError):
        services.request_transfer_out(
            actor=reg.actor("school_admin"), record=student, destination="", reason="随迁"
        )
    transfer = services.request_transfer_out(
        actor=reg.actor("school_admin"),
        record=student,
        destination="重庆市渝中区人和街小学",
        reason="随父母迁往重庆",
    )
    assert [s["path"] for s in transfer.steps] == ["510104"]
    assert unchanged(student)
    services.approve_request(actor=reg.actor("county_admin"), request=transfer)
    student.refresh_from_db()
    assert student.status == StudentRecord.Status.TRANSFERRED_OUT
    assert student.destination == "重庆市渝中区人和街小学"
    assert student.left_on is not None
    assert student.events.filter(kind=Kind.TRANSFERRED_OUT).exists()


def test_one_open_request_at_a_time(reg, student):
    request(reg, student, reg.world.other_school)
    with pytest.raises(ValidationError) as caught:
        services.request_suspension(actor=reg.actor("school_admin"), record=student, reason="生病")
    assert "审批中" in caught.value.message_dict["record"][0]


def test_requests_need_a_reason_and_a_school_other_than_the_own(reg, student):
    with pytest.raises(ValidationError):
        services.request_transfer(
            actor=reg.actor("school_admin"),
            record=student,
            to_school=reg.world.other_school,
            reason="",
        )
    with pytest.raises(ValidationError):
        request(reg, student, reg.world.school)
    with pytest.raises(ScopeError):
        request(reg, student, reg.world.other_school, by="other_school_admin")
    with pytest.raises(ScopeError):
        request(reg, student, reg.world.other_school, by="head_teacher")


def test_a_suspended_or_graduating_student_cannot_be_transferred(reg, student):
    StudentRecord.objects.filter(pk=student.pk).update(status=StudentRecord.Status.SUSPENDED)
    with pytest.raises(ValidationError) as caught:
        request(reg, student, reg.world.other_school)
    assert "休学学生不能转学" in caught.value.message_dict["record"][0]
    StudentRecord.objects.filter(pk=student.pk).update(
        status=StudentRecord.Status.ENROLLED, graduating=True
    )
    with pytest.raises(ValidationError):
        request(reg, student, reg.world.other_school)


def test_a_refused_final_step_changes_nothing(reg, student):
    """If the receiving school closed meanwhile, the last approval fails as a whole."""
    target = reg.school_class(reg.world.teaching_point, grade="13", number=1)
    transfer = request(reg, student, reg.world.teaching_point)
    transfer = services.approve_request(
        actor=reg.actor("school_admin"), request=transfer, school_class=target
    )
    services.close_school(
        actor=reg.actor("county_admin"), school=reg.world.teaching_point, reason="撤并"
    )
    events = StudentEvent.objects.count()
    with pytest.raises(ValidationError):
        services.approve_request(actor=reg.actor("county_admin"), request=transfer)
    fresh = StudentRequest.objects.get(pk=transfer.pk)
    assert (fresh.status, fresh.step) == (StudentRequest.Status.PENDING, 1)
    assert unchanged(student)
    assert StudentEvent.objects.count() == events
    assert Role.objects.get(pk=reg.world.roles["student"].pk).path == reg.world.school_class.path


def test_a_rollover_while_waiting_takes_the_receiving_class_along(reg, student):
    world = reg.world
    target = reg.school_class(world.other_school)
    transfer = request(reg, student, world.other_school)
    transfer = services.approve_request(
        actor=reg.actor("other_school_admin"), request=transfer, school_class=target
    )
    other = reg.enrol(target, by="other_school_admin")
    services.rollover_year(actor=reg.actor("city_admin"), path="5101", from_year=world.year)
    student.refresh_from_db()
    other.refresh_from_db()
    for key in ("county_admin", "other_county_admin"):
        transfer = services.approve_request(actor=reg.actor(key), request=transfer)
    student.refresh_from_db()
    assert student.school_class == other.school_class
    assert student.school_class.school_year.start_year == 2026
