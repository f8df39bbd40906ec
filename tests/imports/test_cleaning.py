"""Repairs of Excel artefacts: what is repaired (and recorded), what is refused (and why)."""

from datetime import date

import pytest

from santong.imports.cleaning import clean_rows
from santong.imports.codes import CodeTable
from santong.imports.headers import Column, ColumnSpec, ColumnType, map_headers
from santong.imports.readers import CellFlag, SheetRow
from santong.imports.report import Severity

SPEC = ColumnSpec(
    columns=(
        Column("id_number", "身份证件号", ColumnType.ID_NUMBER),
        Column("name", "姓名", max_length=8),
        Column("birth_date", "出生日期", ColumnType.DATE),
        Column("ethnicity", "民族", ColumnType.CODE, code_table="ethnicity"),
        Column("county", "区县", ColumnType.CODE, code_table="county"),
        Column("school_code", "学校标识码", ColumnType.DIGITS, width=10),
        Column("postcode", "邮政编码", ColumnType.DIGITS, width=6, zero_pad=True),
        Column("phone", "联系电话", ColumnType.PHONE),
        Column("class_name", "班级", required=True),
    ),
    key=("id_number",),
)
HEADERS = [c.header for c in SPEC.columns]
TABLES = {
    "ethnicity": CodeTable.of(
        "ethnicity", "民族", [("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("05", "维吾尔族")]
    ),
    "county": CodeTable.of(
        "county", "区县", [("511102", "市中区"), ("511002", "市中区"), ("510104", "锦江区")]
    ),
}


def clean(field: str, value: str | None, flag: int = 0, *, row: dict | None = None):
    """Cleans one cell of `field` (other cells filled with clean values)."""
    values: dict[str, str | None] = {"class_name": "三年级（1）班"} | (row or {})
    values[field] = value
    position = [c.field for c in SPEC.columns].index(field)
    cells = [values.get(c.field) for c in SPEC.columns]
    sheet_row = SheetRow(7, cells, {position: flag} if flag else None)
    mapping = map_headers(SPEC, HEADERS, header_row=1)
    result = clean_rows(SPEC, mapping, [sheet_row], index=0, tables=TABLES)
    issues = [i for i in result.issues if i.field == field]
    return result.batch.columns[field][0], issues, 0 in result.bad


def repaired(field, value, flag=0):
    new, issues, bad = clean(field, value, flag)
    assert not bad, issues
    assert len(issues) == 1, issues
    assert issues[0].severity == Severity.WARNING
    assert issues[0].row == 7
    assert issues[0].value == value
    return new, issues[0].message


def refused(field, value, flag=0):
    new, issues, bad = clean(field, value, flag)
    assert bad, issues
    assert new is None
    errors = [i for i in issues if i.severity == Severity.ERROR]
    assert len(errors) == 1
    return errors[0]


def untouched(field, value, flag=0):
    new, issues, bad = clean(field, value, flag)
    assert not bad, issues
    assert not issues, issues
    return new


def test_an_id_number_that_went_through_a_number_cell_is_refused_not_guessed():
    error = refused("id_number", "5.101042008051212E+17", CellFlag.NUMBER)
    assert "只保留了前 15 位" in error.message
    assert error.header == "身份证件号"
    assert "只保留了前 6 位" in refused("id_number", "5.10104E+17").message


def test_an_id_number_with_a_trailing_point_zero_in_text_keeps_its_digits():
    new, message = repaired("id_number", "510104200805121234.0")
    assert new == "510104200805121234"
    assert "“.0”" in message


def test_id_numbers_lose_spaces_full_width_and_lower_case_x():
    assert repaired("id_number", "５１０１０４２００８０５１２１２３Ｘ")[0] == "51010420080512123X"
    assert repaired("id_number", "510104 2008 0512 123x")[0] == "51010420080512123X"
    assert untouched("id_number", "51010420080512123X") == "51010420080512123X"


def test_exact_scientific_notation_is_restored():
    new, message = repaired("school_code", "1.510104001E+09")
    assert new == "1510104001"
    assert "数值格式" in message
    assert untouched("school_code", "1510104001", CellFlag.NUMBER) == "1510104001"
    assert repaired("school_code", "1510104001.0", CellFlag.NUMBER)[0] == "1510104001"


def test_lost_leading_zeros_are_restored_only_where_codes_may_start_with_zero():
    new, message = repaired("postcode", "10001", CellFlag.NUMBER)
    assert new == "010001"
    assert "前导 0" in message
    error = refused("school_code", "151010400", CellFlag.NUMBER)
    assert "只有 9 位" in error.message
    assert "去掉了 0" in error.message
    assert "却有 11 位" in refused("school_code", "15101040011").message
    assert "只包含数字" in refused("school_code", "15101O4001").message


def test_code_values_by_name_code_padded_code_or_with_a_suggestion():
    assert untouched("ethnicity", "汉族") == "01"
    assert untouched("ethnicity", "03") == "03"
    assert untouched("ethnicity", " 回 族 ") == "03"
    assert repaired("ethnicity", "2", CellFlag.NUMBER)[0] == "02"
    error = refused("ethnicity", "汉")
    assert error.suggestion == "汉族"
    assert "不是有效的民族" in error.message
    assert refused("ethnicity", "维族").suggestion == "维吾尔族"
    assert refused("ethnicity", "火星族").suggestion == ""


def test_an_ambiguous_name_asks_for_the_code():
    error = refused("county", "市中区")
    assert "511102" in error.message
    assert "511002" in error.message
    assert untouched("county", "511102") == "511102"
    assert untouched("county", "市中区（511002）") == "511002"
    assert untouched("county", "锦江区") == "510104"


@pytest.mark.parametrize(
    "text",
    ["2008/5/12", "2008.05.12", "20080512", "2008年5月12日", "２００８-０５-１２", "2008-5-12"],
)
def test_dates_written_as_text_in_the_usual_formats(text):
    new, message = repaired("birth_date", text)
    assert new == date(2008, 5, 12)
    assert "日期" in message


def test_dates_as_excel_serial_numbers():
    assert untouched("birth_date", "39580", CellFlag.DATE) == date(2008, 5, 12)
    new, message = repaired("birth_date", "39580", CellFlag.NUMBER)
    assert new == date(2008, 5, 12)
    assert "序列号 39580" in message
    assert repaired("birth_date", "39580")[0] == date(2008, 5, 12)
    assert untouched("birth_date", "2008-05-12") == date(2008, 5, 12)


def test_impossible_dates_are_refused():
    assert "不是有效的日期" in refused("birth_date", "2009-02-29").message
    assert "不是有效的日期" in refused("birth_date", "明年").message
    assert "不合理" in refused("birth_date", "1800-01-01").message


def test_text_loses_stray_and_invisible_characters_but_keeps_chinese_punctuation():
    new, message = repaired("name", "\u00a0王\u200b小雨\u3000")
    assert new == "王小雨"
    assert "不可见字符" in message
    assert repaired("class_name", "三年级（１）班 ")[0] == "三年级（1）班"
    assert untouched("class_name", "三年级（1）班") == "三年级（1）班"
    assert repaired("name", "Li   Ming")[0] == "Li Ming"
    assert "超过 8 个字符" in refused("name", "一二三四五六七八九").message


def test_phone_numbers():
    assert untouched("phone", "13812345678") == "13812345678"
    assert untouched("phone", "028-86112345") == "028-86112345"
    assert repaired("phone", "+8613812345678")[0] == "13812345678"
    assert "区号前的 0" in refused("phone", "2886112345", CellFlag.NUMBER).message
    assert "不是有效的手机号" in refused("phone", "1234").message


def test_cells_excel_turned_into_something_else():
    assert "识别成了日期（2025-03-01）" in refused("class_name", "45717", CellFlag.DATE).message
    assert "错误值 #REF!" in refused("name", "#REF!", CellFlag.ERROR).message
    assert "错误值 #N/A" in refused("name", "#N/A").message
    assert "没有计算结果" in refused("name", None, CellFlag.FORMULA_UNCALCULATED).message
    value, issues, bad = clean("name", "王小雨", CellFlag.FORMULA)
    assert value == "王小雨"
    assert not bad
    assert "公式" in issues[0].message


def test_merged_cells():
    value, issues, bad = clean("class_name", "三年级（1）班", CellFlag.MERGED)
    assert value == "三年级（1）班"
    assert not bad
    assert "纵向合并" in issues[0].message
    error = refused("class_name", None, CellFlag.MERGED)
    assert "横向合并" in error.message


def test_a_batch_is_cleaned_column_by_column():
    mapping = map_headers(SPEC, HEADERS, header_row=1)
    rows = [
        SheetRow(
            n,
            [
                "51010420080512123X",
                f"学生{n}",
                "2008-05-12",
                "汉族",
                None,
                None,
                None,
                None,
                "一班",
            ],
        )
        for n in range(2, 1002)
    ]
    rows[10].values[3] = "汉"
    result = clean_rows(SPEC, mapping, rows, index=3, tables=TABLES)

    assert result.batch.index == 3
    assert len(result.batch) == 1000
    assert result.bad == {10}
    assert result.batch.columns["ethnicity"][:2] == ["01", "01"]
    assert result.batch.select([0, 1]).row_numbers == [2, 3]
    assert result.batch.records()[0]["birth_date"] == date(2008, 5, 12)
