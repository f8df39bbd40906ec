"""What becomes of the accounts when a student's record moves or closes: a transfer inside the
region takes the student's and the parents' class roles along; leaving the region's schools
(转出, 辍学, 死亡注销) ends the student's class role; the parent keeps seeing the child."""

import pytest

from santong.accounts.models import Role
from santong.audit.models import AuditEvent
from santong.registry import selectors, services
from santong.registry.models import StudentRecord

pytestmark = pytest.mark.django_db
Status = StudentRecord.Status


def role(reg, key: str) -> Role | None:
    return Role.objects.filter(pk=reg.world.roles[key].pk).first()


def parent_sees(reg, record: StudentRecord) -> bool:
    parent = role(reg, "parent")
    assert parent is not None
    return selectors.students(role=parent).filter(pk=record.pk).exists()


def approve(reg, request, *keys: str):
    for key in keys:
        request = services.approve_request(actor=reg.actor(key), request=request)
    return request


def test_a_transfer_in_the_county_moves_the_student_and_parent_roles(reg, student):
    target = reg.school_class(reg.world.teaching_point, grade="13", number=1)
    transfer = services.request_transfer(
        actor=reg.actor("school_admin"),
        record=student,
        to_school=reg.world.teaching_point,
        reason="就近入学",
    )
    transfer = services.approve_request(
        actor=reg.actor("school_admin"), request=transfer, school_class=target
    )
    approve(reg, transfer, "county_admin")
    student_role, parent_role = role(reg, "student"), role(reg, "parent")
    assert student_role is not None
    assert parent_role is not None
    assert (student_role.school_class, student_role.path) == (target, target.path)
    assert (parent_role.school_class, parent_role.path) == (target, target.path)
    assert parent_sees(reg, student)
    assert selectors.students(role=student_role).get() == student


@pytest.mark.parametrize(
    ("ask", "status"),
    [
        (
            lambda reg, record: services.request_transfer_out(
                actor=reg.actor("school_admin"),
                record=record,
                destination="广东省广州市第一小学",
                reason="随父母迁居",
            ),
            Status.TRANSFERRED_OUT,
        ),
        (
            lambda reg, record: services.request_drop_out(
                actor=reg.actor("school_admin"), record=record, reason="多次劝返无效"
            ),
            Status.DROPPED_OUT,
        ),
        (
            lambda reg, record: services.request_deregistration(
                actor=reg.actor("school_admin"), record=record, reason="因病去世"
            ),
            Status.DEREGISTERED,
        ),
    ],
    ids=["transfer_out", "drop_out", "deregister"],
)
def test_leaving_ends_the_student_role_and_the_parent_still_sees_the_child(
    reg, student, ask, status
):
    request = ask(reg, student)
    assert role(reg, "student") is not None, "nothing changes before the last approval"
    approve(reg, request, "county_admin")
    student.refresh_from_db()
    assert student.status == status
    assert role(reg, "student") is None
    assert not Role.objects.filter(kind=Role.Kind.STUDENT, user__person=student.person).exists()
    ended = AuditEvent.objects.get(action=AuditEvent.Action.REVOKE, object_type="role")
    assert ended.detail == {"ended": [[reg.world.roles["student"].pk, student.path]]}
    assert ended.actor == reg.world.users["county_admin"]
    parent_role = role(reg, "parent")
    assert parent_role is not None
    assert parent_role.child == student.person
    assert parent_sees(reg, student)
    classmates = Role.objects.filter(kind=Role.Kind.STUDENT, school_class=reg.world.school_class)
    assert student.person.pk not in set(classmates.values_list("user__person", flat=True))


def test_a_refused_request_or_a_suspension_keeps_the_student_in_the_class(reg, student):
    drop_out = services.request_drop_out(
        actor=reg.actor("school_admin"), record=student, reason="多次劝返无效"
    )
    services.reject_request(actor=reg.actor("county_admin"), request=drop_out, reason="继续劝返")
    suspension = services.request_suspension(
        actor=reg.actor("school_admin"), record=student, reason="因病休养"
    )
    approve(reg, suspension, "county_admin")
    student.refresh_from_db()
    assert student.status == Status.SUSPENDED
    student_role = role(reg, "student")
    assert student_role is not None
    assert student_role.school_class == reg.world.school_class
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.REVOKE).exists()


def test_a_record_without_an_account_leaves_without_touching_any_role(reg):
    record = reg.enrol(name="无账号")
    roles = set(Role.objects.values_list("pk", flat=True))
    request = services.request_drop_out(
        actor=reg.actor("school_admin"), record=record, reason="多次劝返无效"
    )
    approve(reg, request, "county_admin")
    assert set(Role.objects.values_list("pk", flat=True)) == roles
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.REVOKE).exists()
