"""Importing students end to end: classes, accounts, re-runs, corrections, scope, CLI."""

import csv
import threading
from datetime import date, timedelta
from pathlib import Path

from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.db import connection

from santong.accounts.identity import make_resident_id
from santong.accounts.models import Person, Role, User
from santong.audit.models import AuditEvent
from santong.core.actors import Actor
from santong.imports import jobs, services
from santong.imports.kinds import get_kind
from santong.imports.models import ImportJob
from santong.imports.pipeline import run_import
from santong.imports.students import StudentsKind
from santong.orgs.models import SchoolClass
from santong.registry.models import StudentEvent, StudentRecord

HEADER = ["学校标识码", "姓名", "性别", "身份证件号", "民族", "年级", "班级", "户口性质"]


def student_id(n: int, *, male: bool = True) -> str:
    return make_resident_id("510104", date(2016, 3, 1) + timedelta(days=n), n % 400, male)


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def import_file(actor: Actor, path: Path, **options) -> ImportJob:
    job = services.create_import_job(
        actor=actor, kind="students", options=options, source_path=path
    )
    return jobs.run_job(job.pk)


def roster(n: int, *, school: str = "1510104001") -> list[list[object]]:
    return [HEADER] + [
        [school, f"学生{i}", "男", student_id(i), "汉族", "三年级", f"{i % 2 + 1}班", "非农业户口"]
        for i in range(n)
    ]


def test_a_roster_lands_with_classes_accounts_and_roles(world, county_actor, tmp_path):
    job = import_file(county_actor, write_csv(tmp_path / "r.csv", roster(6)))

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert (job.rows_created, job.rows_rejected) == (6, 0)
    records = StudentRecord.objects.filter(person__name__startswith="学生")
    assert records.count() == 6
    # 三年级（1）班 existed; （2）班 was created for the current year.
    second = SchoolClass.objects.get(school=world.school, grade_id="13", number=2)
    assert second.name == "三年级（2）班"
    assert records.filter(school_class=second).count() == 3
    record = records.get(person__name="学生1")
    assert record.number_masked.startswith("G510104")
    assert record.hukou == "2"
    user = User.objects.get(person=record.person)
    assert user.username == f"xs{record.person_id}"
    assert not user.has_usable_password()
    assert Role.objects.filter(user=user, kind=Role.Kind.STUDENT, school_class=second).exists()
    assert StudentEvent.objects.filter(record=record, kind=StudentEvent.Kind.ENROLLED).count() == 1


def test_accounts_are_opened_without_hashing_a_password(world, county_actor, tmp_path, monkeypatch):
    def no_hashing(*args, **kwargs):
        raise AssertionError("a password was hashed")

    monkeypatch.setattr(MD5PasswordHasher, "encode", no_hashing)
    job = import_file(county_actor, write_csv(tmp_path / "r.csv", roster(3)))

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.rows_created == 3
    users = User.objects.filter(person__name__in=["学生0", "学生1", "学生2"])
    assert users.count() == 3
    for user in users:
        assert not user.has_usable_password()


def test_second_run_changes_nothing_and_a_correction_changes_only_it(world, county_actor, tmp_path):
    rows = roster(4)
    import_file(county_actor, write_csv(tmp_path / "a.csv", rows))
    counts = (Person.objects.count(), User.objects.count(), Role.objects.count())
    events = StudentEvent.objects.count()
    audits = AuditEvent.objects.count()

    again = import_file(county_actor, write_csv(tmp_path / "b.csv", rows))

    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 4)
    assert (Person.objects.count(), User.objects.count(), Role.objects.count()) == counts
    assert StudentEvent.objects.count() == events
    assert AuditEvent.objects.count() == audits + 1  # the job itself

    rows[2][6] = "三年级（1）班"  # 学生1 moves from class 2 to class 1
    rows[3][7] = "农业户口"
    fixed = import_file(county_actor, write_csv(tmp_path / "c.csv", rows))

    assert (fixed.rows_created, fixed.rows_updated, fixed.rows_unchanged) == (0, 2, 2)
    moved = StudentRecord.objects.get(person__name="学生1")
    assert moved.school_class == world.school_class
    event = StudentEvent.objects.get(record=moved, kind=StudentEvent.Kind.UPDATED)
    assert event.detail == {"changes": {"school_class": ["三年级（2）班", "三年级（1）班"]}}
    assert Role.objects.get(user__person=moved.person, kind=Role.Kind.STUDENT).school_class_id == (
        moved.school_class_id
    )
    other = StudentRecord.objects.get(person__name="学生2")
    assert StudentEvent.objects.get(record=other, kind=StudentEvent.Kind.UPDATED).detail == {
        "changes": {"hukou": ["2", "1"]}
    }


def test_command_line_with_school_option(world, tmp_path, capsys):
    rows = [[r[1], r[3], r[4], r[5], r[6]] for r in roster(3)]
    rows[0] = ["姓名", "身份证号", "民族", "年级", "班级"]
    path = write_csv(tmp_path / "s.csv", rows, "gb18030")

    call_command("import", "students", str(path), "--school", "1510104001", "--as", "school_admin")

    out = capsys.readouterr().out
    assert "读取 3 行：导入 3（新增 3，更新 0，未变化 0），拒绝 0" in out


def test_command_line_progress_of_a_csv_has_a_total(world, tmp_path, capsys):
    """A CSV states no row count; the bar gets an estimate as the file is read (see
    test_pipeline) and ends at the rows read, at 100%."""
    path = write_csv(tmp_path / "s.csv", roster(5))

    call_command("import", "students", str(path), "--batch-size", "2")

    captured = capsys.readouterr()
    summary = "读取 5 行：导入 5（新增 5，更新 0，未变化 0），拒绝 0；0 行做了自动修正。"
    assert captured.out == summary + "\n"
    # tqdm redraws the bar over itself after a \r: no line break until it closes.
    assert captured.err.count("\n") == 1, repr(captured.err)
    assert captured.err.endswith("\n")
    bar = captured.err.rstrip().rsplit("\r", 1)[-1]
    assert bar.startswith("100%|"), captured.err
    assert " 5/5 [" in bar
    assert "拒绝=0" in bar


def test_dry_run_writes_nothing_and_strict_refuses_a_file_with_a_bad_row(
    world, county_actor, tmp_path
):
    rows = roster(5)
    rows[3][4] = "穿青人"
    path = write_csv(tmp_path / "r.csv", rows)
    people = Person.objects.count()

    dry = import_file(county_actor, path, dry_run=True)
    strict = import_file(county_actor, path, strict=True)

    assert (dry.rows_created, dry.rows_rejected) == (4, 1)
    assert strict.status == ImportJob.Status.FAILED
    assert "严格模式" in strict.message
    assert Person.objects.count() == people
    assert not SchoolClass.objects.filter(school=world.school, number=2).exists()

    rows[3][4] = "汉族"
    done = import_file(county_actor, write_csv(tmp_path / "ok.csv", rows), strict=True)
    assert (done.status, done.rows_created) == (ImportJob.Status.SUCCEEDED, 5)


def test_school_administrators_import_only_into_their_school(world, tmp_path):
    rows = [*roster(2), roster(3, school="1510107001")[3]]

    job = import_file(world.actor("school_admin"), write_csv(tmp_path / "r.csv", rows))

    assert (job.rows_created, job.rows_rejected) == (2, 1)
    assert "成都市武侯区第一小学（1510107001）不在您的管理范围内" in job.issues.get().message


def test_students_enrolled_before_get_their_account_without_other_changes(
    world, county_actor, tmp_path
):
    from santong.registry import services as registry_services

    registry_services.bulk_enrol_students(
        actor=county_actor,
        rows=[
            registry_services.StudentRow(
                school_class=world.school_class,
                name="学生0",
                id_type="1",
                id_number=student_id(0),
                ethnicity="01",
                hukou="2",
            )
        ],
    )
    events = StudentEvent.objects.count()

    job = import_file(county_actor, write_csv(tmp_path / "r.csv", roster(1)))

    assert (job.rows_created, job.rows_updated, job.rows_unchanged) == (0, 0, 1)
    assert StudentEvent.objects.count() == events
    user = User.objects.get(person__name="学生0")
    assert Role.objects.filter(
        user=user, kind=Role.Kind.STUDENT, school_class=world.school_class
    ).exists()


def test_the_next_batch_is_validated_while_one_is_written(
    transactional_db, world, county_actor, tmp_path, monkeypatch
):
    """Outside a transaction the pipeline validates ahead on a second connection: a class
    that batch 1 creates is still missing when batch 2 is validated, and is created once."""
    threads: list[str] = []
    validate = StudentsKind.validate_batch

    def recording(self, batch, *, actor):
        threads.append(threading.current_thread().name)
        return validate(self, batch, actor=actor)

    monkeypatch.setattr(StudentsKind, "validate_batch", recording)

    outcome = run_import(
        get_kind("students"),
        write_csv(tmp_path / "r.csv", roster(9)),
        actor=county_actor,
        batch_size=2,
    )

    assert (outcome.progress.created, outcome.progress.rejected) == (9, 0)
    ahead = any(name.startswith("import-validate") for name in threads)
    # An in-memory SQLite database cannot be read while it is written (the file database the
    # command uses can: see the kill test); everywhere else the second connection is used.
    assert ahead is not (
        connection.vendor == "sqlite" and "mode=memory" in str(connection.settings_dict["NAME"])
    )
    assert SchoolClass.objects.filter(school=world.school, grade_id="13", number=2).count() == 1
    records = StudentRecord.objects.filter(person__name__startswith="学生")
    assert records.count() == 9
    assert (
        Role.objects.filter(kind=Role.Kind.STUDENT, user__person__name__startswith="学生").count()
        == 9
    )
    assert StudentEvent.objects.filter(record__in=records).count() == 9
