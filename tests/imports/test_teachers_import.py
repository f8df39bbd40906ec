"""Importing teachers: records upserted by ID document, title history, accounts with the class
roles the file names, re-runs that change nothing, and the registry's refusals per row."""

from datetime import date
from pathlib import Path

from santong.accounts.identity import make_resident_id
from santong.accounts.models import Role, User
from santong.imports import jobs, services
from santong.imports.models import ImportJob
from santong.registry.models import TeacherEvent, TeacherRecord, TitleHistory

from .test_students_import import write_csv

HEADER = [
    "学校标识码", "姓名", "身份证号", "民族", "最高学历", "职称", "岗位职务", "任教学科",
    "参加工作日期", "用人形式", "班主任班级", "任教班级",
]  # fmt: skip


def teacher_id(n: int, *, male: bool = True) -> str:
    return make_resident_id("510104", date(1985, 5, 1 + n), n, male)


def import_teachers(actor, path: Path, **options) -> ImportJob:
    job = services.create_import_job(
        actor=actor, kind="teachers", options=options, source_path=path
    )
    return jobs.run_job(job.pk)


def rows() -> list[list[str]]:
    school = "1510104001"
    return [
        HEADER,
        [school, "周老师", teacher_id(1), "汉族", "大学本科毕业", "一级教师", "专任教师",
         "语文", "2008-09-01", "在编", "三年级（1）班", ""],
        [school, "吴老师", teacher_id(2, male=False), "汉族", "大学本科毕业", "二级教师",
         "专任教师", "数学、英语", "2015-09-01", "非在编", "", "三年级（1）班"],
        [school, "郑老师", teacher_id(3), "汉族", "大学本科毕业", "二级教师", "专任教师",
         "", "2019-09-01", "在编", "", ""],
        [school, "王老师", teacher_id(4), "汉族", "大学本科毕业", "二级教师", "专任教师",
         "体操", "2019-09-01", "在编", "", ""],
        ["1510107001", "孙老师", teacher_id(5), "汉族", "大学本科毕业", "二级教师", "专任教师",
         "", "2019-09-01", "在编", "", ""],
        [school, "冯老师", teacher_id(6), "汉族", "大学本科毕业", "二级教师", "专任教师",
         "语文", "2019-09-01", "在编", "", "九年级（3）班"],
    ]  # fmt: skip


def test_teachers_land_with_accounts_for_those_given_classes(world, county_actor, tmp_path):
    job = import_teachers(county_actor, write_csv(tmp_path / "t.csv", rows()))

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert (job.rows_created, job.rows_rejected) == (3, 3)
    messages = dict(job.issues.values_list("row_number", "message"))
    assert "体操" in messages[5]
    assert "不在您的管理范围内" in messages[6]
    assert "九年级（3）班" in messages[7]
    zhou = TeacherRecord.objects.get(person__name="周老师")
    assert (zhou.title, zhou.education, zhou.employment) == ("3", "21", "1")
    assert TitleHistory.objects.filter(teacher=zhou).count() == 1
    head = Role.objects.get(user__person__name="周老师")
    assert (head.kind, head.school_class) == (Role.Kind.HEAD_TEACHER, world.school_class)
    wu = set(Role.objects.filter(user__person__name="吴老师").values_list("kind", "subject_id"))
    assert wu == {(Role.Kind.SUBJECT_TEACHER, "02"), (Role.Kind.SUBJECT_TEACHER, "03")}
    assert User.objects.get(person__name="吴老师").username.startswith("js")
    assert not User.objects.get(person__name="吴老师").has_usable_password()
    # No class, no account: an account must hold a role to be within anyone's reach.
    assert not User.objects.filter(person__name="郑老师").exists()


def test_a_second_run_changes_nothing_and_a_new_title_is_history(world, county_actor, tmp_path):
    data = rows()[:4]
    import_teachers(county_actor, write_csv(tmp_path / "a.csv", data))
    roles = Role.objects.count()
    events = TeacherEvent.objects.count()

    again = import_teachers(county_actor, write_csv(tmp_path / "b.csv", data))

    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 3)
    assert (Role.objects.count(), TeacherEvent.objects.count()) == (roles, events)

    data[1][5] = "高级教师"
    changed = import_teachers(county_actor, write_csv(tmp_path / "c.csv", data))

    assert (changed.rows_created, changed.rows_updated, changed.rows_unchanged) == (0, 1, 2)
    zhou = TeacherRecord.objects.get(person__name="周老师")
    assert zhou.title == "2"
    assert list(TitleHistory.objects.filter(teacher=zhou).values_list("title", flat=True)) == [
        "2",
        "3",
    ]
    event = TeacherEvent.objects.filter(teacher=zhou, kind=TeacherEvent.Kind.UPDATED).get()
    assert event.detail == {"changes": {"title": ["3", "2"]}}


def test_a_teacher_of_another_school_is_refused(world, tmp_path):
    import_teachers(world.actor("county_admin"), write_csv(tmp_path / "a.csv", rows()[:2]))
    moved = rows()[:2]
    moved[1][0] = "1510104002"  # the teaching point, also inside 锦江区
    moved[1][10] = ""

    job = import_teachers(world.actor("county_admin"), write_csv(tmp_path / "b.csv", moved))

    assert job.rows_rejected == 1
    assert "调动" in job.issues.get().message
