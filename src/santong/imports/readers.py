"""Streaming readers for the files clerks upload: `.xlsx`, `.xls` and `.csv`, one row at a time.

Why the `.xlsx` reader is our own and not python-calamine or openpyxl: calamine materialises the
whole sheet before its first row comes out (1,000,000 rows × 12 columns peaked at 1.26 GB RSS),
and openpyxl's read-only mode streams but took 53–95 s for the same sheet. Ours scans the
decompressed sheet XML a chunk at a time with regular expressions (see `_sheet_rows`), holding
one chunk and the row being read, never an element tree: about 2.5 times the rows a
CPU-second of the standard library's `iterparse`, which it replaced (88,000 against 35,000
on bench/import.py's roster). What does grow with the file is the shared-string table, which
Excel places before the sheet and which cells index into at random; it is held compactly
(UTF-8 bytes and 8-byte offsets, see `SharedStrings`).

`.xls` (BIFF, still what many bureaus send) goes through calamine: that format ends at 65,536
rows, so holding one sheet in memory is bounded by the format itself.

Each row carries the cells as raw text plus, for the few cells that are not plain text, a flag
saying what Excel stored there (a number, a date, a formula's cached result, an error, part of
a merged range), so the cleaner can repair or report what Excel did to the value.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import zipfile
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Final
from xml.etree import ElementTree as ET

from django.utils.translation import gettext as _

CSV_SNIFF_BYTES: Final = 64 * 1024
SCAN_CHUNK_BYTES: Final = 1 << 20


class ImportFileError(ValueError):
    """The file cannot be read at all (not a workbook, wrong encoding, no such sheet)."""


class CellFlag:
    """Bits saying what Excel stored in a cell. Plain ints, not an IntFlag: enum arithmetic
    runs in Python and showed up as the top cost of cleaning a million rows."""

    NUMBER: Final = 1  # Excel stored a number: the text is the stored double, digits may be lost
    DATE: Final = 2  # a number shown as a date (serial day count), or an ISO date from `.xls`
    FORMULA: Final = 4  # the text is the formula's cached result
    FORMULA_UNCALCULATED: Final = 8  # a formula that was never calculated: there is no value
    ERROR: Final = 16  # an Excel error value such as #N/A
    BOOLEAN: Final = 32
    MERGED: Final = 64  # inside a merged range, not its top-left cell


@dataclass(slots=True)
class SheetRow:
    """One row as the clerk sees it: `number` is the row number Excel shows (1-based)."""

    number: int
    values: list[str | None]
    flags: dict[int, int] | None = None  # column index -> CellFlag bits, plain text cells absent

    def flag(self, column: int) -> int:
        return self.flags.get(column, 0) if self.flags else 0


@dataclass(frozen=True)
class MergedRange:
    first_row: int
    first_col: int
    last_row: int
    last_col: int

    @property
    def ref(self) -> str:
        return (
            f"{cell_ref(self.first_row, self.first_col)}:{cell_ref(self.last_row, self.last_col)}"
        )

    @property
    def is_vertical(self) -> bool:
        return self.first_col == self.last_col


@dataclass
class TableFile:
    """An opened source: its sheet (or CSV), notes about what was skipped, and its rows."""

    path: Path
    format: str  # "xlsx", "xls" or "csv"
    sheet_name: str
    notes: list[str] = field(default_factory=list)
    merged: list[MergedRange] = field(default_factory=list)
    estimated_rows: int | None = None
    encoding: str | None = None
    _rows: Iterator[SheetRow] | None = None
    _closers: list[IO[bytes] | IO[str] | zipfile.ZipFile] = field(default_factory=list)
    _share_read: Callable[[], float] | None = None  # a CSV's: the share of its bytes decoded

    def rows(self) -> Iterator[SheetRow]:
        assert self._rows is not None
        return self._rows

    def estimate_rows(self, last_row: int) -> int | None:
        """The number of the last row as far as it is known once the row numbered `last_row`
        has been read, never below it. A workbook states it up front. A CSV does not, and
        counting its lines would mean reading it twice: its number is projected from the share
        of the file's bytes decoded so far. The decoder runs up to a chunk ahead of the rows,
        so once it has reached the end of the file the last projection stands (a file smaller
        than a chunk has none) until the rows read reach it."""
        if self._share_read is not None:
            share = self._share_read()
            if 0 < share < 1:
                self.estimated_rows = round(last_row / share)
        return max(last_row, self.estimated_rows) if self.estimated_rows else None

    def close(self) -> None:
        for closer in self._closers:
            closer.close()
        self._closers.clear()

    def __enter__(self) -> TableFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_table(path: str | Path, *, sheet: str | None = None) -> TableFile:
    """Opens `path` by its content (zip → xlsx, OLE → xls, otherwise CSV) for streaming."""
    path = Path(path)
    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, sheet)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        return _open_xls(path, sheet)
    if path.suffix.lower() in {".xlsx", ".xlsm", ".xls"}:
        raise ImportFileError(_("文件不是有效的 Excel 工作簿，可能已损坏。"))
    return _open_csv(path)


# --------------------------------------------------------------------------- cell references

_REF_RE: Final = re.compile(r"([A-Z]+)([0-9]+)")


def column_index(letters: str) -> int:
    """0-based column index of Excel column letters ("A" → 0, "AA" → 26)."""
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_ref(row: int, col: int) -> str:
    return f"{column_letters(col)}{row}"


def parse_ref(ref: str) -> tuple[int, int]:
    """(1-based row, 0-based column) of a reference like "B7"."""
    match = _REF_RE.fullmatch(ref.replace("$", ""))
    if match is None:
        raise ValueError(ref)
    return int(match.group(2)), column_index(match.group(1))


# --------------------------------------------------------------------------- xlsx

_MAIN_NS: Final = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_REL_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL_NS: Final = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
# Built-in number formats that display dates, including the zh-CN ones (27–36, 50–58).
_BUILTIN_DATE_FORMATS: Final = frozenset(
    {14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47}
    | set(range(50, 59))
)
_FORMAT_LITERALS_RE: Final = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')
_ESCAPE_RE: Final = re.compile(r"_x([0-9A-Fa-f]{4})_")
_MERGE_RE: Final = re.compile(
    rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z$]+[0-9$]+(?::[A-Z$]+[0-9$]+)?)"'
)
_DIMENSION_RE: Final = re.compile(
    rb'<(?:\w+:)?dimension\s[^>]*?ref="([A-Z]+[0-9]+)(?::([A-Z]+[0-9]+))?"'
)


def _unescape(text: str) -> str:
    """Excel writes control characters as `_xHHHH_` inside strings."""
    if "_x" not in text:
        return text
    return _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text)


def is_date_format(code: str) -> bool:
    """Whether a number format code displays a date (y, m with d, or d), ignoring literals."""
    bare = _FORMAT_LITERALS_RE.sub("", code).lower()
    if not bare or bare == "general":
        return False
    return "y" in bare or "d" in bare or ("m" in bare and "h" not in bare and "s" not in bare)


class SharedStrings:
    """The workbook's shared-string table as one UTF-8 buffer plus offsets.

    A Python `str` per entry costs 60–90 bytes before its text; this costs the text's UTF-8
    bytes plus 8, which is what keeps a million-row workbook of distinct names and ID numbers
    in tens of megabytes. Entries are decoded on access.
    """

    def __init__(self) -> None:
        self._data = bytearray()
        self._offsets = array("Q", [0])

    def extend(self, texts: list[str]) -> None:
        encoded = [text.encode() for text in texts]
        self._offsets.pop()
        self._offsets.extend(accumulate(map(len, encoded), initial=len(self._data)))
        self._data += b"".join(encoded)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        offsets = self._offsets
        return self._data[offsets[index] : offsets[index + 1]].decode()

    @property
    def nbytes(self) -> int:
        return len(self._data) + self._offsets.itemsize * len(self._offsets)


@dataclass
class _SheetEntry:
    name: str
    target: str
    state: str
    is_worksheet: bool


def _resolve_target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for part in PurePosixPath(PurePosixPath(base).parent, target).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _read_xml(archive: zipfile.ZipFile, name: str) -> ET.Element | None:
    try:
        with archive.open(name) as handle:
            return ET.parse(handle).getroot()
    except KeyError:
        return None


def _rels(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, resolved target) for a package part."""
    parent = PurePosixPath(part).parent
    root = _read_xml(archive, f"{parent}/_rels/{PurePosixPath(part).name}.rels")
    found: dict[str, tuple[str, str]] = {}
    if root is None:
        return found
    for rel in root.iter(f"{{{_REL_NS}}}Relationship"):
        found[rel.get("Id", "")] = (
            rel.get("Type", ""),
            _resolve_target(part, rel.get("Target", "")),
        )
    return found


# The sheet and the shared-string table are scanned with regular expressions over the
# decompressed XML, a chunk at a time, instead of being parsed into elements: building an
# element per cell was most of the cost of reading a workbook. SpreadsheetML cells are flat,
# so the scanner needs only the tags below, under the prefix (usually none) the part gives
# its namespace. Comments, processing instructions and CDATA sections, which no spreadsheet
# writer puts inside a row, are rewritten to plain text before a row that has one is scanned.
_PREFIX: Final = r"(?:[A-Za-z_][\w.-]*:)?"
_SHEET_DATA_RE: Final = re.compile(r"<([A-Za-z_][\w.-]*:)?sheetData\b[^>]*?(/?)>")
_ROW_NUMBER_RE: Final = re.compile(r"""\br\s*=\s*["']([0-9]+)["']""")
_ATTRIBUTE_RE: Final = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_V_RE: Final = re.compile(rf"<{_PREFIX}v\b[^>]*?(?:/>|>(.*?)</{_PREFIX}v\s*>)", re.S)
_F_RE: Final = re.compile(rf"<{_PREFIX}f[\s/>]")
_IS_RE: Final = re.compile(rf"<{_PREFIX}is\b[^>]*?(?:/>|>(.*?)</{_PREFIX}is\s*>)", re.S)
_T_RE: Final = re.compile(rf"<{_PREFIX}t\b[^>]*?(?:/>|>(.*?)</{_PREFIX}t\s*>)", re.S)
_PHONETIC_RE: Final = re.compile(rf"<{_PREFIX}rPh\b.*?</{_PREFIX}rPh\s*>", re.S)
# A shared string: a lone run of text (group 1), or anything else (group 2).
_SI_RE: Final = re.compile(
    rf"<si><t>([^<]*)</t></si>|<{_PREFIX}si\b[^>]*?(?:/>|>(.*?)</{_PREFIX}si\s*>)", re.S
)
_SPECIAL_RE: Final = re.compile(r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[(.*?)\]\]>", re.S)
_ENTITY_RE: Final = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|amp|lt|gt|quot|apos);")
_ENTITIES: Final = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_ENCODING_RE: Final = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([\w.-]+)["']""")


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] != "#":
        return _ENTITIES[name]
    return chr(int(name[2:], 16) if name[1] == "x" else int(name[1:]))


def _xml_text(raw: str) -> str:
    """Character data as an XML parser reports it: line ends normalised, references resolved."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in raw:
        raw = _ENTITY_RE.sub(_entity, raw)
    return raw


def _plain_markup(match: re.Match[str]) -> str:
    cdata = match.group(1)
    if cdata is None:
        return ""
    return cdata.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _string_item(inner: str | None) -> str:
    """The text of a string item (`si` or `is`): its `t` runs, without phonetic guides."""
    if not inner:
        return ""
    if inner.startswith("<t>") and inner.endswith("</t>") and inner.count("<") == 2:
        text = inner[3:-4]
    else:
        if "<!" in inner or "<?" in inner:
            inner = _SPECIAL_RE.sub(_plain_markup, inner)
        if "rPh" in inner:
            inner = _PHONETIC_RE.sub("", inner)
        text = "".join(_T_RE.findall(inner))
    return _unescape(_xml_text(text))


def _xml_chunks(handle: IO[bytes]) -> Iterator[str]:
    """A part's XML as text, a chunk at a time, in the encoding its declaration names."""
    first = handle.read(SCAN_CHUNK_BYTES)
    if first.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        declared = _ENCODING_RE.match(first)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError as exc:
        raise ImportFileError(_("无法识别的工作簿格式。")) from exc
    chunk = first
    try:
        while chunk:
            yield decoder.decode(chunk)
            chunk = handle.read(SCAN_CHUNK_BYTES)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("工作表内容不是有效的文本，文件可能已损坏。")) from exc


def _load_shared_strings(archive: zipfile.ZipFile, name: str | None) -> SharedStrings:
    table = SharedStrings()
    if name is None or name not in archive.NameToInfo:
        return table
    rest = ""
    with archive.open(name) as handle:
        for chunk in _xml_chunks(handle):
            text = rest + chunk
            last = 0
            # An item cut by the chunk's end is matched once the next chunk completes it.
            items: list[str] = []
            for match in _SI_RE.finditer(text):
                last = match.end()
                plain, inner = match.groups()
                if plain is None:
                    items.append(_string_item(inner))
                elif "&" in plain or "\r" in plain or "_x" in plain:
                    items.append(_unescape(_xml_text(plain)))
                else:
                    items.append(plain)
            table.extend(items)
            rest = text[last:]
    return table


def _date_styles(archive: zipfile.ZipFile, name: str | None, ns: str) -> frozenset[int]:
    """Indexes of the cell formats (`s` attribute) that display numbers as dates."""
    root = _read_xml(archive, name) if name else None
    if root is None:
        return frozenset()
    q = f"{{{ns}}}"
    custom = {
        int(fmt.get("numFmtId", "0")): fmt.get("formatCode", "") for fmt in root.iter(q + "numFmt")
    }
    cell_xfs = root.find(q + "cellXfs")
    if cell_xfs is None:
        return frozenset()
    found: set[int] = set()
    for index, xf in enumerate(cell_xfs.findall(q + "xf")):
        fmt_id = int(xf.get("numFmtId", "0"))
        if fmt_id in custom:
            if is_date_format(custom[fmt_id]):
                found.add(index)
        elif fmt_id in _BUILTIN_DATE_FORMATS:
            found.add(index)
    return frozenset(found)


def _scan_sheet(archive: zipfile.ZipFile, name: str) -> tuple[list[MergedRange], int | None]:
    """Merged ranges (written after the cells) and the declared last row, in one cheap pass."""
    merged: list[MergedRange] = []
    last_row: int | None = None
    tail = b""
    first = True
    with archive.open(name) as handle:
        while chunk := handle.read(SCAN_CHUNK_BYTES):
            window = tail + chunk
            if first:
                match = _DIMENSION_RE.search(window)
                if match:
                    last_row = parse_ref(match.group(2 if match.group(2) else 1).decode())[0]
                first = False
            if b"mergeCell" in window:
                for match in _MERGE_RE.finditer(window):
                    ref = match.group(1).decode()
                    start, _colon, end = ref.partition(":")
                    r1, c1 = parse_ref(start)
                    r2, c2 = parse_ref(end or start)
                    candidate = MergedRange(r1, c1, r2, c2)
                    if not merged or merged[-1] != candidate:
                        merged.append(candidate)
                # Keep the unfinished tag at the end of the window for the next chunk.
                cut = window.rfind(b"<")
                tail = window[cut:] if cut >= 0 else b""
            else:
                tail = window[-200:]
    return sorted(set(merged), key=lambda m: (m.first_row, m.first_col)), last_row


def _open_xlsx(path: Path, sheet: str | None) -> TableFile:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ImportFileError(_("文件不是有效的 Excel 工作簿，可能已损坏。")) from exc
    try:
        workbook_part = "xl/workbook.xml"
        root_rels = _rels(archive, "_rels/.rels") if "_rels/.rels" in archive.NameToInfo else {}
        for rel_type, target in root_rels.values():
            if rel_type.endswith("/officeDocument"):
                workbook_part = target
        workbook = _read_xml(archive, workbook_part)
        if workbook is None:
            raise ImportFileError(_("文件不是有效的 Excel 工作簿，可能已损坏。"))
        ns = workbook.tag[1:].partition("}")[0]
        if ns not in _MAIN_NS:
            raise ImportFileError(_("无法识别的工作簿格式。"))
        rels = _rels(archive, workbook_part)
        pr = workbook.find(f"{{{ns}}}workbookPr")
        date1904 = pr is not None and pr.get("date1904", "0") in {"1", "true"}
        entries: list[_SheetEntry] = []
        sheets_el = workbook.find(f"{{{ns}}}sheets")
        for el in sheets_el if sheets_el is not None else []:
            rid = next((el.get(f"{{{d}}}id") for d in _DOC_REL_NS if el.get(f"{{{d}}}id")), "")
            rel_type, target = rels.get(rid or "", ("", ""))
            entries.append(
                _SheetEntry(
                    name=el.get("name", ""),
                    target=target,
                    state=el.get("state", "visible"),
                    is_worksheet=rel_type.endswith("/worksheet"),
                )
            )
        shared_name = next((t for k, t in rels.values() if k.endswith("/sharedStrings")), None)
        styles_name = next((t for k, t in rels.values() if k.endswith("/styles")), None)
        chosen, notes = _choose_sheet(entries, sheet)
        merged, last_row = _scan_sheet(archive, chosen.target)
        table = TableFile(
            path=path,
            format="xlsx",
            sheet_name=chosen.name,
            notes=notes,
            merged=merged,
            estimated_rows=last_row,
        )
        shared = _load_shared_strings(archive, shared_name)
        date_styles = _date_styles(archive, styles_name, ns)
        handle = archive.open(chosen.target)
        table._closers.extend([handle, archive])
        table._rows = _xlsx_rows(handle, shared, date_styles, merged, date1904)
        return table
    except BaseException:
        archive.close()
        raise


def _choose_sheet(entries: list[_SheetEntry], wanted: str | None) -> tuple[_SheetEntry, list[str]]:
    notes: list[str] = []
    if wanted is not None:
        for entry in entries:
            if entry.name == wanted and entry.is_worksheet:
                if entry.state != "visible":
                    notes.append(
                        _("工作表「%(name)s」是隐藏的，按指定读取。") % {"name": entry.name}
                    )
                return entry, notes
        raise ImportFileError(
            _("工作簿中没有名为「%(name)s」的工作表；现有：%(names)s。")
            % {"name": wanted, "names": "、".join(e.name for e in entries)}
        )
    chosen: _SheetEntry | None = None
    for entry in entries:
        if not entry.is_worksheet:
            continue
        if entry.state != "visible":
            notes.append(_("已跳过隐藏的工作表「%(name)s」。") % {"name": entry.name})
            continue
        if chosen is None:
            chosen = entry
    if chosen is None:
        raise ImportFileError(_("工作簿中没有可见的工作表。"))
    others = [
        e.name for e in entries if e.is_worksheet and e.state == "visible" and e is not chosen
    ]
    if others:
        notes.append(
            _("只读取了第一个工作表「%(name)s」，未读取：%(others)s。")
            % {"name": chosen.name, "others": "、".join(others)}
        )
    return chosen, notes


class _MergeFiller:
    """Marks cells inside merged ranges; a vertical range repeats its top value down its rows.

    A vertical merge in a data column means "the same for every row here" (a class merged over
    its students), so the value is repeated and the cleaner reports it as a repair. A range
    spanning several columns says nothing about the other columns, so those stay empty.
    """

    def __init__(self, merged: list[MergedRange]) -> None:
        self._pending = list(merged)
        self._active: list[MergedRange] = []
        self._values: dict[MergedRange, str | None] = {}

    def apply(self, number: int, values: list[str | None], flags: dict[int, int]) -> None:
        while self._pending and self._pending[0].first_row <= number:
            self._active.append(self._pending.pop(0))
        if not self._active:
            return
        keep: list[MergedRange] = []
        for rng in self._active:
            if rng.last_row < number:
                self._values.pop(rng, None)
                continue
            keep.append(rng)
            if rng.first_row == number:
                top = values[rng.first_col] if rng.first_col < len(values) else None
                self._values[rng] = top
                start_col = rng.first_col + 1
            else:
                start_col = rng.first_col
            for col in range(start_col, rng.last_col + 1):
                while len(values) <= col:
                    values.append(None)
                flags[col] = flags.get(col, 0) | CellFlag.MERGED
                if rng.is_vertical and number > rng.first_row:
                    values[col] = self._values.get(rng)
        self._active = keep


@dataclass(frozen=True)
class _SheetSyntax:
    """The patterns of a sheet's rows and cells under its namespace prefix."""

    row_open: re.Pattern[str]
    row_close: re.Pattern[str]
    end: str
    # A cell's attributes in the order spreadsheet writers emit them (any other in group 4),
    # then its content: a lone value (5), a lone inline string (6 and 7), or anything else (8).
    cell: re.Pattern[str]


@functools.cache
def _sheet_syntax(prefix: str) -> _SheetSyntax:
    p = re.escape(prefix)
    return _SheetSyntax(
        row_open=re.compile(rf"<{p}row\b([^>]*?)(/?)>"),
        row_close=re.compile(rf"</{p}row\s*>"),
        end=f"</{prefix}sheetData",
        cell=re.compile(
            rf'<{p}c\b(?:\s+r="([A-Z]+)[0-9]+")?(?:\s+s="([0-9]+)")?(?:\s+t="(\w+)")?'
            rf"([^>]*?)(?:/>|>(?:<{p}v>([^<]*)</{p}v>|(<{p}is><{p}t>)([^<]*)</{p}t></{p}is>|"
            rf"(.*?))</{p}c\s*>)",
            re.S,
        ),
    )


def _sheet_rows(handle: IO[bytes]) -> Iterator[tuple[str, str, _SheetSyntax]]:
    """The attributes and content of each `row` element inside `sheetData`; a row cut by a
    chunk's end is read once the next chunk completes it."""
    rest = ""
    syntax: _SheetSyntax | None = None
    for chunk in _xml_chunks(handle):
        text = rest + chunk
        if syntax is None:
            opening = _SHEET_DATA_RE.search(text)
            if opening is None:
                rest = text[-200:]
                continue
            if opening.group(2):
                return
            syntax = _sheet_syntax(opening.group(1) or "")
            text = text[opening.end() :]
        end = text.find(syntax.end)
        if end >= 0:
            text = text[:end]
        position = 0
        while row := syntax.row_open.search(text, position):
            if row.group(2):
                position = row.end()
                yield row.group(1), "", syntax
                continue
            closing = syntax.row_close.search(text, row.end())
            if closing is None:
                break
            position = closing.end()
            yield row.group(1), text[row.end() : closing.start()], syntax
        if end >= 0:
            return
        rest = text[position:]
    raise ImportFileError(_("工作表不完整，文件可能已损坏。"))


def _xlsx_rows(
    handle: IO[bytes],
    shared: SharedStrings,
    date_styles: frozenset[int],
    merged: list[MergedRange],
    date1904: bool,
) -> Iterator[SheetRow]:
    filler = _MergeFiller(merged) if merged else None
    date_style_names = {str(style) for style in date_styles}
    common: dict[str, str] = {}
    positions: dict[str, int] = {}
    previous = 0
    for attributes, content, syntax in _sheet_rows(handle):
        given = _ROW_NUMBER_RE.search(attributes)
        number = int(given.group(1)) if given else previous + 1
        previous = number
        values: list[str | None] = []
        flags: dict[int, int] = {}
        if "<!" in content or "<?" in content:
            content = _SPECIAL_RE.sub(_plain_markup, content)
        position = 0
        for letters, style, kind, other, lone, inline, text, inner in syntax.cell.findall(content):
            if other and "=" in other:
                found = {m[1]: m[2] or m[3] or "" for m in _ATTRIBUTE_RE.finditer(other)}
                letters = found.get("r", "").rstrip("0123456789") or letters
                style = found.get("s", style)
                kind = found.get("t", kind)
            if letters:
                column = positions.get(letters)
                if column is None:
                    column = positions[letters] = column_index(letters)
                position = column
            while len(values) < position:
                values.append(None)
            raw: str | None = lone or None
            formula = False
            if inner:
                found_value = _V_RE.search(inner)
                raw = (found_value[1] or None) if found_value else None
                formula = _F_RE.search(inner) is not None
            flag = 0
            value: str | None
            if kind == "s":
                value = None if raw is None else common.get(raw)
                if value is None and raw is not None:
                    value = shared[int(raw)]
                    # Excel numbers strings in order of appearance, so the few values that
                    # fill most cells (男, 汉族, a class) come first: those are kept decoded.
                    if len(raw) <= 3:
                        common[raw] = value
            elif kind == "inlineStr":
                if inline:
                    value = _unescape(_xml_text(text))
                else:
                    found_inline = _IS_RE.search(inner)
                    value = None if found_inline is None else _string_item(found_inline[1])
            elif kind == "str":
                value = _unescape(_xml_text(raw)) if raw is not None else None
            elif kind == "b":
                value = "TRUE" if raw == "1" else "FALSE" if raw is not None else None
                flag = CellFlag.BOOLEAN
            elif kind == "e":
                value = raw
                flag = CellFlag.ERROR
            elif kind == "d":
                value = raw
                flag = CellFlag.DATE
            else:
                value = raw
                if raw is not None:
                    is_date = style in date_style_names
                    flag = CellFlag.DATE if is_date else CellFlag.NUMBER
                    if is_date and date1904:
                        value = str(float(raw) + 1462)
            if formula:
                flag |= CellFlag.FORMULA if raw is not None else CellFlag.FORMULA_UNCALCULATED
            values.append(value)
            if flag:
                flags[position] = flag
            position += 1
        if filler is not None:
            filler.apply(number, values, flags)
        yield SheetRow(number, values, flags or None)


# --------------------------------------------------------------------------- xls (BIFF)


def _open_xls(path: Path, sheet: str | None) -> TableFile:
    from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except CalamineError as exc:
        raise ImportFileError(_("文件不是有效的 Excel 工作簿，可能已损坏。")) from exc
    entries = [
        _SheetEntry(
            name=meta.name,
            target=meta.name,
            state="visible" if meta.visible == SheetVisibleEnum.Visible else "hidden",
            is_worksheet=True,
        )
        for meta in workbook.sheets_metadata
    ]
    chosen, notes = _choose_sheet(entries, sheet)
    data = workbook.get_sheet_by_name(chosen.name)
    merged = [
        MergedRange(r1 + 1, c1, r2 + 1, c2) for (r1, c1), (r2, c2) in data.merged_cell_ranges or []
    ]
    notes.append(_("旧版 .xls 文件无法识别公式单元格，公式按其计算结果读取。"))
    start_row = (data.start or (0, 0))[0]
    table = TableFile(
        path=path,
        format="xls",
        sheet_name=chosen.name,
        notes=notes,
        merged=merged,
        estimated_rows=data.height,
    )
    table._rows = _calamine_rows(data.to_python(skip_empty_area=False), start_row, merged)
    workbook.close()
    return table


def _calamine_rows(
    rows: Sequence[Sequence[object]], start_row: int, merged: list[MergedRange]
) -> Iterator[SheetRow]:
    filler = _MergeFiller(merged) if merged else None
    for offset, cells in enumerate(rows):
        number = start_row + offset + 1
        values: list[str | None] = []
        flags: dict[int, int] = {}
        for position, cell in enumerate(cells):
            value, flag = _calamine_cell(cell)
            values.append(value)
            if flag:
                flags[position] = flag
        if filler is not None:
            filler.apply(number, values, flags)
        yield SheetRow(number, values, flags or None)


def _calamine_cell(cell: object) -> tuple[str | None, int]:
    if cell is None or cell == "":
        return None, 0
    if isinstance(cell, bool):
        return ("TRUE" if cell else "FALSE"), CellFlag.BOOLEAN
    if isinstance(cell, int | float):
        return repr(cell), CellFlag.NUMBER
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" "), CellFlag.DATE
    if isinstance(cell, date):
        return cell.isoformat(), CellFlag.DATE
    if isinstance(cell, time | timedelta):
        return str(cell), CellFlag.NUMBER
    return str(cell), 0


# --------------------------------------------------------------------------- csv


def detect_encoding(head: bytes) -> str:
    """UTF-8 (BOM or strictly valid) or UTF-16 by its BOM; otherwise GB18030, Excel's default."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # A chunk can end inside a character: the incremental decoder waits for the rest.
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _open_csv(path: Path) -> TableFile:
    with path.open("rb") as probe:
        head = probe.read(CSV_SNIFF_BYTES)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(_("无法识别的文件格式：请上传 .xlsx、.xls 或 .csv 文件。"))
    encoding = detect_encoding(head)
    text_head = head.decode(encoding, errors="ignore")
    first_line = text_head.splitlines()[0] if text_head else ""
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    raw = path.open("rb")
    handle = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")
    table = TableFile(path=path, format="csv", sheet_name=path.name, encoding=encoding)
    table._closers.append(handle)
    size = path.stat().st_size
    # The text layer decodes the file a chunk at a time, so the bytes it has taken run at most
    # a chunk ahead of the rows parsed. Asked once a batch: nothing is added per row.
    table._share_read = lambda: raw.tell() / size if size else 1.0
    table._rows = _csv_rows(handle, delimiter, encoding)
    return table


def _csv_rows(handle: io.TextIOBase, delimiter: str, encoding: str) -> Iterator[SheetRow]:
    reader = csv.reader(handle, delimiter=delimiter)
    number = 0
    try:
        for record in reader:
            number += 1
            yield SheetRow(number, [value if value != "" else None for value in record])
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("第 %(row)s 行之后的内容不是 %(encoding)s 编码，请将整个文件另存为同一种编码。")
            % {"row": number, "encoding": encoding.upper()}
        ) from exc
    except csv.Error as exc:
        raise ImportFileError(
            _("第 %(row)s 行不是有效的 CSV：%(error)s") % {"row": number + 1, "error": exc}
        ) from exc
