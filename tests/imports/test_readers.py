"""Streaming readers: what each kind of cell and file turns into."""

import codecs
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from santong.imports import readers
from santong.imports.readers import (
    CellFlag,
    ImportFileError,
    column_index,
    column_letters,
    detect_encoding,
    is_date_format,
    open_table,
)


def read_all(path: Path, **kwargs):
    with open_table(path, **kwargs) as table:
        return table, list(table.rows())


def test_column_letters_round_trip():
    for index in (0, 25, 26, 51, 52, 701, 702, 16383):
        assert column_index(column_letters(index)) == index
    assert column_letters(27) == "AB"


def test_xlsx_cells_carry_what_excel_stored(tmp_path):
    path = tmp_path / "cells.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("数据")
    date = book.add_format({"num_format": 'yyyy"年"m"月"d"日"'})
    sheet.write_row(0, 0, ["身份证号", "出生日期", "人数", "姓名", "公式", "布尔"])
    sheet.write_number(1, 0, 510104200805121234)
    sheet.write_datetime(1, 1, datetime(2008, 5, 12), date)
    sheet.write_number(1, 2, 42)
    sheet.write_string(1, 3, "王小雨 & 李\x07_x000D_")  # a control character and a lookalike
    sheet.write_formula(1, 4, "=C2*2", None, 84)
    sheet.write_boolean(1, 5, True)
    sheet.write_string(3, 1, "稀疏")  # a row with a gap before its only cell
    book.close()

    table, rows = read_all(path)

    assert table.sheet_name == "数据"
    assert table.estimated_rows == 4
    header, first, sparse = rows
    assert header.values[0] == "身份证号"
    assert header.number == 1
    assert first.values[0] == "5.101042008051212E+17"
    assert first.flag(0) == CellFlag.NUMBER
    assert first.values[1] == "39580"
    assert first.flag(1) == CellFlag.DATE
    assert first.values[2] == "42"
    assert first.values[3] == "王小雨 & 李\x07_x000D_"
    assert first.values[4] == "84"
    assert first.flag(4) & CellFlag.FORMULA
    assert first.values[5] == "TRUE"
    assert first.flag(5) == CellFlag.BOOLEAN
    assert sparse.number == 4
    assert sparse.values == [None, "稀疏"]


def test_xlsx_hidden_sheets_are_skipped_and_named_sheets_chosen(tmp_path):
    path = tmp_path / "sheets.xlsx"
    book = xlsxwriter.Workbook(str(path))
    hidden = book.add_worksheet("隐藏")
    shown = book.add_worksheet("名单")
    other = book.add_worksheet("另一张")
    hidden.write(0, 0, "隐藏的")
    shown.write(0, 0, "名单的")
    other.write(0, 0, "另一张的")
    shown.activate()
    hidden.hide()
    book.close()

    table, rows = read_all(path)
    assert rows[0].values == ["名单的"]
    assert any("隐藏的工作表「隐藏」" in note for note in table.notes)
    assert any("另一张" in note for note in table.notes)

    table, rows = read_all(path, sheet="隐藏")
    assert rows[0].values == ["隐藏的"]
    assert "按指定读取" in table.notes[0]

    with pytest.raises(ImportFileError, match="没有名为「不存在」"):
        open_table(path, sheet="不存在")


def test_xlsx_merged_ranges_fill_down_and_mark_the_rest(tmp_path):
    path = tmp_path / "merged.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["班级", "姓名", "性别"])
    sheet.merge_range("A2:A4", "三年级（1）班")
    sheet.write_column(1, 1, ["甲", "乙", "丙"])
    sheet.merge_range("B5:C5", "丁")
    book.close()

    table, rows = read_all(path)

    assert [m.ref for m in table.merged] == ["A2:A4", "B5:C5"]
    assert [r.values[0] for r in rows[1:4]] == ["三年级（1）班"] * 3
    assert rows[1].flag(0) == 0
    assert rows[2].flag(0) == CellFlag.MERGED
    assert rows[4].values[1:] == ["丁", None]
    assert rows[4].flag(2) == CellFlag.MERGED


def test_xlsx_uncalculated_formulas_and_shared_strings(tmp_path):
    path = tmp_path / "openpyxl.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["学校名称", "人数"])
    sheet.append(["锦江区实验小学", "=1+1"])  # openpyxl stores no cached result
    book.save(path)

    _table, rows = read_all(path)

    assert rows[1].values[0] == "锦江区实验小学"
    assert rows[1].values[1] is None
    assert rows[1].flag(1) == CellFlag.FORMULA_UNCALCULATED


def test_xlsx_shared_strings_are_read(tmp_path):
    path = tmp_path / "shared.xlsx"
    book = xlsxwriter.Workbook(str(path))  # outside constant-memory mode: a shared-string table
    sheet = book.add_worksheet()
    for row in range(50):
        sheet.write_row(row, 0, [f"名字{row}", "男" if row % 2 else "女"])
    book.close()

    _table, rows = read_all(path)

    assert [r.values for r in rows[:2]] == [["名字0", "女"], ["名字1", "男"]]
    assert len(rows) == 50


def with_sheet_data(source: Path, target: Path, sheet_data: str, *, prefix: str = "") -> Path:
    """`source` with its first sheet's rows replaced by hand-written XML."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                xml = re.sub(
                    r"<sheetData>.*</sheetData>|<sheetData/>", sheet_data, data.decode(), flags=re.S
                )
                if prefix:
                    xml = xml.replace(
                        "<worksheet xmlns=", f"<{prefix}worksheet xmlns:{prefix[:-1]}="
                    )
                    xml = xml.replace("</worksheet>", f"</{prefix}worksheet>")
                    xml = re.sub(r"<(/?)(?=[a-zA-Z])(?!x:)", rf"<\1{prefix}", xml)
                data = xml.encode()
            new.writestr(info, data)
    return target


def test_xlsx_sheet_xml_the_way_other_writers_write_it(tmp_path):
    """Attributes in any order and quoting, whitespace between tags, rows without numbers or
    cells, rich and phonetic text, references, CDATA and comments: read as an XML parser
    reads them."""
    source = tmp_path / "source.xlsx"
    book = xlsxwriter.Workbook(str(source))
    book.add_worksheet().write_string(0, 0, "共享")
    book.close()
    sheet_data = (
        '<sheetData>\n <row r="1" spans="1:5">\n'
        '  <c t="inlineStr" r="A1"><is><r><rPr><b/></rPr><t>王</t></r>'
        '<r><t xml:space="preserve"> 小雨</t></r><rPh sb="0" eb="1"><t>wang</t></rPh></is></c>\n'
        "  <c r='B1' t='n'><v>1.5</v></c><c><v>7</v></c><c t=\"s\" r=\"E1\"><v>0</v></c>\n"
        ' </row>\n <row r="2"/>\n'
        ' <row><c r="A3" t="inlineStr"><is><t><![CDATA[<甲&乙>]]></t></is></c><!-- 备注 -->'
        '<c r="B3" t="str"><f>A1</f><v>&#x738B;&amp;&#13;&lt;</v></c>'
        '<c r="C3" t="inlineStr"><is><t/></is></c><c r="D3" t="inlineStr"/><c r="E3"><v></v></c>'
        "</row>\n</sheetData>"
    )
    path = with_sheet_data(source, tmp_path / "written.xlsx", sheet_data)

    _table, rows = read_all(path)

    assert [(r.number, r.values, r.flags) for r in rows] == [
        (1, ["王 小雨", "1.5", "7", None, "共享"], {1: CellFlag.NUMBER, 2: CellFlag.NUMBER}),
        (2, [], None),
        (3, ["<甲&乙>", "王&\r<", "", None, None], {1: CellFlag.FORMULA}),
    ]

    prefixed = with_sheet_data(source, tmp_path / "prefixed.xlsx", sheet_data, prefix="x:")
    _table, prefixed_rows = read_all(prefixed)
    assert [(r.number, r.values, r.flags) for r in prefixed_rows] == [
        (r.number, r.values, r.flags) for r in rows
    ]


def test_xlsx_rows_cut_by_a_chunk_boundary_are_whole(tmp_path, monkeypatch):
    path = tmp_path / "long.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    expected = []
    for row in range(200):
        values = [f"名字{row} & <{row}>", str(510104200805120000 + row), "男" if row % 2 else "女"]
        sheet.write_row(row, 0, values)
        expected.append(values)
    book.close()
    shared = tmp_path / "shared.xlsx"
    book = xlsxwriter.Workbook(str(shared))
    sheet = book.add_worksheet()
    for row, values in enumerate(expected):
        sheet.write_row(row, 0, values)
    book.close()
    monkeypatch.setattr(readers, "SCAN_CHUNK_BYTES", 61)

    for workbook in (path, shared):
        _table, rows = read_all(workbook)
        assert [r.values for r in rows] == expected
        assert [r.number for r in rows] == list(range(1, 201))


def test_date_formats_are_recognised():
    assert is_date_format("yyyy-mm-dd")
    assert is_date_format('yyyy"年"m"月"d"日"')
    assert is_date_format("[$-804]yyyy/m/d")
    assert not is_date_format("0.00")
    assert not is_date_format('"年"0')
    assert not is_date_format("h:mm:ss")
    assert not is_date_format("General")


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("utf-16", "utf-16")],
)
def test_csv_encodings_are_detected(tmp_path, encoding, expected):
    path = tmp_path / f"{encoding}.csv"
    path.write_text("姓名,民族\n王小雨,汉族\n", encoding=encoding)

    table, rows = read_all(path)

    assert table.encoding == expected
    assert [r.values for r in rows] == [["姓名", "民族"], ["王小雨", "汉族"]]
    assert [r.number for r in rows] == [1, 2]


def test_utf8_detection_survives_a_character_cut_by_the_first_chunk():
    text = ("姓" * 30000).encode()
    assert detect_encoding(text[: 64 * 1024 - 1]) == "utf-8"
    assert detect_encoding(codecs.BOM_UTF8 + b"a,b") == "utf-8-sig"
    assert detect_encoding("王小雨".encode("gb18030")) == "gb18030"


def test_csv_rows_are_records_not_lines_and_tabs_are_understood(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('地址,姓名\n"东大街\n100号",王小雨\n', encoding="utf-8")
    _table, rows = read_all(path)
    assert rows[1].values == ["东大街\n100号", "王小雨"]
    assert rows[1].number == 2

    tabbed = tmp_path / "tabbed.txt"
    tabbed.write_text("姓名\t民族\n王小雨\t汉族\n", encoding="utf-8")
    _table, rows = read_all(tabbed)
    assert rows[1].values == ["王小雨", "汉族"]


def test_a_csv_that_changes_encoding_midway_is_refused(tmp_path):
    path = tmp_path / "mixed.csv"
    head = ("姓名,民族\n" + "王小雨,汉族\n" * 8000).encode()
    path.write_bytes(head + "李雷,回族\n".encode("gb18030"))

    with open_table(path) as table, pytest.raises(ImportFileError, match="编码"):
        list(table.rows())


def test_files_that_are_not_tables_are_refused(tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportFileError):
        open_table(broken)
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(ImportFileError):
        open_table(binary)


def test_a_sheet_cut_short_is_refused(tmp_path):
    source = tmp_path / "source.xlsx"
    book = xlsxwriter.Workbook(str(source))
    book.add_worksheet().write_string(0, 0, "姓名")
    book.close()
    cut = with_sheet_data(source, tmp_path / "cut.xlsx", '<sheetData><row r="1"><c r="A1"><v>1</v>')

    with open_table(cut) as table, pytest.raises(ImportFileError, match="不完整"):
        list(table.rows())
