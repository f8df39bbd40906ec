"""Columns by name, not by position: each import kind declares its columns, and a file's header
row is matched against their Chinese headers and the aliases used by other systems' exports.

A file whose headers do not all match yields a `HeaderMapping` listing what matched, the
unknown headers and the missing required columns; the command line refuses with those lists,
and the web shows them as a mapping step whose answer goes back through `apply_mapping`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class ColumnType(StrEnum):
    TEXT = "text"  # free text: spaces and invisible characters cleaned
    DIGITS = "digits"  # a numeric code kept as text (学校标识码): Excel's number artefacts repaired
    ID_NUMBER = "id_number"  # an identity document number
    PHONE = "phone"  # a mobile or landline number
    DATE = "date"
    CODE = "code"  # a value from a code table, by code or by name


@dataclass(frozen=True)
class Column:
    """One column of an import kind."""

    field: str
    header: str  # the header written in the template, in Chinese
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    aliases: tuple[str, ...] = ()
    code_table: str | None = None
    width: int | None = None  # DIGITS: exact number of digits
    zero_pad: bool = False  # DIGITS: codes may start with 0, so Excel may have dropped them
    max_length: int | None = None
    help: _StrOrPromise = ""  # one line for the template's instructions sheet


@dataclass(frozen=True)
class ColumnSpec:
    """The columns of one import kind and the natural key that identifies a row's record."""

    columns: tuple[Column, ...]
    key: tuple[str, ...]

    def __post_init__(self) -> None:
        names = [c.field for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError("duplicate field in column spec")
        if not set(self.key) <= set(names):
            raise ValueError("natural key names an unknown field")

    @property
    def by_field(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns}

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def lookup(self) -> dict[str, str]:
        """Normalised header or alias → field."""
        table: dict[str, str] = {}
        for column in self.columns:
            for name in (column.header, column.field, *column.aliases):
                table.setdefault(normalize_header(name), column.field)
        return table


_REQUIRED_MARKS_RE: Final = re.compile(r"[（(]\s*(必填|选填|可选|必须|非必填)\s*[)）]")
_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

# Headers that carry no data: a running number, remarks, and the columns our own error report
# adds, so a clerk can fix the report and upload it as it is.
REPORT_ROW_HEADER: Final = "原行号"
REPORT_ERROR_HEADER: Final = "错误原因"
REPORT_REPAIR_HEADER: Final = "自动修正"
IGNORED_HEADERS: Final = frozenset(
    {"序号", "编号", "备注", "说明", REPORT_ROW_HEADER, REPORT_ERROR_HEADER, REPORT_REPAIR_HEADER}
)


def normalize_header(text: str) -> str:
    """Full-width to half-width (NFKC), no spaces or invisible characters, no required marks."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _REQUIRED_MARKS_RE.sub("", text)
    text = "".join(text.split()).strip("*:：")
    return text.lower()


@dataclass
class HeaderMapping:
    """How a file's header row maps onto a kind's columns.

    `fields[i]` is the field that file column `i` fills, or None when it is ignored.
    """

    header_row: int  # the row number the header was found on, as Excel shows it
    headers: list[str]
    fields: list[str | None]
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # headers of required columns not found
    duplicated: list[str] = field(default_factory=list)  # headers of columns given twice

    @property
    def complete(self) -> bool:
        return not self.missing and not self.duplicated

    @property
    def exact(self) -> bool:
        return self.complete and not self.unknown

    def positions(self) -> dict[str, int]:
        """Field → the file column it comes from."""
        return {name: i for i, name in enumerate(self.fields) if name is not None}

    def to_json(self) -> dict[str, Any]:
        return {
            "header_row": self.header_row,
            "headers": self.headers,
            "fields": self.fields,
            "unknown": self.unknown,
            "missing": self.missing,
            "duplicated": self.duplicated,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HeaderMapping:
        return cls(
            header_row=int(data["header_row"]),
            headers=list(data["headers"]),
            fields=list(data["fields"]),
            unknown=list(data.get("unknown", [])),
            missing=list(data.get("missing", [])),
            duplicated=list(data.get("duplicated", [])),
        )

    def describe(self) -> str:
        """The problems in one paragraph of Chinese, for the command line and the job page."""
        parts: list[str] = []
        if self.missing:
            parts.append(_("缺少必填列：%(columns)s") % {"columns": "、".join(self.missing)})
        if self.unknown:
            parts.append(_("无法识别的列：%(columns)s") % {"columns": "、".join(self.unknown)})
        if self.duplicated:
            parts.append(_("重复的列：%(columns)s") % {"columns": "、".join(self.duplicated)})
        return "；".join(parts)


def _cell_text(value: str | None) -> str:
    return "" if value is None else str(value).strip()


def map_headers(
    spec: ColumnSpec, headers: Sequence[str | None], *, header_row: int
) -> HeaderMapping:
    """Matches each header by name or alias; reports unknown, missing and duplicated columns."""
    lookup = spec.lookup()
    ignored = {normalize_header(h) for h in IGNORED_HEADERS}
    texts = [_cell_text(h) for h in headers]
    fields: list[str | None] = []
    seen: set[str] = set()
    unknown: list[str] = []
    duplicated: list[str] = []
    by_field = spec.by_field
    for text in texts:
        key = normalize_header(text)
        name = lookup.get(key) if key else None
        if name is None:
            if key and key not in ignored:
                unknown.append(text)
            fields.append(None)
        elif name in seen:
            duplicated.append(by_field[name].header)
            fields.append(None)
        else:
            seen.add(name)
            fields.append(name)
    missing = [c.header for c in spec.required if c.field not in seen]
    return HeaderMapping(header_row, texts, fields, unknown, missing, duplicated)


def find_header_row(
    spec: ColumnSpec, rows: Iterable[tuple[int, Sequence[str | None]]]
) -> tuple[int, Sequence[str | None]] | None:
    """The first of the leading rows with the most recognised headers (title rows above it are
    common: "XX学校2025年秋季学生名单" merged across the top)."""
    lookup = spec.lookup()
    best: tuple[int, int, Sequence[str | None]] | None = None
    for number, values in rows:
        score = sum(1 for v in values if normalize_header(_cell_text(v)) in lookup)
        if score and (best is None or score > best[0]):
            best = (score, number, values)
    return (best[1], best[2]) if best else None


def apply_mapping(
    spec: ColumnSpec, mapping: HeaderMapping, choices: dict[int, str | None]
) -> HeaderMapping:
    """A mapping with the user's choices (file column → field, or None to ignore) applied.

    Choices naming an unknown field raise ValueError; the result reports what is still
    missing or given twice, so the caller can show the step again.
    """
    known = spec.by_field
    fields = list(mapping.fields)
    for position, name in choices.items():
        if not 0 <= position < len(fields):
            raise ValueError(f"no column {position} in the file")
        if name is not None and name not in known:
            raise ValueError(f"unknown field {name!r}")
        fields[position] = name
    counts: dict[str, int] = {}
    for name in fields:
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    duplicated = [known[n].header for n, count in counts.items() if count > 1]
    missing = [c.header for c in spec.required if c.field not in counts]
    unknown = [
        mapping.headers[i]
        for i, name in enumerate(fields)
        if name is None
        and mapping.headers[i]
        and i not in choices
        and mapping.headers[i] in mapping.unknown
    ]
    return HeaderMapping(mapping.header_row, mapping.headers, fields, unknown, missing, duplicated)


def mapping_choices(spec: ColumnSpec) -> list[tuple[str, str]]:
    """(field, Chinese header) pairs the mapping step offers for each file column."""
    return [(c.field, c.header) for c in spec.columns]
