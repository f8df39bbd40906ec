"""Speed and peak memory of the import intake: streaming a file, and streaming + cleaning it.

    uv run python bench/import_read_clean.py                   # 1,000,000 rows
    uv run python bench/import_read_clean.py --rows 100000
    uv run python bench/import_read_clean.py --shared-strings  # also an Excel-style xlsx
    uv run python bench/import_read_clean.py --compare         # also calamine and openpyxl

Generates (once, under bench/out/) a deterministic student roster of 12 columns with Chinese
headers, one row in a hundred carrying an Excel artefact (a non-breaking space, full-width
digits, a date as text or as an Excel serial), as CSV (UTF-8) and as `.xlsx` with inline
strings (what streaming writers produce); `--shared-strings` adds an `.xlsx` with a
shared-string table (what Excel itself writes). Then each measurement runs in a process of its
own, so its peak RSS (ru_maxrss) is its own:

  read        `santong.imports.readers.open_table` → every row
  read+clean  the same, in batches of 10,000 rows through `cleaning.clean_rows` with a
              students-like column spec (code tables, dates, ID numbers, phones)
  calamine    python-calamine loading the sheet and iterating it (`--compare`)
  openpyxl    openpyxl read-only, values only (`--compare`)
"""

import argparse
import csv
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

HEADERS = [
    "姓名", "性别", "出生日期", "民族", "身份证件号", "全国学籍号",
    "学校标识码", "年级", "班级", "家长姓名", "联系电话", "家庭住址",
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "小雨浩然子涵欣怡梓轩一诺宇航思远佳琪俊杰雨桐"
ETHNICITIES = ["汉族", "汉族", "汉族", "彝族", "藏族", "羌族", "回族", "苗族"]
GRADES = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"]


def roster_row(n: int) -> list[str]:
    from santong.accounts.identity import make_resident_id

    male = n % 2 == 1
    birth = date(2013, 9, 1) + timedelta(days=n % 2190)
    id_number = make_resident_id("510104", birth, (n // 2190) % 500, male)
    name = SURNAMES[n % 20] + GIVEN[n % 17] + GIVEN[(n // 17) % 17]
    row = [
        name,
        "男" if male else "女",
        birth.isoformat(),
        ETHNICITIES[n % 8],
        id_number,
        "G" + id_number,
        f"1510104{n % 1000:03d}",
        GRADES[n % 6],
        f"{GRADES[n % 6]}（{n % 8 + 1}）班",
        SURNAMES[(n + 7) % 20] + GIVEN[(n + 3) % 17],
        f"138{n % 100_000_000:08d}",
        f"四川省成都市锦江区东大街{n % 500}号",
    ]
    artefact = n % 100
    if artefact == 1:
        row[0] = f" {row[0]}\u00a0"
    elif artefact == 2:
        row[10] = row[10].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    elif artefact == 3:
        row[2] = f"{birth.year}/{birth.month}/{birth.day}"
    elif artefact == 4:
        row[2] = str((birth - date(1899, 12, 30)).days)
    return row


def generate(kind: str, rows: int, path: Path) -> None:
    if kind == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            writer.writerows(roster_row(n) for n in range(rows))
        return
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": kind == "xlsx-inline"})
    sheet = book.add_worksheet("学生")
    sheet.write_row(0, 0, HEADERS)
    for n in range(rows):
        sheet.write_row(n + 1, 0, roster_row(n))
    book.close()


def measure(phase: str, path: Path) -> tuple[int, float]:
    """Runs one phase in this process; returns (rows, seconds), Django's start-up not counted."""
    start = time.perf_counter()
    count = 0
    if phase == "calamine":
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        for _row in sheet.iter_rows():
            count += 1
        return count, time.perf_counter() - start
    if phase == "openpyxl":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        for _row in book.worksheets[0].iter_rows(values_only=True):
            count += 1
        return count, time.perf_counter() - start

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "santong.settings.test")
    import django

    django.setup()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    os.environ["BENCH_SETUP_CPU"] = str(usage.ru_utime + usage.ru_stime)
    from santong.imports.cleaning import clean_rows
    from santong.imports.codes import CodeTable
    from santong.imports.headers import Column, ColumnSpec, ColumnType, map_headers
    from santong.imports.readers import open_table

    spec = ColumnSpec(
        columns=(
            Column("name", "姓名", required=True, max_length=64),
            Column("gender", "性别", ColumnType.CODE, code_table="gender"),
            Column("birth_date", "出生日期", ColumnType.DATE),
            Column("ethnicity", "民族", ColumnType.CODE, code_table="ethnicity"),
            Column("id_number", "身份证件号", ColumnType.ID_NUMBER, required=True),
            Column("student_number", "全国学籍号"),
            Column("school", "学校标识码", ColumnType.DIGITS, width=10),
            Column("grade", "年级"),
            Column("class_name", "班级"),
            Column("guardian", "家长姓名"),
            Column("phone", "联系电话", ColumnType.PHONE),
            Column("address", "家庭住址", max_length=200),
        ),
        key=("id_number",),
    )
    tables = {
        "gender": CodeTable.of("gender", "性别", [("1", "男"), ("2", "女")]),
        "ethnicity": CodeTable.of(
            "ethnicity",
            "民族",
            [
                ("01", "汉族"),
                ("03", "回族"),
                ("04", "藏族"),
                ("06", "苗族"),
                ("07", "彝族"),
                ("33", "羌族"),
            ],
        ),
    }
    issues = 0
    start = time.perf_counter()
    with open_table(path) as table:
        rows = table.rows()
        header = next(rows)
        if phase == "read":
            for _row in rows:
                count += 1
        else:
            mapping = map_headers(spec, header.values, header_row=header.number)
            batch: list = []
            index = 0
            for row in rows:
                batch.append(row)
                if len(batch) == 10_000:
                    issues += len(
                        clean_rows(spec, mapping, batch, index=index, tables=tables).issues
                    )
                    count += len(batch)
                    batch, index = [], index + 1
            if batch:
                issues += len(clean_rows(spec, mapping, batch, index=index, tables=tables).issues)
                count += len(batch)
    elapsed = time.perf_counter() - start
    if phase == "clean":
        print(f"issues={issues}", file=sys.stderr)
    return count, elapsed


def peak_rss_mb() -> int:
    """This process's own high-water mark (VmHWM): unlike ru_maxrss it is not inherited from
    the parent across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def child(phase: str, path: Path) -> None:
    rows, seconds = measure(phase, path)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - float(os.environ.get("BENCH_SETUP_CPU", "0"))
    print(f"{rows} {seconds:.2f} {cpu:.2f} {peak_rss_mb()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--shared-strings", action="store_true")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("PHASE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    kinds = ["csv", "xlsx-inline"] + (["xlsx-shared"] if args.shared_strings else [])
    files = {}
    for kind in kinds:
        suffix = "csv" if kind == "csv" else "xlsx"
        path = args.out / f"roster-{args.rows}-{kind}.{suffix}"
        if not path.exists():
            start = time.perf_counter()
            generate(kind, args.rows, path)
            print(f"generated {path.name} in {time.perf_counter() - start:.0f} s", flush=True)
        files[kind] = path
    phases = ["read", "clean"]
    print()
    print("| file | size | phase | rows | wall s | CPU s | rows/CPU-s | peak RSS |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for kind, path in files.items():
        extra = ["calamine", "openpyxl"] if args.compare and kind != "csv" else []
        for phase in phases + extra:
            done = subprocess.run(
                [sys.executable, __file__, "--child", phase, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows, seconds, cpu, peak = done.stdout.split()
            label = "read+clean" if phase == "clean" else phase
            rate = int(rows) / float(cpu)
            size = path.stat().st_size / 1e6
            print(
                f"| {kind} | {size:.0f} MB | {label} | {int(rows):,} | {float(seconds):.1f} "
                f"| {float(cpu):.1f} | {rate:,.0f} | {peak} MB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
