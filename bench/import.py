"""Importing students at province scale: our pipeline next to the database's raw bulk load of
the same rows, measured in the same run.

    uv run python bench/import.py                                   # SQLite, 100k and 1M rows
    uv run python bench/import.py --rows 100000 --xlsx              # also the 100k .xlsx
    uv run python bench/import.py --database-url postgres://postgres@127.0.0.1:5432/test
    uv run python bench/import.py --rows 100000 --profile           # where the time goes

For each size, a deterministic student roster is generated once under bench/out/ (CSV, UTF-8;
with `--xlsx` also an `.xlsx`): one school per 1,000 students, six grades of four classes, and
one row in fifty bad in a known way (a wrong ID check character, a gender the ID number
contradicts, an unknown 民族, an empty 姓名, a duplicated ID number, an unregistered school).

Then, each step a process of its own so that its peak RSS (VmHWM) is its own, in a fresh
database (a SQLite file under bench/out/, or `santong_bench_import` on the given server):

  setup     migrate, Sichuan's regions, the school year and the schools (not timed);
  dry run   the same import with --dry-run: reading, repairs, every check and the report,
            nothing written (what validation alone costs);
  import    `santong import students FILE` as the command runs it (an import job with its
            ledger, report and progress; every check on, ID numbers validated, encrypted and
            digested; accounts, roles, records and history written);
  raw file  the file's rows loaded into a bare table with the file's columns, no index or
            constraint, in one transaction: `COPY ... FROM STDIN (FORMAT csv)` of the file on
            PostgreSQL; `csv.reader` and one executemany on SQLite;
  raw rows  the rows the import wrote (people, accounts, roles, records, events), dumped
            untimed, then loaded raw (binary COPY; one executemany per table on SQLite) into
            bare copies of those five tables, and then back into the emptied tables
            themselves (their indexes and foreign keys).
  floor     the least any import must do, whatever its code and schema, split in its two
            halves: the database's (the file's good rows, loaded the raw way, into one table
            of the file's columns with only a unique ID number, an index on the school for
            scoped reads and a foreign key to the school: one record per person and a school
            that exists, enforced by the database) and the client's (the file read, and
            every ID number encrypted and digested with the product's vault, nothing else).
            Each half runs as one stream, as the raw load does; at best the two overlap (two
            cores), so the raw load's time over the longer half is the highest ratio any
            import can reach here, with no check made and none of the other rows written.

and prints rows/s, CPU time and peak RSS of the import, and its ratio to each raw rate.
"""

import argparse
import contextlib
import cProfile
import csv
import io
import os
import pstats
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE.parent / "src"))

BENCH_DATABASE = "santong_bench_import"
STUDENTS_PER_SCHOOL = 1000
BAD_EVERY = 50
HEADERS = [
    "学校标识码", "姓名", "性别", "出生日期", "身份证件号", "民族",
    "年级", "班级", "户口性质", "入学日期",
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "小雨浩然子涵欣怡梓轩一诺宇航思远佳琪俊杰雨桐"
ETHNICITIES = ["汉族", "汉族", "汉族", "汉族", "彝族", "藏族", "羌族", "回族"]
GRADES = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"]
WRITTEN_TABLES = (
    "accounts_person",
    "accounts_user",
    "accounts_role",
    "registry_studentrecord",
    "registry_studentevent",
)


def school_code(n: int) -> str:
    return f"19{n // STUDENTS_PER_SCHOOL:08d}"


def roster_row(n: int) -> list[str]:
    from santong.accounts.identity import make_resident_id

    # Within each thousand rows, gender and sequence differ; across thousands, the birth date.
    male = n % 2 == 1
    grade = (n // 4) % 6
    birth = date(2013, 1, 1) + timedelta(days=n // 1000)
    id_number = make_resident_id("510104", birth, (n % 1000) // 2, male)
    row = [
        school_code(n),
        SURNAMES[n % 20] + GIVEN[n % 17] + GIVEN[(n // 17) % 17],
        "男" if male else "女",
        birth.isoformat(),
        id_number,
        ETHNICITIES[n % 8],
        GRADES[grade],
        f"{GRADES[grade]}（{n % 4 + 1}）班",
        "非农业户口" if n % 3 else "农业户口",
        "2025-09-01",
    ]
    if n % BAD_EVERY == BAD_EVERY - 1:
        fault = (n // BAD_EVERY) % 6
        if fault == 0:
            last = id_number[-1]
            row[4] = id_number[:-1] + ("0" if last != "0" else "1")
        elif fault == 1:
            row[2] = "女" if male else "男"
        elif fault == 2:
            row[5] = "穿青人"
        elif fault == 3:
            row[1] = ""
        elif fault == 4:
            row[4] = roster_row(n - 1)[4]
        else:
            row[0] = "1999999999"
    return row


def generate(rows: int, kind: str) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"students-{rows}.{kind}"
    if path.exists():
        return path
    start = time.perf_counter()
    if kind == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            writer.writerows(roster_row(n) for n in range(rows))
    else:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet("学生")
        sheet.write_row(0, 0, HEADERS)
        for n in range(rows):
            sheet.write_row(n + 1, 0, roster_row(n))
        book.close()
    print(f"generated {path.name} in {time.perf_counter() - start:.0f} s", flush=True)
    return path


# --------------------------------------------------------------------------- databases


def fresh_database(url: str | None, rows: int) -> str:
    if not url or url.startswith("sqlite"):
        OUT.mkdir(exist_ok=True)
        path = OUT / f"import-{rows}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return urlunparse(parsed._replace(path=f"/{BENCH_DATABASE}"))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "santong.settings.test")
    os.environ.setdefault("SANTONG_VAR_DIR", str(OUT / "var"))
    import django

    django.setup()


def step_setup(rows: int) -> str:
    from django.core.management import call_command
    from django.db import transaction

    from santong.core.actors import SYSTEM
    from santong.orgs import services as org_services

    call_command("migrate", verbosity=0)
    org_services.load_regions(provinces=["51"])
    org_services.ensure_school_year(start_year=2025, make_current=True)
    schools = [
        org_services.NewSchool(
            code=school_code(n * STUDENTS_PER_SCHOOL),
            name=f"基准小学{n}",
            kind="primary",
            operator="public",
            locale="urban",
            county_code="510104",
            address="",
            host_code=None,
        )
        for n in range((rows + STUDENTS_PER_SCHOOL - 1) // STUDENTS_PER_SCHOOL)
    ]
    with transaction.atomic():
        org_services.bulk_create_schools(actor=SYSTEM, schools=schools)
    return f"{len(schools)} schools"


def step_import(path: Path, profile: bool, *, dry_run: bool = False) -> str:
    from santong.core.actors import SYSTEM
    from santong.imports import jobs, services

    job = services.create_import_job(
        actor=SYSTEM, kind="students", options={"dry_run": dry_run}, source_path=path
    )
    from django.db import connection

    profiler = cProfile.Profile() if profile else None
    statements: dict[str, list[float]] = {}

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = statements.setdefault(" ".join(str(sql).split())[:110], [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - began

    start = time.perf_counter()
    with (
        profiler or contextlib.nullcontext(),
        connection.execute_wrapper(timed) if profile else contextlib.nullcontext(),
    ):
        job = jobs.run_job(job.pk)
    seconds = time.perf_counter() - start
    if profiler is not None:
        report = io.StringIO()
        report.write("SQL statements by total time (count, seconds):\n")
        for sql, (count, spent) in sorted(statements.items(), key=lambda kv: -kv[1][1])[:25]:
            report.write(f"{count:6d} {spent:8.2f}  {sql}\n")
        stats = pstats.Stats(profiler, stream=report).sort_stats("tottime")
        stats.print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_callers(3)
        (OUT / f"profile-{path.stem}.txt").write_text(report.getvalue())
    assert job.status == "succeeded", job.message
    return f"{job.rows_read} {seconds:.4f} created={job.rows_created} rejected={job.rows_rejected}"


def load_csv_raw(path: Path, table: str) -> float:
    """Seconds to load a roster CSV the raw way into `table`, in one transaction: `COPY ... FROM
    STDIN (FORMAT csv)` on PostgreSQL, `csv.reader` and one executemany on SQLite."""
    from django.db import connection, transaction

    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with (
                cursor.cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER)") as copy,
                path.open("rb") as handle,
            ):
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
        else:
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                next(reader)
                marks = ", ".join(["%s"] * len(HEADERS))
                cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", reader)
    return time.perf_counter() - start


def step_raw_file(path: Path) -> str:
    """The file's rows into a bare table of the same columns, in one transaction."""
    from django.db import connection

    columns = ", ".join(f"c{i} text" for i in range(len(HEADERS)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bare_students")
        cursor.execute(f"CREATE TABLE bare_students ({columns})")
    seconds = load_csv_raw(path, "bare_students")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM bare_students")
        count = cursor.fetchone()[0]
    return f"{count} {seconds:.4f}"


def step_floor(path: Path) -> str:
    """The least an import must do, on each side: see the module docstring."""
    from django.db import connection

    from santong.accounts.identity import IdType, get_vault

    good = OUT / f"{path.stem}-good.csv"
    with (
        path.open(encoding="utf-8", newline="") as source,
        good.open("w", encoding="utf-8", newline="") as target,
    ):
        reader, writer = csv.reader(source), csv.writer(target)
        writer.writerow(next(reader))
        writer.writerows(row for n, row in enumerate(reader) if n % BAD_EVERY != BAD_EVERY - 1)
    columns = ", ".join(
        f"c{i} text" + (" REFERENCES orgs_school (code)" if i == 0 else "")
        for i in range(len(HEADERS))
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS floor_students")
        cursor.execute(f"CREATE TABLE floor_students ({columns}, UNIQUE (c4))")
        cursor.execute("CREATE INDEX floor_students_school ON floor_students (c0)")
    database_seconds = load_csv_raw(good, "floor_students")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM floor_students")
        loaded = cursor.fetchone()[0]
    good.unlink()
    vault = get_vault()
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        column = next(reader).index("身份证件号")
        numbers = [row[column] for row in reader]
    vault.encrypt_many(numbers)
    digest = vault.digest
    for number in numbers:
        digest(IdType.RESIDENT, number)
    client_seconds = time.perf_counter() - start
    return f"{loaded} {database_seconds:.4f} {client_seconds:.4f}"


NULL = "\\N"  # how the SQLite dumps write NULL


def _dump(cursor, table: str, dump: Path) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    if connection.vendor == "postgresql":
        with (
            cursor.cursor.copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy,
            dump.open("wb") as handle,
        ):
            for data in copy:
                handle.write(data)
        return
    cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
    with dump.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        while chunk := cursor.fetchmany(10_000):
            writer.writerows(
                [NULL if v is None else (v.hex() if isinstance(v, bytes) else v) for v in row]
                for row in chunk
            )


def _load(cursor, table: str, dump: Path, blobs: frozenset[int] = frozenset()) -> None:  # type: ignore[no-untyped-def]
    """`dump` into `table` the raw way: COPY in PostgreSQL's binary format (no value is parsed
    from text, the fastest way in), or one executemany (`blobs`: the columns to turn back from
    hex into bytes)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with (
            cursor.cursor.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy,
            dump.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        return
    with dump.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        if first is None:
            return

        def values(row: list[str]) -> list[object]:
            return [
                None if v == NULL else (bytes.fromhex(v) if i in blobs else v)
                for i, v in enumerate(row)
            ]

        marks = ", ".join(["%s"] * len(first))
        cursor.execute(f"INSERT INTO {table} VALUES ({marks})", values(first))
        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", map(values, reader))


def step_raw_rows() -> str:
    """The rows the import wrote, dumped (untimed), then loaded raw in one transaction each:
    into bare copies of their tables (no index, no constraint), then back into the emptied
    tables themselves (their indexes, unique constraints and foreign-key checks)."""
    from django.db import connection, transaction

    dumps: dict[str, Path] = {}
    blobs: dict[str, frozenset[int]] = {}
    with connection.cursor() as cursor:
        for table in WRITTEN_TABLES:
            dump = OUT / f"dump-{table}.csv"
            bare = f"bare_{table}"
            cursor.execute(f"DROP TABLE IF EXISTS {bare}")
            if connection.vendor == "postgresql":
                cursor.execute(f"CREATE TABLE {bare} (LIKE {table})")
            else:
                cursor.execute(f"CREATE TABLE {bare} AS SELECT * FROM {table} WHERE 0")
                cursor.execute(f"SELECT * FROM pragma_table_info('{table}')")
                blobs[table] = frozenset(
                    row[0] for row in cursor.fetchall() if row[2].upper() == "BLOB"
                )
            _dump(cursor, table, dump)
            dumps[table] = dump
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, dump in dumps.items():
            _load(cursor, f"bare_{table}", dump)
    bare_seconds = time.perf_counter() - start
    total = 0
    with connection.cursor() as cursor:
        for table in WRITTEN_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM bare_{table}")
            total += cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(WRITTEN_TABLES)} CASCADE")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in reversed(WRITTEN_TABLES):
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("PRAGMA foreign_keys = ON")
    start = time.perf_counter()
    spent: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for table, dump in dumps.items():
            began = time.perf_counter()
            _load(cursor, table, dump, blobs.get(table, frozenset()))
            spent[table] = time.perf_counter() - began
        began = time.perf_counter()
    # The commit is where the deferred foreign keys of all those rows are checked.
    spent["commit"] = time.perf_counter() - began
    table_seconds = time.perf_counter() - start
    print("into the real tables: " + ", ".join(f"{k} {v:.2f} s" for k, v in spent.items()))
    with connection.cursor() as cursor:
        reloaded = 0
        for table in WRITTEN_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            reloaded += cursor.fetchone()[0]
    assert reloaded == total, (reloaded, total)
    for dump in dumps.values():
        dump.unlink()
    return f"{total} {bare_seconds:.4f} {table_seconds:.4f}"


def peak_rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def child(step: str, argument: str, profile: bool) -> None:
    setup_django()
    if step == "setup":
        result = step_setup(int(argument))
    elif step == "import":
        result = step_import(Path(argument), profile)
    elif step == "dry-run":
        result = step_import(Path(argument), profile=False, dry_run=True)
    elif step == "raw-file":
        result = step_raw_file(Path(argument))
    elif step == "floor":
        result = step_floor(Path(argument))
    else:
        result = step_raw_rows()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{result} rss={peak_rss_mb()} cpu={usage.ru_utime + usage.ru_stime:.1f}")


def run(step: str, argument: str, url: str, profile: bool = False) -> list[str]:
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, __file__, "--child", step, argument]
    if profile:
        command.append("--profile")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"step {step} failed")
    *before, last = done.stdout.strip().splitlines()
    for line in before:
        print(f"  {step}: {line}", flush=True)
    return last.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--xlsx", action="store_true", help="also import the 100k .xlsx")
    parser.add_argument("--profile", action="store_true", help="cProfile the import")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.profile)
        return
    vendor = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores", flush=True)
    results = []
    for rows in args.rows:
        files = [generate(rows, "csv")]
        if args.xlsx and rows <= 100_000:
            files.append(generate(rows, "xlsx"))
        for path in files:
            url = fresh_database(args.database_url, rows)
            run("setup", str(rows), url)
            load = os.getloadavg()[0]
            # Everything but the writing, on the same empty registry the import then meets.
            _read, dry_seconds, *_rest = run("dry-run", str(path), url)
            read, seconds, created, rejected, rss, cpu = run("import", str(path), url, args.profile)
            # The same rows, whatever the file's format: the raw load reads them from the CSV.
            raw_count, raw_seconds, _raw_rss, _cpu = run("raw-file", str(files[0]), url)
            written, written_seconds, table_seconds, _rss, _cpu = run("raw-rows", "-", url)
            _good, floor_seconds, client_seconds, _rss, _cpu = run("floor", str(files[0]), url)
            rate = int(read) / float(seconds)
            raw_rate = int(raw_count) / float(raw_seconds)
            # The raw load of the written rows, per student row of the file.
            written_rate = int(read) / float(written_seconds)
            table_rate = int(read) / float(table_seconds)
            dry_rate = int(read) / float(dry_seconds)
            floor_rate = int(read) / float(floor_seconds)
            client_rate = int(read) / float(client_seconds)
            best = min(floor_rate, client_rate) / raw_rate
            results.append(
                f"| {vendor} | {path.suffix[1:]} | {rows:,} | {created.split('=')[1]} / "
                f"{rejected.split('=')[1]} | {float(seconds):.1f} | {cpu.split('=')[1]} | "
                f"{rate:,.0f} | "
                f"{raw_rate:,.0f} | {rate / raw_rate:.3f} | {int(written):,} rows: "
                f"{written_rate:,.0f} | {rate / written_rate:.2f} | {table_rate:,.0f} | "
                f"{rate / table_rate:.2f} | {dry_rate:,.0f} | {dry_rate / raw_rate:.3f} | "
                f"{floor_rate:,.0f} | {client_rate:,.0f} | {best:.2f} | "
                f"{rss.split('=')[1]} MB | "
                f"{load:.1f} |"
            )
            print(results[-1], flush=True)
    print()
    print(
        "| database | file | rows | imported / rejected | import s | import CPU s | rows/s "
        "| raw file rows/s "
        "| ratio | raw written rows (per student/s) | ratio | into the real tables (per "
        "student/s) | ratio | dry run rows/s | its ratio to raw file | floor: database rows/s "
        "| floor: client rows/s | highest reachable ratio | peak RSS | load |"
    )
    print(
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
