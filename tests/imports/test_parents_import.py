"""Importing parents: linked to a child on a class's roster by ID number or 全国学籍号, with an
account and the parent role in the child's class; the same file twice adds nothing."""

import threading
from datetime import date
from pathlib import Path

from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection

from santong.accounts.identity import get_vault, make_resident_id
from santong.accounts.models import Person, Role, User
from santong.imports import jobs, services
from santong.imports.kinds import get_kind
from santong.imports.models import ImportJob
from santong.imports.parents import ParentsKind
from santong.imports.pipeline import run_import
from santong.registry.models import StudentRecord
from santong.testing.world import PASSWORD

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


def test_a_child_named_by_a_temporary_student_number(world, county_actor, tmp_path):
    students = [
        ["学校标识码", "姓名", "性别", "出生日期", "身份证件类型", "民族", "年级", "班级"],
        ["1510104001", "无证生", "女", "2016-04-01", "无证件", "汉族", "三年级", "1"],
    ]
    import_file(county_actor, write_csv(tmp_path / "s.csv", students))
    record = StudentRecord.objects.get(person__name="无证生")
    assert record.temporary_number.startswith("L")

    job = import_parents(
        county_actor,
        write_csv(
            tmp_path / "p.csv",
            [
                HEADER,
                ["", record.temporary_number.lower(), "无证生妈妈", parent_id(7, male=False), ""],
            ],
        ),
    )

    assert (job.rows_created, job.rows_rejected) == (1, 0), list(job.issues.values("message"))
    role = Role.objects.get(kind=Role.Kind.PARENT, user__person__name="无证生妈妈")
    assert role.child_id == record.person_id


def test_a_parent_already_registered_gets_the_role_and_nothing_new(world, county_actor, tmp_path):
    """A teacher who is also a parent keeps her person and account; only the role is added."""
    import_file(county_actor, write_csv(tmp_path / "s.csv", roster(2)))
    teacher = world.users["head_teacher"]
    number = get_vault().decrypt(teacher.person.id_cipher)
    people, users = Person.objects.count(), User.objects.count()

    job = import_parents(
        county_actor,
        write_csv(tmp_path / "p.csv", [HEADER, [student_id(1), "", "陈静", number, ""]]),
    )

    assert (job.rows_created, job.rows_rejected) == (1, 0), list(job.issues.values("message"))
    assert (Person.objects.count(), User.objects.count()) == (people, users)
    role = Role.objects.get(user=teacher, kind=Role.Kind.PARENT)
    assert role.child.name == "学生1"
    assert set(teacher.roles.values_list("kind", flat=True)) == {
        Role.Kind.HEAD_TEACHER,
        Role.Kind.PARENT,
    }
    teacher.refresh_from_db()
    assert teacher.check_password(PASSWORD)  # the account is the teacher's, untouched


def test_rows_repeated_in_the_file_are_reported_by_row(world, county_actor, tmp_path):
    import_file(county_actor, write_csv(tmp_path / "s.csv", roster(2)))
    rows = [
        HEADER,
        [student_id(0), "", "学爸零", parent_id(0), ""],
        [student_id(1), "", "学爸零", parent_id(0), ""],
        [student_id(0), "", "学爸零", parent_id(0), ""],
    ]

    job = import_parents(county_actor, write_csv(tmp_path / "p.csv", rows))

    assert (job.rows_created, job.rows_rejected) == (2, 1)
    issue = job.issues.get()
    assert issue.row_number == 4
    assert "与第 2 行重复" in issue.message


def test_an_unknown_child_is_named_in_the_report(world, county_actor, tmp_path):
    import_file(county_actor, write_csv(tmp_path / "s.csv", roster(1)))

    job = import_parents(
        county_actor,
        write_csv(
            tmp_path / "p.csv",
            [
                HEADER,
                [student_id(0), "", "学爸零", parent_id(0), ""],
                [student_id(9), "", "某人", parent_id(2), ""],
            ],
        ),
    )

    issue = job.issues.get()
    assert (issue.row_number, issue.header, issue.value) == (3, "学生身份证件号", student_id(9))
    assert issue.message == "学籍库中没有这名学生。"
    assert job.report


def test_accounts_are_opened_without_hashing_a_password(world, county_actor, tmp_path, monkeypatch):
    import_file(county_actor, write_csv(tmp_path / "s.csv", roster(3)))

    def no_hashing(*args, **kwargs):
        raise AssertionError("a password was hashed")

    monkeypatch.setattr(MD5PasswordHasher, "encode", no_hashing)
    job = import_parents(county_actor, write_csv(tmp_path / "p.csv", parents()[:3]))

    assert job.rows_created == 2
    for user in User.objects.filter(person__name__in=["学爸零", "学妈一"]):
        assert not user.has_usable_password()


def test_the_next_batch_is_validated_while_one_is_written(
    transactional_db, world, county_actor, tmp_path, monkeypatch
):
    """Outside a transaction the pipeline validates ahead on a second connection: a parent
    whom batch 1 creates looks new when batch 2 is validated, and writing batch 2 meets the
    person already there, checks the batch again and links the same person."""
    import_file(county_actor, write_csv(tmp_path / "s.csv", roster(6)))
    threads: list[str] = []
    validate = ParentsKind.validate_batch

    def recording(self, batch, *, actor):
        threads.append(threading.current_thread().name)
        return validate(self, batch, actor=actor)

    monkeypatch.setattr(ParentsKind, "validate_batch", recording)
    rows = [HEADER] + [
        [student_id(n), "", "学爸零" if n % 2 else "学妈零", parent_id(n % 2), ""] for n in range(6)
    ]

    job = run_import(
        get_kind("parents"), write_csv(tmp_path / "p.csv", rows), actor=county_actor, batch_size=2
    )

    assert (job.progress.created, job.progress.rejected) == (6, 0)
    ahead = any(name.startswith("import-validate") for name in threads)
    # An in-memory SQLite database cannot be read while it is written (the file database the
    # command uses can: see the kill test); everywhere else the second connection is used.
    assert ahead is not (
        connection.vendor == "sqlite" and "mode=memory" in str(connection.settings_dict["NAME"])
    )
    assert Person.objects.filter(name__in=["学爸零", "学妈零"]).count() == 2
    assert User.objects.filter(person__name__in=["学爸零", "学妈零"]).count() == 2
    assert Role.objects.filter(kind=Role.Kind.PARENT, user__person__name="学爸零").count() == 3
