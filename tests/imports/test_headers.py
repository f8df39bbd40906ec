"""Header matching by name and alias, and the mapping step for files that do not match."""

import pytest

from santong.imports.headers import (
    Column,
    ColumnSpec,
    ColumnType,
    apply_mapping,
    find_header_row,
    map_headers,
    normalize_header,
)

SPEC = ColumnSpec(
    columns=(
        Column(
            "id_number",
            "身份证件号",
            ColumnType.ID_NUMBER,
            required=True,
            aliases=("身份证号", "证件号码", "身份证件号码"),
        ),
        Column("name", "姓名", required=True, aliases=("学生姓名",)),
        Column("gender", "性别", ColumnType.CODE, code_table="gender"),
        Column("birth_date", "出生日期", ColumnType.DATE),
        Column("student_number", "学籍号", aliases=("全国学籍号",)),
        Column("class_name", "班级", aliases=("班级名称",)),
        Column("guardian", "家长姓名", aliases=("监护人姓名",)),
        Column("phone", "联系电话", ColumnType.PHONE, aliases=("手机号",)),
    ),
    key=("id_number",),
)


def test_headers_are_normalised_before_matching():
    assert normalize_header(" 身份证 号 ") == "身份证号"
    assert normalize_header("*姓名") == "姓名"
    assert normalize_header("姓名（必填）") == "姓名"
    assert normalize_header("联系电话(选填)") == "联系电话"
    assert normalize_header("手机号\u200b") == "手机号"
    assert normalize_header("ＩＤ") == "id"


@pytest.mark.parametrize(
    "header", ["身份证件号", "身份证号", "证件号码", "身份证件号码", "身份证号 *"]
)
def test_every_alias_of_a_column_matches(header):
    mapping = map_headers(SPEC, [header, "学生姓名"], header_row=1)
    assert mapping.fields == ["id_number", "name"]
    assert mapping.exact


def test_columns_match_by_name_in_any_order_and_extra_columns_are_reported():
    headers = ["序号", "全国学籍号", "学生姓名", "证件号码", "监护人姓名", "手机号", "宿舍", None]
    mapping = map_headers(SPEC, headers, header_row=3)

    assert mapping.fields == [
        None,
        "student_number",
        "name",
        "id_number",
        "guardian",
        "phone",
        None,
        None,
    ]
    assert mapping.unknown == ["宿舍"]  # 序号 and the blank column are ignored silently
    assert mapping.complete
    assert not mapping.exact
    assert mapping.positions()["id_number"] == 3


def test_missing_and_duplicated_columns_are_listed():
    mapping = map_headers(SPEC, ["身份证号", "证件号码", "性别"], header_row=1)

    assert mapping.missing == ["姓名"]
    assert mapping.duplicated == ["身份证件号"]
    assert not mapping.complete
    assert mapping.describe() == "缺少必填列：姓名；重复的列：身份证件号"


def test_the_header_row_is_found_below_title_rows():
    rows = [
        (1, ["锦江区实验小学2025年秋季学生名单", None, None]),
        (2, [None, None, None]),
        (3, ["姓名", "身份证号", "班级"]),
        (4, ["王小雨", "510104201605200025", "三年级（1）班"]),
    ]
    assert find_header_row(SPEC, rows) == (3, ["姓名", "身份证号", "班级"])
    assert find_header_row(SPEC, [(1, ["甲", "乙"])]) is None


def test_a_user_mapping_completes_the_columns():
    mapping = map_headers(SPEC, ["名字", "证件号", "电话"], header_row=1)
    assert mapping.missing == ["身份证件号", "姓名"]
    assert mapping.unknown == ["名字", "证件号", "电话"]

    partial = apply_mapping(SPEC, mapping, {0: "name"})
    assert partial.missing == ["身份证件号"]
    assert partial.unknown == ["证件号", "电话"]

    done = apply_mapping(SPEC, mapping, {0: "name", 1: "id_number", 2: None})
    assert done.complete
    assert done.exact
    assert done.fields == ["name", "id_number", None]
    assert done.to_json() == type(done).from_json(done.to_json()).to_json()

    twice = apply_mapping(SPEC, mapping, {0: "name", 1: "name"})
    assert twice.duplicated == ["姓名"]
    with pytest.raises(ValueError, match="unknown field"):
        apply_mapping(SPEC, mapping, {0: "nickname"})
    with pytest.raises(ValueError, match="no column"):
        apply_mapping(SPEC, mapping, {9: "name"})
