"""Importing schools end to end: a messy workbook, its report, re-runs, modes, scope, CLI."""

import csv
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from santong.audit.models import AuditEvent
from santong.core.actors import Actor, ScopeError
from santong.imports import jobs, services
from santong.imports.models import ImportIssue, ImportJob
from santong.orgs.models import School
from santong.testing.world import World

from .messy import CORRECTIONS, EXPECTED_ERRORS, GOOD_ROWS, messy_schools_xlsx

GOOD_CODES = {"1510104101", "1510104102", "1510104107", "1510104114", "1510104115", "1510104116"}


def import_file(actor: Actor, path: Path, **options) -> ImportJob:
    job = services.create_import_job(actor=actor, kind="schools", options=options, source_path=path)
    return jobs.run_job(job.pk)


def report_rows(job: ImportJob) -> list[dict[str, object]]:
    book = openpyxl.load_workbook(job.report.path)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def imported_codes() -> set[str]:
    return set(School.objects.filter(code__startswith="151010").values_list("code", flat=True))


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return messy_schools_xlsx(tmp_path / "锦江区学校.xlsx")


def test_messy_workbook_lands_good_rows_and_reports_every_bad_row(world, county_actor, messy):
    before = imported_codes()

    job = import_file(county_actor, messy)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.rows_read, job.rows_created, job.rows_rejected) == (14, 6, 8)
    assert imported_codes() - before == GOOD_CODES
    point = School.objects.get(code="1510104114")
    assert point.host_school is not None
    assert point.host_school.code == "1510104101"
    assert School.objects.get(code="1510104102").name == "锦江区第三小学"
    assert School.objects.get(code="1510104107").address == "东大街7号"
    assert School.objects.get(code="1510104116").locale == School.Locale.URBAN
    assert any("隐藏的工作表「旧数据」" in note for note in job.notes)
    assert any("表头在第 2 行" in note for note in job.notes)
    assert any("F15:F16" in note for note in job.notes)

    rows = {row["原行号"]: row for row in report_rows(job)}
    for number, fragment in EXPECTED_ERRORS.items():
        assert fragment in str(rows[number]["错误原因"]), (number, rows[number]["错误原因"])
    assert "是否应为「初级中学」" in str(rows[5]["错误原因"])
    assert "与第 3 行重复" in str(rows[8]["错误原因"])
    rejected_rows = {n for n, row in rows.items() if row["错误原因"]}
    assert rejected_rows == set(EXPECTED_ERRORS)
    assert not rejected_rows & GOOD_ROWS
    assert "全角" in str(rows[4]["自动修正"])
    assert rows[4]["学校代码"] == "１５１０１０４１０２"
    assert "公式" in str(rows[7]["自动修正"])
    assert "纵向合并" in str(rows[16]["自动修正"])

    repairs = list(openpyxl.load_workbook(job.report.path)["自动修正"].iter_rows(values_only=True))
    assert (4, "学校代码", "１５１０１０４１０２", "1510104102") in [r[:4] for r in repairs]
    assert (7, "学校代码", "1510104107.0", "1510104107") in [r[:4] for r in repairs]
    errors = ImportIssue.objects.filter(job=job, severity=ImportIssue.Severity.ERROR)
    assert set(errors.values_list("row_number", flat=True)) == set(EXPECTED_ERRORS)


def test_second_run_changes_nothing(world, county_actor, messy):
    import_file(county_actor, messy)
    count = School.objects.count()
    updates = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count()

    again = import_file(county_actor, messy)

    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 6)
    assert again.rows_rejected == 8
    assert School.objects.count() == count
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count() == updates


def fix_report(job: ImportJob, out: Path, corrections: dict[int, dict[str, str]]) -> Path:
    book = openpyxl.load_workbook(job.report.path)
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        number = row[header.index("原行号")].value
        for name, value in corrections.get(number, {}).items():
            row[header.index(name)].value = value
    book.save(out)
    return out


def test_corrected_report_fixes_exactly_the_reported_rows(world, county_actor, messy, tmp_path):
    first = import_file(county_actor, messy)
    corrected = fix_report(first, tmp_path / "改正后.xlsx", CORRECTIONS)

    second = import_file(county_actor, corrected)

    assert second.status == ImportJob.Status.SUCCEEDED
    assert second.rows_rejected == 0
    assert second.rows_created == len(EXPECTED_ERRORS)
    assert second.rows_updated == 0
    assert {"1510104106", "1510104108", "1510104109", "1510104112"} <= imported_codes()
    assert School.objects.get(code="1510104112").host_school.code == "1510104101"


def test_a_corrected_file_updates_only_what_changed_and_keeps_history(
    world, county_actor, tmp_path
):
    import_file(county_actor, write_csv(tmp_path / "v1.csv", CLEAN, "utf-8"))
    rows = [list(r) for r in CLEAN]
    rows[3][1] = "锦江区第一实验幼儿园"
    updates = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count()

    job = import_file(county_actor, write_csv(tmp_path / "v2.csv", rows, "utf-8"))

    assert (job.rows_created, job.rows_updated, job.rows_unchanged) == (0, 1, 2)
    school = School.objects.get(code="1510104203")
    assert school.name == "锦江区第一实验幼儿园"
    event = AuditEvent.objects.filter(
        action=AuditEvent.Action.UPDATE, object_type="school", object_id=str(school.pk)
    ).get()
    assert event.detail == {"name": ["锦江区第一幼儿园", "锦江区第一实验幼儿园"]}
    assert event.actor_name == "张伟"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count() == updates + 1


def test_the_report_uploaded_unchanged_creates_nothing(world, county_actor, messy):
    first = import_file(county_actor, messy)
    count = School.objects.count()

    again = import_file(county_actor, Path(first.report.path))

    # Still rejected: the 7 rows nobody fixed, the #N/A now as text included. The duplicate
    # of row 3, uploaded on its own, is an edit of that school (its reason asked to delete it).
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 1, 3)
    assert again.rows_rejected == 7
    assert School.objects.count() == count
    reasons = {row["原行号"]: row["错误原因"] for row in report_rows(again)}
    assert "Excel 错误值 #N/A" in str(reasons[8])  # was row 10 of the original


def test_strict_mode_imports_nothing_when_a_row_is_bad(world, county_actor, messy):
    count = School.objects.count()

    job = import_file(county_actor, messy, strict=True)

    assert job.status == ImportJob.Status.FAILED
    assert "严格模式" in job.message
    assert job.rows_rejected == 8
    assert job.rows_created == 0
    assert School.objects.count() == count
    assert job.report


def write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


CLEAN = [
    [
        "学校标识码",
        "学校名称",
        "学校类型",
        "办学类型",
        "城乡类型",
        "所属区县",
        "地址",
        "主校标识码",
    ],
    ["1510104201", "锦江区实验中学", "初级中学", "公办", "城区", "锦江区", "", ""],
    [
        "1510104202",
        "锦江区实验小学花园教学点",
        "教学点",
        "公办",
        "乡村",
        "510104",
        "",
        "1510104001",
    ],
    ["1510104203", "锦江区第一幼儿园", "幼儿园", "民办", "镇区", "锦江区", "莲花路3号", ""],
]


def test_strict_mode_writes_everything_when_all_rows_pass(world, county_actor, tmp_path):
    path = write_csv(tmp_path / "clean.csv", CLEAN, "utf-8")

    job = import_file(county_actor, path, strict=True, batch_size=1)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.rows_created == 3
    assert {"1510104201", "1510104202", "1510104203"} <= imported_codes()


def test_dry_run_counts_but_writes_nothing(world, county_actor, messy):
    count = School.objects.count()

    job = import_file(county_actor, messy, dry_run=True, batch_size=2)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.rows_created, job.rows_rejected) == (6, 8)  # the host planned in batch 1 counts
    assert School.objects.count() == count
    assert any("试运行" in note for note in job.notes)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_encoding_excel_writes_with_alias_headers(
    world, county_actor, tmp_path, encoding
):
    rows = [["学校代码", "学校全称", "学校类别", "办学性质", "城乡分类", "区县代码", "详细地址"]]
    rows += [
        ["1510104301", "锦江区实验学校", "九年一贯制学校", "公办", "城区", "510104", "锦江大道"],
        ["1510104302", "锦江区外国语学校", "完全中学", "民办", "城区", "锦江区", ""],
    ]
    path = write_csv(tmp_path / f"{encoding}.csv", rows, encoding)

    job = import_file(county_actor, path)

    assert (job.status, job.rows_created, job.rows_rejected) == (ImportJob.Status.SUCCEEDED, 2, 0)
    assert School.objects.get(code="1510104301").kind == School.Kind.NINE_YEAR


def test_missing_and_unknown_columns_stop_the_import_until_mapped(world, county_actor, tmp_path):
    rows = [["学校标识码", "学校名称", "类别名", "办学类型", "城乡类型", "所属区县", "校长"]]
    rows += [["1510104401", "锦江区第四十小学", "小学", "公办", "城区", "锦江区", "王校长"]]
    path = write_csv(tmp_path / "columns.csv", rows, "utf-8")

    job = import_file(county_actor, path)

    assert job.status == ImportJob.Status.FAILED
    assert "缺少必填列：学校类型" in job.message
    assert "无法识别的列：类别名、校长" in job.message
    assert not School.objects.filter(code="1510104401").exists()

    mapping = services.apply_header_mapping(
        actor=county_actor, job=job, choices={2: "kind", 6: None}
    )
    assert mapping.complete
    job = jobs.run_job(job.pk)

    assert (job.status, job.rows_created) == (ImportJob.Status.SUCCEEDED, 1)
    assert School.objects.get(code="1510104401").kind == School.Kind.PRIMARY


def test_a_school_administrator_imports_only_inside_their_school(world, tmp_path):
    path = write_csv(tmp_path / "clean.csv", CLEAN, "utf-8")

    job = import_file(world.actor("school_admin"), path)

    # The teaching point of their own school lies inside their scope; the other schools do not.
    assert (job.rows_created, job.rows_rejected) == (1, 2)
    assert School.objects.get(code="1510104202").host_school == world.school
    messages = set(job.issues.values_list("row_number", "message"))
    assert messages == {
        (2, "学校 1510104201 不在您的管理范围内。"),
        (4, "学校 1510104203 不在您的管理范围内。"),
    }


def test_only_administrators_may_import(world, tmp_path):
    path = write_csv(tmp_path / "clean.csv", CLEAN, "utf-8")
    with pytest.raises(ScopeError):
        services.create_import_job(
            actor=world.actor("head_teacher"), kind="schools", options={}, source_path=path
        )


def test_a_run_killed_midway_resumes_without_duplicates(world, county_actor, messy, monkeypatch):
    from santong.orgs import services as org_services

    real = org_services.bulk_upsert_schools
    calls = {"n": 0}

    def dies_on_second_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process goes away mid-import
        return real(**kwargs)

    monkeypatch.setattr(org_services, "bulk_upsert_schools", dies_on_second_batch)
    job = services.create_import_job(
        actor=county_actor, kind="schools", options={"batch_size": 4}, source_path=messy
    )
    with pytest.raises(KeyboardInterrupt):
        jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING
    assert job.last_committed_batch == 0
    assert jobs.is_abandoned(job)
    first_batch_issues = job.issues.count()

    monkeypatch.setattr(org_services, "bulk_upsert_schools", real)
    job = jobs.run_job(job.pk)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.rows_read, job.rows_rejected) == (14, 8)
    assert imported_codes() >= GOOD_CODES
    assert School.objects.filter(code__in=GOOD_CODES).count() == len(GOOD_CODES)
    assert job.issues.filter(row_number__lte=6).count() == first_batch_issues
    reported = {row["原行号"] for row in report_rows(job) if row["错误原因"]}
    assert reported == set(EXPECTED_ERRORS)


def test_command_line_import_prints_a_summary(world, messy, capsys):
    call_command("import", "schools", str(messy), "--as", "county_admin")
    out = capsys.readouterr()

    assert "读取 14 行：导入 6（新增 6，更新 0，未变化 0），拒绝 8；3 行做了自动修正。" in out.out
    assert "报告：" in out.out
    assert "隐藏的工作表" in out.out


def test_command_line_refuses_unknown_and_missing_columns(world, tmp_path):
    rows = [["学校标识码", "名字", "学校类型", "办学类型", "城乡类型", "所属区县"]]
    rows += [["1510104501", "锦江区第五十小学", "小学", "公办", "城区", "锦江区"]]
    path = write_csv(tmp_path / "bad-header.csv", rows, "utf-8")

    with pytest.raises(CommandError) as refused:
        call_command("import", "schools", str(path))

    assert "缺少必填列：学校名称" in str(refused.value)
    assert "无法识别的列：名字" in str(refused.value)


def test_template_has_headers_instructions_and_drop_downs(world, tmp_path):
    out = tmp_path / "学校模板.xlsx"
    call_command("import-template", "schools", str(out))

    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["学校", "说明", "代码表"]
    assert book["代码表"].sheet_state == "hidden"
    data = book["学校"]
    headers = [cell.value for cell in data[1]]
    assert headers == [
        "学校标识码",
        "学校名称",
        "学校类型",
        "办学类型",
        "城乡类型",
        "所属区县",
        "地址",
        "主校标识码",
    ]
    lists = {
        str(v.sqref): v.formula1 for v in data.data_validations.dataValidation if v.type == "list"
    }
    assert lists["C2:C1048576"].startswith("'代码表'!$")
    assert len(lists) == 4
    codes = book["代码表"]
    kinds = [row[0] for row in codes.iter_rows(min_row=2, values_only=True) if row[0]]
    assert "九年一贯制学校" in [str(v) for v in kinds] or any(
        "九年一贯制学校" in str(c) for row in codes.iter_rows(values_only=True) for c in row
    )
    text = " ".join(str(c) for row in book["说明"].iter_rows(values_only=True) for c in row if c)
    assert "学校标识码" in text
    assert "必填" in text


def test_a_filled_in_template_imports(world, county_actor, tmp_path):
    out = tmp_path / "模板.xlsx"
    call_command("import-template", "schools", str(out))
    book = openpyxl.load_workbook(out)
    book["学校"].append(
        ["1510104601", "锦江区第六十小学", "小学", "公办", "城区", "锦江区", "", ""]
    )
    book.save(out)

    job = import_file(county_actor, out)

    assert (job.rows_created, job.rows_rejected) == (1, 0)


def test_world_fixture_is_untouched_by_failed_imports(world: World, county_actor, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")

    job = import_file(county_actor, path)

    assert job.status == ImportJob.Status.FAILED
    assert "缺少必填列" in job.message
