"""休学 / 复学, 辍学, 死亡注销 and 毕业: who asks, who approves, what each status forbids."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from santong.accounts.models import Role
from santong.audit.models import AuditEvent
from santong.core.actors import ScopeError
from santong.registry import services
from santong.registry.models import StudentEvent, StudentRecord, StudentRequest

pytestmark = pytest.mark.django_db
Status = StudentRecord.Status


def approve_by_county(reg, request):
    return services.approve_request(actor=reg.actor("county_admin"), request=request)


def test_suspension_is_asked_by_the_school_and_approved_by_the_county(reg):
    record = reg.enrol()
    request = services.request_suspension(
        actor=reg.actor("school_admin"), record=record, reason="因病休养一学期"
    )
    assert [s["path"] for s in request.steps] == ["510104"]
    with pytest.raises(ScopeError):
        services.approve_request(actor=reg.actor("school_admin"), request=request)
    with pytest.raises(ScopeError):
        services.approve_request(actor=reg.actor("city_admin"), request=request)
    assert StudentRecord.objects.get(pk=record.pk).status == Status.ENROLLED
    approve_by_county(reg, request)
    record.refresh_from_db()
    assert record.status == Status.SUSPENDED
    assert record.school_class == reg.world.school_class
    suspended = record.events.get(kind=StudentEvent.Kind.SUSPENDED)
    assert suspended.reason == "因病休养一学期"
    assert suspended.request == request


def test_a_suspended_student_may_not_be_suspended_again_transferred_or_promoted(reg):
    record = reg.enrol()
    approve_by_county(
        reg,
        services.request_suspension(actor=reg.actor("school_admin"), record=record, reason="病"),
    )
    with pytest.raises(ValidationError) as caught:
        services.request_suspension(actor=reg.actor("school_admin"), record=record, reason="病")
    assert "休学学生不能休学" in caught.value.message_dict["record"][0]
    with pytest.raises(ValidationError):
        services.request_transfer(
            actor=reg.actor("school_admin"),
            record=record,
            to_school=reg.world.other_school,
            reason="x",
        )
    result = services.rollover_year(
        actor=reg.actor("county_admin"), path="510104", from_year=reg.world.year
    )
    assert result.plan.staying_suspended == 1
    assert result.rollover is None
    record.refresh_from_db()
    assert record.school_class == reg.world.school_class


def test_resume_puts_the_student_into_a_class_of_the_school_and_moves_the_roles(reg, student):
    approve_by_county(
        reg,
        services.request_suspension(actor=reg.actor("school_admin"), record=student, reason="病"),
    )
    new_class = reg.school_class(reg.world.school, grade="13", number=2)
    with pytest.raises(ValidationError):
        services.resume_student(
            actor=reg.actor("school_admin"), record=student, school_class=reg.world.other_class
        )
    record = services.resume_student(
        actor=reg.actor("school_admin"), record=student, school_class=new_class, reason="康复"
    )
    assert record.status == Status.ENROLLED
    assert record.path == new_class.path
    assert Role.objects.get(pk=reg.world.roles["student"].pk).school_class == new_class
    assert Role.objects.get(pk=reg.world.roles["parent"].pk).school_class == new_class
    with pytest.raises(ValidationError):
        services.resume_student(
            actor=reg.actor("school_admin"), record=record, school_class=new_class
        )


def test_drop_out_and_deregistration_close_the_record_but_keep_it(reg):
    dropping = reg.enrol(name="辍学生")
    deceased = reg.enrol(name="注销生")
    approve_by_county(
        reg,
        services.request_drop_out(
            actor=reg.actor("school_admin"), record=dropping, reason="外出务工，多次劝返无效"
        ),
    )
    approve_by_county(
        reg,
        services.request_deregistration(
            actor=reg.actor("school_admin"), record=deceased, reason="因病去世"
        ),
    )
    dropping.refresh_from_db()
    deceased.refresh_from_db()
    assert (dropping.status, deceased.status) == (Status.DROPPED_OUT, Status.DEREGISTERED)
    assert dropping.left_on == deceased.left_on == date.today()
    assert StudentRecord.objects.count() == 2
    with pytest.raises(ValidationError):
        services.request_drop_out(actor=reg.actor("school_admin"), record=deceased, reason="x")


def test_a_suspended_student_may_drop_out(reg):
    record = reg.enrol()
    approve_by_county(
        reg,
        services.request_suspension(actor=reg.actor("school_admin"), record=record, reason="病"),
    )
    approve_by_county(
        reg,
        services.request_drop_out(actor=reg.actor("school_admin"), record=record, reason="未返校"),
    )
    record.refresh_from_db()
    assert record.status == Status.DROPPED_OUT


def test_status_requests_can_be_rejected_and_withdrawn(reg):
    record = reg.enrol()
    request = services.request_drop_out(
        actor=reg.actor("school_admin"), record=record, reason="厌学"
    )
    request = services.reject_request(
        actor=reg.actor("county_admin"), request=request, reason="须先落实劝返"
    )
    assert request.status == StudentRequest.Status.REJECTED
    again = services.request_suspension(actor=reg.actor("school_admin"), record=record, reason="病")
    services.withdraw_request(actor=reg.actor("school_admin"), request=again)
    record.refresh_from_db()
    assert record.status == Status.ENROLLED


def test_graduation_is_confirmed_by_the_county_for_students_marked_graduating(reg):
    final_class = reg.school_class(reg.world.school, grade="16", number=1)
    leaving = [reg.enrol(final_class, name=f"毕业生{i}") for i in range(3)]
    staying = reg.enrol()
    services.rollover_year(
        actor=reg.actor("school_admin"), path=reg.world.school.path, from_year=reg.world.year
    )
    assert StudentRecord.objects.filter(graduating=True).count() == 3
    with pytest.raises(ScopeError):
        services.graduate_students(actor=reg.actor("school_admin"), path=reg.world.school.path)
    with pytest.raises(ScopeError):
        services.graduate_students(actor=reg.actor("other_county_admin"), path="510104")
    count = services.graduate_students(
        actor=reg.actor("county_admin"), path="510104", on=date(2026, 7, 1)
    )
    assert count == 3
    for record in leaving:
        record.refresh_from_db()
        assert (record.status, record.graduating, record.left_on) == (
            Status.GRADUATED,
            False,
            date(2026, 7, 1),
        )
        assert record.events.filter(kind=StudentEvent.Kind.GRADUATED).count() == 1
    staying.refresh_from_db()
    assert staying.status == Status.ENROLLED
    assert services.graduate_students(actor=reg.actor("county_admin"), path="510104") == 0
    assert AuditEvent.objects.filter(detail__graduated=3).count() == 1
