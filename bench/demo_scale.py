"""How long `santong demo` takes to build a large population, and how much memory it needs.

Each run is `santong demo --no-serve --students N` in a fresh `SANTONG_VAR_DIR` (an empty
SQLite database), or in a freshly created PostgreSQL database when `--postgres URL` is given.
Wall time and the child's peak resident memory (from `wait4`, so each run is measured on its
own) are printed as a table; peak memory should stay flat as N grows, because the population
is streamed in chunks.

    uv run python bench/demo_scale.py --students 100000 1000000
    uv run python bench/demo_scale.py --students 100000 --postgres postgres://postgres@127.0.0.1:5432/postgres
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    database: str
    asked: int
    students: int
    people: int
    seconds: float
    peak_mb: float
    database_mb: float
    status: int


def _count(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1).replace(",", "")) if match else 0


def run_demo(students: int, *, database_url: str | None, timeout: float) -> Result:
    var = Path(tempfile.mkdtemp(prefix="santong-bench-var-"))
    env = dict(os.environ, SANTONG_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="santong.settings.dev")
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "santong", "demo", "--no-serve", "--students", str(students)]
    started = time.monotonic()
    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=errors)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.5)
        seconds = time.monotonic() - started
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
        errors.seek(0)
        error_text = errors.read().decode("utf-8", "replace")
    database_mb = (
        database_size(database_url)
        if database_url
        else sum(path.stat().st_size for path in var.glob("santong.sqlite3*"))
    ) / 2**20
    shutil.rmtree(var, ignore_errors=True)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(text[-1000:] + error_text[-3000:])
    return Result(
        database="PostgreSQL" if database_url else "SQLite",
        asked=students,
        students=_count(r"学生 ([\d,]+) 人", text),
        people=_count(r"共 ([\d,]+) 人", text),
        seconds=seconds,
        peak_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        database_mb=database_mb,
        status=code,
    )


def database_size(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def fresh_postgres(url: str) -> tuple[str, str]:
    """Creates an empty database next to the one `url` names; returns (its url, its name)."""
    import psycopg

    name = f"santong_bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_postgres(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL at this server")
    parser.add_argument("--no-sqlite", action="store_true", help="run on PostgreSQL only")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    args = parser.parse_args()

    results: list[Result] = []
    for students in args.students:
        if not args.no_sqlite:
            results.append(run_demo(students, database_url=None, timeout=args.timeout))
            print_row(results[-1])
        if args.postgres:
            url, name = fresh_postgres(args.postgres)
            try:
                results.append(run_demo(students, database_url=url, timeout=args.timeout))
                print_row(results[-1])
            finally:
                drop_postgres(args.postgres, name)
    print()
    print_table(results)


def print_row(result: Result) -> None:
    print(
        f"{result.database}: {result.students:,} students in {result.seconds:.0f} s, "
        f"peak {result.peak_mb:.0f} MB, database {result.database_mb:,.0f} MB "
        f"(exit {result.status})",
        flush=True,
    )


def print_table(results: list[Result]) -> None:
    header = (
        "| database | students asked | students built | people | wall time | people/s "
        "| peak RSS | database size | exit |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        rate = r.people / r.seconds if r.seconds else 0
        print(
            f"| {r.database} | {r.asked:,} | {r.students:,} | {r.people:,} | {r.seconds:.0f} s "
            f"| {rate:,.0f} | {r.peak_mb:.0f} MB | {r.database_mb:,.0f} MB | {r.status} |"
        )


if __name__ == "__main__":
    main()
