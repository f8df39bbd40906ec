"""Writes to the org tree: code tables, regions, schools, school years and classes."""

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.audit.models import AuditEvent
from santong.audit.services import changes, record_event
from santong.core.actors import Actor
from santong.core.bulk import common_unit, in_slices, insert_rows, reserve_ids
from santong.core.scope import PATH_END, contains
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear, Stage, Subject, Term

DATA_DIR = Path(__file__).resolve().parent / "data"
SCHOOL_CODE_RE = re.compile(r"^\d{10}$")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sync_code_tables() -> None:
    """Upserts stages, grades and subjects from their data files (idempotent)."""
    stages = [
        Stage(code=row["code"], name=row["name"], order=int(row["order"]))
        for row in _read_csv(DATA_DIR / "stages.csv")
    ]
    Stage.objects.bulk_create(
        stages, update_conflicts=True, unique_fields=["code"], update_fields=["name", "order"]
    )
    grades = [
        Grade(
            code=row["code"],
            name=row["name"],
            stage_id=row["stage"],
            order=int(row["order"]),
            is_final=row["is_final"] == "1",
        )
        for row in _read_csv(DATA_DIR / "grades.csv")
    ]
    Grade.objects.bulk_create(
        grades,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "stage", "order", "is_final"],
    )
    subjects = [
        Subject(code=row["code"], name=row["name"]) for row in _read_csv(DATA_DIR / "subjects.csv")
    ]
    Subject.objects.bulk_create(
        subjects, update_conflicts=True, unique_fields=["code"], update_fields=["name"]
    )


def sync_code_tables_after_migrate(**kwargs: Any) -> None:
    sync_code_tables()


def load_regions(*, provinces: Iterable[str] | None = None) -> int:
    """Loads the GB/T 2260 tree for the given provinces (all 31 when None); returns the row count.

    Idempotent: names are refreshed, nothing is deleted. Parents are inserted before children
    so foreign keys hold at every step.
    """
    wanted = set(provinces) if provinces is not None else None
    source = DATA_DIR / "divisions"

    def keep(code: str) -> bool:
        return wanted is None or code[:2] in wanted

    levels = [
        [
            Region(code=r["code"], name=r["name"], level=Region.Level.PROVINCE, parent_id=None)
            for r in _read_csv(source / "provinces.csv")
            if keep(r["code"])
        ],
        [
            Region(
                code=r["code"], name=r["name"], level=Region.Level.CITY, parent_id=r["provinceCode"]
            )
            for r in _read_csv(source / "cities.csv")
            if keep(r["code"])
        ],
        [
            Region(
                code=r["code"], name=r["name"], level=Region.Level.COUNTY, parent_id=r["cityCode"]
            )
            for r in _read_csv(source / "areas.csv")
            if keep(r["code"])
        ],
    ]
    with transaction.atomic():
        for rows in levels:
            Region.objects.bulk_create(
                rows,
                batch_size=1000,
                update_conflicts=True,
                unique_fields=["code"],
                update_fields=["name", "level", "parent"],
            )
    return sum(len(rows) for rows in levels)


def school_path(*, county_code: str, code: str, host: School | None) -> str:
    return f"{host.path}/{code}" if host is not None else f"{county_code}/{code}"


def class_path(*, school: School, school_year: SchoolYear, grade: Grade, number: int) -> str:
    return f"{school.path}/{school_year.start_year}{grade.code}{number:02d}"


def _validate_school(
    *, code: str, kind: str, county: Region, host_school: School | None, exclude_pk: int | None
) -> None:
    errors: dict[str, str] = {}
    if not SCHOOL_CODE_RE.match(code):
        errors["code"] = _("学校标识码应为10位数字。")
    elif (
        School.objects.filter(code=code).exclude(pk__in=[exclude_pk] if exclude_pk else []).exists()
    ):
        errors["code"] = _("学校标识码 %(code)s 已被其他学校使用。") % {"code": code}
    if county.level != Region.Level.COUNTY:
        errors["county"] = _("学校必须隶属于区县。")
    if kind == School.Kind.TEACHING_POINT:
        if host_school is None:
            errors["host_school"] = _("教学点必须指定主校。")
        elif host_school.kind == School.Kind.TEACHING_POINT:
            errors["host_school"] = _("教学点的主校不能是另一个教学点。")
        elif host_school.county_id != county.code:
            errors["host_school"] = _("教学点与主校必须在同一区县。")
    elif host_school is not None:
        errors["host_school"] = _("只有教学点可以指定主校。")
    if kind not in School.Kind.values:
        errors["kind"] = _("未知的学校类型。")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_school(
    *,
    actor: Actor,
    code: str,
    name: str,
    kind: str,
    operator: str,
    locale: str,
    county: Region,
    address: str = "",
    host_school: School | None = None,
) -> School:
    _validate_school(code=code, kind=kind, county=county, host_school=host_school, exclude_pk=None)
    path = school_path(county_code=county.code, code=code, host=host_school)
    actor.require_within(path)
    school = School(
        code=code,
        name=name.strip(),
        kind=kind,
        operator=operator,
        locale=locale,
        county=county,
        address=address.strip(),
        host_school=host_school,
        path=path,
    )
    school.full_clean(exclude=["path"])
    school.save()
    record_event(actor=actor, action=AuditEvent.Action.CREATE, obj=school, path=school.path)
    return school


EDITABLE_SCHOOL_FIELDS = ("name", "operator", "locale", "address")


@transaction.atomic
def update_school(*, actor: Actor, school: School, **data: Any) -> School:
    """Edits a school's descriptive fields; its code and place in the tree are not edited here."""
    unknown = set(data) - set(EDITABLE_SCHOOL_FIELDS)
    if unknown:
        raise ValidationError({name: _("该字段不可修改。") for name in sorted(unknown)})
    actor.require_within(school.path)
    school = School.objects.select_for_update().get(pk=school.pk)
    diff = changes(school, data)
    for name, value in data.items():
        setattr(school, name, value.strip() if isinstance(value, str) else value)
    school.full_clean(exclude=["path", "host_school", "county"])
    school.save()
    if diff:
        record_event(
            actor=actor, action=AuditEvent.Action.UPDATE, obj=school, path=school.path, detail=diff
        )
    return school


@transaction.atomic
def ensure_school_year(*, start_year: int, make_current: bool = False) -> SchoolYear:
    """The school year starting in autumn of `start_year`, created with its two terms if new."""
    year, created = SchoolYear.objects.get_or_create(
        start_year=start_year,
        defaults={"start_date": date(start_year, 9, 1), "end_date": date(start_year + 1, 8, 31)},
    )
    if created:
        Term.objects.bulk_create(
            [
                Term(
                    school_year=year,
                    number=1,
                    start_date=date(start_year, 9, 1),
                    end_date=date(start_year + 1, 1, 31),
                ),
                Term(
                    school_year=year,
                    number=2,
                    start_date=date(start_year + 1, 2, 1),
                    end_date=date(start_year + 1, 8, 31),
                ),
            ]
        )
    if make_current and not year.is_current:
        SchoolYear.objects.filter(is_current=True).update(is_current=False)
        SchoolYear.objects.filter(pk=year.pk).update(is_current=True)
        year.is_current = True
    return year


def class_name(*, grade: Grade, number: int) -> str:
    return f"{grade.name}（{number}）班"


def _validate_class(*, school: School, grade: Grade, number: int) -> None:
    errors: dict[str, str] = {}
    if not 1 <= number <= 99:
        errors["number"] = _("班号应在1到99之间。")
    allowed = SCHOOL_KIND_STAGES.get(school.kind)
    if allowed is not None and grade.stage_id not in allowed:
        errors["grade"] = _("%(school)s 不开设 %(grade)s。") % {
            "school": school.get_kind_display(),
            "grade": grade.name,
        }
    if errors:
        raise ValidationError(errors)


SCHOOL_KIND_STAGES: dict[str, set[str]] = {
    School.Kind.KINDERGARTEN: {"0"},
    School.Kind.PRIMARY: {"1"},
    School.Kind.TEACHING_POINT: {"0", "1"},
    School.Kind.JUNIOR: {"2"},
    School.Kind.NINE_YEAR: {"1", "2"},
    School.Kind.SENIOR: {"3"},
    School.Kind.COMPLETE: {"2", "3"},
    School.Kind.TWELVE_YEAR: {"1", "2", "3"},
    School.Kind.VOCATIONAL: {"4"},
    School.Kind.SPECIAL: {"1", "2"},
}


@transaction.atomic
def create_class(
    *, actor: Actor, school: School, school_year: SchoolYear, grade: Grade, number: int
) -> SchoolClass:
    _validate_class(school=school, grade=grade, number=number)
    path = class_path(school=school, school_year=school_year, grade=grade, number=number)
    actor.require_within(path)
    if SchoolClass.objects.filter(path=path).exists():
        raise ValidationError(
            {
                "number": _("%(name)s 在该学年已存在。")
                % {"name": class_name(grade=grade, number=number)}
            }
        )
    school_class = SchoolClass.objects.create(
        school=school,
        school_year=school_year,
        grade=grade,
        number=number,
        name=class_name(grade=grade, number=number),
        path=path,
    )
    record_event(
        actor=actor, action=AuditEvent.Action.CREATE, obj=school_class, path=school_class.path
    )
    return school_class


@transaction.atomic
def rename_class(*, actor: Actor, school_class: SchoolClass, name: str) -> SchoolClass:
    actor.require_within(school_class.path)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("班级名称不能为空。")})
    diff = changes(school_class, {"name": name})
    school_class.name = name
    school_class.save(update_fields=["name"])
    if diff:
        record_event(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=school_class,
            path=school_class.path,
            detail=diff,
        )
    return school_class


@transaction.atomic
def roll_classes_forward(
    *,
    actor: Actor,
    path: str,
    source: QuerySet[SchoolClass],
    to_year: SchoolYear,
    next_grades: Mapping[tuple[str, str], str],
) -> int:
    """Creates, in one INSERT ... SELECT, the class of `to_year` that follows each class of
    `source` inside `path`: same school and number, the grade `next_grades[(school kind,
    grade)]`. Classes that already exist are left alone, so running it again adds nothing.
    Returns how many classes were created (the year rollover calls this for a whole region)."""
    actor.require_admin()
    actor.require_within(path)
    if not next_grades:
        return 0
    quote = connection.ops.quote_name
    classes, schools, grades = (
        quote(model._meta.db_table) for model in (SchoolClass, School, Grade)
    )
    steps = ", ".join(["(%s, %s, %s)"] * len(next_grades))
    selection, source_params = source.order_by().values("pk").query.sql_with_params()
    # The name and path repeat `class_name` and `class_path` in SQL. The WITH follows INSERT
    # because Python's sqlite3 reports no row count for a statement that starts with WITH.
    sql = (
        f"INSERT INTO {classes} "
        "(school_id, school_year_id, grade_id, number, name, path, created_at) "
        f"WITH step (kind, grade, next_grade) AS (VALUES {steps}) "
        "SELECT c.school_id, %s, step.next_grade, c.number, "
        "g.name || '（' || CAST(c.number AS TEXT) || '）班', "
        "s.path || '/' || %s || step.next_grade "
        "|| CASE WHEN c.number < 10 THEN '0' ELSE '' END || CAST(c.number AS TEXT), %s "
        f"FROM {classes} c JOIN {schools} s ON s.id = c.school_id "
        "JOIN step ON step.kind = s.kind AND step.grade = c.grade_id "
        f"JOIN {grades} g ON g.code = step.next_grade "
        f"WHERE c.id IN ({selection}) AND c.path >= %s AND c.path < %s "
        f"AND NOT EXISTS (SELECT 1 FROM {classes} e WHERE e.school_id = c.school_id "
        "AND e.school_year_id = %s AND e.grade_id = step.next_grade AND e.number = c.number)"
    )
    params: list[Any] = [
        value
        for (kind, grade), following in next_grades.items()
        for value in (kind, grade, following)
    ]
    params += [to_year.pk, str(to_year.start_year), timezone.now(), *source_params]
    params += [path, path + PATH_END, to_year.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created = int(cursor.rowcount)
    if created:
        record_event(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            object_type="schoolclass",
            object_repr=_("%(year)s 学年新建 %(count)s 个班级")
            % {"year": to_year, "count": created},
            path=path,
            detail={"to_year": to_year.start_year, "created": created},
        )
    return created


class NewSchool(NamedTuple):
    """A school for `bulk_create_schools`; a teaching point names its host by school code."""

    code: str
    name: str
    kind: str
    operator: str
    locale: str
    county_code: str
    address: str = ""
    host_code: str | None = None


def _first_error(errors: dict[str, str], field: str, message: str) -> None:
    errors.setdefault(field, message)


@transaction.atomic
def bulk_create_schools(*, actor: Actor, schools: Sequence[NewSchool]) -> dict[str, int]:
    """Creates many schools with one write and one audit row; returns their ids by code.

    For loads of a whole region (imports, `santong demo`). A teaching point's host may come
    earlier in the same batch or be stored already. Every row is checked before anything is
    written, and the first problem of each field is reported with the school code it concerns.
    """
    if not schools:
        return {}
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for school in schools:
        code = school.code
        if not SCHOOL_CODE_RE.match(code):
            _first_error(errors, "code", _("学校标识码 %(code)s 应为10位数字。") % {"code": code})
        elif code in seen:
            _first_error(errors, "code", _("学校标识码 %(code)s 重复。") % {"code": code})
        seen.add(code)
        if not school.name.strip() or len(school.name.strip()) > 100:
            _first_error(
                errors, "name", _("学校 %(code)s 的名称应为1到100个字符。") % {"code": code}
            )
        if len(school.address.strip()) > 200:
            _first_error(
                errors, "address", _("学校 %(code)s 的地址超过200个字符。") % {"code": code}
            )
        if school.kind not in School.Kind.values:
            _first_error(errors, "kind", _("未知的学校类型。"))
        if school.operator not in School.Operator.values:
            _first_error(errors, "operator", _("未知的办学类型。"))
        if school.locale not in School.Locale.values:
            _first_error(errors, "locale", _("未知的城乡类型。"))
    for part in in_slices(seen):
        taken = School.objects.filter(code__in=part).values_list("code", flat=True).first()
        if taken is not None:
            _first_error(
                errors, "code", _("学校标识码 %(code)s 已被其他学校使用。") % {"code": taken}
            )
    county_codes = {school.county_code for school in schools}
    counties = set(
        Region.objects.filter(code__in=county_codes, level=Region.Level.COUNTY).values_list(
            "code", flat=True
        )
    )
    if county_codes - counties:
        _first_error(errors, "county", _("学校必须隶属于区县。"))
    batch = {school.code: school for school in schools}
    stored_hosts = {
        code: (pk, county, kind, path)
        for code, pk, county, kind, path in School.objects.filter(
            code__in={s.host_code for s in schools if s.host_code and s.host_code not in batch}
        ).values_list("code", "pk", "county_id", "kind", "path")
    }
    paths: dict[str, str] = {}
    for school in schools:
        host_code = school.host_code
        if school.kind != School.Kind.TEACHING_POINT:
            if host_code is not None:
                _first_error(errors, "host_school", _("只有教学点可以指定主校。"))
            paths[school.code] = school_path(
                county_code=school.county_code, code=school.code, host=None
            )
            continue
        if host_code in batch:
            host_county, host_kind = batch[host_code].county_code, batch[host_code].kind
            host_path = f"{host_county}/{host_code}"
        elif host_code in stored_hosts:
            _pk, host_county, host_kind, host_path = stored_hosts[host_code]
        else:
            _first_error(errors, "host_school", _("教学点必须指定主校。"))
            continue
        if host_kind == School.Kind.TEACHING_POINT:
            _first_error(errors, "host_school", _("教学点的主校不能是另一个教学点。"))
        elif host_county != school.county_code:
            _first_error(errors, "host_school", _("教学点与主校必须在同一区县。"))
        paths[school.code] = f"{host_path}/{school.code}"
    if errors:
        raise ValidationError(errors)
    for path in paths.values():
        actor.require_within(path)
    ids = dict(zip(batch, reserve_ids(School, len(batch)), strict=True))
    host_ids = {code: host[0] for code, host in stored_hosts.items()} | ids
    now = timezone.now()
    insert_rows(
        School,
        (
            "id",
            "code",
            "name",
            "kind",
            "operator",
            "locale",
            "address",
            "county_id",
            "host_school_id",
            "path",
        ),
        (
            (
                ids[s.code],
                s.code,
                s.name.strip(),
                s.kind,
                s.operator,
                s.locale,
                s.address.strip(),
                s.county_code,
                host_ids[s.host_code] if s.host_code else None,
                paths[s.code],
            )
            for s in schools
        ),
        constants={"created_at": now, "updated_at": now},
    )
    record_event(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="school",
        object_repr=_("批量新建 %(count)s 所学校") % {"count": len(ids)},
        path=common_unit(paths.values()),
        detail={"created": len(ids)},
    )
    return ids


class NewClass(NamedTuple):
    """A class for `bulk_create_classes`: its school, grade code and number."""

    school_id: int
    grade_code: str
    number: int


@transaction.atomic
def bulk_create_classes(
    *, actor: Actor, school_year: SchoolYear, classes: Sequence[NewClass]
) -> list[int]:
    """Creates many classes of one school year with one write and one audit row; returns
    their ids in the order given. Every row is checked before anything is written."""
    if not classes:
        return []
    schools: dict[int, tuple[str, str]] = {}
    for part in in_slices({c.school_id for c in classes}):
        schools.update(
            (pk, (path, kind))
            for pk, path, kind in School.objects.filter(pk__in=part).values_list(
                "pk", "path", "kind"
            )
        )
    grades = {grade.code: grade for grade in Grade.objects.all()}
    errors: dict[str, str] = {}
    paths: list[str] = []
    for new in classes:
        if new.school_id not in schools:
            _first_error(errors, "school", _("学校不存在。"))
            continue
        grade = grades.get(new.grade_code)
        if grade is None:
            _first_error(errors, "grade", _("未知的年级。"))
            continue
        unit_path, kind = schools[new.school_id]
        if not 1 <= new.number <= 99:
            _first_error(errors, "number", _("班号应在1到99之间。"))
        if grade.stage_id not in SCHOOL_KIND_STAGES[kind]:
            _first_error(
                errors,
                "grade",
                _("%(school)s 不开设 %(grade)s。")
                % {"school": School.Kind(kind).label, "grade": grade.name},
            )
        paths.append(f"{unit_path}/{school_year.start_year}{grade.code}{new.number:02d}")
    if len(set(paths)) != len(paths):
        _first_error(errors, "number", _("同一学校同一年级的班号重复。"))
    for some_paths in in_slices(paths):
        existing = (
            SchoolClass.objects.filter(path__in=some_paths).values_list("name", flat=True).first()
        )
        if existing is not None:
            _first_error(errors, "number", _("%(name)s 在该学年已存在。") % {"name": existing})
    if errors:
        raise ValidationError(errors)
    for unit_path, _kind in {schools[c.school_id] for c in classes}:
        actor.require_within(unit_path)
    ids = list(reserve_ids(SchoolClass, len(classes)))
    now = timezone.now()
    insert_rows(
        SchoolClass,
        ("id", "school_id", "grade_id", "number", "name", "path"),
        (
            (
                pk,
                new.school_id,
                new.grade_code,
                new.number,
                class_name(grade=grades[new.grade_code], number=new.number),
                path,
            )
            for pk, new, path in zip(ids, classes, paths, strict=True)
        ),
        constants={"school_year_id": school_year.pk, "created_at": now},
    )
    record_event(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="schoolclass",
        object_repr=_("%(year)s 学年批量新建 %(count)s 个班级")
        % {"year": school_year, "count": len(ids)},
        path=common_unit(paths),
        detail={"to_year": school_year.start_year, "created": len(ids)},
    )
    return ids


class SchoolUpsertResult(NamedTuple):
    created: int
    updated: int
    unchanged: int


def _outside_scope(actor: Actor, path: str) -> bool:
    root = actor.scope_path
    return root is None or not contains(root, path)


def check_school_rows(
    *,
    actor: Actor,
    rows: Sequence[NewSchool],
    planned: Mapping[str, NewSchool] | None = None,
) -> dict[int, dict[str, str]]:
    """Checks many schools for `bulk_upsert_schools` in a few queries; returns the problems of
    each rejected row by its position ({field: message}), so an import can report every row.

    A row whose code is already registered updates that school's descriptive fields; its
    county, type and host cannot change this way. `planned` holds schools accepted earlier in
    the same import but not stored (a dry run), so teaching points may name them as host.
    """
    errors: dict[int, dict[str, str]] = {}

    def fail(index: int, field: str, message: str) -> None:
        errors.setdefault(index, {}).setdefault(field, message)

    planned = planned or {}
    codes = [row.code for row in rows]
    stored: dict[str, tuple[str, str, str | None, str]] = {}
    for part in in_slices(set(codes)):
        for code, kind, county, host, path in School.objects.filter(code__in=part).values_list(
            "code", "kind", "county_id", "host_school__code", "path"
        ):
            stored[code] = (kind, county, host, path)
    host_codes = {row.host_code for row in rows if row.host_code} - stored.keys()
    for part in in_slices(host_codes):
        for code, kind, county, host, path in School.objects.filter(code__in=part).values_list(
            "code", "kind", "county_id", "host_school__code", "path"
        ):
            stored[code] = (kind, county, host, path)
    counties = set(
        Region.objects.filter(
            code__in={row.county_code for row in rows}, level=Region.Level.COUNTY
        ).values_list("code", flat=True)
    )
    in_batch: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not SCHOOL_CODE_RE.match(row.code):
            fail(index, "code", _("学校标识码应为10位数字。"))
            continue
        if row.code in in_batch:
            fail(index, "code", _("学校标识码 %(code)s 重复。") % {"code": row.code})
            continue
        in_batch[row.code] = index
        name = row.name.strip()
        if not name or len(name) > 100:
            fail(index, "name", _("学校名称应为1到100个字符。"))
        if len(row.address.strip()) > 200:
            fail(index, "address", _("地址不能超过200个字符。"))
        if row.kind not in School.Kind.values:
            fail(index, "kind", _("未知的学校类型。"))
        if row.operator not in School.Operator.values:
            fail(index, "operator", _("未知的办学类型。"))
        if row.locale not in School.Locale.values:
            fail(index, "locale", _("未知的城乡类型。"))
        if row.county_code not in counties:
            fail(index, "county", _("学校必须隶属于区县。"))
        if row.code in stored:
            known_kind, known_county, known_host, known_path = stored[row.code]
            if _outside_scope(actor, known_path):
                fail(index, "code", _("学校 %(code)s 不在您的管理范围内。") % {"code": row.code})
            if known_county != row.county_code:
                fail(
                    index,
                    "county",
                    _("该学校已登记在区县 %(county)s，所属区县不能通过导入修改。")
                    % {"county": known_county},
                )
            if known_kind != row.kind:
                fail(index, "kind", _("学校类型不能通过导入修改。"))
            if known_host != row.host_code:
                fail(index, "host_school", _("主校不能通过导入修改。"))
            continue
        path = school_path(county_code=row.county_code, code=row.code, host=None)
        if row.kind == School.Kind.TEACHING_POINT:
            host_row = rows[in_batch[row.host_code]] if row.host_code in in_batch else None
            host_row = host_row or planned.get(row.host_code or "")
            if host_row is not None:
                host_kind, host_county = host_row.kind, host_row.county_code
                host_path = f"{host_row.county_code}/{host_row.code}"
            elif row.host_code in stored:
                host_kind, host_county, _host, host_path = stored[row.host_code]
            else:
                fail(index, "host_school", _("教学点必须指定已登记的主校。"))
                continue
            if host_kind == School.Kind.TEACHING_POINT:
                fail(index, "host_school", _("教学点的主校不能是另一个教学点。"))
            elif host_county != row.county_code:
                fail(index, "host_school", _("教学点与主校必须在同一区县。"))
            path = f"{host_path}/{row.code}"
        elif row.host_code:
            fail(index, "host_school", _("只有教学点可以指定主校。"))
        if _outside_scope(actor, path):
            fail(index, "county", _("学校 %(code)s 不在您的管理范围内。") % {"code": row.code})
    return errors


@transaction.atomic
def bulk_upsert_schools(
    *,
    actor: Actor,
    rows: Sequence[NewSchool],
    planned: Mapping[str, NewSchool] | None = None,
    dry_run: bool = False,
) -> SchoolUpsertResult:
    """Creates the schools whose codes are new and updates the descriptive fields (name,
    办学类型, 城乡类型, address) of those already registered, by school code; rows that change
    nothing are left alone, so importing the same rows twice writes nothing the second time.

    New schools go through `bulk_create_schools` (one write, one audit row); each updated school
    gets its own audit row with the old and new values, as its history. Raises ValidationError
    if any row fails `check_school_rows`: callers import only the rows that passed. With
    `dry_run` nothing is written and the counts say what would have happened.
    """
    actor.require_admin()
    problems = check_school_rows(actor=actor, rows=rows, planned=planned)
    if problems:
        index, fields = min(problems.items())
        raise ValidationError(
            {field: f"{rows[index].code}：{message}" for field, message in fields.items()}
        )
    existing: dict[str, School] = {}
    for part in in_slices([row.code for row in rows]):
        existing.update(
            (school.code, school) for school in School.objects.filter(code__in=part).order_by()
        )
    new = [row for row in rows if row.code not in existing]
    changed: list[School] = []
    histories: list[tuple[School, dict[str, list[Any]]]] = []
    for row in rows:
        school = existing.get(row.code)
        if school is None:
            continue
        data = {
            "name": row.name.strip(),
            "operator": row.operator,
            "locale": row.locale,
            "address": row.address.strip(),
        }
        diff = changes(school, data)
        if not diff:
            continue
        for name, value in data.items():
            setattr(school, name, value)
        school.updated_at = timezone.now()
        changed.append(school)
        histories.append((school, diff))
    result = SchoolUpsertResult(
        created=len(new), updated=len(changed), unchanged=len(rows) - len(new) - len(changed)
    )
    if dry_run:
        return result
    if new:
        bulk_create_schools(actor=actor, schools=new)
    if changed:
        School.objects.bulk_update(changed, [*EDITABLE_SCHOOL_FIELDS, "updated_at"], batch_size=500)
        for school, diff in histories:
            record_event(
                actor=actor,
                action=AuditEvent.Action.UPDATE,
                obj=school,
                path=school.path,
                detail=diff,
            )
    return result
