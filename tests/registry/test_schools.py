"""学校库: edits kept as history, merging and closing schools without deleting anything."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from santong.accounts.models import Role
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM, ScopeError
from santong.orgs import services as org_services
from santong.orgs.models import School, SchoolClass
from santong.registry import selectors, services
from santong.registry.models import (
    ClassSuccession,
    SchoolChange,
    SchoolProfile,
    StudentEvent,
    StudentRecord,
    TeacherEvent,
    TeacherRecord,
)

pytestmark = pytest.mark.django_db


def test_the_school_edits_its_facts_and_every_change_is_kept(reg):
    school = reg.world.school
    profile = services.update_school_profile(
        actor=reg.actor("school_admin"),
        school=school,
        principal="林校长",
        phone="028-86661234",
        founded_on=date(1952, 9, 1),
        address="四川省成都市锦江区东大街200号",
        reason="年度信息核对",
    )
    assert profile.principal == "林校长"
    school.refresh_from_db()
    assert school.address == "四川省成都市锦江区东大街200号"
    history = {c.field: c for c in SchoolChange.objects.filter(school=school)}
    assert set(history) == {"principal", "phone", "founded_on", "address"}
    assert (history["address"].old_value, history["address"].new_value) == (
        "四川省成都市锦江区东大街100号",
        "四川省成都市锦江区东大街200号",
    )
    assert history["founded_on"].new_value == "1952-09-01"
    assert history["principal"].actor_name == "刘芳"
    assert history["principal"].reason == "年度信息核对"
    # The org tree's fields are audited by orgs, the profile's by the registry.
    assert AuditEvent.objects.filter(object_type="school", action="update").count() == 1
    assert AuditEvent.objects.filter(object_type="schoolprofile").count() == 1
    services.update_school_profile(
        actor=reg.actor("county_admin"), school=school, principal="林校长", name="锦江区实验小学"
    )
    assert SchoolChange.objects.filter(school=school, field="name").count() == 1
    assert SchoolChange.objects.filter(school=school, field="principal").count() == 1


def test_edits_are_checked_and_scoped(reg):
    school = reg.world.school
    with pytest.raises(ValidationError) as caught:
        services.update_school_profile(actor=reg.actor("school_admin"), school=school, phone="电话")
    assert "phone" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.update_school_profile(actor=reg.actor("school_admin"), school=school, code="1")
    with pytest.raises(ValidationError):
        services.update_school_profile(
            actor=reg.actor("school_admin"), school=school, founded_on=date(2999, 1, 1)
        )
    for key in ("other_school_admin", "other_county_admin", "head_teacher"):
        with pytest.raises(ScopeError):
            services.update_school_profile(actor=reg.actor(key), school=school, principal="某")
    assert not SchoolChange.objects.exists()


def test_the_profile_and_history_are_read_in_scope(reg):
    school = reg.world.school
    services.update_school_profile(actor=reg.actor("school_admin"), school=school, principal="林")
    assert (
        selectors.school_profile(role=reg.world.roles["county_admin"], school=school).principal
        == "林"
    )
    hidden = selectors.school_profile(role=reg.world.roles["other_county_admin"], school=school)
    assert hidden.pk is not None
    assert hidden.principal == ""
    assert selectors.school_changes(role=reg.world.roles["other_county_admin"]).count() == 0
    assert selectors.school_changes(role=reg.world.roles["city_admin"], school=school).count() == 1
    statuses = dict(
        selectors.schools(role=reg.world.roles["county_admin"]).values_list(
            "code", "registry_status"
        )
    )
    assert statuses == {"1510104001": "open", "1510104002": "open"}


def test_merging_moves_students_teachers_classes_and_roles_and_deletes_nothing(reg, student):
    world = reg.world
    teacher = reg.teacher(name="陈老师")
    suspended = reg.enrol(name="休学生")
    StudentRecord.objects.filter(pk=suspended.pk).update(status=StudentRecord.Status.SUSPENDED)
    graduated = reg.enrol(name="毕业生")
    StudentRecord.objects.filter(pk=graduated.pk).update(status=StudentRecord.Status.GRADUATED)
    services.close_school(
        actor=reg.actor("county_admin"), school=world.teaching_point, reason="撤并"
    )
    classes_before = SchoolClass.objects.count()
    with pytest.raises(ScopeError):
        services.merge_school(
            actor=reg.actor("school_admin"),
            school=world.school,
            into=world.other_school,
            reason="x",
        )
    with pytest.raises(ScopeError):  # two counties: the city decides
        services.merge_school(
            actor=reg.actor("county_admin"),
            school=world.school,
            into=world.other_school,
            reason="x",
        )
    profile = services.merge_school(
        actor=reg.actor("city_admin"),
        school=world.school,
        into=world.other_school,
        reason="学区调整，两校合并",
    )
    assert profile.status == SchoolProfile.Status.MERGED
    assert profile.merged_into == world.other_school
    assert SchoolClass.objects.count() == classes_before + 1
    successor = ClassSuccession.objects.get(old_class=world.school_class).new_class
    assert (successor.school, successor.grade_id, successor.number) == (world.other_school, "13", 2)
    for record in (student, suspended):
        record.refresh_from_db()
        assert (record.school, record.school_class) == (world.other_school, successor)
        assert record.events.filter(kind=StudentEvent.Kind.MOVED_BY_MERGE).count() == 1
    graduated.refresh_from_db()
    assert graduated.school == world.school  # the archive stays with the merged school
    teacher.refresh_from_db()
    assert teacher.school == world.other_school
    assert teacher.events.filter(kind=TeacherEvent.Kind.MOVED_BY_MERGE).count() == 1
    for key in ("student", "parent", "head_teacher", "subject_teacher"):
        assert Role.objects.get(pk=world.roles[key].pk).school_class == successor
    assert {c.field for c in SchoolChange.objects.filter(school=world.school)} == {
        "status",
        "merged_into",
    }
    assert SchoolClass.objects.filter(pk=world.school_class.pk).exists()
    with pytest.raises(ValidationError):
        reg.enrol(by="city_admin")


def test_a_school_with_open_teaching_points_cannot_be_merged(reg):
    with pytest.raises(ValidationError) as caught:
        services.merge_school(
            actor=reg.actor("city_admin"),
            school=reg.world.school,
            into=reg.world.other_school,
            reason="合并",
        )
    assert "教学点" in caught.value.message_dict["school"][0]


def test_merging_into_a_school_that_does_not_teach_the_grade_is_refused_whole(reg):
    world = reg.world
    junior = org_services.create_school(
        actor=SYSTEM,
        code="1510104010",
        name="锦江区第一初级中学",
        kind=School.Kind.JUNIOR,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.URBAN,
        county=world.county,
    )
    record = reg.enrol(reg.school_class(junior, grade="21", number=1), by="county_admin")
    teacher = reg.teacher(junior, by="county_admin")
    classes, events = SchoolClass.objects.count(), StudentEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.merge_school(
            actor=reg.actor("county_admin"), school=junior, into=world.school, reason="合并"
        )
    assert "grade" in caught.value.message_dict
    record.refresh_from_db()
    teacher.refresh_from_db()
    assert (record.school, teacher.school) == (junior, junior)
    assert (SchoolClass.objects.count(), StudentEvent.objects.count()) == (classes, events)
    assert not SchoolProfile.objects.filter(school=junior, status="merged").exists()


def test_closing_requires_that_nobody_is_left_and_archives_the_rest(reg):
    world = reg.world
    point_class = reg.school_class(world.teaching_point, grade="11", number=1)
    record = reg.enrol(point_class)
    teacher = reg.teacher(world.teaching_point)
    with pytest.raises(ValidationError) as caught:
        services.close_school(
            actor=reg.actor("county_admin"), school=world.teaching_point, reason="撤"
        )
    assert "1 名在读或休学学生、1 名在职教师" in caught.value.message_dict["school"][0]
    StudentRecord.objects.filter(pk=record.pk).update(status=StudentRecord.Status.GRADUATED)
    TeacherRecord.objects.filter(pk=teacher.pk).update(status=TeacherRecord.Status.RETIRED)
    with pytest.raises(ScopeError):
        services.close_school(
            actor=reg.actor("school_admin"), school=world.teaching_point, reason="撤"
        )
    profile = services.close_school(
        actor=reg.actor("county_admin"),
        school=world.teaching_point,
        reason="生源不足",
        on=date(2026, 7, 15),
    )
    assert (profile.status, profile.closed_on) == (SchoolProfile.Status.CLOSED, date(2026, 7, 15))
    assert StudentRecord.objects.filter(school=world.teaching_point).count() == 1
    with pytest.raises(ValidationError):
        services.close_school(
            actor=reg.actor("county_admin"), school=world.teaching_point, reason="撤"
        )
    with pytest.raises(ValidationError):
        services.update_school_profile(
            actor=reg.actor("county_admin"), school=world.teaching_point, principal="某"
        )
