"""The templates of the people kinds (the schools template is in test_schools_import): every
code-table column offers a drop-down list of that code table, kept on the hidden code sheet."""

import re

import openpyxl
import pytest
from django.core.management import call_command

from santong.core.actors import SYSTEM
from santong.imports.headers import ColumnType
from santong.imports.kinds import get_kind

# Each kind's code-table columns, with a value its drop-down must offer.
DROP_DOWNS = {
    "students": {
        "性别": "男",
        "身份证件类型": "居民身份证",
        "民族": "汉族",
        "年级": "三年级",
        "户口性质": "非农业户口",
        "健康状况": "健康或良好",
    },
    "teachers": {
        "性别": "女",
        "身份证件类型": "护照",
        "民族": "回族",
        "政治面貌": "中国共产党党员",
        "最高学历": "硕士研究生毕业",
        "职称": "一级教师",
        "岗位职务": "专任教师",
        "用人形式": "在编",
    },
    "parents": {"家长身份证件类型": "居民身份证", "家长性别": "女"},
}
SOURCE = re.compile(r"'代码表'!\$([A-Z]+)\$2:\$\1\$([0-9]+)")


@pytest.mark.parametrize("kind", sorted(DROP_DOWNS))
def test_people_templates_have_drop_downs_on_their_code_columns(world, tmp_path, kind):
    out = tmp_path / f"{kind}.xlsx"
    call_command("import-template", kind, str(out))

    book = openpyxl.load_workbook(out)
    data, codes = book.worksheets[0], book["代码表"]
    assert codes.sheet_state == "hidden"
    letters = {cell.value: cell.column_letter for cell in data[1]}
    lists = {
        str(v.sqref): v.formula1 for v in data.data_validations.dataValidation if v.type == "list"
    }
    import_kind = get_kind(kind)
    tables = import_kind.code_tables(actor=SYSTEM, for_template=True)
    code_columns = [c for c in import_kind.spec.columns if c.type == ColumnType.CODE]
    assert {c.header for c in code_columns} == set(DROP_DOWNS[kind])
    assert len(lists) == len(code_columns)
    for column in code_columns:
        column_letters = letters[column.header]
        source = SOURCE.fullmatch(lists[f"{column_letters}2:{column_letters}1048576"])
        assert source is not None, column.header
        code_letters, last = source.groups()
        offered = [cell.value for (cell,) in codes[f"{code_letters}2:{code_letters}{last}"]]
        assert codes[f"{code_letters}1"].value == tables[column.code_table].title
        assert offered == tables[column.code_table].labels()
        assert DROP_DOWNS[kind][column.header] in offered
