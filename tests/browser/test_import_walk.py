"""Headless Chromium imports students as a school administrator: from 基础库 → 批量导入 it
downloads the template, uploads a messy file that stops at the column-mapping step, answers
it, follows the progress page to the result, downloads the report and the activation class
list, uploads the corrected report and the same file again; and rows for a school outside
the administrator's scope are refused with the reason shown.

On PostgreSQL the job runs the way the product runs it on the embedded default: in a
background thread started once the upload's transaction commits, with its own connection
(the live server's database is transactional, so that thread sees the upload), while the
progress page polls the job's JSON status until it moves on to the result.

On SQLite the test database is in memory with a shared cache, where a connection reading a
table another connection is writing fails at once with "database table is locked" (shared-
cache table locks wait for no busy timeout; the product's file database in WAL mode lets
readers and the writer work side by side), so the live server's pages failed while the job's
thread wrote. There the job runs in the request's thread once the upload commits, the
synchronous mode test_import_pages uses (`jobs_run_now`), and the result follows directly.

Skipped when Chromium is not installed, like test_walk.
"""

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.db import connection
from test_walk import Walker

from santong.accounts.identity import make_resident_id
from santong.audit.models import AuditEvent
from santong.imports import jobs
from santong.registry.models import StudentRecord
from santong.testing.world import World

pytestmark = pytest.mark.browser

# The file's name column carries a header no template column answers to, so the upload stops
# at the column-mapping step; 身份证号 is a known alias and 备注 is left out on its own.
HEADER = ["学校标识码", "学生称呼", "性别", "身份证号", "民族", "年级", "班级", "户口性质", "备注"]
BAD_ID = "510104201603019999"
GOOD = 4


def student_id(n: int) -> str:
    return make_resident_id("510104", date(2016, 3, 1) + timedelta(days=n), n % 400, True)


def messy_rows() -> list[list[str]]:
    """Four students as a clerk types them (stray spaces, a lower-case x, "2班"), then two
    rows to reject: an ID number whose check digit is wrong and an unknown ethnicity."""
    rows = [list(HEADER)]
    for i in range(GOOD):
        number = student_id(i)
        rows.append(
            [
                " 1510104001",
                f" 导入生{i} ",
                "男",
                number.lower(),
                "汉族",
                "三年级",
                f"{i % 2 + 1}班",
                "非农业户口",
                "",
            ]
        )
    rows.append(["1510104001", "号码错", "男", BAD_ID, "汉族", "三年级", "1班", "", ""])
    rows.append(["1510104001", "民族错", "男", student_id(9), "火星族", "三年级", "1班", "", ""])
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


def sheet_rows(path: Path, sheet: int = 0) -> list[list[Any]]:
    book = openpyxl.load_workbook(path)
    return [list(row) for row in book.worksheets[sheet].iter_rows(values_only=True)]


@pytest.fixture
def import_media(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploads and reports go to scratch space; no broker, so jobs run in a thread, except on
    SQLite's in-memory test database (see above)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_BROKER_URL = ""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        monkeypatch.setattr(jobs, "dispatch", lambda job_id: jobs.run_job(job_id))
    return tmp_path


def upload(walker: Walker, name: str, content: bytes, mime: str) -> None:
    walker.page.set_input_files(
        "#id_file", files=[{"name": name, "mimeType": mime, "buffer": content}]
    )
    walker.page.click("main form button[type=submit].btn-primary")
    walker.page.wait_for_load_state()


def map_name_column(walker: Walker) -> None:
    """Answers the mapping step: 学生称呼 is the students' 姓名."""
    walker.page.wait_for_url("**/mapping/")
    walker.check("设置列对应关系", "缺少必填列：姓名", "学生称呼", "已自动识别")
    select = walker.page.get_by_label("学生称呼")
    select.select_option(label="姓名")
    walker.page.click("main form button[type=submit].btn-primary")
    walker.page.wait_for_load_state()


def wait_for_result(walker: Walker) -> dict[str, int]:
    """Waits on the progress page until it has moved on to the result, and reads the counts."""
    walker.page.wait_for_selector("[data-count=created]", timeout=30_000)
    walker.check("导入任务", "读取行数")
    return {
        name: int(walker.page.inner_text(f"[data-count={name}]").replace(",", ""))
        for name in ("rows_read", "created", "updated", "unchanged", "rejected")
    }


def download(walker: Walker, selector: str, into: Path) -> Path:
    with walker.page.expect_download() as info:
        walker.page.click(selector)
    target = into / info.value.suggested_filename
    info.value.save_as(target)
    return target


def test_school_admin_imports_students_through_the_pages(
    world: World, live_server: Any, browser: Any, import_media: Path
) -> None:
    walker = Walker(browser, live_server.url)
    walker.login("school_admin")
    walker.page.click("#st-registry")
    walker.follow("#st-nav a[href='/imports/']", "批量导入", "导入学生", "还没有导入任务")

    template = download(walker, "[data-kind=students] a[href$='/template/']", import_media)
    assert template.name == "学生导入模板.xlsx"
    book = openpyxl.load_workbook(template)
    assert book.sheetnames[:2] == ["学生", "说明"]
    headers = sheet_rows(template)[0]
    assert {"学校标识码", "姓名", "身份证件号", "民族", "年级", "班级"} <= set(headers)
    instructions = sheet_rows(template, 1)
    assert instructions[0][0] == "学生导入模板"
    assert any(row[0] == "身份证件号" for row in instructions)
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.EXPORT,
        actor=world.users["school_admin"],
        object_id="students",
        path=world.school.path,
    ).exists()

    walker.follow("[data-kind=students] a[href$='/upload/']", "导入学生", "成都市锦江区实验小学")
    upload(walker, "学生名单.csv", csv_bytes(messy_rows()), "text/csv")
    map_name_column(walker)
    counts = wait_for_result(walker)
    assert counts == {"rows_read": 6, "created": 4, "updated": 0, "unchanged": 0, "rejected": 2}
    walker.check("有 2 行未通过校验", "被拒绝的行", "下载导入报告", "账号激活名单")
    rejected = [
        [cell.strip() for cell in row.split("\t")]
        for row in walker.page.locator("#st-rejected tbody tr").all_inner_texts()
    ]
    assert [row[:2] for row in rejected] == [["6", "身份证号"], ["7", "民族"]]
    assert rejected[0][2] == BAD_ID
    assert rejected[1][2] == "火星族"
    for row in rejected:
        assert any("\u4e00" <= char <= "\u9fff" for char in row[3]), row
    assert StudentRecord.objects.filter(school=world.school).count() == GOOD
    job_url = walker.page.url

    report = download(walker, "main a[href$='/report/']", import_media)
    report_rows = sheet_rows(report)
    error_column = report_rows[0].index("错误原因")
    assert report_rows[0][: len(HEADER)] == HEADER
    assert len(report_rows) == 1 + GOOD + 2
    by_name = {str(row[1]).strip(): row for row in report_rows[1:]}
    assert set(by_name) == {f"导入生{i}" for i in range(GOOD)} | {"号码错", "民族错"}
    assert "身份证号" in by_name["号码错"][error_column]
    assert "民族" in by_name["民族错"][error_column]
    for i in range(GOOD):
        assert not by_name[f"导入生{i}"][error_column]

    class_list = download(walker, "form[action$='/class-list/'] button[type=submit]", import_media)
    lists = openpyxl.load_workbook(class_list)
    cells = {cell for sheet in lists for row in sheet.iter_rows(values_only=True) for cell in row}
    assert "激活码" in cells
    assert {f"导入生{i}" for i in range(GOOD)} <= cells

    # The report itself, its two bad rows corrected, goes back in: only those two are added.
    corrected = openpyxl.load_workbook(report)
    sheet = corrected.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        if str(row[1].value).strip() == "号码错":
            row[3].value = student_id(8)
        if str(row[1].value).strip() == "民族错":
            row[4].value = "汉族"
    fixed = io.BytesIO()
    corrected.save(fixed)
    walker.open("/imports/students/upload/", "导入学生")
    upload(
        walker,
        "学生名单-改正.xlsx",
        fixed.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    map_name_column(walker)
    counts = wait_for_result(walker)
    assert counts == {"rows_read": 6, "created": 2, "updated": 0, "unchanged": 4, "rejected": 0}
    walker.check("全部行已导入。")
    assert StudentRecord.objects.filter(school=world.school).count() == GOOD + 2

    # The first file once more: nothing new, the same two rows refused again.
    walker.open("/imports/students/upload/", "导入学生")
    upload(walker, "学生名单.csv", csv_bytes(messy_rows()), "text/csv")
    map_name_column(walker)
    counts = wait_for_result(walker)
    assert counts == {"rows_read": 6, "created": 0, "updated": 0, "unchanged": 4, "rejected": 2}
    assert StudentRecord.objects.filter(school=world.school).count() == GOOD + 2

    walker.open("/imports/", "学生名单.csv", "学生名单-改正.xlsx")
    assert job_url.removeprefix(live_server.url) in walker.page.content()
    assert walker.console_errors == []


def refused_rows(walker: Walker, name: str, rows: list[list[str]]) -> list[list[str]]:
    walker.open("/imports/students/upload/", "导入学生")
    upload(walker, name, csv_bytes(rows), "text/csv")
    counts = wait_for_result(walker)
    assert (counts["created"], counts["rejected"]) == (1, 1)
    return [
        [cell.strip() for cell in row.split("\t")]
        for row in walker.page.locator("#st-rejected tbody tr").all_inner_texts()
    ]


def test_rows_for_a_school_outside_the_scope_are_refused(
    world: World, live_server: Any, browser: Any, import_media: Path
) -> None:
    """A school administrator's file goes to its own school, so another school's row is
    refused as not that school; a county administrator's file names its schools, and one in
    another county is refused as outside the scope."""
    header = ["学校标识码", "姓名", "性别", "身份证件号", "民族", "年级", "班级"]
    school = Walker(browser, live_server.url)
    school.login("school_admin")
    refused = refused_rows(
        school,
        "外校.csv",
        [
            header,
            [world.school.code, "本校生", "男", student_id(20), "汉族", "三年级", "1班"],
            [world.other_school.code, "外校生", "男", student_id(21), "汉族", "三年级", "1班"],
        ],
    )
    assert refused == [
        ["3", "学校标识码", world.other_school.code, f"与指定的学校 {world.school.code} 不一致。"]
    ]

    county = Walker(browser, live_server.url)
    county.login("county_admin")
    refused = refused_rows(
        county,
        "外区.csv",
        [
            header,
            [world.other_school.code, "外区生", "男", student_id(22), "汉族", "三年级", "1班"],
            [world.school.code, "区内生", "男", student_id(23), "汉族", "三年级", "1班"],
        ],
    )
    assert len(refused) == 1
    assert refused[0][:3] == ["2", "学校标识码", world.other_school.code]
    assert "不在您的管理范围" in refused[0][3], refused

    names = set(StudentRecord.objects.values_list("person__name", flat=True))
    assert names == {"本校生", "区内生"}
    for walker in (school, county):
        assert walker.console_errors == []
