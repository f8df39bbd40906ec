"""The generic pipeline with a test-only kind: a roster of people kept in memory, upserted by
ID number, validated with the real identity rules. It shows what any kind gets for free."""

import csv
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from santong.accounts.identity import IdNumberError, check_consistency, make_resident_id
from santong.accounts.identity import validate_id_number as parse_id
from santong.core.actors import SYSTEM, ScopeError
from santong.imports.cleaning import Batch
from santong.imports.codes import CodeTable
from santong.imports.headers import Column, ColumnSpec, ColumnType
from santong.imports.kinds import RowError, WriteResult
from santong.imports.pipeline import HeaderMismatchError, MemoryLedger, Progress, run_import

pytestmark = pytest.mark.django_db

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
        Column("ethnicity", "民族", ColumnType.CODE, code_table="ethnicity"),
        Column("phone", "联系电话", ColumnType.PHONE, aliases=("手机号",)),
    ),
    key=("id_number",),
)
TABLES = {
    "gender": CodeTable.of("gender", "性别", [("1", "男"), ("2", "女")]),
    "ethnicity": CodeTable.of(
        "ethnicity", "民族", [("01", "汉族"), ("03", "回族"), ("05", "维吾尔族")]
    ),
}


class RosterKind:
    """People upserted by ID number into `store`; `fail_on_batch` simulates a crash."""

    name = "roster"
    label = "名册"
    spec = SPEC
    validates_ahead = False

    def __init__(self, store: dict | None = None, fail_on_batch: int | None = None) -> None:
        self.store: dict[str, dict] = {} if store is None else store
        self.fail_on_batch = fail_on_batch
        self.written_batches: list[int] = []

    def code_tables(self, *, actor, for_template=False):
        return TABLES

    def instructions(self):
        return []

    def validate_batch(self, batch: Batch, *, actor):
        errors, good = [], []
        for i, row in enumerate(batch.records()):
            try:
                parsed = parse_id("1", row["id_number"])
                check_consistency(parsed, birth_date=row["birth_date"], gender=row["gender"])
            except IdNumberError as exc:
                errors.append(RowError(batch.row_numbers[i], "id_number", str(exc)))
                continue
            good.append(i)
        return batch.select(good), errors

    def write_batch(self, ok_rows: Batch, *, actor, dry_run):
        if self.fail_on_batch == ok_rows.index:
            raise KeyboardInterrupt
        result = WriteResult()
        for row in ok_rows.records():
            old = self.store.get(row["id_number"])
            if old == row:
                result.unchanged += 1
            elif old is None:
                result.created += 1
            else:
                result.updated += 1
            if not dry_run:
                self.store[row["id_number"]] = row
        self.written_batches.append(ok_rows.index)
        return result


def person(n: int, *, male: bool = True, birth: date = date(2008, 5, 12)) -> str:
    return make_resident_id("510104", birth, n, male)


HEADER = ["学生姓名", "证件号码", "性别", "出生日期", "民族", "手机号"]


def messy_roster_xlsx(path: Path) -> tuple[Path, dict[int, str]]:
    """A roster with every artefact; returns the bad rows and a fragment of each reason."""
    book = xlsxwriter.Workbook(str(path))
    hidden = book.add_worksheet("模板说明")
    sheet = book.add_worksheet("学生")
    sheet.activate()
    hidden.hide()
    iso = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADER)
    good = person(1, male=False)
    rows: list[list[object]] = [
        ["王小雨", good, "女", "2008-05-12", "汉族", "13812345678"],  # 2: clean
        ["李 雷\u00a0", person(2), "男", "2008/5/12", "１", "＋8613812345679"],  # 3: repaired
        ["韩梅梅", float(person(3, male=False)), "女", None, "汉族", None],  # 4: ID as a float
        ["张三", person(4) + ".0", "男", "2008年5月12日", "回族", 2886112345],  # 5: phone lost 0
        ["赵四", person(5), "女", "2008-05-12", "汉族", None],  # 6: gender contradicts the ID
        ["钱五", person(6), "男", "2008-05-13", "汉族", None],  # 7: birth date contradicts
        ["孙六", person(7)[:-1] + "0", "男", None, "汉族", None],  # 8: wrong check character
        ["周七", person(8), "男", None, "维族", None],  # 9: unknown ethnicity, suggestion
        ["王小雨", good, "女", "2008-05-12", "汉族", "13812345678"],  # 10: duplicate of row 2
        ["吴八", person(9), "男", None, "汉族", None],  # 11: birth date serial, see below
        [None, person(10), "男", None, "汉族", None],  # 12: name missing
    ]
    for offset, values in enumerate(rows, start=1):
        for column, value in enumerate(values):
            if isinstance(value, float | int):
                sheet.write_number(offset, column, value)
            elif value is not None:
                sheet.write_string(offset, column, value)
    sheet.write_number(10, 3, 39580)  # row 11: a serial number in a general-format cell
    sheet.write_datetime(2, 3, datetime(2008, 5, 12), iso)  # row 3: a real date cell
    book.close()
    bad = {
        4: "只保留了前",
        5: "区号前的 0",
        6: "女",
        7: "2008-05-13",
        8: "校验码",
        9: "维吾尔族",
        10: "与第 2 行重复",
        12: "必填项为空",
    }
    return path, bad


def report(path: Path):
    rows = list(openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True))
    header = list(rows[0])
    return {r[header.index("原行号")]: dict(zip(header, r, strict=False)) for r in rows[1:]}


def test_messy_roster_every_bad_row_reported_and_good_rows_written(tmp_path):
    path, bad = messy_roster_xlsx(tmp_path / "roster.xlsx")
    kind = RosterKind()
    ledger = MemoryLedger()

    outcome = run_import(
        kind, path, actor=SYSTEM, ledger=ledger, report_path=tmp_path / "report.xlsx"
    )

    assert outcome.progress.rows_read == 11
    assert outcome.progress.created == 3
    assert outcome.progress.rejected == len(bad)
    assert set(kind.store) == {person(1, male=False), person(2), person(9)}
    assert kind.store[person(2)]["name"] == "李 雷"
    assert kind.store[person(2)]["ethnicity"] == "01"
    assert kind.store[person(2)]["phone"] == "13812345679"
    assert kind.store[person(9)]["birth_date"] == date(2008, 5, 12)
    assert kind.store[person(2)]["birth_date"] == date(2008, 5, 12)
    assert "已跳过隐藏的工作表「模板说明」。" in outcome.notes
    rows = report(outcome.report)
    for number, fragment in bad.items():
        assert fragment in rows[number]["错误原因"], (number, rows[number]["错误原因"])
    assert {n for n, r in rows.items() if r["错误原因"]} == set(bad)
    assert "是否应为「维吾尔族」" in rows[9]["错误原因"]
    assert "序列号 39580" in rows[11]["自动修正"]
    assert rows[4]["证件号码"].startswith("5.10104")
    assert rows[4]["证件号码"].endswith("E+17")
    errors = {i.row for i in ledger.issues if i.severity == "error"}
    assert errors == set(bad)


def test_second_run_changes_nothing_and_a_corrected_file_fixes_exactly_the_bad_rows(tmp_path):
    path, bad = messy_roster_xlsx(tmp_path / "roster.xlsx")
    store: dict = {}
    run_import(RosterKind(store), path, actor=SYSTEM)
    snapshot = dict(store)

    again = run_import(RosterKind(store), path, actor=SYSTEM)
    assert (again.progress.created, again.progress.updated, again.progress.unchanged) == (0, 0, 3)
    assert store == snapshot

    first = run_import(RosterKind(store), path, actor=SYSTEM, report_path=tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(first.report)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    fixes = {
        4: {"证件号码": person(3, male=False)},
        5: {"手机号": "02886112345"},
        6: {"性别": "男"},
        7: {"出生日期": "2008-05-12"},
        8: {"证件号码": person(7)},
        9: {"民族": "维吾尔族"},
        10: {"证件号码": person(11, male=False)},
        12: {"学生姓名": "郑十"},
    }
    for row in sheet.iter_rows(min_row=2):
        for column, value in fixes.get(row[header.index("原行号")].value, {}).items():
            row[header.index(column)].value = value
    book.save(tmp_path / "fixed.xlsx")

    fixed = run_import(RosterKind(store), tmp_path / "fixed.xlsx", actor=SYSTEM)

    assert fixed.progress.rejected == 0
    assert fixed.progress.created == len(bad)
    assert fixed.progress.updated == 0
    assert len(store) == 3 + len(bad)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_roster_in_excel_encodings(tmp_path, encoding):
    path = tmp_path / "roster.csv"
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["身份证号", "姓名", "民族", "出生日期"])
        writer.writerow([person(1), "买买提·吐尔逊", "维吾尔族", "2008.05.12"])
        writer.writerow(["5.10104E+17", "李四", "汉族", ""])
        writer.writerow([person(3) + ".0", "王五", "１", "20080512"])
    kind = RosterKind()

    outcome = run_import(kind, path, actor=SYSTEM)

    assert outcome.progress.created == 2
    assert outcome.progress.rejected == 1
    assert kind.store[person(1)]["name"] == "买买提·吐尔逊"
    assert kind.store[person(3)]["ethnicity"] == "01"


def test_strict_mode_writes_nothing_if_any_row_is_bad_and_everything_otherwise(tmp_path):
    path, _bad = messy_roster_xlsx(tmp_path / "roster.xlsx")
    kind = RosterKind()
    outcome = run_import(kind, path, actor=SYSTEM, strict=True, batch_size=3)
    assert outcome.strict_refused
    assert kind.store == {}
    assert outcome.progress.imported == 0

    clean = tmp_path / "clean.csv"
    clean.write_text(
        "身份证号,姓名\n" + "".join(f"{person(n)},学生{n}\n" for n in range(1, 8)), "utf-8"
    )
    kind = RosterKind()
    outcome = run_import(kind, clean, actor=SYSTEM, strict=True, batch_size=3)
    assert not outcome.strict_refused
    assert outcome.progress.created == 7
    assert len(kind.store) == 7


def test_dry_run_counts_and_writes_nothing(tmp_path):
    path, bad = messy_roster_xlsx(tmp_path / "roster.xlsx")
    kind = RosterKind()

    outcome = run_import(kind, path, actor=SYSTEM, dry_run=True)

    assert kind.store == {}
    assert outcome.progress.created == 3
    assert outcome.progress.rejected == len(bad)
    assert outcome.dry_run


def test_batches_commit_one_by_one_and_a_rerun_resumes_after_the_last(tmp_path):
    path = tmp_path / "many.csv"
    lines = "".join(f"{person(n)},学生{n}\n" for n in range(1, 26))
    path.write_text("身份证号,姓名\n" + lines + f"{person(3)},学生3重复\n", "utf-8")
    store: dict = {}
    ledger = MemoryLedger()
    seen: list[Progress] = []

    with pytest.raises(KeyboardInterrupt):
        run_import(
            RosterKind(store, fail_on_batch=2),
            path,
            actor=SYSTEM,
            ledger=ledger,
            batch_size=10,
            progress=lambda p: seen.append(Progress(**p.to_json())),
        )
    assert ledger.committed == 1
    assert len(store) == 20
    assert [p.rows_read for p in seen] == [10, 20]

    class Resuming(MemoryLedger):
        @property
        def resume_after(self) -> int:
            return ledger.committed

        def restored_progress(self) -> Progress:
            return ledger.progress

    resumed = Resuming(issues=list(ledger.issues))
    kind = RosterKind(store)
    outcome = run_import(
        kind, path, actor=SYSTEM, ledger=resumed, batch_size=10, report_path=tmp_path / "r.xlsx"
    )

    assert kind.written_batches == [2]
    assert len(store) == 25
    assert (outcome.progress.rows_read, outcome.progress.created) == (26, 25)
    assert outcome.progress.rejected == 1  # the duplicate, found against a replayed batch
    assert "与第 4 行重复" in report(outcome.report)[27]["错误原因"]


def test_a_csv_total_is_estimated_as_it_is_read_and_ends_at_the_rows_read(tmp_path):
    """A CSV states no row count and is not read twice to count it: the total is projected
    from the share of the file read so far, never below the rows already read."""
    total = 5000
    path = tmp_path / "long.csv"
    lines = "".join(
        f"{person(n % 500, birth=date(2008, 1, 1 + n // 500))},学生{n:05d}\n" for n in range(total)
    )
    path.write_text("身份证号,姓名\n" + lines, "utf-8")
    seen: list[Progress] = []

    outcome = run_import(
        RosterKind(),
        path,
        actor=SYSTEM,
        batch_size=1000,
        progress=lambda p: seen.append(Progress(**p.to_json())),
    )

    assert outcome.progress.rows_read == total
    assert [p.rows_read for p in seen] == [1000, 2000, 3000, 4000, 5000, 5000]
    for p in seen[:-1]:
        assert p.total_estimate is not None
        assert p.rows_read <= p.total_estimate
        assert abs(p.total_estimate - total) <= total // 10, p
    assert seen[0].total_estimate > 2 * seen[0].rows_read  # a projection, not the rows so far
    assert seen[-1].total_estimate == outcome.progress.total_estimate == total


def test_only_administrators_may_run_an_import(world, tmp_path):
    with pytest.raises(ScopeError):
        run_import(RosterKind(), tmp_path / "unused.csv", actor=world.actor("head_teacher"))


def test_missing_columns_raise_with_the_lists(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("名字,证件号码,宿舍\n王小雨,1,2\n", "utf-8")

    with pytest.raises(HeaderMismatchError) as mismatch:
        run_import(RosterKind(), path, actor=SYSTEM)

    assert mismatch.value.mapping.missing == ["姓名"]
    assert mismatch.value.mapping.unknown == ["名字", "宿舍"]
    path.write_text(f"姓名,证件号码,宿舍\n王小雨,{person(1)},2\n", "utf-8")
    with pytest.raises(HeaderMismatchError):
        run_import(RosterKind(), path, actor=SYSTEM)
    assert run_import(RosterKind(), path, actor=SYSTEM, ignore_unknown=True).progress.created == 1


def test_strict_dry_run_writes_nothing_even_when_every_row_passes(tmp_path):
    clean = tmp_path / "clean.csv"
    clean.write_text("身份证号,姓名\n" + "".join(f"{person(n)},学生{n}\n" for n in range(1, 5)))
    kind = RosterKind()

    outcome = run_import(kind, clean, actor=SYSTEM, strict=True, dry_run=True)

    assert kind.store == {}
    assert not outcome.strict_refused
    assert outcome.progress.created == 4
