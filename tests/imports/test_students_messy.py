"""The demonstration the issue asks for, with students: a deliberately messy workbook with
every artefact a clerk's file has; the report names every bad row and its reason; the good
rows land; a second run adds nothing; the corrected report fixes exactly the reported rows."""

from datetime import date, datetime
from pathlib import Path

import pytest
import xlsxwriter

from santong.accounts.identity import make_resident_id
from santong.accounts.models import Person, User
from santong.imports.models import ImportIssue, ImportJob
from santong.registry import services as registry_services
from santong.registry.models import StudentRecord

from .test_schools_import import fix_report, report_rows
from .test_students_import import import_file

HEADERS = ["序号", "学校代码", "学生姓名", "性别", "出生日期", "身份证号", "民族", "年级", "班级"]


def rid(day: int, sequence: int, *, male: bool = True, month: int = 3) -> str:
    return make_resident_id("510104", date(2016, month, day), sequence, male)


FULL_WIDTH_ID = rid(4, 4).translate({c: c + 0xFEE0 for c in range(48, 58)})
ELSEWHERE = rid(20, 5)  # already registered at 武侯区第一小学
# Excel rows: 1 is a merged title, 2 the header, data from 3.
EXPECTED_ERRORS = {
    10: "后面的数字已经丢失",  # the ID number went through a numeric cell
    11: "校验码不正确",  # a wrong check character
    12: "出生日期",  # 出生日期 contradicts the ID number
    13: "性别",  # 性别 contradicts the ID number
    14: "是否应为「汉族」",  # an unknown 民族, with the nearest valid value suggested
    15: "必填项为空",  # 民族 left empty
    16: "与第 3 行重复",  # the same ID number as row 3
    17: "已在 成都市武侯区第一小学 注册学籍",  # registered at another school, named
    18: "不在您的管理范围内",  # a school of 武侯区, imported by 锦江区's administrator
    19: "班级「火箭班」不存在",  # a class that is neither a number nor an existing class
    20: "Excel 错误值",  # #N/A in 姓名
    21: "必填项为空",  # 姓名 empty inside a horizontal merge
    22: "15",  # a first-generation 15-digit ID number
}
GOOD_ROWS = {3, 4, 5, 6, 7, 8, 9, 23}
CORRECTIONS = {
    10: {"身份证号": rid(10, 10)},
    11: {"身份证号": rid(11, 11)},
    12: {"出生日期": "2016-03-12"},
    13: {"性别": "男"},
    14: {"民族": "汉族"},
    15: {"民族": "回族"},
    16: {"身份证号": rid(16, 16)},
    17: {"身份证号": rid(17, 17)},
    18: {"学校代码": "1510104001"},
    19: {"班级": "3班"},
    20: {"学生姓名": "赵小六"},
    21: {"学生姓名": "钱小七"},
    22: {"身份证号": rid(22, 22)},
}


def messy_students_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    hidden = book.add_worksheet("旧名单")
    hidden.write_row(0, 0, ["学生姓名", "身份证号"])
    hidden.write_row(1, 0, ["不应导入", rid(28, 1)])
    sheet = book.add_worksheet("2025秋三年级")
    sheet.activate()
    hidden.hide()
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.merge_range(0, 0, 0, len(HEADERS) - 1, "锦江区实验小学2025年秋季学生名单")
    sheet.write_row(1, 0, HEADERS)
    school = "1510104001"
    rows: list[list[object]] = [
        # 3: clean; the school code a number cell (10 digits: exact), the birth date a real date
        [1, 1510104001, "王一", "男", date(2016, 3, 3), rid(3, 3), "汉族", "三年级", "1班"],
        # 4: NBSP and spaces around the name, full-width digits in the ID number
        [2, school, " 李雷\u00a0", "", "", FULL_WIDTH_ID, "汉族", "三年级", "1班"],
        # 5: lower-case x check character, birth date as Chinese text
        [3, school, "张\u200b三", "男", "2016年3月5日", "51010420160305019x", "汉族", "三年级",
         "2"],
        # 6: the ID number as text with a trailing ".0", birth date as 2016/4/5
        [4, school, "韩梅梅", "女", "2016/4/5", "510104201604050183.0", "汉族", "三年级",
         "三年级（2）班"],
        # 7: 出生日期 an Excel serial day number in a plain number cell, 民族 the number 1
        # (Excel dropped the 0 of "01"), 班级 a formula's cached result
        [5, school, "刘七", "", 42436, rid(7, 7), 1, "三年级", None],
        # 8, 9: 年级 merged vertically over both rows
        [6, school, "陈八", "", "", rid(8, 8), "汉族", None, "1班"],
        [7, school, "杨九", "", "", rid(9, 9), "汉族", None, "1班"],
        # 10: the ID number went through a numeric cell: the last digits are gone
        [8, school, "周十", "", "", int(rid(10, 10)), "汉族", "三年级", "1班"],
        # 11: a wrong check character
        [9, school, "吴十一", "", "", rid(11, 11)[:-1] + ("1" if rid(11, 11)[-1] != "1" else "2"),
         "汉族", "三年级", "1班"],
        # 12: 出生日期 contradicts the ID number
        [10, school, "郑十二", "", "2015-01-01", rid(12, 12), "汉族", "三年级", "1班"],
        # 13: 性别 contradicts the ID number (sequence 13 is odd: a boy)
        [11, school, "王十三", "女", "", rid(13, 13), "汉族", "三年级", "1班"],
        # 14: an unknown 民族
        [12, school, "冯十四", "", "", rid(14, 14), "汉", "三年级", "1班"],
        # 15: 民族 empty
        [13, school, "陈十五", "", "", rid(15, 15), "", "三年级", "1班"],
        # 16: the same ID number as row 3
        [14, school, "王一", "", "", rid(3, 3), "汉族", "三年级", "1班"],
        # 17: already registered at another school
        [15, school, "孙十七", "", "", ELSEWHERE, "汉族", "三年级", "1班"],
        # 18: a school outside the importer's county
        [16, "1510107001", "朱十八", "", "", rid(18, 18), "汉族", "三年级", "1班"],
        # 19: an unknown class
        [17, school, "秦十九", "", "", rid(19, 19), "汉族", "三年级", "火箭班"],
        # 20: #N/A in 姓名
        [18, school, None, "", "", rid(20, 20), "汉族", "三年级", "1班"],
        # 21: 姓名 empty: merged with the cell to its left
        [19, school, None, "", "", rid(21, 21), "汉族", "三年级", "1班"],
        # 22: a 15-digit first-generation number
        [20, school, "许二十二", "", "", "510104160322013", "汉族", "三年级", "1班"],
        # 23: clean, with only what is required
        [21, school, "何二十三", "", "", rid(23, 23), "汉族", "三年级", "2班"],
    ]  # fmt: skip
    for offset, values in enumerate(rows):
        excel_row = offset + 2
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, date):
                sheet.write_datetime(
                    excel_row, column, datetime(value.year, value.month, value.day), as_date
                )
            elif isinstance(value, int):
                sheet.write_number(excel_row, column, value)
            else:
                sheet.write_string(excel_row, column, str(value))
    sheet.write_formula(6, 8, '="三年级（"&2&"）班"', None, "三年级（2）班")  # row 7
    sheet.merge_range(7, 7, 8, 7, "三年级")  # rows 8-9: 年级 merged vertically
    sheet.write_formula(19, 2, "=NA()", None, "#N/A")  # row 20
    sheet.merge_range(20, 1, 20, 2, school)  # row 21: the school code merged over the name
    book.close()
    return path


@pytest.fixture
def messy(world, tmp_path):
    registry_services.bulk_enrol_students(
        actor=world.actor("other_school_admin"),
        rows=[
            registry_services.StudentRow(
                school_class=world.other_class,
                name="孙十七",
                id_type="1",
                id_number=ELSEWHERE,
                ethnicity="01",
            )
        ],
    )
    return messy_students_xlsx(tmp_path / "学生名单.xlsx")


def students_here(world) -> set[str]:
    return set(
        StudentRecord.objects.filter(school=world.school).values_list("person__name", flat=True)
    )


def test_messy_workbook_reports_every_bad_row_and_lands_the_good_ones(world, county_actor, messy):
    job = import_file(county_actor, messy)

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert (job.rows_read, job.rows_created, job.rows_rejected) == (21, 8, 13)
    assert students_here(world) == {
        "王一", "李雷", "张三", "韩梅梅", "刘七", "陈八", "杨九", "何二十三",
    }  # fmt: skip
    assert any("隐藏的工作表「旧名单」" in note for note in job.notes)
    assert any("表头在第 2 行" in note for note in job.notes)

    rows = {row["原行号"]: row for row in report_rows(job)}
    for number, fragment in EXPECTED_ERRORS.items():
        assert fragment in str(rows[number]["错误原因"]), (number, rows[number]["错误原因"])
    rejected = {n for n, row in rows.items() if row["错误原因"]}
    assert rejected == set(EXPECTED_ERRORS)
    errors = ImportIssue.objects.filter(job=job, severity=ImportIssue.Severity.ERROR)
    assert set(errors.values_list("row_number", flat=True)) == set(EXPECTED_ERRORS)

    # What was repaired, and what it became.
    assert "全角" in str(rows[4]["自动修正"])
    assert "小写 x" in str(rows[5]["自动修正"])
    assert "“.0”" in str(rows[6]["自动修正"])
    assert "前导 0" in str(rows[7]["自动修正"])
    assert "日期序列号 42436" in str(rows[7]["自动修正"])
    assert "公式" in str(rows[7]["自动修正"])
    assert "纵向合并" in str(rows[9]["自动修正"])
    lei = Person.objects.get(name="李雷")
    assert lei.id_masked == rid(4, 4)[:6] + "********" + rid(4, 4)[-4:]
    assert StudentRecord.objects.get(person__name="刘七").ethnicity == "01"
    assert StudentRecord.objects.get(person__name="刘七").school_class.number == 2
    assert Person.objects.get(name="张三").birth_date == date(2016, 3, 5)
    assert Person.objects.get(name="刘七").birth_date == date(2016, 3, 7)
    assert User.objects.filter(person__name="何二十三", username__startswith="xs").exists()


def test_a_second_run_adds_nothing(world, county_actor, messy):
    import_file(county_actor, messy)
    counts = (Person.objects.count(), StudentRecord.objects.count(), User.objects.count())

    again = import_file(county_actor, messy)

    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 8)
    assert again.rows_rejected == 13
    assert (Person.objects.count(), StudentRecord.objects.count(), User.objects.count()) == counts


def test_the_corrected_report_fixes_exactly_the_reported_rows(world, county_actor, messy, tmp_path):
    first = import_file(county_actor, messy)
    before = students_here(world)
    corrected = fix_report(first, tmp_path / "改正后.xlsx", CORRECTIONS)

    second = import_file(county_actor, corrected)

    assert second.status == ImportJob.Status.SUCCEEDED
    # The report holds the 13 rejected rows and the 5 good rows that were repaired; those
    # come back unchanged.
    assert (second.rows_read, second.rows_rejected) == (18, 0)
    assert (second.rows_created, second.rows_updated, second.rows_unchanged) == (13, 0, 5)
    assert students_here(world) - before == {
        "周十", "吴十一", "郑十二", "王十三", "冯十四", "陈十五", "孙十七", "朱十八",
        "秦十九", "赵小六", "钱小七", "许二十二",
    }  # fmt: skip
    assert StudentRecord.objects.filter(school=world.school).count() == 21
    assert StudentRecord.objects.get(person__name="秦十九").school_class.number == 3
