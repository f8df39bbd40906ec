"""Writes to the org tree: code tables, regions, schools, school years and classes."""

import csv
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from santong.audit.models import AuditEvent
from santong.audit.services import changes, record_event
from santong.core.actors import Actor
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
