"""学籍库 by the file: a roster (名册) of students upserted by ID document, set-based.

What an import of students needs beyond `bulk_enrol_students`: each row names its school and
its class by grade and number (classes missing in the current school year are created), a
student already registered at the same school is updated instead of refused, with only what
changed written and kept as history, and every student gets an account holding the student
role in the class. The rules are the single-record services': `enrol_student` (one record per
person region-wide, a refusal naming the school that holds it, readmission after graduating or
leaving), `update_student` (the coded facts), and a change of class inside the school, which
moves the student's and the parents' class roles as a transfer does.

`check_roster` costs a fixed number of queries per batch (schools, classes, people with their
records and accounts, and the student roles they hold) and writes nothing; `write_roster`
costs a fixed number of statements: the classes, people, accounts and roles through their
owning services (each one COPY or one executemany), and the records through one staging table
and a set-based merge: INSERT ... SELECT for new records, UPDATE ... FROM for changed ones,
and a history event for each from the same staged rows.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts import services as account_services
from santong.accounts.identity import (
    IdNumberError,
    IdType,
    check_consistency,
    get_vault,
    mask_id_number,
    validate_id_number,
)
from santong.accounts.models import Role
from santong.audit.services import record_event
from santong.core.actors import Actor
from santong.core.bulk import common_unit, in_slices, reserve_ids, rows_where_in, staging_table
from santong.core.scope import contains
from santong.orgs import services as org_services
from santong.orgs.models import Grade, School, SchoolClass, SchoolYear
from santong.orgs.services import SCHOOL_KIND_STAGES, NewClass, class_name
from santong.registry.models import StudentEvent, StudentRecord
from santong.registry.services.common import AUDIT, actor_name, closed_message, closed_school_ids
from santong.registry.services.students import ACTIVE, reserve_temporary_numbers

Status = StudentRecord.Status
Kind = StudentEvent.Kind

# "三年级（2）班", "三年级2班", "(2)班", "2班", "2": an optional grade, then the class number.
_CLASS_LABEL_RE = re.compile(r"(?P<grade>.*?)[（(]?(?P<number>[0-9]{1,2})[）)]?班?")
_STUDENT_NUMBER_RE = re.compile(r"[GL][0-9A-Z]{8,18}")


@dataclass
class Roster:
    """Students in columns (equal-length lists), as an import batch holds them. Codes are
    already resolved (民族 "01", 年级 "13"); empty cells are None."""

    school_code: list[str | None]
    name: list[str | None]
    id_type: list[str | None]
    id_number: list[str | None]
    gender: list[str | None]
    birth_date: list[date | None]
    ethnicity: list[str | None]
    grade: list[str | None]
    class_label: list[str | None]
    hukou: list[str | None]
    health: list[str | None]
    enrolled_on: list[date | None]
    student_number: list[str | None]

    def __len__(self) -> int:
        return len(self.name)


@dataclass(slots=True)
class _School:
    pk: int
    code: str
    name: str
    path: str
    kind: str
    county: str


@dataclass(slots=True)
class _Row:
    """An accepted row and what writing it takes."""

    position: int
    action: str  # "new" (a record to create), "update", "readmit" or "unchanged"
    school: _School
    class_key: tuple[int, str, int]  # (school id, grade code, number)
    class_name: str
    name: str
    id_type: str
    number: str
    digest: str
    gender: str
    birth_date: date | None
    ethnicity: str
    hukou: str
    health: str
    enrolled_on: date | None  # None: today for a new record, unchanged for a known one
    person_id: int | None = None
    user_id: int | None = None
    record_id: int | None = None
    class_id: int | None = None
    old_class_id: int | None = None
    changes: dict[str, list[str]] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)
    has_student_role: bool = False
    temporary_number: str = ""  # the L number a row without a document names its student by


@dataclass
class RosterPlan:
    """What `check_roster` found: the problems of refused rows by position ({field: message})
    and, for the others, what `write_roster` is to do."""

    year: SchoolYear | None
    problems: dict[int, dict[str, str]] = field(default_factory=dict)
    rows: list[_Row] = field(default_factory=list)
    new_classes: dict[tuple[int, str, int], str] = field(default_factory=dict)
    class_paths: dict[tuple[int, str, int], str] = field(default_factory=dict)

    @property
    def created(self) -> int:
        return sum(1 for row in self.rows if row.action == "new")

    @property
    def updated(self) -> int:
        return sum(1 for row in self.rows if row.action in ("update", "readmit"))

    @property
    def unchanged(self) -> int:
        return sum(1 for row in self.rows if row.action == "unchanged")


def grade_aliases() -> dict[str, str]:
    """Other names of grades in common use (七年级 for 初一), for reading files."""
    return {"七年级": "21", "八年级": "22", "九年级": "23", "初中一年级": "21", "高中一年级": "31"}


def _parse_class(label: str, grade: Grade, grade_names: dict[str, str]) -> int | str | None:
    """The class number a label gives, None when it gives none, or an error message."""
    match = _CLASS_LABEL_RE.fullmatch(label.replace(" ", ""))
    if match is None:
        return None
    given = match.group("grade")
    if given and grade_names.get(given, given) != grade.code:
        return _("班级「%(label)s」与年级「%(grade)s」不符。") % {
            "label": label,
            "grade": grade.name,
        }
    number = int(match.group("number"))
    if not 1 <= number <= 99:
        return _("班号应在1到99之间。")
    return number


def check_roster(*, actor: Actor, roster: Roster, school_code: str | None = None) -> RosterPlan:
    """Checks a batch of students against every rule and the database, writing nothing.

    `school_code` is the school every row belongs to when the rows do not say (`--school`).
    """
    actor.require_admin()
    year = SchoolYear.objects.filter(is_current=True).first()
    plan = RosterPlan(year=year)

    def fail(position: int, name: str, message: str) -> None:
        plan.problems.setdefault(position, {}).setdefault(name, message)

    if year is None:
        for position in range(len(roster)):
            fail(position, "", _("尚未设置当前学年，不能注册学生。"))
        return plan
    root = actor.scope_path

    codes = {code or school_code for code in roster.school_code} - {None}
    schools: dict[str, _School] = {}
    for part in in_slices(codes):
        for pk, code, name, path, kind, county in School.objects.filter(code__in=part).values_list(
            "pk", "code", "name", "path", "kind", "county_id"
        ):
            schools[code] = _School(pk, code, name, path, kind, county)
    closed = closed_school_ids({school.pk for school in schools.values()})
    grades = {grade.code: grade for grade in Grade.objects.all()}
    grade_names = {grade.name: grade.code for grade in grades.values()} | grade_aliases()
    existing_classes: dict[tuple[int, str, int], tuple[int, str, str]] = {}
    named_classes: dict[tuple[int, str, str], tuple[int, int]] = {}
    for school_ids in in_slices([school.pk for school in schools.values()]):
        for pk, school_id, grade_id, number, name, path in SchoolClass.objects.filter(
            school_id__in=school_ids, school_year=year
        ).values_list("pk", "school_id", "grade_id", "number", "name", "path"):
            existing_classes[(school_id, grade_id, number)] = (pk, name, path)
            named_classes[(school_id, grade_id, name)] = (pk, number)

    vault = get_vault()
    today = timezone.localdate()
    candidates: list[_Row] = []
    seen: dict[str, int] = {}
    labels: dict[tuple[str, str], int | str | None] = {}  # a batch repeats few class labels
    for i in range(len(roster)):
        given_code = roster.school_code[i]
        if school_code and given_code and given_code != school_code:
            fail(i, "school_code", _("与指定的学校 %(code)s 不一致。") % {"code": school_code})
            continue
        wanted = given_code or school_code
        if not wanted:
            fail(i, "school_code", _("必填项为空。"))
            continue
        school = schools.get(wanted)
        if school is None:
            fail(i, "school_code", _("学校标识码 %(code)s 未登记。") % {"code": wanted})
            continue
        if root is None or not contains(root, school.path):
            fail(
                i,
                "school_code",
                _("%(school)s（%(code)s）不在您的管理范围内。")
                % {"school": school.name, "code": wanted},
            )
            continue
        if school.pk in closed:
            fail(i, "school_code", closed_message(School(name=school.name)))
            continue
        grade = grades.get(roster.grade[i] or "")
        if grade is None:
            fail(i, "grade", _("必填项为空。"))
            continue
        stages = SCHOOL_KIND_STAGES.get(school.kind)
        if stages is not None and grade.stage_id not in stages:
            fail(
                i,
                "grade",
                _("%(school)s 不开设 %(grade)s。")
                % {"school": School.Kind(school.kind).label, "grade": grade.name},
            )
            continue
        label = roster.class_label[i] or ""
        parsed_class = labels.get((label, grade.code), "")
        if parsed_class == "":
            parsed_class = labels[(label, grade.code)] = _parse_class(label, grade, grade_names)
        if isinstance(parsed_class, str):
            fail(i, "class_label", parsed_class)
            continue
        if parsed_class is None:
            named = named_classes.get((school.pk, grade.code, label))
            if named is None:
                fail(
                    i,
                    "class_label",
                    _("班级「%(label)s」不存在：请填写班号，如「2」或「%(grade)s（2）班」。")
                    % {"label": label, "grade": grade.name},
                )
                continue
            parsed_class = named[1]
        key = (school.pk, grade.code, parsed_class)
        if key not in existing_classes and key not in plan.new_classes:
            plan.new_classes[key] = class_name(grade=grade, number=parsed_class)
            plan.class_paths[key] = f"{school.path}/{year.start_year}{grade.code}{parsed_class:02d}"
        elif key in existing_classes:
            plan.class_paths[key] = existing_classes[key][2]

        name = (roster.name[i] or "").strip()
        id_type = roster.id_type[i] or IdType.RESIDENT
        gender = roster.gender[i]
        birth_date = roster.birth_date[i]
        try:
            parsed = validate_id_number(id_type, roster.id_number[i] or "", today=today)
            check_consistency(parsed, birth_date=birth_date, gender=gender)
        except IdNumberError as exc:
            fail(i, "id_number", str(exc))
            continue
        document = parsed.number
        digest = vault.digest(id_type, document) if document else ""
        gender = parsed.gender or gender
        if gender is None:
            fail(i, "gender", _("无证件号码时必须填写性别。"))
            continue
        student_number = roster.student_number[i] or ""
        if student_number:
            if id_type == IdType.RESIDENT and student_number != f"G{document}":
                fail(i, "student_number", _("全国学籍号应为 G 加身份证件号。"))
                continue
            if not _STUDENT_NUMBER_RE.fullmatch(student_number):
                fail(i, "student_number", _("全国学籍号应为 G 或 L 开头的学籍号。"))
                continue
        if digest:
            if digest in seen:
                fail(
                    i,
                    "id_number",
                    _("与第 %(row)s 行的证件号码重复。") % {"row": seen[digest] + 1},
                )
                continue
            seen[digest] = i
        ethnicity = roster.ethnicity[i]
        if not ethnicity:
            fail(i, "ethnicity", _("请填写此项。"))
            continue
        existing = existing_classes.get(key)
        candidates.append(
            _Row(
                position=i,
                action="new",
                school=school,
                class_key=key,
                class_name=existing[1] if existing else plan.new_classes[key],
                name=name,
                id_type=id_type,
                number=document,
                digest=digest,
                gender=gender,
                birth_date=parsed.birth_date or birth_date,
                ethnicity=ethnicity,
                hukou=roster.hukou[i] or "",
                health=roster.health[i] or "",
                enrolled_on=roster.enrolled_on[i],
                class_id=existing[0] if existing else None,
                temporary_number=student_number if student_number.startswith("L") else "",
            )
        )
    _match_people(plan, candidates, roster, fail)
    return plan


_PEOPLE_QUERY = (
    "SELECT p.id_digest, p.id, p.name, u.id, r.id, r.school_id, sc.name, r.number_masked, "
    "r.status, r.school_class_id, c.name, r.ethnicity, r.hukou, r.health, r.enrolled_on "
    "FROM accounts_person p LEFT JOIN accounts_user u ON u.person_id = p.id "
    "LEFT JOIN registry_studentrecord r ON r.person_id = p.id "
    "LEFT JOIN orgs_school sc ON sc.id = r.school_id "
    "LEFT JOIN orgs_schoolclass c ON c.id = r.school_class_id "
    # The second condition lets the planner use the partial unique index on the digest.
    "WHERE p.id_digest {values} AND p.id_digest <> ''"
)
_RECORD_FIELDS = (
    "pk",
    "school_id",
    "school__name",
    "number_masked",
    "status",
    "school_class_id",
    "school_class__name",
    "ethnicity",
    "hukou",
    "health",
    "enrolled_on",
)


def _match_people(plan: RosterPlan, rows: list[_Row], roster: Roster, fail: Any) -> None:
    """Finds who is known already (one query for documents, one for students without one,
    one for the student roles of their accounts) and decides what each row does."""
    people: dict[str, tuple[Any, ...]] = {}
    for values in rows_where_in(_PEOPLE_QUERY, [row.digest for row in rows if row.digest]):
        *head, enrolled_on = values
        people[head[0]] = (*head[1:], _as_date(enrolled_on))
    undocumented = [row for row in rows if not row.digest]
    by_number: dict[str, tuple[Any, ...]] = {}
    by_name: dict[tuple[int, str, date | None, str], list[tuple[Any, ...]]] = {}
    if undocumented:
        numbers = [row.temporary_number for row in undocumented if row.temporary_number]
        for part in in_slices(numbers):
            for values in StudentRecord.objects.filter(temporary_number__in=part).values_list(
                "temporary_number",
                "person_id",
                "person__name",
                "person__account__pk",
                *_RECORD_FIELDS,
            ):
                by_number[values[0]] = values[1:]
        for part in in_slices({row.name for row in undocumented}):
            for values in StudentRecord.objects.filter(
                id_digest="",
                school_id__in={row.school.pk for row in undocumented},
                person__name__in=part,
            ).values_list(
                "school_id",
                "person__name",
                "person__birth_date",
                "person__gender",
                "person_id",
                "person__name",
                "person__account__pk",
                *_RECORD_FIELDS,
            ):
                by_name.setdefault(values[:4], []).append(values[4:])

    matched: list[_Row] = []
    for row in rows:
        found: tuple[Any, ...] | None
        if row.digest:
            found = people.get(row.digest)
        elif row.temporary_number:
            found = by_number.get(row.temporary_number)
            if found is None:
                fail(row.position, "student_number", _("找不到临时学籍号为该号码的学生。"))
                continue
        else:
            same = by_name.get((row.school.pk, row.name, row.birth_date, row.gender), [])
            if len(same) > 1:
                fail(
                    row.position,
                    "student_number",
                    _("本校有多名同名、同出生日期的无证件学生，请填写临时学籍号。"),
                )
                continue
            found = same[0] if same else None
        if found is None:
            matched.append(row)
            continue
        person_id, name, user_id, record_id, *record = found
        if name != row.name:
            fail(
                row.position,
                "name",
                _("该证件号码已登记在另一姓名下，请核对姓名和证件号码。"),
            )
            continue
        row.person_id, row.user_id, row.record_id = person_id, user_id, record_id
        if record_id is not None and not _plan_record(row, record, fail):
            continue
        matched.append(row)

    with_role = {
        user_id
        for (user_id,) in rows_where_in(
            "SELECT user_id FROM accounts_role WHERE kind = %s AND user_id {values}",
            [row.user_id for row in matched if row.user_id is not None],
            [Role.Kind.STUDENT],
        )
    }
    for row in matched:
        row.has_student_role = row.user_id in with_role
    plan.rows = matched


def _as_date(value: date | str | None) -> date | None:
    """A date column as SQLite (text) or PostgreSQL (date) returns it to a raw query."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _plan_record(row: _Row, record: list[Any], fail: Any) -> bool:
    """Decides what a row does to the record its person already has; False if refused."""
    (
        school_id,
        school_name,
        number_masked,
        status,
        class_id,
        class_label,
        ethnicity,
        hukou,
        health,
        enrolled_on,
    ) = record
    if status in ACTIVE and school_id != row.school.pk:
        fail(
            row.position,
            "id_number",
            _(
                "该学生已在 %(school)s 注册学籍（学籍号 %(number)s，状态：%(status)s），"
                "不能重复注册；如需转入，请由该校发起转学。"
            )
            % {
                "school": school_name,
                "number": number_masked,
                "status": Status(status).label,
            },
        )
        return False
    if status == Status.DEREGISTERED:
        fail(row.position, "id_number", _("该学生学籍已死亡注销，不能注册。"))
        return False
    # An optional cell left empty keeps what is on record.
    row.hukou = row.hukou or hukou
    row.health = row.health or health
    if status not in ACTIVE:
        row.action = "readmit"
        row.previous = {"status": str(Status(status).label), "school": school_name}
        return True
    row.enrolled_on = row.enrolled_on or enrolled_on
    row.old_class_id = class_id
    changes: dict[str, list[str]] = {}
    if row.class_id != class_id:
        if status == Status.SUSPENDED:
            fail(row.position, "class_label", _("休学学生不能调班，请先办理复学。"))
            return False
        changes["school_class"] = [class_label or "", row.class_name]
    for name, old, new in (
        ("ethnicity", ethnicity, row.ethnicity),
        ("hukou", hukou, row.hukou),
        ("health", health, row.health),
        ("enrolled_on", enrolled_on, row.enrolled_on),
    ):
        if old != new:
            changes[name] = [str(old), str(new)]
    row.changes = changes
    row.action = "update" if changes else "unchanged"
    return True


_STAGE_COLUMNS = (
    ("record_id", "int"),
    ("action", "text"),
    ("person_id", "int"),
    ("id_digest", "text"),
    ("number_masked", "text"),
    ("temporary_number", "text"),
    ("school_id", "int"),
    ("class_id", "int"),
    ("path", "text"),
    ("ethnicity", "text"),
    ("hukou", "text"),
    ("health", "text"),
    ("enrolled_on", "date"),
    ("event_kind", "text"),
    ("event_step", "text"),
    ("detail", "text"),
)


@dataclass
class RosterCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@transaction.atomic
def write_roster(*, actor: Actor, plan: RosterPlan) -> RosterCounts:
    """Writes what `check_roster` planned, in the caller's transaction (one batch)."""
    actor.require_admin()
    counts = RosterCounts(plan.created, plan.updated, plan.unchanged)
    # A known student whose record is unchanged may still lack an account (enrolled before
    # accounts were opened with the roster), or the student role in the class.
    rows = [
        row
        for row in plan.rows
        if row.action != "unchanged" or row.user_id is None or not row.has_student_role
    ]
    year = plan.year
    if not rows or year is None:
        return counts
    for path in {plan.class_paths[row.class_key] for row in rows}:
        actor.require_within(path)
    _create_classes(actor, plan, year, rows)
    _add_people(rows)
    _open_accounts(actor, rows, plan)
    _merge_records(actor, [row for row in rows if row.action != "unchanged"], plan)
    return counts


def _create_classes(actor: Actor, plan: RosterPlan, year: SchoolYear, rows: list[_Row]) -> None:
    wanted = list(dict.fromkeys(row.class_key for row in rows if row.class_id is None))
    if not wanted:
        return
    found = {
        (school_id, grade_id, number): pk
        for pk, school_id, grade_id, number in SchoolClass.objects.filter(
            path__in=[plan.class_paths[key] for key in wanted]
        ).values_list("pk", "school_id", "grade_id", "number")
    }
    missing = [key for key in wanted if key not in found]
    ids = org_services.bulk_create_classes(
        actor=actor,
        school_year=year,
        classes=[NewClass(school_id, grade, number) for school_id, grade, number in missing],
    )
    found.update(zip(missing, ids, strict=True))
    for row in rows:
        if row.class_id is None:
            row.class_id = found[row.class_key]


def _add_people(rows: list[_Row]) -> None:
    new = [row for row in rows if row.person_id is None]
    ids = account_services.bulk_add_people(
        people=[
            account_services.NewPerson(
                row.name, row.id_type, row.number, row.digest, row.gender, row.birth_date
            )
            for row in new
        ]
    )
    for row, pk in zip(new, ids, strict=True):
        row.person_id = pk


def _open_accounts(actor: Actor, rows: list[_Row], plan: RosterPlan) -> None:
    without = [row for row in rows if row.user_id is None and row.person_id is not None]
    opened = (
        {}
        if not without
        else account_services.bulk_open_accounts(
            actor=actor,
            person_ids=[row.person_id for row in without if row.person_id is not None],
            kind=Role.Kind.STUDENT,
            path=common_unit(row.school.path for row in without),
        )
    )
    for row in without:
        assert row.person_id is not None
        row.user_id = opened[row.person_id]
    grants = [
        account_services.ClassRole(
            row.user_id, Role.Kind.STUDENT, row.class_id, plan.class_paths[row.class_key]
        )
        for row in rows
        if not row.has_student_role and row.user_id is not None and row.class_id is not None
    ]
    account_services.bulk_grant_class_roles(actor=actor, roles=grants)
    moves = [
        (row.person_id, row.class_id, plan.class_paths[row.class_key])
        for row in rows
        if row.has_student_role
        and row.person_id is not None
        and row.class_id is not None
        and (row.action == "readmit" or "school_class" in row.changes)
    ]
    account_services.bulk_move_student_roles(actor=actor, moves=moves)


def _merge_records(actor: Actor, rows: list[_Row], plan: RosterPlan) -> None:
    """The records: one staging table, then INSERT ... SELECT, UPDATE ... FROM, and the
    history events, each one statement for the whole batch."""
    if not rows:
        return
    new = [row for row in rows if row.action == "new"]
    record_ids = reserve_ids(StudentRecord, len(new))
    for row, pk in zip(new, record_ids, strict=True):
        row.record_id = pk
    temporary: dict[int, str] = {}
    undocumented: dict[tuple[str, int], list[_Row]] = {}
    assert plan.year is not None
    for row in new:
        if row.id_type != IdType.RESIDENT:
            undocumented.setdefault((row.school.county, plan.year.start_year), []).append(row)
    for (county, start_year), group in undocumented.items():
        numbers = reserve_temporary_numbers(county=county, year=start_year, count=len(group))
        for row, number in zip(group, numbers, strict=True):
            temporary[row.position] = number
    masked = mask_id_number
    today = timezone.localdate()
    enrolment_step, readmission_step = _("新生注册"), _("入学注册")
    details: dict[tuple[int, str, int], str] = {}

    def staged() -> Any:
        for row in rows:
            path = plan.class_paths[row.class_key]
            if row.action == "new":
                detail = details.get(row.class_key)
                if detail is None:
                    detail = details[row.class_key] = json.dumps(
                        {"school": row.school.name, "class": row.class_name}, ensure_ascii=False
                    )
                number = temporary.get(row.position)
                national = number or f"G{masked(row.number)}"
                yield (
                    row.record_id, "new", row.person_id, row.digest, national, number,
                    row.school.pk, row.class_id, path, row.ethnicity, row.hukou, row.health,
                    row.enrolled_on or today, Kind.ENROLLED, enrolment_step, detail,
                )  # fmt: skip
                continue
            if row.action == "readmit":
                detail = json.dumps(
                    {
                        "previous_status": row.previous["status"],
                        "previous_school": row.previous["school"],
                        "school": row.school.name,
                    },
                    ensure_ascii=False,
                )
                kind, step = Kind.READMITTED, readmission_step
            else:
                detail = json.dumps({"changes": row.changes}, ensure_ascii=False)
                kind, step = Kind.UPDATED, ""
            yield (
                row.record_id, row.action, row.person_id, row.digest, "", None, row.school.pk,
                row.class_id, path, row.ethnicity, row.hukou, row.health, row.enrolled_on,
                kind, step, detail,
            )  # fmt: skip

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    quote = connection.ops.quote_name
    records = quote(StudentRecord._meta.db_table)
    events = quote(StudentEvent._meta.db_table)
    detail = "CAST(s.detail AS jsonb)" if connection.vendor == "postgresql" else "s.detail"
    user = actor.user.pk if actor.user is not None else None
    with (
        staging_table("roster_stage", _STAGE_COLUMNS, staged()) as stage,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"INSERT INTO {records} (id, person_id, id_digest, number_masked, temporary_number, "
            "school_id, school_class_id, path, status, graduating, ethnicity, hukou, health, "
            "enrolled_on, left_on, destination, created_at, updated_at) "
            "SELECT s.record_id, s.person_id, s.id_digest, s.number_masked, s.temporary_number, "
            "s.school_id, s.class_id, s.path, %s, FALSE, s.ethnicity, s.hukou, s.health, "
            f"s.enrolled_on, NULL, '', %s, %s FROM {stage} s WHERE s.action = 'new'",
            [Status.ENROLLED, now, now],
        )
        readmit = "s.action = 'readmit'"
        cursor.execute(
            f"UPDATE {records} SET school_id = s.school_id, school_class_id = s.class_id, "
            "path = s.path, ethnicity = s.ethnicity, hukou = s.hukou, health = s.health, "
            "enrolled_on = s.enrolled_on, "
            f"status = CASE WHEN {readmit} THEN %s ELSE {records}.status END, "
            f"graduating = CASE WHEN {readmit} THEN FALSE ELSE {records}.graduating END, "
            f"left_on = CASE WHEN {readmit} THEN NULL ELSE {records}.left_on END, "
            f"destination = CASE WHEN {readmit} THEN '' ELSE {records}.destination END, "
            f"updated_at = %s FROM {stage} s WHERE {records}.id = s.record_id "
            "AND s.action <> 'new'",
            [Status.ENROLLED, now],
        )
        cursor.execute(
            f"INSERT INTO {events} (record_id, kind, at, actor_id, actor_name, step, reason, "
            f"path, detail, request_id) SELECT s.record_id, s.event_kind, %s, %s, %s, "
            f"s.event_step, '', s.path, {detail}, NULL FROM {stage} s",
            [now, user, actor_name(actor)],
        )
    by_school: dict[int, tuple[_School, dict[str, list[int]]]] = {}
    for row in rows:
        entry = by_school.setdefault(row.school.pk, (row.school, {}))
        entry[1].setdefault(row.action, []).append(row.record_id or 0)
    for school, actions in by_school.values():
        for action, ids in actions.items():
            record_event(
                actor=actor,
                action=AUDIT.CREATE if action == "new" else AUDIT.UPDATE,
                object_type="studentrecord",
                object_repr=_("%(school)s %(count)s 条记录")
                % {"school": school.name, "count": len(ids)},
                path=school.path,
                detail={"ids": ids, "import": action},
            )


__all__: Sequence[str] = ("Roster", "RosterCounts", "RosterPlan", "check_roster", "write_roster")
