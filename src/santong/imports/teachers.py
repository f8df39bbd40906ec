"""The `teachers` import kind: teacher records upserted by ID document through
`registry.services.bulk_upsert_teachers`, and accounts for the teachers given class roles.

A teacher named as 班主任 of a class, or given classes under 任教班级 with their 任教学科,
gets an account (activated with a one-time code) holding those class roles; roles are only
ever added by an import, never taken away. A teacher with neither gets a record only: an
account must hold a role to be within anyone's reach.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from santong.accounts import services as account_services
from santong.accounts.identity import digest_in, get_vault, normalize_id_number
from santong.accounts.models import Person, Role
from santong.core.actors import Actor
from santong.core.scope import contains
from santong.imports.cleaning import Batch
from santong.imports.codes import CodeTable
from santong.imports.headers import Column, ColumnSpec, ColumnType
from santong.imports.kinds import ImportContext, RowError, WriteResult, register_kind
from santong.imports.students import ID_NUMBER_ALIASES, PERSON_TABLES, SCHOOL_COLUMN, code_table
from santong.orgs.models import Grade, School, SchoolClass, SchoolYear, Subject
from santong.registry.models import TeacherRecord
from santong.registry.services import TeacherRow, bulk_upsert_teachers
from santong.registry.services.roster import grade_aliases

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

_LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
_CLASS_RE = re.compile(r"(?P<grade>[^（(0-9]+)[（(]?(?P<number>[0-9]{1,2})[）)]?班?")

CODED = {
    "political_status": gettext_lazy("政治面貌"),
    "education": gettext_lazy("最高学历"),
    "teacher_title": gettext_lazy("职称"),
    "teacher_position": gettext_lazy("岗位职务"),
    "employment": gettext_lazy("用人形式"),
}


def teacher_columns(*, school_required: bool) -> tuple[Column, ...]:
    school = SCHOOL_COLUMN if school_required else replace(SCHOOL_COLUMN, required=False)
    return (
        school,
        Column("name", "姓名", required=True, max_length=64, aliases=("教师姓名",)),
        Column("gender", "性别", ColumnType.CODE, code_table="gender"),
        Column("birth_date", "出生日期", ColumnType.DATE, aliases=("出生年月日",)),
        Column(
            "id_type", "身份证件类型", ColumnType.CODE, code_table="id_type", aliases=("证件类型",)
        ),
        Column(
            "id_number",
            "身份证件号",
            ColumnType.ID_NUMBER,
            required=True,
            aliases=ID_NUMBER_ALIASES,
        ),
        Column("ethnicity", "民族", ColumnType.CODE, required=True, code_table="ethnicity"),
        Column("political_status", "政治面貌", ColumnType.CODE, code_table="political_status"),
        Column(
            "education",
            "最高学历",
            ColumnType.CODE,
            required=True,
            code_table="education",
            aliases=("学历",),
        ),
        Column("title", "职称", ColumnType.CODE, required=True, code_table="teacher_title"),
        Column("title_since", "取得职称日期", ColumnType.DATE, aliases=("职称取得日期",)),
        Column(
            "position",
            "岗位职务",
            ColumnType.CODE,
            required=True,
            code_table="teacher_position",
            aliases=("岗位", "职务"),
        ),
        Column(
            "subjects",
            "任教学科",
            aliases=("学科", "任教科目"),
            help=gettext_lazy("可填多个，用顿号分隔，如“语文、道德与法治”。"),
        ),
        Column(
            "hired_on",
            "参加工作日期",
            ColumnType.DATE,
            required=True,
            aliases=("参加工作时间", "入职日期"),
        ),
        Column(
            "employment",
            "用人形式",
            ColumnType.CODE,
            required=True,
            code_table="employment",
            aliases=("编制情况", "是否在编"),
        ),
        Column(
            "head_class",
            "班主任班级",
            aliases=("担任班主任班级",),
            help=gettext_lazy("选填：本学年担任班主任的班级，如“三年级（1）班”。"),
        ),
        Column(
            "classes",
            "任教班级",
            help=gettext_lazy("选填：本学年任教的班级，可填多个，用顿号分隔。"),
        ),
    )


class TeachersKind:
    name = "teachers"
    validates_ahead = False
    label = gettext_lazy("教师")

    def __init__(self, context: ImportContext) -> None:
        self.context = context
        self.spec = ColumnSpec(
            columns=teacher_columns(school_required=not context.school_code), key=("id_number",)
        )

    def code_tables(self, *, actor: Actor, for_template: bool = False) -> dict[str, CodeTable]:
        tables = {
            name: code_table(name, str(title), for_template=for_template)
            for name, title in {
                **PERSON_TABLES,
                "education": gettext_lazy("学历"),
                **CODED,
            }.items()
        }
        return tables

    def instructions(self) -> list[_StrOrPromise]:
        return [
            gettext_lazy(
                "每行一名教师，按身份证件号识别：已在本校建档的更新其信息（职称变化记入职称记录），"
                "未建档的新建档案。档案在其他学校的教师须办理调动，不能导入。"
            ),
            gettext_lazy(
                "填写了班主任班级或任教班级的教师同时开通账号并授予相应班级角色，"
                "首次登录凭激活码设置密码。"
            ),
        ]

    # ------------------------------------------------------------------ rows

    def _schools(self, batch: Batch, actor: Actor) -> tuple[dict[str, School], list[RowError]]:
        codes = {code or self.context.school_code for code in batch.columns["school_code"]}
        schools = {s.code: s for s in School.objects.filter(code__in=codes - {None})}
        errors: list[RowError] = []
        root = actor.scope_path
        for position, code in enumerate(batch.columns["school_code"]):
            wanted = code or self.context.school_code
            row = batch.row_numbers[position]
            school = schools.get(wanted or "")
            if school is None:
                errors.append(
                    RowError(
                        row, "school_code", _("学校标识码 %(code)s 未登记。") % {"code": wanted}
                    )
                )
            elif root is None or not contains(root, school.path):
                errors.append(
                    RowError(
                        row,
                        "school_code",
                        _("%(school)s（%(code)s）不在您的管理范围内。")
                        % {"school": school.name, "code": school.code},
                    )
                )
        return schools, errors

    def _rows(self, batch: Batch, schools: dict[str, School]) -> list[TeacherRow | None]:
        c = batch.columns
        rows: list[TeacherRow | None] = []
        for i in range(len(batch)):
            school = schools.get(c["school_code"][i] or self.context.school_code or "")
            if school is None:
                rows.append(None)
                continue
            subjects = tuple(
                part for part in _LIST_SEPARATORS.split(c["subjects"][i] or "") if part
            )
            rows.append(
                TeacherRow(
                    school=school,
                    name=(c["name"][i] or "").strip(),
                    id_type=c["id_type"][i] or "1",
                    id_number=c["id_number"][i] or "",
                    gender=c["gender"][i],
                    birth_date=c["birth_date"][i],
                    ethnicity=c["ethnicity"][i] or "",
                    political_status=c["political_status"][i] or "",
                    education=c["education"][i] or "",
                    title=c["title"][i] or "",
                    title_since=c["title_since"][i],
                    position=c["position"][i] or "",
                    subjects=subjects,
                    hired_on=c["hired_on"][i],
                    employment=c["employment"][i] or "",
                )
            )
        return rows

    def _subjects(self, rows: list[TeacherRow | None]) -> list[RowError | None]:
        """Subjects may be named by name or code: each becomes its code."""
        known = dict(Subject.objects.values_list("name", "code"))
        codes = set(known.values())
        problems: list[RowError | None] = []
        for index, row in enumerate(rows):
            problems.append(None)
            if row is None:
                continue
            resolved = [known.get(s, s) for s in row.subjects]
            unknown = [s for s in resolved if s not in codes]
            if unknown:
                problems[index] = RowError(
                    0, "subjects", _("未知的学科：%(names)s。") % {"names": "、".join(unknown)}
                )
            rows[index] = replace(row, subjects=tuple(resolved))
        return problems

    def _class_roles(
        self, batch: Batch, rows: list[TeacherRow | None]
    ) -> tuple[list[list[tuple[str, int, str, str | None]]], dict[int, str]]:
        """Each row's class roles as (kind, class id, class path, subject), and the messages of
        rows naming classes that do not exist; one query for the classes of the batch."""
        year = SchoolYear.objects.filter(is_current=True).first()
        names = {g.name: g.code for g in Grade.objects.all()} | grade_aliases()
        classes: dict[tuple[int, str, int], tuple[int, str]] = {}
        school_ids = {row.school.pk for row in rows if row is not None}
        if year is not None:
            for pk, school_id, grade_id, number, path in SchoolClass.objects.filter(
                school_id__in=school_ids, school_year=year
            ).values_list("pk", "school_id", "grade_id", "number", "path"):
                classes[(school_id, grade_id, number)] = (pk, path)
        roles: list[list[tuple[str, int, str, str | None]]] = []
        problems: dict[int, str] = {}
        for i, row in enumerate(rows):
            wanted: list[tuple[str, int, str, str | None]] = []
            roles.append(wanted)
            if row is None:
                continue
            labels = [("head", batch.columns["head_class"][i] or "")]
            labels += [
                ("subject", part)
                for part in _LIST_SEPARATORS.split(batch.columns["classes"][i] or "")
                if part
            ]
            for role, label in labels:
                if not label:
                    continue
                match = _CLASS_RE.fullmatch(label.replace(" ", ""))
                grade = names.get(match.group("grade")) if match else None
                found = (
                    classes.get((row.school.pk, grade, int(match.group("number"))))
                    if match and grade
                    else None
                )
                if found is None:
                    problems[i] = _("本学年没有班级「%(label)s」。") % {"label": label}
                    break
                if role == "head":
                    wanted.append((Role.Kind.HEAD_TEACHER, found[0], found[1], None))
                elif not row.subjects:
                    problems[i] = _("填写了任教班级，须同时填写任教学科。")
                    break
                else:
                    wanted += [
                        (Role.Kind.SUBJECT_TEACHER, found[0], found[1], subject)
                        for subject in row.subjects
                    ]
        return roles, problems

    def _prepare(
        self, batch: Batch, actor: Actor
    ) -> tuple[list[TeacherRow], list[list[Any]], list[int], list[RowError]]:
        schools, errors = self._schools(batch, actor)
        rows = self._rows(batch, schools)
        for index, problem in enumerate(self._subjects(rows)):
            if problem is not None:
                errors.append(RowError(batch.row_numbers[index], problem.field, problem.message))
        roles, class_problems = self._class_roles(batch, rows)
        errors += [
            RowError(batch.row_numbers[i], "classes", message)
            for i, message in class_problems.items()
        ]
        refused = {e.row for e in errors}
        kept = [
            (i, row)
            for i, row in enumerate(rows)
            if row is not None and batch.row_numbers[i] not in refused
        ]
        keep = [i for i, _row in kept]
        return [row for _i, row in kept], [roles[i] for i in keep], keep, errors

    def validate_batch(self, batch: Batch, *, actor: Actor) -> tuple[Batch, list[RowError]]:
        rows, _roles, keep, errors = self._prepare(batch, actor)
        result = bulk_upsert_teachers(actor=actor, rows=rows, dry_run=True)
        for index, error in sorted(result.errors.items()):
            for name, messages in error.message_dict.items():
                errors.append(RowError(batch.row_numbers[keep[index]], name, messages[0]))
        passed = [keep[i] for i in range(len(rows)) if i not in result.errors]
        return batch.select(passed), errors

    def write_batch(self, ok_rows: Batch, *, actor: Actor, dry_run: bool) -> WriteResult:
        rows, roles, _keep, errors = self._prepare(ok_rows, actor)
        if errors:
            raise ValidationError(errors[0].message)
        result = bulk_upsert_teachers(actor=actor, rows=rows, dry_run=dry_run)
        if result.errors:
            raise next(iter(result.errors.values()))
        if dry_run:
            # Nothing was written, so known teachers count as unchanged: a dry run compares
            # no facts.
            known = TeacherRecord.objects.filter(
                digest_in((_digest(row) for row in rows), field="person__id_digest")
            ).count()
            return WriteResult(len(rows) - known, 0, known)
        self._grant(actor, rows, roles)
        return WriteResult(
            result.created, result.updated, len(rows) - result.created - result.updated
        )

    def _grant(
        self,
        actor: Actor,
        rows: list[TeacherRow],
        roles: list[list[tuple[str, int, str, str | None]]],
    ) -> None:
        with_roles = [(row, wanted) for row, wanted in zip(rows, roles, strict=True) if wanted]
        if not with_roles:
            return
        digests = {_digest(row): (row, wanted) for row, wanted in with_roles}
        people = dict(Person.objects.filter(digest_in(digests)).values_list("id_digest", "pk"))
        accounts = dict(
            Person.objects.filter(pk__in=people.values(), account__isnull=False).values_list(
                "pk", "account__pk"
            )
        )
        missing: dict[str, list[int]] = {}
        for digest, (row, _wanted) in digests.items():
            person = people[digest]
            if person not in accounts:
                missing.setdefault(row.school.path, []).append(person)
        for path, persons in missing.items():
            accounts.update(
                account_services.bulk_open_accounts(
                    actor=actor, person_ids=persons, kind=Role.Kind.SUBJECT_TEACHER, path=path
                )
            )
        account_services.bulk_grant_class_roles(
            actor=actor,
            roles=[
                account_services.ClassRole(accounts[people[digest]], kind, class_id, path, subject)
                for digest, (_row, wanted) in digests.items()
                for kind, class_id, path, subject in wanted
            ],
        )


def _digest(row: TeacherRow) -> str:
    return get_vault().digest(row.id_type, normalize_id_number(row.id_number))


register_kind("teachers", gettext_lazy("教师"), TeachersKind)
