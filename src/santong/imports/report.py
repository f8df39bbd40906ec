"""The row-level report: every rejected row with its reasons, every automatic repair, and a
downloadable `.xlsx` of the original rows with 错误原因 and 自动修正 added, so a clerk can fix the
rows in place and upload the same file again (those added columns are ignored on upload)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import xlsxwriter
from django.utils.translation import gettext as _

from santong.imports.codes import CodeTable, normalize_code_text
from santong.imports.headers import REPORT_ERROR_HEADER, REPORT_REPAIR_HEADER, REPORT_ROW_HEADER
from santong.imports.readers import CellFlag, SheetRow

EXCEL_MAX_ROWS: Final = 1_048_576
EXCEL_EPOCH: Final = date(1899, 12, 30)


class Severity(StrEnum):
    ERROR = "error"  # the row is rejected
    WARNING = "warning"  # the row goes in; something was repaired or deserves a look


@dataclass(slots=True)
class Issue:
    """One finding about one cell (or the whole row when `header` is empty)."""

    row: int
    header: str
    value: str
    message: str
    severity: Severity = Severity.ERROR
    field: str = ""
    suggestion: str = ""
    repaired: str | None = None

    def text(self) -> str:
        head = f"{self.header}：" if self.header else ""
        tail = (
            _("（是否应为「%(value)s」？）") % {"value": self.suggestion} if self.suggestion else ""
        )
        return f"{head}{self.message}{tail}"


def suggest_code(table: CodeTable, value: str) -> str:
    """The nearest valid value of `table` to an unknown `value`, or "" when nothing is close."""
    text = normalize_code_text(value)
    if not text:
        return ""
    for entry in table.entries:
        name = normalize_code_text(entry.name)
        if text in name or name in text:
            return entry.name
    names = {normalize_code_text(c): c for c in table.candidates()}
    close = difflib.get_close_matches(text, list(names), n=1, cutoff=0.5)
    if not close:
        return ""
    hit = names[close[0]]
    for entry in table.entries:
        if hit in (entry.code, entry.name):
            return entry.name
    return hit


def display_value(row: SheetRow, column: int) -> str:
    """A cell as the clerk typed it: dates shown as dates, everything else as stored."""
    if column >= len(row.values):
        return ""
    value = row.values[column]
    if value is None:
        return ""
    if row.flag(column) & CellFlag.DATE:
        try:
            return (EXCEL_EPOCH + timedelta(days=int(float(value)))).isoformat()
        except (ValueError, OverflowError):
            return value
    return value


class ReportWriter:
    """Streams the report workbook (constant memory): rows first, then repairs, then a summary.

    Sheet 1 holds the original rows that were rejected or repaired, under the file's own header
    row and column order, so the clerk can correct them and upload this sheet as it is.
    """

    def __init__(self, path: Path, *, headers: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self._text = self._book.add_format({"num_format": "@"})
        self._bold = self._book.add_format({"bold": True, "bg_color": "#F2F2F2"})
        self._error = self._book.add_format({"font_color": "#C00000", "num_format": "@"})
        self._rows = self._book.add_worksheet(_("错误行"))
        self._repairs = self._book.add_worksheet(_("自动修正"))
        self._summary = self._book.add_worksheet(_("概要"))
        self._width = len(headers)
        extra = [REPORT_ERROR_HEADER, REPORT_REPAIR_HEADER, REPORT_ROW_HEADER]
        self._rows.write_row(0, 0, [*headers, *extra], self._bold)
        self._rows.set_column(0, self._width - 1, 14, self._text)
        self._rows.set_column(self._width, self._width + 1, 48, self._text)
        self._rows.freeze_panes(1, 0)
        self._repairs.write_row(
            0, 0, [_("原行号"), _("列"), _("原值"), _("修正为"), _("说明")], self._bold
        )
        self._repairs.set_column(0, 0, 8)
        self._repairs.set_column(1, 3, 22, self._text)
        self._repairs.set_column(4, 4, 60)
        self._row_count = 0
        self._repair_count = 0
        self.truncated = False

    def add_row(self, row: SheetRow, issues: list[Issue]) -> None:
        if self._row_count + 1 >= EXCEL_MAX_ROWS:
            self.truncated = True
            return
        self._row_count += 1
        at = self._row_count
        width = max(self._width, len(row.values))
        for column in range(width):
            text = display_value(row, column)
            if text:
                self._rows.write_string(at, column, text, self._text)
        errors = "；".join(i.text() for i in issues if i.severity == Severity.ERROR)
        repairs = "；".join(i.text() for i in issues if i.severity == Severity.WARNING)
        if errors:
            self._rows.write_string(at, self._width, errors, self._error)
        if repairs:
            self._rows.write_string(at, self._width + 1, repairs, self._text)
        self._rows.write_number(at, self._width + 2, row.number)

    def add_repairs(self, issues: list[Issue]) -> None:
        for issue in issues:
            if issue.repaired is None:
                continue
            if self._repair_count + 1 >= EXCEL_MAX_ROWS:
                self.truncated = True
                return
            self._repair_count += 1
            at = self._repair_count
            self._repairs.write_number(at, 0, issue.row)
            self._repairs.write_string(at, 1, issue.header)
            self._repairs.write_string(at, 2, issue.value)
            self._repairs.write_string(at, 3, issue.repaired)
            self._repairs.write_string(at, 4, issue.message)

    def close(self, summary: list[tuple[str, Any]], notes: list[str]) -> None:
        line = 0
        for label, value in summary:
            self._summary.write_string(line, 0, str(label), self._bold)
            self._summary.write(line, 1, value)
            line += 1
        if self.truncated:
            notes = [*notes, _("问题行超过 Excel 的行数上限，报告只列出了前面的部分。")]
        if notes:
            line += 1
            self._summary.write_string(line, 0, _("说明"), self._bold)
            for note in notes:
                line += 1
                self._summary.write_string(line, 0, note)
        self._summary.set_column(0, 0, 24)
        self._summary.set_column(1, 1, 60)
        self._book.close()
