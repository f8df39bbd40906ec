"""The `parents` import kind: guardians linked to a child already on a class's roster.

Each row names the child by ID number or 全国学籍号 (a `G` number, or a student's temporary
`L` number) and the parent by their own ID document. The parent becomes a person (or is found
as one), gets an account if they have none (activated with a one-time code), and holds the
parent role in the child's class; the natural key is the pair (parent, child), so the same
file imported twice adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from santong.accounts import services as account_services
from santong.accounts.identity import (
    IdNumberError,
    IdType,
    check_consistency,
    digest_in,
    get_vault,
    validate_id_number,
)
from santong.accounts.models import Person, Role, User
from santong.core.actors import Actor
from santong.core.bulk import in_slices
from santong.core.scope import contains
from santong.imports.cleaning import Batch
from santong.imports.codes import CodeTable
from santong.imports.headers import Column, ColumnSpec, ColumnType
from santong.imports.kinds import ImportContext, RowError, WriteResult, register_kind
from santong.imports.students import ID_NUMBER_ALIASES, code_table
from santong.registry.models import StudentRecord
from santong.registry.services.students import ACTIVE

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

PARENT_SPEC = ColumnSpec(
    columns=(
        Column(
            "child_id_number",
            "学生身份证件号",
            ColumnType.ID_NUMBER,
            aliases=("学生身份证号", "子女身份证件号", "子女身份证号"),
            help=gettext_lazy("子女的身份证件号；没有的填子女的全国学籍号。"),
        ),
        Column(
            "child_number",
            "学生全国学籍号",
            aliases=("全国学籍号", "学籍号", "子女学籍号"),
            help=gettext_lazy("选填：G加身份证件号，或无证件学生的临时学籍号（L开头）。"),
        ),
        Column("name", "家长姓名", required=True, max_length=64, aliases=("监护人姓名", "姓名")),
        Column(
            "id_type",
            "家长身份证件类型",
            ColumnType.CODE,
            code_table="id_type",
            aliases=("监护人证件类型",),
            help=gettext_lazy("不填即为居民身份证。"),
        ),
        Column(
            "id_number",
            "家长身份证件号",
            ColumnType.ID_NUMBER,
            required=True,
            aliases=(
                *(f"家长{alias}" for alias in ID_NUMBER_ALIASES),
                "监护人身份证件号",
                "监护人身份证号",
            ),
        ),
        Column("gender", "家长性别", ColumnType.CODE, code_table="gender", aliases=("性别",)),
        Column(
            "phone",
            "手机号",
            ColumnType.PHONE,
            aliases=("联系电话", "家长手机号", "监护人电话"),
            help=gettext_lazy("选填：新开通的账号可用手机号登录。"),
        ),
    ),
    key=("id_number", "child_id_number"),
)


@dataclass(slots=True)
class _Link:
    position: int
    name: str
    id_type: str
    number: str
    digest: str
    gender: str
    birth_date: Any
    phone: str | None
    child_id: int
    class_id: int
    path: str
    school_path: str
    person_id: int | None = None
    user_id: int | None = None


class ParentsKind:
    """Parents linked to children. A batch may be validated while the one before it is
    written: a parent that batch creates looks new to the next one, and writing that row
    then meets the unique ID index, which makes the pipeline check the batch again."""

    name = "parents"
    validates_ahead = True
    label = gettext_lazy("家长")
    spec = PARENT_SPEC

    def __init__(self, context: ImportContext) -> None:
        self.context = context
        self._links: dict[int, list[_Link]] = {}

    def code_tables(self, *, actor: Actor, for_template: bool = False) -> dict[str, CodeTable]:
        return {
            "id_type": code_table("id_type", _("身份证件类型"), for_template=for_template),
            "gender": code_table("gender", _("性别"), for_template=for_template),
        }

    def instructions(self) -> list[_StrOrPromise]:
        return [
            gettext_lazy(
                "每行一位家长与一名子女：子女须已在学籍库中并已开通账号（先导入学生名单）。"
                "一位家长有几个子女就填几行。"
            ),
            gettext_lazy("家长按身份证件号识别，已有账号的不再新开账号，只增加家长角色。"),
        ]

    def _children(
        self, batch: Batch, fail: Any
    ) -> dict[int, tuple[int, int | None, str, str, str]]:
        """position → (child person id, class id, record path, school path, status)."""
        vault = get_vault()
        keys: dict[int, tuple[str, str]] = {}
        for i in range(len(batch)):
            number = batch.columns["child_id_number"][i] or ""
            student_number = (batch.columns["child_number"][i] or "").upper()
            if not number and student_number.startswith("G"):
                number = student_number[1:]
            if number:
                keys[i] = ("digest", vault.digest(IdType.RESIDENT, number))
            elif student_number.startswith("L"):
                keys[i] = ("temporary", student_number)
            else:
                fail(i, "child_id_number", _("请填写学生身份证件号或全国学籍号。"))
        fields = ("person_id", "school_class_id", "path", "school__path", "status")
        found: dict[tuple[str, str], tuple[Any, ...]] = {}
        digests = [value for kind, value in keys.values() if kind == "digest"]
        for part in in_slices(digests):
            for values in StudentRecord.objects.filter(digest_in(part)).values_list(
                "id_digest", *fields
            ):
                found[("digest", values[0])] = values[1:]
        numbers = [value for kind, value in keys.values() if kind == "temporary"]
        for part in in_slices(numbers):
            for values in StudentRecord.objects.filter(temporary_number__in=part).values_list(
                "temporary_number", *fields
            ):
                found[("temporary", values[0])] = values[1:]
        return {i: found[key] for i, key in keys.items() if key in found}

    def _plan(self, batch: Batch, actor: Actor) -> tuple[list[_Link], list[RowError]]:
        problems: dict[int, tuple[str, str]] = {}

        def fail(i: int, name: str, message: str) -> None:
            problems.setdefault(i, (name, message))

        children = self._children(batch, fail)
        root = actor.scope_path
        vault = get_vault()
        today = timezone.localdate()
        c = batch.columns
        links: list[_Link] = []
        for i in range(len(batch)):
            if i in problems:
                continue
            child = children.get(i)
            if child is None:
                fail(i, "child_id_number", _("学籍库中没有这名学生。"))
                continue
            person_id, class_id, path, school_path, status = child
            if root is None or not contains(root, path):
                fail(i, "child_id_number", _("该学生不在您的管理范围内。"))
                continue
            if status not in ACTIVE or class_id is None:
                fail(i, "child_id_number", _("该学生不在读，不能关联家长。"))
                continue
            id_type = c["id_type"][i] or IdType.RESIDENT
            if id_type == IdType.NONE:
                fail(i, "id_type", _("家长须登记有效身份证件。"))
                continue
            try:
                parsed = validate_id_number(id_type, c["id_number"][i] or "", today=today)
                check_consistency(parsed, birth_date=None, gender=c["gender"][i])
            except IdNumberError as exc:
                fail(i, "id_number", str(exc))
                continue
            gender = parsed.gender or c["gender"][i]
            if gender is None:
                fail(i, "gender", _("无证件号码时必须填写性别。"))
                continue
            links.append(
                _Link(
                    position=i,
                    name=(c["name"][i] or "").strip(),
                    id_type=id_type,
                    number=parsed.number,
                    digest=vault.digest(id_type, parsed.number),
                    gender=gender,
                    birth_date=parsed.birth_date,
                    phone=c["phone"][i],
                    child_id=person_id,
                    class_id=class_id,
                    path=path,
                    school_path=school_path,
                )
            )
        self._match(links, fail)
        links = [link for link in links if link.position not in problems]
        errors = [
            RowError(batch.row_numbers[i], name, message)
            for i, (name, message) in sorted(problems.items())
        ]
        return links, errors

    def _match(self, links: list[_Link], fail: Any) -> None:
        """Known parents and their accounts, the children's student roles, and the phone
        numbers already taken: one query each for the batch."""
        people: dict[str, tuple[int, str, int | None]] = {}
        for part in in_slices([link.digest for link in links]):
            for digest, pk, name, account in Person.objects.filter(digest_in(part)).values_list(
                "id_digest", "pk", "name", "account__pk"
            ):
                people[digest] = (pk, name, account)
        students: set[tuple[int, str]] = set()
        for children in in_slices({link.child_id for link in links}):
            students.update(
                Role.objects.filter(
                    kind=Role.Kind.STUDENT, user__person_id__in=children
                ).values_list("user__person_id", "path")
            )
        phones: set[str | None] = set()
        for numbers in in_slices({link.phone for link in links if link.phone}):
            phones.update(User.objects.filter(phone__in=numbers).values_list("phone", flat=True))
        for link in links:
            known = people.get(link.digest)
            if known is not None:
                link.person_id, name, link.user_id = known
                if name != link.name:
                    fail(
                        link.position,
                        "name",
                        _("该证件号码已登记在另一姓名下，请核对姓名和证件号码。"),
                    )
                    continue
            if (link.child_id, link.path) not in students:
                fail(
                    link.position,
                    "child_id_number",
                    _("该学生还没有账号，请先导入学生名单。"),
                )
                continue
            if link.user_id is None and link.phone in phones:
                fail(link.position, "phone", _("该手机号已被其他账号使用。"))

    def validate_batch(self, batch: Batch, *, actor: Actor) -> tuple[Batch, list[RowError]]:
        links, errors = self._plan(batch, actor)
        ok = batch.select([link.position for link in links])
        for index, link in enumerate(links):
            link.position = index
        self._links[id(ok)] = links
        return ok, errors

    def write_batch(self, ok_rows: Batch, *, actor: Actor, dry_run: bool) -> WriteResult:
        links = self._links.pop(id(ok_rows), None)
        if links is None:
            links, errors = self._plan(ok_rows, actor)
            if errors:
                raise ValidationError(errors[0].message)
        held = self._held(links)
        new = sum(1 for link in links if (link.user_id, link.child_id) not in held)
        if dry_run or not new:
            return WriteResult(new, 0, len(links) - new)
        fresh: dict[str, _Link] = {}
        for link in links:
            if link.person_id is None:
                fresh.setdefault(link.digest, link)
        ids = account_services.bulk_add_people(
            people=[
                account_services.NewPerson(
                    link.name, link.id_type, link.number, link.digest, link.gender, link.birth_date
                )
                for link in fresh.values()
            ]
        )
        created = dict(zip(fresh, ids, strict=True))
        for link in links:
            link.person_id = link.person_id or created.get(link.digest)
        without: dict[str, dict[int, str | None]] = {}
        for link in links:
            if link.user_id is None and link.person_id is not None:
                without.setdefault(link.school_path, {}).setdefault(link.person_id, link.phone)
        opened: dict[int, int] = {}
        for path, people in without.items():
            opened.update(
                account_services.bulk_open_accounts(
                    actor=actor,
                    person_ids=list(people),
                    kind=Role.Kind.PARENT,
                    path=path,
                    phones=list(people.values()),
                )
            )
        for link in links:
            if link.user_id is None and link.person_id is not None:
                link.user_id = opened[link.person_id]
        granted = account_services.bulk_grant_class_roles(
            actor=actor,
            roles=[
                account_services.ClassRole(
                    link.user_id, Role.Kind.PARENT, link.class_id, link.path, None, link.child_id
                )
                for link in links
                if link.user_id is not None
            ],
        )
        return WriteResult(granted, 0, len(links) - granted)

    @staticmethod
    def _held(links: list[_Link]) -> set[tuple[int | None, int]]:
        held: set[tuple[int | None, int]] = set()
        users = [link.user_id for link in links if link.user_id is not None]
        for part in in_slices(users):
            held.update(
                Role.objects.filter(kind=Role.Kind.PARENT, user_id__in=part).values_list(
                    "user_id", "child_id"
                )
            )
        return held


register_kind("parents", gettext_lazy("家长"), ParentsKind)
