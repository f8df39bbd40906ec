"""Files for the import tests, written the way clerks' files really look.

`messy_schools_xlsx` is a workbook of schools with every Excel artefact the importer must
repair or report; `EXPECTED_ERRORS` names each bad row (as Excel numbers it) and a fragment of
its reason, and `CORRECTIONS` what a clerk would type to fix it.
"""

from pathlib import Path

import xlsxwriter

HEADERS = [
    "序号",
    "学校代码",
    "学校名称",
    "学校类型",
    "办学性质",
    "城乡类型",
    "区县",
    "地址",
    "主校标识码",
]

# Excel rows: 1 is a merged title, 2 the header, data from 3.
EXPECTED_ERRORS = {
    5: "初级中学",  # 学校类型 "初中": unknown, with the nearest valid value suggested
    6: "10 位数字",  # a 9-digit code stored as a number
    8: "重复",  # the same code as row 3
    9: "不在您的管理范围内",  # a school of 武侯区, imported by 锦江区's administrator
    10: "Excel 错误值",  # #N/A in 学校名称
    11: "必填项为空",  # 学校名称 left empty inside a horizontal merge
    12: "主校",  # a teaching point whose host does not exist
    13: "城乡类型",  # "城镇": unknown 城乡类型, suggestion 城区
}
GOOD_ROWS = {3, 4, 7, 14, 15, 16}

# What the clerk types into the report to fix each rejected row (header → value).
CORRECTIONS = {
    5: {"学校类型": "初级中学"},
    6: {"学校代码": "1510104106"},
    8: {"学校代码": "1510104108"},
    9: {"区县": "锦江区", "学校代码": "1510104109"},
    10: {"学校名称": "锦江区第十小学"},
    11: {"学校名称": "锦江区第十一小学"},
    12: {"主校标识码": "1510104101"},
    13: {"城乡类型": "城区"},
}


def messy_schools_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    hidden = book.add_worksheet("旧数据")
    hidden.write_row(0, 0, ["学校代码", "学校名称"])
    hidden.write_row(1, 0, ["1510104999", "不应导入的隐藏表"])
    sheet = book.add_worksheet("学校名单")
    sheet.activate()
    hidden.hide()
    sheet.merge_range(0, 0, 0, len(HEADERS) - 1, "锦江区学校名单（2025年秋）")
    sheet.write_row(1, 0, HEADERS)
    rows: list[list[object]] = [
        # 3: clean, but the code is a number cell (10 digits: exact)
        [1, 1510104101, "锦江区第二小学", "小学", "公办", "城区", "锦江区", "东大街1号", None],
        # 4: full-width digits, NBSP and spaces, county given as a number
        [
            2,
            "１５１０１０４１０２",
            " 锦江区第三小学\u00a0 ",
            "初级中学",
            "民办",
            "镇区",
            510104,
            "",
            None,
        ],
        # 5: unknown 学校类型
        [3, "1510104103", "锦江区第四中学", "初中", "公办", "城区", "锦江区", "", None],
        # 6: a code that lost a digit, stored as a number
        [4, 151010410, "锦江区第五小学", "小学", "公办", "城区", "锦江区", "", None],
        # 7: code as text with a trailing ".0", a zero-width space in the name, 地址 a formula
        [5, "1510104107.0", "锦江区\u200b第六小学", "小学", "公办", "乡村", "锦江区", None, None],
        # 8: duplicate of row 3's code
        [6, "1510104101", "锦江区第二小学（重复）", "小学", "公办", "城区", "锦江区", "", None],
        # 9: outside the importer's county
        [7, "1510107109", "武侯区第九小学", "小学", "公办", "城区", "武侯区", "", None],
        # 10: an Excel error value
        [8, "1510104110", None, "小学", "公办", "城区", "锦江区", "", None],
        # 11: name missing: merged with the cell to its left
        [9, "1510104111", None, "小学", "公办", "城区", "锦江区", "", None],
        # 12: teaching point naming a host that does not exist
        [10, "1510104112", "锦江区某教学点", "教学点", "公办", "乡村", "锦江区", "", "1510104999"],
        # 13: unknown 城乡类型
        [11, "1510104113", "锦江区第十三小学", "小学", "公办", "城镇", "锦江区", "", None],
        # 14: a teaching point whose host is row 3 of this very file
        [
            12,
            "1510104114",
            "锦江区第二小学花园教学点",
            "教学点",
            "公办",
            "乡村",
            "锦江区",
            "",
            1510104101,
        ],
        # 15, 16: 城乡类型 merged vertically over two rows
        [13, "1510104115", "锦江区第十五小学", "小学", "公办", "城区", "锦江区", "", None],
        [14, "1510104116", "锦江区第十六小学", "小学", "公办", None, "锦江区", "", None],
    ]
    for offset, values in enumerate(rows):
        excel_row = offset + 2
        for column, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, int):
                sheet.write_number(excel_row, column, value)
            else:
                sheet.write_string(excel_row, column, str(value))
    sheet.write_formula(6, 7, '="东大街"&"7号"', None, "东大街7号")  # row 7: cached result
    sheet.write_formula(9, 2, "=NA()", None, "#N/A")  # row 10: #N/A
    sheet.merge_range(10, 1, 10, 2, "1510104111")  # row 11: code merged over the name cell
    sheet.merge_range(14, 5, 15, 5, "城区")  # rows 15-16: 城乡类型 merged vertically
    book.close()
    return path
