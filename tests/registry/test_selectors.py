"""Scoped reads and work queues: each role sees its subtree, and what waits for its decision."""

import pytest

from santong.registry import selectors, services
from santong.registry.models import StudentRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def populated(reg, student):
    world = reg.world
    others = {
        "other": reg.enrol(world.other_class, by="other_school_admin", name="武侯学生"),
        "far": reg.enrol(world.far_class, by="system", name="涪城学生"),
    }
    return student, others


@pytest.mark.parametrize(
    ("key", "visible"),
    [
        ("province_admin", {"王小雨", "武侯学生", "涪城学生"}),
        ("city_admin", {"王小雨", "武侯学生"}),
        ("county_admin", {"王小雨"}),
        ("school_admin", {"王小雨"}),
        ("head_teacher", {"王小雨"}),
        ("subject_teacher", {"王小雨"}),
        ("student", {"王小雨"}),
        ("parent", {"王小雨"}),
        ("other_county_admin", {"武侯学生"}),
        ("other_school_admin", {"武侯学生"}),
        ("far_student", set()),
    ],
)
def test_each_role_reads_the_students_of_its_subtree(reg, populated, key, visible):
    role = reg.world.roles[key]
    assert {r.person.name for r in selectors.students(role=role)} == visible


def test_history_is_read_through_the_record(reg, populated):
    student, _others = populated
    world = reg.world
    assert selectors.student_events(role=world.roles["parent"], record=student).count() == 1
    assert (
        selectors.student_events(role=world.roles["other_school_admin"], record=student).count()
        == 0
    )


def test_search_and_filters(reg, populated):
    role = reg.world.roles["province_admin"]
    assert [r.person.name for r in selectors.students(role=role, search="武侯")] == ["武侯学生"]
    student, _others = populated
    assert list(selectors.students(role=role, search=student.number_masked.lower())) == [student]
    assert selectors.students(role=role, status=StudentRecord.Status.GRADUATED).count() == 0
    assert selectors.students(role=role, school=reg.world.far_school).count() == 1


def test_work_queues_show_what_waits_for_each_role(reg, populated, settings):
    settings.SANTONG_TRANSFER_CITY_APPROVAL = True
    student, others = populated
    world = reg.world
    transfer = services.request_transfer(
        actor=reg.actor("school_admin"), record=student, to_school=world.far_school, reason="搬家"
    )
    services.request_suspension(
        actor=reg.actor("other_school_admin"), record=others["other"], reason="病"
    )

    def counts(key):
        return {i.key: i.count for i in selectors.work_queue(role=world.roles[key]) if i.count}

    assert counts("far_school_admin") == {"transfer": 1}
    assert counts("school_admin") == {}
    assert counts("other_county_admin") == {"suspend": 1}
    assert counts("county_admin") == {}
    target = reg.school_class(world.far_school)
    services.approve_request(
        actor=reg.actor("far_school_admin"), request=transfer, school_class=target
    )
    assert counts("far_school_admin") == {}
    assert counts("county_admin") == {"transfer": 1}
    assert [r.pk for r in selectors.waiting_student_requests(role=world.roles["county_admin"])] == [
        transfer.pk
    ]
    # Both ends see the request; a bureau above sees it but it does not wait for it.
    for key in ("school_admin", "far_school_admin", "city_admin", "other_city_admin"):
        assert selectors.student_requests(role=world.roles[key]).filter(pk=transfer.pk).exists()
    assert (
        not selectors.student_requests(role=world.roles["other_school_admin"])
        .filter(pk=transfer.pk)
        .exists()
    )
    assert counts("city_admin") == {}
    for key in ("county_admin", "far_county_admin"):
        services.approve_request(actor=reg.actor(key), request=transfer)
    assert counts("city_admin") == {"transfer": 1}
    assert counts("province_admin") == {}
    labels = {i.key: i.label for i in selectors.work_queue(role=world.roles["city_admin"])}
    assert labels["transfer"] == "转学"
    assert labels["teacher_transfer"] == "教师调动"
    assert labels["graduating"] == "待毕业"


def test_graduating_students_wait_for_the_county(reg):
    final_class = reg.school_class(reg.world.school, grade="16", number=1)
    reg.enrol(final_class)
    services.rollover_year(actor=reg.actor("county_admin"), path="510104", from_year=reg.world.year)
    queue = {i.key: i.count for i in selectors.work_queue(role=reg.world.roles["county_admin"])}
    assert queue["graduating"] == 1
    school_queue = {i.key for i in selectors.work_queue(role=reg.world.roles["school_admin"])}
    assert "graduating" not in school_queue


def test_teacher_transfers_wait_in_the_queues(reg):
    teacher = reg.teacher()
    services.request_teacher_transfer(
        actor=reg.actor("school_admin"),
        teacher=teacher,
        to_school=reg.world.other_school,
        reason="轮岗",
    )
    queue = {
        i.key: i.count for i in selectors.work_queue(role=reg.world.roles["other_school_admin"])
    }
    assert queue["teacher_transfer"] == 1
    assert selectors.teacher_transfers(role=reg.world.roles["city_admin"]).count() == 1
    assert selectors.teacher_transfers(role=reg.world.roles["far_county_admin"]).count() == 0


def test_work_queue_is_one_query(reg, populated, django_assert_num_queries):
    with django_assert_num_queries(1):
        selectors.work_queue(role=reg.world.roles["county_admin"])
    with django_assert_num_queries(1):
        selectors.work_queue(role=reg.world.roles["school_admin"])


def test_code_tables_for_forms():
    assert selectors.code_choices("hukou") == [
        ("1", "农业户口"),
        ("2", "非农业户口"),
        ("3", "居民户口"),
    ]
