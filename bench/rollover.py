"""Year rollover (升级) of a whole region, timed next to a bare SQL UPDATE of the same rows.

    uv run python bench/rollover.py                       # SQLite, 1,000,000 students
    uv run python bench/rollover.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    uv run python bench/rollover.py --students 100000     # smaller

A fresh database (SQLite file under bench/out/, or a database `santong_bench_rollover` created
on the given PostgreSQL server) is migrated and filled with set-based SQL only: Sichuan's real
counties, one primary school per 1,000 students spread over them, four classes per grade
(一年级 … 六年级) in 2025, and one person, account, student role and student record per
student, enrolled class after class as a school registers its intake; all from generated
series (INSERT ... SELECT), never a Python object per row.

Then, in the same run:
  1. bare: one `UPDATE` of every student record's placement (path, updated_at) inside a
     transaction that is rolled back afterwards, the floor for touching those rows at all;
  2. santong: `registry.services.rollover_year` over the province (path "51"): preview, new
     classes, class links, a history row per student, the student roles moved, every record
     promoted or marked graduating, audit;
  3. santong again: the idempotent second run (nothing to do).
and prints both timings and their ratio.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

BENCH_DATABASE = "santong_bench_rollover"
CLASSES_PER_GRADE = 4
GRADES = ("11", "12", "13", "14", "15", "16")
STUDENTS_PER_SCHOOL = 1000


def prepare_database(url: str | None) -> str:
    """A DATABASE_URL pointing at a fresh, empty database."""
    if not url or url.startswith("sqlite"):
        out = HERE / "out"
        out.mkdir(exist_ok=True)
        path = out / "rollover.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return urlunparse(parsed._replace(path=f"/{BENCH_DATABASE}"))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "santong.settings.test"
    import django

    django.setup()


class Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor

    def series(self, name: str, count: int) -> str:
        """A CTE `name(n)` with n = 1 .. count."""
        if self.vendor == "postgresql":
            return f"{name}(n) AS (SELECT generate_series(1, {count}))"
        return f"{name}(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM {name} WHERE n < {count})"

    def recursive(self) -> str:
        return "WITH RECURSIVE " if self.vendor == "sqlite" else "WITH "

    def pad(self, expression: str, width: int) -> str:
        if self.vendor == "postgresql":
            return f"lpad(CAST({expression} AS TEXT), {width}, '0')"
        return f"substr('{'0' * width}' || ({expression}), -{width}, {width})"

    def text(self, expression: str) -> str:
        return f"CAST({expression} AS TEXT)"


def generate(students: int) -> dict[str, int]:
    from django.db import connection, transaction
    from django.utils import timezone

    from santong.orgs import services as org_services

    sql = Sql(connection.vendor)
    org_services.load_regions(provinces=["51"])
    year = org_services.ensure_school_year(start_year=2025, make_current=True)
    schools = max(1, students // STUDENTS_PER_SCHOOL)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql.recursive()
            + sql.series("s", schools)
            + ", counties AS (SELECT code, ROW_NUMBER() OVER (ORDER BY code) - 1 AS idx "
            "FROM orgs_region WHERE level = 'county' AND code LIKE '51%%'), "
            "total AS (SELECT COUNT(*) AS k FROM counties) "
            "INSERT INTO orgs_school (code, name, kind, operator, locale, address, county_id, "
            "host_school_id, path, created_at, updated_at) "
            f"SELECT '1' || c.code || {sql.pad('(s.n - 1) / t.k', 3)}, "
            f"'基准小学' || {sql.text('s.n')}, 'primary', 'public', 'urban', '', c.code, NULL, "
            f"c.code || '/1' || c.code || {sql.pad('(s.n - 1) / t.k', 3)}, %s, %s "
            "FROM s CROSS JOIN total t JOIN counties c ON c.idx = (s.n - 1) %% t.k",
            [now, now],
        )
        grades = " UNION ALL ".join(f"SELECT '{g}' AS code" for g in GRADES)
        cursor.execute(
            sql.recursive() + sql.series("num", CLASSES_PER_GRADE) + f", gr AS ({grades}) "
            "INSERT INTO orgs_schoolclass (school_id, school_year_id, grade_id, number, name, "
            "path, created_at) "
            f"SELECT s.id, %s, g.code, num.n, g.name || '（' || {sql.text('num.n')} || '）班', "
            f"s.path || '/2025' || g.code || {sql.pad('num.n', 2)}, %s "
            "FROM orgs_school s CROSS JOIN gr JOIN orgs_grade g ON g.code = gr.code "
            "CROSS JOIN num",
            [year.pk, now],
        )
        cursor.execute(
            sql.recursive()
            + sql.series("p", students)
            + " INSERT INTO accounts_person (name, gender, birth_date, id_type, id_cipher, "
            "id_digest, id_masked, created_at, updated_at) "
            f"SELECT '学生' || {sql.text('p.n')}, CASE WHEN p.n %% 2 = 1 THEN '1' ELSE '2' END, "
            f"NULL, '1', NULL, {sql.pad('p.n', 64)}, "
            f"'510104********' || {sql.pad('p.n %% 10000', 4)}, %s, %s FROM p",
            [now, now],
        )
        cursor.execute(
            "INSERT INTO accounts_user (password, last_login, is_superuser, username, phone, "
            "person_id, is_active, is_staff, date_joined, failed_logins, locked_until) "
            f"SELECT '!', NULL, FALSE, 's' || {sql.text('id')}, NULL, id, TRUE, FALSE, %s, 0, NULL "
            "FROM accounts_person",
            [now],
        )
        classes_cte = (
            "WITH c AS (SELECT id, path, school_id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS idx "
            "FROM orgs_schoolclass), total AS (SELECT COUNT(*) AS k FROM c), "
            "p AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS idx FROM accounts_person) "
        )
        cursor.execute(
            "INSERT INTO registry_studentrecord (person_id, id_digest, number_masked, "
            "temporary_number, school_id, school_class_id, path, status, graduating, ethnicity, "
            "hukou, health, enrolled_on, left_on, destination, created_at, updated_at) "
            + classes_cte
            + "SELECT p.id, pe.id_digest, 'G' || pe.id_masked, NULL, c.school_id, c.id, c.path, "
            "'enrolled', FALSE, '01', '3', '1', %s, NULL, '', %s, %s "
            "FROM p JOIN accounts_person pe ON pe.id = p.id CROSS JOIN total t "
            "JOIN c ON c.idx = (p.idx * t.k) / %s",
            [year.start_date, now, now, students],
        )
        cursor.execute(
            "INSERT INTO accounts_role (user_id, kind, region_id, school_id, school_class_id, "
            "subject_id, child_id, path, granted_by_id, created_at) "
            "SELECT u.id, 'student', NULL, NULL, r.school_class_id, NULL, NULL, r.path, NULL, %s "
            "FROM registry_studentrecord r JOIN accounts_user u ON u.person_id = r.person_id",
            [now],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT COUNT(*) FROM registry_studentrecord")
        (records,) = cursor.fetchone()
        cursor.execute("SELECT COUNT(*) FROM orgs_schoolclass")
        (classes,) = cursor.fetchone()
    return {"schools": schools, "classes": classes, "students": records}


def bare_update() -> tuple[float, int]:
    """Seconds for one UPDATE of every student record in the province, then rolled back."""
    from django.db import connection, transaction
    from django.utils import timezone

    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "UPDATE registry_studentrecord SET path = substr(path, 1, length(path) - 8) "
            "|| '2026' || substr(path, length(path) - 3, 4), updated_at = %s "
            "WHERE path >= %s AND path < %s",
            [timezone.now(), "51", "51~"],
        )
        elapsed = time.perf_counter() - started
        rows = cursor.rowcount
        transaction.set_rollback(True)
    return elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()

    setup_django(prepare_database(args.database_url))
    from django.core.management import call_command
    from django.db import connection

    from santong.core.actors import SYSTEM
    from santong.orgs.models import SchoolYear
    from santong.registry import services

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    sizes = generate(args.students)
    print(
        f"generated {sizes['students']:,} students in {sizes['classes']:,} classes of "
        f"{sizes['schools']:,} schools (SQL only): {time.perf_counter() - started:.1f} s"
    )

    bare_seconds, bare_rows = bare_update()
    print(f"bare UPDATE of {bare_rows:,} rows (rolled back): {bare_seconds:.2f} s")

    year = SchoolYear.objects.get(start_year=2025)
    started = time.perf_counter()
    result = services.rollover_year(actor=SYSTEM, path="51", from_year=year)
    ours = time.perf_counter() - started
    touched = result.promoted + result.marked_graduating
    print(
        f"santong rollover: {ours:.2f} s — {result.promoted:,} promoted, "
        f"{result.marked_graduating:,} marked graduating, {result.classes_created:,} classes "
        f"created"
    )
    started = time.perf_counter()
    again = services.rollover_year(actor=SYSTEM, path="51", from_year=year)
    print(
        f"second run (idempotent, {'nothing to do' if again.rollover is None else 'WROTE'}): "
        f"{time.perf_counter() - started:.2f} s"
    )
    assert touched == bare_rows == sizes["students"], (touched, bare_rows, sizes)
    print(f"ratio santong / bare UPDATE: {ours / bare_seconds:.1f}x over {touched:,} rows")


if __name__ == "__main__":
    main()
