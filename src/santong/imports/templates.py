"""Downloadable import templates (`.xlsx`): the kind's Chinese headers, an instructions sheet,
and drop-down lists for code-table columns whose values sit on a hidden sheet.

Code-like columns are formatted as text, so Excel keeps ID numbers, codes and phone numbers
as typed instead of turning them into floating-point numbers, the commonest artefact of all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import xlsxwriter
from django.utils.translation import gettext as _

from santong.core.actors import Actor
from santong.imports.codes import CodeTable
from santong.imports.headers import ColumnType
from santong.imports.kinds import ImportKind
from santong.imports.readers import column_letters

TEMPLATE_ROWS: Final = 1_048_575  # every row below the header
CODES_SHEET: Final = "代码表"
INSTRUCTIONS_SHEET: Final = "说明"


def _format_hint(column_type: ColumnType, width: int | None) -> str:
    hints = {
        ColumnType.TEXT: _("文字"),
        ColumnType.DIGITS: _("%(width)s位数字（文本格式）") % {"width": width}
        if width
        else _("数字（文本格式）"),
        ColumnType.ID_NUMBER: _("证件号码（文本格式，18位身份证号的最后一位可以是X）"),
        ColumnType.PHONE: _("11位手机号，或带区号的固定电话"),
        ColumnType.DATE: _("日期，如 2008-05-12"),
        ColumnType.CODE: _("从下拉列表中选择"),
    }
    return hints[column_type]


def write_template(kind: ImportKind, out: Path, *, actor: Actor) -> Path:
    """Writes `kind`'s template to `out`; drop-downs list what `actor` may use."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tables: dict[str, CodeTable] = kind.code_tables(actor=actor, for_template=True)
    book = xlsxwriter.Workbook(str(out))
    text = book.add_format({"num_format": "@"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    required = book.add_format({"bold": True, "font_color": "#C00000", "bg_color": "#FDE9D9"})
    optional = book.add_format({"bold": True, "bg_color": "#F2F2F2"})
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    data = book.add_worksheet(str(kind.label))
    instructions = book.add_worksheet(INSTRUCTIONS_SHEET)
    codes = book.add_worksheet(CODES_SHEET)
    codes.hide()

    code_ranges: dict[str, str] = {}
    for position, (name, table) in enumerate(sorted(tables.items())):
        letters = column_letters(position)
        labels = table.labels()
        codes.write_string(0, position, table.title, bold)
        for offset, label in enumerate(labels, start=1):
            codes.write_string(offset, position, label)
        last = max(len(labels), 1) + 1
        code_ranges[name] = f"='{CODES_SHEET}'!${letters}$2:${letters}${last}"

    for position, column in enumerate(kind.spec.columns):
        data.write_string(0, position, column.header, required if column.required else optional)
        cell_format = date if column.type == ColumnType.DATE else text
        data.set_column(position, position, max(12, len(column.header) * 2 + 4), cell_format)
        if column.required:
            data.write_comment(0, position, _("必填"))
        if column.type == ColumnType.CODE and column.code_table in code_ranges:
            data.data_validation(
                1,
                position,
                TEMPLATE_ROWS,
                position,
                {
                    "validate": "list",
                    "source": code_ranges[column.code_table],
                    "error_title": column.header,
                    "error_message": _("请从下拉列表中选择。"),
                },
            )
        elif column.type == ColumnType.DIGITS and column.width:
            data.data_validation(
                1,
                position,
                TEMPLATE_ROWS,
                position,
                {
                    "validate": "length",
                    "criteria": "==",
                    "value": column.width,
                    "error_title": column.header,
                    "error_message": _("应为 %(width)s 位数字。") % {"width": column.width},
                },
            )
    data.freeze_panes(1, 0)
    data.activate()

    instructions.set_column(0, 0, 18)
    instructions.set_column(1, 1, 8)
    instructions.set_column(2, 2, 34)
    instructions.set_column(3, 3, 70, wrap)
    line = 0
    instructions.write_string(line, 0, _("%(label)s导入模板") % {"label": kind.label}, bold)
    general = [
        _("在第一个工作表中从第2行起每行填写一条记录，不要修改表头；列的顺序可以调整。"),
        _("带颜色的红字列为必填；代码类的列请从下拉列表中选择。"),
        _("证件号码、代码和电话已设为文本格式，请勿改为数字格式，否则 Excel 会丢失位数。"),
        _("导入后会生成报告：被拒绝的行带有“错误原因”一列，改正后可以直接上传该报告。"),
        *(str(line_text) for line_text in kind.instructions()),
    ]
    for sentence in general:
        line += 1
        instructions.write_string(line, 0, sentence)
    line += 2
    instructions.write_row(line, 0, [_("列名"), _("必填"), _("格式"), _("说明")], bold)
    for column in kind.spec.columns:
        line += 1
        instructions.write_string(line, 0, column.header)
        instructions.write_string(line, 1, _("是") if column.required else _("否"))
        instructions.write_string(line, 2, _format_hint(column.type, column.width))
        help_text = str(column.help)
        if column.aliases:
            help_text += _("（也可用表头：%(aliases)s）") % {"aliases": "、".join(column.aliases)}
        instructions.write_string(line, 3, help_text)
    book.close()
    return out
