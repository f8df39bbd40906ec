"""升级: one set-based run per school, county or region; previewable, idempotent."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from santong.accounts.models import Role
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM, ScopeError
from santong.orgs import services as org_services
from santong.orgs.models import Grade, School, SchoolClass, SchoolYear
from santong.registry import services
from santong.registry.models import ClassSuccession, Rollover, StudentEvent, StudentRecord

pytestmark = pytest.mark.django_db


def steps():
    return {(kind, grade): following for kind, grade, following in services.grade_steps()}


def test_grade_steps_follow_the_grades_and_the_school_kinds():
    table = steps()
    assert table[("primary", "11")] == "12"
    assert table[("primary", "16")] is None
    assert table[("nine_year", "16")] == "21"  # 九年一贯制: no exam between 六年级 and 初一
    assert table[("nine_year", "23")] is None
    assert table[("complete", "23")] is None  # 完全中学: 中考 between 初三 and 高一
    assert table[("twelve_year", "23")] is None
    assert table[("twelve_year", "32")] == "33"
    assert table[("kindergarten", "03")] is None
    assert table[("teaching_point", "03")] == "11"


@pytest.fixture
def school_with_grades(reg):
    """锦江区实验小学 with one class in each of 一年级 … 六年级, two students in each."""
    world = reg.world
    classes = {"13": world.school_class}
    for grade in ("11", "12", "14", "15", "16"):
        classes[grade] = reg.school_class(world.school, grade=grade, number=1)
    records = {
        grade: [reg.enrol(school_class, name=f"{grade}班学生{i}") for i in range(2)]
        for grade, school_class in classes.items()
    }
    return classes, records


def test_preview_counts_without_writing(reg, school_with_grades):
    counts = (SchoolClass.objects.count(), StudentEvent.objects.count(), AuditEvent.objects.count())
    plan = services.preview_rollover(
        actor=reg.actor("school_admin"), path=reg.world.school.path, from_year=reg.world.year
    )
    assert (plan.to_promote, plan.to_mark_graduating, plan.classes_to_create) == (10, 2, 5)
    assert (plan.from_year, plan.to_year, plan.staying_suspended) == (2025, 2026, 0)
    assert counts == (
        SchoolClass.objects.count(),
        StudentEvent.objects.count(),
        AuditEvent.objects.count(),
    )
    assert not SchoolYear.objects.filter(start_year=2026).exists()


def test_rollover_promotes_creates_classes_and_marks_graduates(reg, school_with_grades, student):
    classes, records = school_with_grades
    world = reg.world
    result = services.rollover_year(
        actor=reg.actor("school_admin"), path=world.school.path, from_year=world.year
    )
    assert (result.classes_created, result.promoted, result.marked_graduating) == (5, 11, 2)
    new_year = SchoolYear.objects.get(start_year=2026)
    created = SchoolClass.objects.filter(school_year=new_year).order_by("grade__order")
    assert [(c.grade_id, c.name, c.path) for c in created] == [
        (g, f"{n}（1）班", f"{world.school.path}/2026{g}01")
        for g, n in (
            ("12", "二年级"),
            ("13", "三年级"),
            ("14", "四年级"),
            ("15", "五年级"),
            ("16", "六年级"),
        )
    ]
    first = StudentRecord.objects.get(pk=records["11"][0].pk)
    assert (first.school_class.grade_id, first.school_class.school_year, first.path) == (
        "12",
        new_year,
        first.school_class.path,
    )
    finishing = StudentRecord.objects.get(pk=records["16"][0].pk)
    assert finishing.graduating is True
    assert finishing.school_class == classes["16"]
    promoted = first.events.get(kind=StudentEvent.Kind.PROMOTED)
    assert promoted.actor == world.users["school_admin"]
    assert promoted.detail == {"rollover": result.rollover.pk, "to_year": "2026-2027"}
    assert finishing.events.filter(kind=StudentEvent.Kind.GRADUATING).count() == 1
    # 王小雨 (三年级) and her parent now belong to the 四年级 class.
    student.refresh_from_db()
    assert student.school_class.grade_id == "14"
    assert Role.objects.get(pk=world.roles["student"].pk).school_class == student.school_class
    assert Role.objects.get(pk=world.roles["parent"].pk).path == student.path
    # Teachers' class roles are a new year's decision, not the rollover's.
    assert Role.objects.get(pk=world.roles["head_teacher"].pk).school_class == world.school_class
    assert ClassSuccession.objects.filter(rollover=result.rollover).count() == 5
    rollover = Rollover.objects.get()
    assert (rollover.promoted, rollover.graduating, rollover.classes_created) == (11, 2, 5)
    assert AuditEvent.objects.filter(object_type="rollover").count() == 1


def test_a_second_run_changes_nothing(reg, school_with_grades):
    args = {"actor": reg.actor("county_admin"), "path": "510104", "from_year": reg.world.year}
    services.rollover_year(**args)
    snapshot = (
        SchoolClass.objects.count(),
        StudentEvent.objects.count(),
        AuditEvent.objects.count(),
        list(StudentRecord.objects.order_by("pk").values_list("path", "graduating")),
    )
    again = services.rollover_year(**args)
    assert again.rollover is None
    assert not again.plan.has_work
    assert snapshot == (
        SchoolClass.objects.count(),
        StudentEvent.objects.count(),
        AuditEvent.objects.count(),
        list(StudentRecord.objects.order_by("pk").values_list("path", "graduating")),
    )


def test_a_region_rollover_covers_its_subtree_and_nothing_else(reg):
    world = reg.world
    inside = reg.enrol()
    other = reg.enrol(world.other_class, by="other_school_admin")
    far = reg.enrol(world.far_class, by="system")
    services.rollover_year(actor=reg.actor("county_admin"), path="510104", from_year=world.year)
    assert StudentRecord.objects.get(pk=inside.pk).path.split("/")[-1].startswith("2026")
    assert StudentRecord.objects.get(pk=other.pk).path == world.other_class.path
    services.rollover_year(actor=reg.actor("city_admin"), path="5101", from_year=world.year)
    assert StudentRecord.objects.get(pk=other.pk).path.split("/")[-1] == "20261401"
    assert StudentRecord.objects.get(pk=far.pk).path == world.far_class.path
    services.rollover_year(actor=SYSTEM, path="", from_year=world.year)
    assert StudentRecord.objects.get(pk=far.pk).path.endswith("/20261401")


def test_rollover_is_limited_to_administrators_in_scope(reg):
    reg.enrol()
    for key in ("other_school_admin", "head_teacher", "other_county_admin"):
        with pytest.raises(ScopeError):
            services.rollover_year(
                actor=reg.actor(key), path=reg.world.school.path, from_year=reg.world.year
            )
    with pytest.raises(ScopeError):
        services.preview_rollover(
            actor=reg.actor("school_admin"), path="510104", from_year=reg.world.year
        )


def test_a_nine_year_school_continues_from_grade_six_into_junior_one(reg):
    world = reg.world
    school = org_services.create_school(
        actor=SYSTEM,
        code="1510104009",
        name="锦江区九年一贯制学校",
        kind=School.Kind.NINE_YEAR,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.URBAN,
        county=world.county,
    )
    sixth = reg.school_class(school, grade="16", number=3)
    ninth = reg.school_class(school, grade="23", number=1)
    going_on = reg.enrol(sixth, by="county_admin")
    leaving = reg.enrol(ninth, by="county_admin")
    services.rollover_year(actor=reg.actor("county_admin"), path=school.path, from_year=world.year)
    going_on.refresh_from_db()
    leaving.refresh_from_db()
    assert going_on.school_class.grade_id == "21"
    assert going_on.school_class.name == "初一（3）班"
    assert (going_on.graduating, leaving.graduating) == (False, True)


def test_existing_classes_of_the_new_year_are_reused(reg):
    world = reg.world
    record = reg.enrol()
    new_year = org_services.ensure_school_year(start_year=2026)
    prepared = org_services.create_class(
        actor=SYSTEM,
        school=world.school,
        school_year=new_year,
        grade=Grade.objects.get(code="14"),
        number=1,
    )
    result = services.rollover_year(
        actor=reg.actor("school_admin"), path=world.school.path, from_year=world.year
    )
    assert result.classes_created == 0
    record.refresh_from_db()
    assert record.school_class == prepared


def enrol_many(reg, school_class, count, prefix):
    rows = [
        services.StudentRow(
            school_class=school_class,
            name=f"{prefix}{i}",
            id_type="9",
            gender="1",
            ethnicity="01",
        )
        for i in range(count)
    ]
    return services.bulk_enrol_students(actor=SYSTEM, rows=rows).records


def test_the_number_of_statements_does_not_grow_with_the_students(reg):
    world = reg.world
    org_services.ensure_school_year(start_year=2026)
    small = reg.school_class(world.school, grade="12", number=1)
    enrol_many(reg, small, 3, "少")
    with CaptureQueriesContext(connection) as few:
        services.rollover_year(actor=SYSTEM, path=world.school.path, from_year=world.year)
    big = reg.school_class(world.other_school, grade="12", number=1)
    enrol_many(reg, big, 60, "多")
    enrol_many(reg, reg.school_class(world.other_school, grade="15", number=2), 40, "多五")
    with CaptureQueriesContext(connection) as many:
        services.rollover_year(actor=SYSTEM, path=world.other_school.path, from_year=world.year)
    assert StudentRecord.objects.filter(school_class__school_year__start_year=2026).count() == 103
    assert len(many.captured_queries) == len(few.captured_queries)
