"""Importing parents: linked to a child on a class's roster by ID number or 全国学籍号, with an
account and the parent role in the child's class; the same file twice adds nothing."""

from datetime import date
from pathlib import Path

from santong.accounts.identity import make_resident_id
from santong.accounts.models import Person, Role, User
from santong.imports import jobs, services
from santong.imports.models import ImportJob

from .test_students_import import import_file, roster, student_id, write_csv

HEADER = ["学生身份证件号", "学生全国学籍号", "家长姓名", "家长身份证件号", "手机号"]


def parent_id(n: int, *, male: bool = True) -> str:
    return make_resident_id("510104", date(1986, 2, 1 + n), n, male)


def import_parents(actor, path: Path) -> ImportJob:
    job = services.create_import_job(actor=actor, kind="parents", options={}, source_path=path)
    return jobs.run_job(job.pk)


def parents() -> list[list[str]]:
    return [
        HEADER,
        [student_id(0), "", "学爸零", parent_id(0), "13800000001"],
        ["", f"G{student_id(1)}", "学妈一", parent_id(1, male=False), ""],
        # Both children have the same father: one person, one account, two parent roles.
        [student_id(1), "", "学爸零", parent_id(0), ""],
        [student_id(50), "", "无名", parent_id(3), ""],
        [student_id(2), "", "家长甲", parent_id(4)[:-1] + "0", ""],
        ["", "", "家长乙", parent_id(5), ""],
    ]


def test_parents_are_linked_to_their_children(world, county_actor, tmp_path):
    import_file(county_actor, write_csv(tmp_path / "s.csv", roster(3)))

    job = import_parents(county_actor, write_csv(tmp_path / "p.csv", parents()))

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert (job.rows_created, job.rows_rejected) == (3, 3)
    messages = dict(job.issues.values_list("row_number", "message"))
    assert "学籍库中没有这名学生" in messages[5]
    assert "校验码" in messages[6]
    assert "请填写学生身份证件号或全国学籍号" in messages[7]
    father = User.objects.get(person__name="学爸零")
    assert father.username.startswith("jz")
    assert father.phone == "13800000001"
    assert not father.has_usable_password()
    children = set(
        Role.objects.filter(user=father, kind=Role.Kind.PARENT).values_list(
            "child__name", flat=True
        )
    )
    assert children == {"学生0", "学生1"}
    role = Role.objects.get(user__person__name="学妈一")
    child_role = Role.objects.get(user__person=role.child, kind=Role.Kind.STUDENT)
    assert (role.school_class_id, role.path) == (child_role.school_class_id, child_role.path)


def test_the_same_file_twice_adds_nothing(world, county_actor, tmp_path):
    import_file(county_actor, write_csv(tmp_path / "s.csv", roster(3)))
    path = write_csv(tmp_path / "p.csv", parents()[:4])
    import_parents(county_actor, path)
    counts = (Person.objects.count(), User.objects.count(), Role.objects.count())

    again = import_parents(county_actor, path)

    assert (again.rows_created, again.rows_unchanged) == (0, 3)
    assert (Person.objects.count(), User.objects.count(), Role.objects.count()) == counts


def test_a_child_outside_the_scope_is_refused(world, tmp_path):
    import_file(world.actor("county_admin"), write_csv(tmp_path / "s.csv", roster(2)))

    job = import_parents(
        world.actor("other_school_admin"), write_csv(tmp_path / "p.csv", parents()[:2])
    )

    assert job.rows_rejected == 1
    assert "不在您的管理范围内" in job.issues.get().message
