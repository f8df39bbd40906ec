"""The `students` import kind: a school's roster, upserted by ID document through
`registry.services.roster`, each student with a class and an account.

Rows name their school by 学校标识码 (or the whole file by `--school`) and their class by 年级
and 班级 ("三年级（2）班", "2班" or "2"); classes missing in the current school year are
created. Importing the same file again changes nothing; a corrected file changes what was
corrected, each change kept in the student's history.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from santong.accounts.models import Person
from santong.core.actors import Actor
from santong.imports.cleaning import Batch
from santong.imports.codes import CodeEntry, CodeTable
from santong.imports.headers import Column, ColumnSpec, ColumnType
from santong.imports.kinds import ImportContext, RowError, WriteResult, register_kind
from santong.orgs.models import Grade
from santong.registry.selectors import code_choices
from santong.registry.services.roster import (
    Roster,
    RosterPlan,
    check_roster,
    grade_aliases,
    write_roster,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

SCHOOL_COLUMN = Column(
    "school_code",
    "学校标识码",
    ColumnType.DIGITS,
    required=True,
    width=10,
    aliases=("学校代码", "学校识别码", "学校编码", "标识码"),
    help=gettext_lazy("10位数字；命令行指定了 --school 时可以不填。"),
)
ID_NUMBER_ALIASES = (
    "身份证件号码",
    "身份证号",
    "身份证号码",
    "证件号码",
    "证件号",
    "公民身份号码",
)


def student_columns(*, school_required: bool) -> tuple[Column, ...]:
    school = SCHOOL_COLUMN if school_required else replace(SCHOOL_COLUMN, required=False)
    return (
        school,
        Column(
            "name",
            "姓名",
            required=True,
            max_length=64,
            aliases=("学生姓名",),
            help=gettext_lazy("与证件上的姓名一致。"),
        ),
        Column(
            "gender",
            "性别",
            ColumnType.CODE,
            code_table="gender",
            help=gettext_lazy("有身份证件号的可不填（由证件号得出）；填写的须与证件号一致。"),
        ),
        Column(
            "birth_date",
            "出生日期",
            ColumnType.DATE,
            aliases=("出生年月日", "生日"),
            help=gettext_lazy("有身份证件号的可不填；填写的须与证件号一致。"),
        ),
        Column(
            "id_type",
            "身份证件类型",
            ColumnType.CODE,
            code_table="id_type",
            aliases=("证件类型",),
            help=gettext_lazy("不填即为居民身份证；没有证件的填“无证件”。"),
        ),
        Column(
            "id_number",
            "身份证件号",
            ColumnType.ID_NUMBER,
            aliases=ID_NUMBER_ALIASES,
            help=gettext_lazy("居民身份证为18位，末位可为X；请把此列设为文本格式。"),
        ),
        Column(
            "student_number",
            "全国学籍号",
            aliases=("学籍号", "学籍辅号", "临时学籍号"),
            help=gettext_lazy("选填：G加身份证件号；无证件学生可填其临时学籍号（L开头）。"),
        ),
        Column(
            "ethnicity",
            "民族",
            ColumnType.CODE,
            required=True,
            code_table="ethnicity",
            help=gettext_lazy("从下拉列表中选择，如“汉族”。"),
        ),
        Column(
            "grade",
            "年级",
            ColumnType.CODE,
            required=True,
            code_table="grade",
            aliases=("所在年级", "年级名称"),
            help=gettext_lazy("当前学年所在年级，如“三年级”“初一”。"),
        ),
        Column(
            "class_label",
            "班级",
            required=True,
            max_length=64,
            aliases=("班级名称", "班号", "所在班级"),
            help=gettext_lazy("如“三年级（2）班”“2班”或“2”；本学年还没有的班级会自动建立。"),
        ),
        Column("hukou", "户口性质", ColumnType.CODE, code_table="hukou"),
        Column("health", "健康状况", ColumnType.CODE, code_table="health"),
        Column(
            "enrolled_on",
            "入学日期",
            ColumnType.DATE,
            aliases=("入学年月", "入校日期"),
            help=gettext_lazy("选填；新注册学生不填即为今天。"),
        ),
    )


def code_table(name: str, title: str, *, for_template: bool) -> CodeTable:
    """A registry code table; files may also name a grade by another common name. Gender
    offers only what a person's record holds (男, 女), not the standard's 未知 and 未说明."""
    if name == "gender":
        return CodeTable.of(name, title, Person.Gender.choices)
    if name == "grade":
        entries = [CodeEntry(grade.code, grade.name) for grade in Grade.objects.order_by("order")]
        if not for_template:
            entries += [CodeEntry(code, alias) for alias, code in grade_aliases().items()]
        return CodeTable(name, title, tuple(entries))
    return CodeTable.of(name, title, code_choices(name))


PERSON_TABLES = {
    "gender": gettext_lazy("性别"),
    "id_type": gettext_lazy("身份证件类型"),
    "ethnicity": gettext_lazy("民族"),
}


class StudentsKind:
    """Students with their classes and accounts. The plan `validate_batch` makes for a batch
    is kept for `write_batch`, so each batch is looked up in the database once.

    A batch's checks do not depend on the batch before it being stored (a student appears in
    one batch only, and a class planned twice is created once), so the pipeline may validate
    the next batch while this one is written."""

    name = "students"
    label = gettext_lazy("学生")
    validates_ahead = True

    def __init__(self, context: ImportContext) -> None:
        self.context = context
        self.spec = ColumnSpec(
            columns=student_columns(school_required=not context.school_code),
            key=("id_number",),
        )
        self._plans: dict[int, RosterPlan] = {}

    def code_tables(self, *, actor: Actor, for_template: bool = False) -> dict[str, CodeTable]:
        titles = {
            **PERSON_TABLES,
            "grade": gettext_lazy("年级"),
            "hukou": gettext_lazy("户口性质"),
            "health": gettext_lazy("健康状况"),
        }
        return {
            name: code_table(name, str(title), for_template=for_template)
            for name, title in titles.items()
        }

    def instructions(self) -> list[_StrOrPromise]:
        return [
            gettext_lazy(
                "每行一名学生，按身份证件号识别：已在本校注册的学生更新其班级和各项信息，"
                "未注册的新建学籍，并为其开通账号（首次登录凭班级名单上的激活码设置密码）。"
            ),
            gettext_lazy("已在其他学校注册学籍的学生不能导入，请由该校发起转学。"),
            gettext_lazy("选填项留空的，保留学籍中已有的内容。"),
            gettext_lazy("只能导入您管理范围内学校的学生。"),
        ]

    @staticmethod
    def _roster(batch: Batch) -> Roster:
        c = batch.columns
        return Roster(
            school_code=c["school_code"],
            name=c["name"],
            id_type=c["id_type"],
            id_number=c["id_number"],
            gender=c["gender"],
            birth_date=c["birth_date"],
            ethnicity=c["ethnicity"],
            grade=c["grade"],
            class_label=c["class_label"],
            hukou=c["hukou"],
            health=c["health"],
            enrolled_on=c["enrolled_on"],
            student_number=c["student_number"],
        )

    def validate_batch(self, batch: Batch, *, actor: Actor) -> tuple[Batch, list[RowError]]:
        plan = check_roster(
            actor=actor, roster=self._roster(batch), school_code=self.context.school_code
        )
        errors = [
            RowError(row=batch.row_numbers[position], field=name, message=message)
            for position, fields in sorted(plan.problems.items())
            for name, message in fields.items()
        ]
        accepted = [row.position for row in plan.rows]
        ok = batch.select(accepted)
        for index, row in enumerate(plan.rows):
            row.position = index
        self._plans[id(ok)] = plan
        return ok, errors

    def write_batch(self, ok_rows: Batch, *, actor: Actor, dry_run: bool) -> WriteResult:
        plan = self._plans.pop(id(ok_rows), None)
        if plan is None:
            plan = check_roster(
                actor=actor, roster=self._roster(ok_rows), school_code=self.context.school_code
            )
            if plan.problems:
                raise_first(plan, ok_rows)
        if dry_run:
            return WriteResult(plan.created, plan.updated, plan.unchanged)
        counts = write_roster(actor=actor, plan=plan)
        return WriteResult(counts.created, counts.updated, counts.unchanged)


def raise_first(plan: RosterPlan, batch: Batch) -> None:
    """Rows that passed a moment ago fail now: the database changed in between."""
    from django.core.exceptions import ValidationError

    position, fields = min(plan.problems.items())
    raise ValidationError(
        {
            name: _("第 %(row)s 行：%(message)s")
            % {"row": batch.row_numbers[position], "message": message}
            for name, message in fields.items()
        }
    )


register_kind("students", gettext_lazy("学生"), StudentsKind)
