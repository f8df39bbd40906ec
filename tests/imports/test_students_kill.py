"""The kill test with students: a real `santong import students` process SIGKILLed mid-import
leaves whole batches only (records, people, accounts and roles alike); the same command run
again completes without duplicates, leaving the same table counts as a clean import of the file
into a copy of the database, and a third run finds everything unchanged. Then parents,
in a real process too, where batches are validated ahead of the one being written."""

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from santong.accounts.identity import make_resident_id

from .test_jobs import santong, scratch, scratch_database, write_csv

__all__ = ["scratch_database"]  # the fixture, used by name

TOTAL, BAD_EVERY, BATCH = 6000, 97, 200


def student_rows() -> list[list[str]]:
    rows = [["学校标识码", "姓名", "身份证件号", "民族", "年级", "班级"]]
    for n in range(TOTAL):
        number = make_resident_id(
            "510104", date(2016, 1, 1) + timedelta(days=n // 1000), (n % 1000) // 2, n % 2 == 1
        )
        ethnicity = "穿青人" if n % BAD_EVERY == 0 else "汉族"  # a known share of bad rows
        rows.append(["1510104001", f"学生{n}", number, ethnicity, "三年级", f"{n % 8 + 1}班"])
    return rows


def good_in(first: int, last: int) -> int:
    return sum(1 for n in range(first, min(last, TOTAL)) if n % BAD_EVERY)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_students_killed_mid_import_then_run_again_complete_without_duplicates(
    scratch_database, tmp_path
):
    url, query = scratch_database
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "santong.settings.test",
        "SANTONG_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    schools = write_csv(
        tmp_path / "schools.csv",
        [
            ["学校标识码", "学校名称", "学校类型", "办学类型", "城乡类型", "所属区县"],
            ["1510104001", "锦江区实验小学", "小学", "公办", "城区", "锦江区"],
        ],
    )
    year = (
        "import django; django.setup(); "
        "from santong.orgs.services import ensure_school_year; "
        "ensure_school_year(start_year=2025, make_current=True)"
    )
    for command in (["migrate", "-v0"], ["loadregions", "--province", "51"]):
        done = santong(env, *command)
        _out, err = done.communicate(timeout=300)
        assert done.returncode == 0, err
    subprocess.run([sys.executable, "-c", year], env=env, check=True, timeout=120)
    done = santong(env, "import", "schools", str(schools), "-v0")
    _out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    path = write_csv(tmp_path / "students.csv", student_rows())
    expected = good_in(0, TOTAL)
    command = ["import", "students", str(path), "--batch-size", str(BATCH), "-v0"]

    # The same file imported without interruption into a copy of the database as it is now:
    # the killed import, once completed, must leave every table as this clean import does.
    tables = (
        "SELECT (SELECT COUNT(*) FROM accounts_person), (SELECT COUNT(*) FROM accounts_user), "
        "(SELECT COUNT(*) FROM accounts_role), (SELECT COUNT(*) FROM registry_studentrecord), "
        "(SELECT COUNT(*) FROM registry_studentevent), (SELECT COUNT(*) FROM orgs_schoolclass)"
    )
    with scratch(tmp_path, "clean", copy_of=url) as (clean_url, clean_query):
        clean = santong({**env, "DATABASE_URL": clean_url}, *command)
        _out, err = clean.communicate(timeout=600)
        assert clean.returncode == 0, err
        clean_tables = clean_query(tables)
    assert clean_tables[3] == expected

    victim = santong(env, *command)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and victim.poll() is None:
        row = query(
            "SELECT MAX(last_committed_batch) FROM imports_importjob WHERE kind = 'students'"
        )
        if row and row[0] is not None and row[0] >= 5:
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL, "the import finished before it could be killed"

    status, last = query(
        "SELECT status, last_committed_batch FROM imports_importjob WHERE kind = 'students'"
    )
    assert status == "running"
    landed = good_in(0, (last + 1) * BATCH)
    counts = (
        "SELECT (SELECT COUNT(*) FROM registry_studentrecord), "
        "(SELECT COUNT(*) FROM accounts_person), "
        "(SELECT COUNT(*) FROM accounts_user WHERE username LIKE 'xs%%'), "
        "(SELECT COUNT(*) FROM accounts_role WHERE kind = 'student'), "
        "(SELECT COUNT(*) FROM registry_studentevent)"
    ).replace("%%", "%")
    assert query(counts) == (landed,) * 5  # whole batches, nothing half-written

    again = santong(env, *command)
    _out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "继续未完成的导入任务" in err
    assert query(counts) == (expected,) * 5
    assert query(tables) == clean_tables
    assert query("SELECT COUNT(DISTINCT id_digest) FROM registry_studentrecord")[0] == expected
    assert query("SELECT status, rows_rejected FROM imports_importjob WHERE kind = 'students'") == (
        "succeeded",
        TOTAL - expected,
    )

    third = santong(env, *command)
    out, err = third.communicate(timeout=600)
    assert third.returncode == 0, err
    assert f"导入 {expected}（新增 0，更新 0，未变化 {expected}）" in out
    assert query(counts) == (expected,) * 5

    # Parents in a real process, so on a file database the next batch is validated while one
    # is written: each parent has two children in rows that straddle a batch boundary, so the
    # batch after the one that creates a parent was validated with the parent still unknown.
    students = student_rows()
    parents = [["学生身份证件号", "家长姓名", "家长身份证件号"]]
    for n in range(2, 42, 2):  # students 1 to 40 (student 0 is one of the bad rows)
        father = make_resident_id("510104", date(1985, 1, 1) + timedelta(days=n), n, True)
        parents += [[students[row][2], f"家长{n}", father] for row in (n, n + 1)]
    parent_file = write_csv(tmp_path / "parents.csv", parents)
    linked = santong(env, "import", "parents", str(parent_file), "--batch-size", "3", "-v0")
    out, err = linked.communicate(timeout=600)
    assert linked.returncode == 0, err
    assert "新增 40" in out, out
    assert query(
        "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM accounts_role WHERE kind = 'parent'"
    ) == (40, 20)
    assert query("SELECT COUNT(*) FROM accounts_person WHERE name LIKE '家长%'")[0] == 20
