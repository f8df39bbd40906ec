"""教师库: records, titles with history, 调动 with approvals, leave and retirement."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from santong.accounts.models import Role
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM, ScopeError
from santong.registry import selectors, services
from santong.registry.models import TeacherEvent, TeacherRecord, TeacherTransfer, TitleHistory

from .conftest import new_id_number

pytestmark = pytest.mark.django_db
Kind = TeacherEvent.Kind


def test_register_a_teacher(reg):
    teacher = reg.teacher(
        name="周敏", subjects=("01", "02"), title_since=date(2018, 12, 1), political_status="01"
    )
    assert teacher.school == reg.world.school
    assert teacher.path == reg.world.school.path
    assert sorted(teacher.subjects.values_list("name", flat=True)) == ["数学", "语文"]
    assert list(teacher.titles.values_list("title", "since")) == [("3", date(2018, 12, 1))]
    assert teacher.events.get().kind == Kind.REGISTERED
    assert AuditEvent.objects.filter(object_type="teacherrecord", action="create").count() == 1


def test_registration_rules(reg):
    number = new_id_number(birth=date(1990, 1, 1))
    reg.teacher(id_number=number, name="周敏")
    with pytest.raises(ValidationError) as caught:
        reg.teacher(id_number=number, name="周敏")
    assert "成都市锦江区实验小学" in caught.value.message_dict["id_number"][0]
    with pytest.raises(ValidationError) as caught:
        reg.teacher(id_type="9", id_number="", gender="1")
    assert "id_type" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        reg.teacher(title="7", education="99", employment="3", subjects=("99",))
    assert set(caught.value.message_dict) == {"title", "education", "employment", "subjects"}
    with pytest.raises(ValidationError):
        reg.teacher(hired_on=date(2999, 1, 1))
    with pytest.raises(ScopeError):
        reg.teacher(by="other_school_admin")
    with pytest.raises(ScopeError):
        reg.teacher(by="head_teacher")
    assert TeacherRecord.objects.count() == 1


def test_a_new_title_is_kept_as_history(reg):
    teacher = reg.teacher(title="4", title_since=date(2015, 12, 1))
    services.update_teacher(
        actor=reg.actor("school_admin"), teacher=teacher, title="3", title_since=date(2020, 12, 1)
    )
    services.update_teacher(
        actor=reg.actor("school_admin"), teacher=teacher, position="06", subjects=("02",)
    )
    assert list(teacher.titles.values_list("title", "since")) == [
        ("3", date(2020, 12, 1)),
        ("4", date(2015, 12, 1)),
    ]
    assert teacher.events.filter(kind=Kind.TITLE_CHANGED).get().detail == {
        "changes": {"title": ["4", "3"]}
    }
    updated = teacher.events.get(kind=Kind.UPDATED)
    assert updated.detail["changes"]["position"] == ["07", "06"]
    assert updated.detail["changes"]["subjects"] == ["", "02"]
    with pytest.raises(ValidationError):
        services.update_teacher(actor=reg.actor("school_admin"), teacher=teacher, school=1)


def move(reg, teacher, to_school, by="school_admin"):
    return services.request_teacher_transfer(
        actor=reg.actor(by), teacher=teacher, to_school=to_school, reason="交流轮岗"
    )


def test_a_move_across_counties_needs_the_school_and_both_counties(reg):
    world = reg.world
    head = world.users["head_teacher"]
    teacher = reg.teacher(name=head.person.name, id_number=_clear(head.person))
    assert teacher.person == head.person
    transfer = move(reg, teacher, world.other_school)
    assert [s["path"] for s in transfer.steps] == [world.other_school.path, "510104", "510107"]
    with pytest.raises(ScopeError):
        services.approve_teacher_transfer(actor=reg.actor("county_admin"), transfer=transfer)
    for key in ("other_school_admin", "county_admin"):
        transfer = services.approve_teacher_transfer(actor=reg.actor(key), transfer=transfer)
        assert TeacherRecord.objects.get(pk=teacher.pk).school == world.school
    transfer = services.approve_teacher_transfer(
        actor=reg.actor("other_county_admin"), transfer=transfer
    )
    assert transfer.status == TeacherTransfer.Status.APPROVED
    teacher.refresh_from_db()
    assert (teacher.school, teacher.path) == (world.other_school, world.other_school.path)
    # Her head-teacher role at the old school ended with the move.
    assert not Role.objects.filter(pk=world.roles["head_teacher"].pk).exists()
    assert [e.kind for e in teacher.events.order_by("at", "id")] == [
        Kind.REGISTERED,
        Kind.REQUESTED,
        Kind.STEP_APPROVED,
        Kind.STEP_APPROVED,
        Kind.STEP_APPROVED,
        Kind.TRANSFERRED,
    ]


def _clear(person):
    from santong.accounts.identity import get_vault

    return get_vault().decrypt(bytes(person.id_cipher))


@pytest.mark.parametrize("step", [0, 1, 2])
def test_each_step_can_reject_a_move(reg, step):
    teacher = reg.teacher()
    transfer = move(reg, teacher, reg.world.other_school)
    deciders = ["other_school_admin", "county_admin", "other_county_admin"]
    for key in deciders[:step]:
        transfer = services.approve_teacher_transfer(actor=reg.actor(key), transfer=transfer)
    transfer = services.reject_teacher_transfer(
        actor=reg.actor(deciders[step]), transfer=transfer, reason="编制已满"
    )
    assert (transfer.status, transfer.decision_note) == (
        TeacherTransfer.Status.REJECTED,
        "编制已满",
    )
    assert TeacherRecord.objects.get(pk=teacher.pk).school == reg.world.school
    assert teacher.events.get(kind=Kind.REJECTED).reason == "编制已满"


def test_a_move_within_the_county_and_its_withdrawal(reg):
    teacher = reg.teacher()
    transfer = move(reg, teacher, reg.world.teaching_point)
    assert len(transfer.steps) == 2
    with pytest.raises(ValidationError):
        move(reg, teacher, reg.world.other_school)
    transfer = services.withdraw_teacher_transfer(
        actor=reg.actor("school_admin"), transfer=transfer
    )
    assert transfer.status == TeacherTransfer.Status.WITHDRAWN
    transfer = move(reg, teacher, reg.world.teaching_point)
    services.approve_teacher_transfer(actor=reg.actor("school_admin"), transfer=transfer)
    services.approve_teacher_transfer(actor=reg.actor("county_admin"), transfer=transfer)
    assert TeacherRecord.objects.get(pk=teacher.pk).school == reg.world.teaching_point


def test_leave_and_retirement(reg):
    teacher = reg.teacher()
    with pytest.raises(ValidationError):
        services.start_teacher_leave(actor=reg.actor("school_admin"), teacher=teacher, reason="")
    teacher = services.start_teacher_leave(
        actor=reg.actor("school_admin"), teacher=teacher, reason="产假", on=date(2026, 3, 1)
    )
    assert (teacher.status, teacher.left_on) == (TeacherRecord.Status.ON_LEAVE, date(2026, 3, 1))
    with pytest.raises(ValidationError):
        move(reg, teacher, reg.world.other_school)
    teacher = services.end_teacher_leave(actor=reg.actor("school_admin"), teacher=teacher)
    assert (teacher.status, teacher.left_on) == (TeacherRecord.Status.ACTIVE, None)
    transfer = move(reg, teacher, reg.world.other_school)
    with pytest.raises(ValidationError):
        services.retire_teacher(actor=reg.actor("school_admin"), teacher=teacher)
    services.withdraw_teacher_transfer(actor=reg.actor("school_admin"), transfer=transfer)
    teacher = services.retire_teacher(
        actor=reg.actor("school_admin"), teacher=teacher, on=date(2026, 8, 31), reason="到龄退休"
    )
    assert teacher.status == TeacherRecord.Status.RETIRED
    assert [e.kind for e in teacher.events.order_by("at", "id")][-1] == Kind.RETIRED
    with pytest.raises(ValidationError):
        services.update_teacher(actor=reg.actor("school_admin"), teacher=teacher, title="2")


def row(school, **fields):
    fields.setdefault("name", "批量教师")
    fields.setdefault("id_type", "1")
    fields.setdefault("id_number", new_id_number(birth=date(1985, 5, 5)))
    return services.TeacherRow(
        school=school,
        ethnicity=fields.pop("ethnicity", "01"),
        education=fields.pop("education", "21"),
        title=fields.pop("title", "4"),
        position=fields.pop("position", "07"),
        hired_on=fields.pop("hired_on", date(2012, 9, 1)),
        employment=fields.pop("employment", "1"),
        **fields,
    )


def test_bulk_upsert_creates_updates_and_reports_rows(reg):
    school = reg.world.school
    existing = reg.teacher(title="4")
    existing_number = _clear(existing.person)
    elsewhere = reg.teacher(reg.world.other_school, by="other_school_admin", name="外校")
    rows = [
        row(school, name="新教师甲", subjects=("01",)),
        row(school, name=existing.person.name, id_number=existing_number, title="3"),
        row(school, name="外校", id_number=_clear(elsewhere.person)),
        row(school, name="坏代码", title="8"),
        row(school, name="新教师乙"),
    ]
    result = services.bulk_upsert_teachers(actor=reg.actor("county_admin"), rows=rows)
    assert (result.created, result.updated) == (2, 1)
    assert set(result.errors) == {2, 3}
    assert "成都市武侯区第一小学" in result.errors[2].message_dict["school"][0]
    assert "title" in result.errors[3].message_dict
    existing.refresh_from_db()
    assert existing.title == "3"
    assert existing.titles.count() == 2
    assert TeacherRecord.objects.get(person__name="新教师甲").subjects.get().code == "01"


def test_bulk_upsert_dry_run_writes_nothing(reg):
    result = services.bulk_upsert_teachers(
        actor=SYSTEM, rows=[row(reg.world.school) for _ in range(3)], dry_run=True
    )
    assert result.errors == {}
    assert TeacherRecord.objects.count() == 0


def test_bulk_upsert_costs_a_few_statements_per_batch_not_one_per_row(reg):
    """SQLite caps a statement at 999 parameters, so bulk inserts split every ~100 rows there;
    still nowhere near a query per row."""
    school = reg.world.school
    services.bulk_upsert_teachers(actor=SYSTEM, rows=[row(school) for _ in range(2)])
    with CaptureQueriesContext(connection) as few:
        services.bulk_upsert_teachers(actor=SYSTEM, rows=[row(school) for _ in range(5)])
    with CaptureQueriesContext(connection) as many:
        services.bulk_upsert_teachers(actor=SYSTEM, rows=[row(school) for _ in range(300)])
    assert TeacherRecord.objects.count() == 307
    assert TitleHistory.objects.count() == 307
    assert len(many.captured_queries) <= len(few.captured_queries) + 12
    assert len(many.captured_queries) < 300 / 10


def test_teachers_are_read_in_scope(reg):
    world = reg.world
    head = world.users["head_teacher"]
    own = reg.teacher(name=head.person.name, id_number=_clear(head.person))
    reg.teacher(world.other_school, by="other_school_admin", name="外校")
    assert selectors.teachers(role=world.roles["school_admin"]).count() == 1
    assert selectors.teachers(role=world.roles["city_admin"]).count() == 2
    assert list(selectors.teachers(role=world.roles["head_teacher"])) == [own]
    assert selectors.teachers(role=world.roles["subject_teacher"]).count() == 0
    assert selectors.teachers(role=world.roles["student"]).count() == 0
    assert (
        selectors.teacher_events(role=world.roles["other_county_admin"], teacher=own).count() == 0
    )
    assert selectors.teacher_events(role=world.roles["county_admin"], teacher=own).count() == 1
