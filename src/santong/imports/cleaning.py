"""Repairs of what Excel and copy-and-paste do to values, a column at a time over a batch.

Safe repairs are made and recorded (row, column, old → new) as warnings: invisible characters
and stray spaces, full-width digits and letters, a trailing ".0", a number in scientific
notation whose digits are all there, dates given as Excel serial numbers or as text in the
usual Chinese formats, the value of a vertically merged cell, and a formula's cached result.
What cannot be repaired without guessing is an error with its reason: an 18-digit number
that went through a floating-point cell has lost its last digits, a code that lost leading
zeros where codes may not start with zero, a cell Excel turned into a date, an Excel error.

Work is done per column over the whole batch, with a fast path for the common clean cell
(one C-level regex search), so a clean column costs little more than a list comprehension.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from django.utils.translation import gettext as _

from santong.imports.codes import AmbiguousCodeError, CodeTable
from santong.imports.headers import Column, ColumnSpec, ColumnType, HeaderMapping
from santong.imports.readers import CellFlag, SheetRow
from santong.imports.report import EXCEL_EPOCH, Issue, Severity, suggest_code

# Excel keeps 15 significant digits of a number; more than that in a numeric cell is noise.
EXCEL_DIGITS: Final = 15
EARLIEST_DATE: Final = date(1900, 1, 1)
EXCEL_ERRORS: Final = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!"}
)

_FULLWIDTH_ASCII: Final = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH_ALNUM: Final = {
    cp: cp - 0xFEE0
    for lo, hi in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for cp in range(lo, hi + 1)
}
_ZERO_WIDTH: Final = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_ODD_SPACES: Final = (
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\t\r\n"
)
_TEXT_TRANSLATE: Final = {
    **_FULLWIDTH_ALNUM,
    **dict.fromkeys(map(ord, _ZERO_WIDTH)),
    **{ord(c): " " for c in _ODD_SPACES},
}
_CODE_TRANSLATE: Final = {
    **_FULLWIDTH_ASCII,
    **dict.fromkeys(map(ord, _ZERO_WIDTH)),
    **{ord(c): " " for c in _ODD_SPACES},
}
# Anything a clean cell does not contain: leading/trailing space, a double space, or any
# character that the translations above would change.
_DIRTY_TEXT_RE: Final = re.compile(
    "^\\s|\\s$|  |[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a" + _ZERO_WIDTH + _ODD_SPACES + "]"
)
_DIRTY_CODE_RE: Final = re.compile("[\\s\uff01-\uff5e" + _ZERO_WIDTH + _ODD_SPACES + "]")
# The same test over a whole column joined by NUL, so a clean column costs one C-level scan.
_DIRTY_TEXT_JOINED_RE: Final = re.compile(
    "(?:^|\x00)\\s|\\s(?:\x00|$)|  |[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"
    + _ZERO_WIDTH
    + _ODD_SPACES
    + "]"
)
_DIRTY_CODE_JOINED_RE: Final = re.compile("[ .eE\\s\uff01-\uff5e" + _ZERO_WIDTH + _ODD_SPACES + "]")
_SPACES_RE: Final = re.compile(" {2,}")
_DIGITS_RE: Final = re.compile(r"[0-9]+")
_TRAILING_ZERO_RE: Final = re.compile(r"([0-9]+)\.0+")
_NUMBERISH_RE: Final = re.compile(r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?")
_ISO_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MOBILE_RE: Final = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE_RE: Final = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}(?:-[0-9]{1,6})?")
_DATE_PATTERNS: Final = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?: \d{1,2}:\d{2}(?::\d{2})?)?"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)


@dataclass
class Batch:
    """A batch of rows in columns: `columns[field][i]` is row `row_numbers[i]`'s value."""

    index: int
    row_numbers: list[int]
    columns: dict[str, list[Any]]

    def __len__(self) -> int:
        return len(self.row_numbers)

    def select(self, positions: Sequence[int]) -> Batch:
        return Batch(
            self.index,
            [self.row_numbers[i] for i in positions],
            {name: [values[i] for i in positions] for name, values in self.columns.items()},
        )

    def records(self) -> list[dict[str, Any]]:
        names = list(self.columns)
        return (
            [
                dict(zip(names, values, strict=True))
                for values in zip(*(self.columns[n] for n in names), strict=True)
            ]
            if names
            else [{} for _ in self.row_numbers]
        )


@dataclass
class CleanResult:
    batch: Batch
    issues: list[Issue] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)  # positions in the batch that are rejected


@dataclass
class _Column:
    """The working state of one column while it is being cleaned."""

    spec: Column
    header: str
    values: list[Any]
    raw: list[str | None]
    flags: list[int] | None
    rows: list[int]
    issues: list[Issue]
    bad: set[int]

    def repair(self, i: int, new: Any, message: str) -> None:
        """Records old → new; a second repair of the same cell extends the first."""
        shown = new.isoformat() if isinstance(new, date) else str(new)
        self.values[i] = new
        last = self.issues[-1] if self.issues else None
        if (
            last is not None
            and last.row == self.rows[i]
            and last.field == self.spec.field
            and last.repaired is not None
        ):
            last.repaired = shown
            last.message = f"{last.message}{message}"
            return
        self.issues.append(
            Issue(
                row=self.rows[i],
                header=self.header,
                value=self.raw[i] or "",
                message=message,
                severity=Severity.WARNING,
                field=self.spec.field,
                repaired=shown,
            )
        )

    def reject(self, i: int, message: str, suggestion: str = "") -> None:
        self.issues.append(
            Issue(
                row=self.rows[i],
                header=self.header,
                value=self.raw[i] or "",
                message=message,
                field=self.spec.field,
                suggestion=suggestion,
            )
        )
        self.values[i] = None
        self.bad.add(i)


def clean_rows(
    spec: ColumnSpec,
    mapping: HeaderMapping,
    rows: Sequence[SheetRow],
    *,
    index: int,
    tables: dict[str, CodeTable],
) -> CleanResult:
    """Cleans one batch of raw rows into typed columns, with every repair and error recorded."""
    positions = mapping.positions()
    row_numbers = [r.number for r in rows]
    issues: list[Issue] = []
    bad: set[int] = set()
    columns: dict[str, list[Any]] = {}
    any_flags = any(r.flags for r in rows)
    width = max(positions.values(), default=-1) + 1
    # Transposed in C: pad each row to the mapped width, then zip the rows into columns.
    padded = [
        r.values if len(r.values) >= width else [*r.values, *([None] * (width - len(r.values)))]
        for r in rows
    ]
    by_position = list(zip(*padded, strict=False)) if padded and width else []
    for column in spec.columns:
        position = positions.get(column.field)
        if position is None:
            columns[column.field] = [None] * len(rows)
            continue
        raw = list(by_position[position])
        flags = [r.flag(position) for r in rows] if any_flags else None
        work = _Column(
            spec=column,
            header=mapping.headers[position] or column.header,
            values=list(raw),
            raw=raw,
            flags=flags,
            rows=row_numbers,
            issues=issues,
            bad=bad,
        )
        if flags is not None:
            _apply_flags(work)
        if not EXCEL_ERRORS.isdisjoint(raw):
            _reject_error_literals(work)
        _CLEANERS[column.type](work, tables)
        if column.required and None in work.values:
            for i, value in enumerate(work.values):
                if value is None and i not in work.bad:
                    work.reject(i, _merged_or_required(work, i))
        columns[column.field] = work.values
    return CleanResult(Batch(index, row_numbers, columns), issues, bad)


def _merged_or_required(work: _Column, i: int) -> str:
    if work.flags is not None and work.flags[i] & CellFlag.MERGED:
        return _("必填项为空：该单元格位于横向合并的单元格中，值只保存在合并区域的第一格。")
    return _("必填项为空。")


# --------------------------------------------------------------------------- flags


def _apply_flags(work: _Column) -> None:
    """What Excel stored in the cell, before the column's own rules run."""
    assert work.flags is not None
    is_date_column = work.spec.type == ColumnType.DATE
    for i, flag in enumerate(work.flags):
        if not flag:
            continue
        value = work.values[i]
        if flag & CellFlag.ERROR:
            work.reject(i, _("单元格是 Excel 错误值 %(value)s。") % {"value": value})
            continue
        if flag & CellFlag.FORMULA_UNCALCULATED:
            work.reject(i, _("单元格是公式但没有计算结果：请在 Excel 中打开并保存后再上传。"))
            continue
        if flag & CellFlag.FORMULA:
            work.issues.append(
                Issue(
                    row=work.rows[i],
                    header=work.header,
                    value=_("公式"),
                    message=_("单元格是公式，已使用其计算结果。"),
                    severity=Severity.WARNING,
                    field=work.spec.field,
                    repaired=_date_text(value) if flag & CellFlag.DATE else str(value),
                )
            )
        if flag & CellFlag.MERGED and value is not None:
            work.issues.append(
                Issue(
                    row=work.rows[i],
                    header=work.header,
                    value="",
                    message=_("单元格位于纵向合并的单元格中，已沿用合并区域的值。"),
                    severity=Severity.WARNING,
                    field=work.spec.field,
                    repaired=_date_text(value) if flag & CellFlag.DATE else str(value),
                )
            )
        if flag & CellFlag.DATE and not is_date_column and value is not None:
            work.reject(
                i,
                _("Excel 把该单元格识别成了日期（%(date)s）：请把此列设为文本格式后重新填写。")
                % {"date": _date_text(value)},
            )


def _reject_error_literals(work: _Column) -> None:
    """An error value typed or pasted as text ("#N/A" in a CSV or in our own report)."""
    for i, value in enumerate(work.values):
        if value in EXCEL_ERRORS and i not in work.bad:
            work.reject(i, _("单元格是 Excel 错误值 %(value)s。") % {"value": value})


def _date_text(value: str) -> str:
    parsed = _serial_date(value)
    return parsed.isoformat() if parsed else value


# --------------------------------------------------------------------------- by column type


def _clean_text(work: _Column, tables: dict[str, CodeTable]) -> None:
    limit = work.spec.max_length
    if work.flags is None and _clean_column(work.values, _DIRTY_TEXT_JOINED_RE, limit):
        return
    dirty = _DIRTY_TEXT_RE.search
    for i, value in enumerate(work.values):
        if value is None:
            continue
        if not isinstance(value, str):
            value = work.values[i] = str(value)
        if work.flags is not None and work.flags[i] & CellFlag.NUMBER:
            value = _integral_text(value) or value
            work.values[i] = value
        if dirty(value):
            new = _SPACES_RE.sub(" ", value.translate(_TEXT_TRANSLATE)).strip()
            if not new:
                work.values[i] = None
                continue
            work.repair(i, new, _scrub_message(value, new))
            value = new
        if limit is not None and len(value) > limit:
            work.reject(i, _("超过 %(limit)s 个字符。") % {"limit": limit})


def _clean_column(values: list[Any], dirty: re.Pattern[str], limit: int | None = None) -> bool:
    """Whether no cell of a column of strings needs any repair, decided in one C-level scan."""
    texts = [v for v in values if v is not None]
    if not texts:
        return True
    try:
        joined = "\x00".join(texts)
    except TypeError:  # a cell some earlier step already turned into a date or a number
        return False
    if limit is not None and max(map(len, texts)) > limit:
        return False
    return dirty.search(joined) is None


def _scrub_message(old: str, new: str) -> str:
    if old.translate(_FULLWIDTH_ASCII) != old and any(0xFF01 <= ord(c) <= 0xFF5E for c in old):
        return _("全角字符已改为半角，并去除了多余的空格或不可见字符。")
    return _("去除了多余的空格或不可见字符。")


def _plain_codes(work: _Column) -> bool:
    """Whether a code-like column is already plain text: nothing to scrub, no number notation
    (a decimal point or an exponent) and no cell that Excel stored as a number."""
    return work.flags is None and _clean_column(work.values, _DIRTY_CODE_JOINED_RE)


def _code_text(work: _Column, i: int, value: str) -> str | None:
    """A code-like cell reduced to its characters: full-width to half-width, no spaces, and a
    number that Excel stored restored to its digits when that is exact."""
    if _DIRTY_CODE_RE.search(value):
        new = "".join(value.translate(_CODE_TRANSLATE).split())
        if not new:
            work.values[i] = None
            return None
        work.repair(i, new, _scrub_message(value, new))
        value = new
    stored_as_number = work.flags is not None and bool(work.flags[i] & CellFlag.NUMBER)
    maybe_number = "." in value or "e" in value or "E" in value
    if stored_as_number or (maybe_number and _NUMBERISH_RE.fullmatch(value)):
        return _restore_digits(work, i, value, stored_as_number)
    return value


def _restore_digits(work: _Column, i: int, value: str, stored_as_number: bool) -> str | None:
    """The digits a number stood for, when no digit is in doubt; otherwise the cell is an error."""
    match = _TRAILING_ZERO_RE.fullmatch(value)
    if match and not stored_as_number:
        # Text such as "510104200805121234.0" still holds every digit: only the ".0" is noise.
        digits = match.group(1)
        work.repair(i, digits, _("去掉了末尾的“.0”。"))
        return digits
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    if number != number.to_integral_value() or number < 0:
        work.reject(i, _("应为数字代码，却是小数或负数 %(value)s。") % {"value": value})
        return None
    digits = str(int(number))
    significant = len(number.normalize().as_tuple().digits)
    too_long_for_excel = stored_as_number and len(digits) > EXCEL_DIGITS
    if too_long_for_excel or significant < len(digits) - _trailing_zeros(value):
        work.reject(
            i,
            _(
                "该数字以数值或科学计数法保存，只保留了前 %(kept)s 位，后面的数字已经丢失，"
                "无法还原：请把此列设为文本格式后重新填写。"
            )
            % {"kept": min(significant, EXCEL_DIGITS)},
        )
        return None
    if digits != value:
        work.repair(i, digits, _("数值格式已还原为数字代码。"))
    return digits


def _trailing_zeros(text: str) -> int:
    """Trailing zeros written out in a plain integer (they are digits the writer gave)."""
    if not text.isdigit():
        return 0
    return len(text) - len(text.rstrip("0"))


def _clean_digits(work: _Column, tables: dict[str, CodeTable]) -> None:
    width = work.spec.width
    plain = _plain_codes(work)
    for i, value in enumerate(work.values):
        if value is None:
            continue
        text = value if plain else _code_text(work, i, str(value))
        if text is None:
            continue
        if not _DIGITS_RE.fullmatch(text):
            work.reject(i, _("应只包含数字。"))
            continue
        if width is not None and len(text) < width:
            lost_zeros = work.flags is not None and bool(work.flags[i] & CellFlag.NUMBER)
            if work.spec.zero_pad and (lost_zeros or work.flags is None):
                padded = text.zfill(width)
                work.repair(i, padded, _("补回了 Excel 去掉的前导 0。"))
                continue
            message = _("应为 %(width)s 位数字，只有 %(length)s 位。") % {
                "width": width,
                "length": len(text),
            }
            if lost_zeros:
                message += _(
                    "若原来以 0 开头，是 Excel 把它当作数字去掉了 0：请把此列设为文本格式。"
                )
            work.reject(i, message)
            continue
        if width is not None and len(text) > width:
            work.reject(
                i,
                _("应为 %(width)s 位数字，却有 %(length)s 位。")
                % {"width": width, "length": len(text)},
            )
            continue
        work.values[i] = text


def _clean_id_number(work: _Column, tables: dict[str, CodeTable]) -> None:
    plain = _plain_codes(work)
    for i, value in enumerate(work.values):
        if value is None:
            continue
        text = value if plain else _code_text(work, i, str(value))
        if text is None:
            continue
        if text.endswith("x"):
            work.repair(i, text[:-1] + "X", _("校验位小写 x 已改为大写 X。"))
            text = text[:-1] + "X"
        work.values[i] = text.upper()


def _clean_phone(work: _Column, tables: dict[str, CodeTable]) -> None:
    plain = _plain_codes(work)
    for i, value in enumerate(work.values):
        if value is None:
            continue
        text = value if plain else _code_text(work, i, str(value))
        if text is None:
            continue
        for prefix in ("+86", "0086"):
            if text.startswith(prefix) and len(text) > 11:
                work.repair(i, text[len(prefix) :], _("去掉了国家代码 %(p)s。") % {"p": prefix})
                text = text[len(prefix) :]
        if _MOBILE_RE.fullmatch(text) or _LANDLINE_RE.fullmatch(text):
            work.values[i] = text
            continue
        lost_zero = (
            work.flags is not None
            and bool(work.flags[i] & CellFlag.NUMBER)
            and _LANDLINE_RE.fullmatch("0" + text) is not None
        )
        if lost_zero:
            work.reject(
                i,
                _("像是丢了区号前的 0 的固定电话（0%(text)s）：请把此列设为文本格式后重新填写。")
                % {"text": text},
            )
        else:
            work.reject(i, _("不是有效的手机号（11位，以1开头）或带区号的固定电话。"))


def _serial_date(value: str) -> date | None:
    try:
        serial = float(value)
    except ValueError:
        return None
    if not 1 <= serial < 2958466:
        return None
    return EXCEL_EPOCH + timedelta(days=int(serial))


def _text_date(text: str) -> date | None:
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def _clean_date(work: _Column, tables: dict[str, CodeTable]) -> None:
    known: dict[str, date] = {}  # dates repeat across a batch: parse each spelling once
    for i, value in enumerate(work.values):
        if value is None:
            continue
        flag = work.flags[i] if work.flags is not None else 0
        text = str(value)
        if not flag:
            hit = known.get(text)
            if hit is not None:
                work.values[i] = hit
                continue
            if _ISO_DATE_RE.fullmatch(text):
                try:
                    parsed = date.fromisoformat(text)
                except ValueError:
                    parsed = None
                if parsed is not None and EARLIEST_DATE <= parsed <= date.today():
                    known[text] = work.values[i] = parsed
                    continue
        if flag & (CellFlag.DATE | CellFlag.NUMBER) and _NUMBERISH_RE.fullmatch(text):
            parsed = _serial_date(text)
            if parsed is None:
                work.reject(i, _("不是有效的日期。"))
            elif flag & CellFlag.DATE:
                work.values[i] = parsed
            else:
                work.repair(
                    i,
                    parsed,
                    _("Excel 日期序列号 %(serial)s 已换算为日期。") % {"serial": text},
                )
            continue
        cleaned = " ".join(text.translate(_CODE_TRANSLATE).split())
        parsed = _text_date(cleaned)
        if parsed is not None and flag & CellFlag.DATE:
            work.values[i] = parsed
            continue
        if parsed is None and cleaned.isdigit() and len(cleaned) == 5:
            parsed = _serial_date(cleaned)
        if parsed is None:
            work.reject(
                i,
                _("不是有效的日期：请写成 2008-05-12、2008/5/12 或 2008年5月12日 这样的格式。"),
            )
            continue
        if parsed < EARLIEST_DATE or parsed > date.today():
            work.reject(i, _("日期 %(date)s 不合理。") % {"date": parsed.isoformat()})
            continue
        if parsed.isoformat() != text:
            work.repair(i, parsed, _("日期格式已统一。"))
        else:
            work.values[i] = parsed


def _clean_code(work: _Column, tables: dict[str, CodeTable]) -> None:
    name = work.spec.code_table
    assert name is not None, f"column {work.spec.field} has no code table"
    table = tables[name]
    known: dict[str, str] = {}  # a code column holds few distinct spellings: resolve each once
    for i, value in enumerate(work.values):
        if value is None:
            continue
        text = str(value)
        code = known.get(text)
        if code is not None and not (work.flags is not None and work.flags[i]):
            work.values[i] = code
            continue
        if work.flags is not None and work.flags[i] & CellFlag.NUMBER:
            text = _integral_text(text) or text
        text = "".join(text.translate(_CODE_TRANSLATE).split())
        if not text:
            work.values[i] = None
            continue
        try:
            entry = table.resolve(text)
        except AmbiguousCodeError as exc:
            work.reject(
                i,
                _("「%(value)s」有多个同名项，请填写代码：%(options)s。")
                % {
                    "value": text,
                    "options": "、".join(f"{e.name}（{e.code}）" for e in exc.candidates),
                },
            )
            continue
        if entry is None:
            entry = table.padded(text)
            if entry is not None:
                work.repair(i, entry.code, _("补回了 Excel 去掉的前导 0。"))
                continue
            work.reject(
                i,
                _("「%(value)s」不是有效的%(table)s。") % {"value": text, "table": table.title},
                suggestion=suggest_code(table, text),
            )
            continue
        if text == value:
            known[text] = entry.code
        work.values[i] = entry.code


def _integral_text(value: str) -> str | None:
    """ "3.0" → "3" for a number cell holding an integer that Excel kept exactly."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if number == number.to_integral_value() and abs(number) < Decimal(10) ** EXCEL_DIGITS:
        return str(int(number))
    return None


_CLEANERS: Final[dict[ColumnType, Callable[[_Column, dict[str, CodeTable]], None]]] = {
    ColumnType.TEXT: _clean_text,
    ColumnType.DIGITS: _clean_digits,
    ColumnType.ID_NUMBER: _clean_id_number,
    ColumnType.PHONE: _clean_phone,
    ColumnType.DATE: _clean_date,
    ColumnType.CODE: _clean_code,
}
