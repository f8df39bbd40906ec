"""Writes to people, accounts and roles. Each takes the acting `Actor`, checks its scope and
writes its audit row in the same transaction."""

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts.identity import (
    IdNumberError,
    ParsedId,
    check_consistency,
    get_vault,
    mask_id_number,
    validate_id_number,
)
from santong.accounts.models import Person, Role, User
from santong.accounts.roles import ADMIN_KINDS, RANK, REGION_LEVEL, unit_field
from santong.audit.models import AuditEvent
from santong.audit.services import record_event
from santong.core.actors import Actor, ScopeError
from santong.core.bulk import common_unit, in_slices, insert_rows, reserve_ids, staging_table
from santong.core.scope import contains, subtree_q
from santong.orgs.models import Region, School, SchoolClass, Subject

LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 15


def identity_fields(
    *, id_type: str, id_number: str, birth_date: date | None, gender: str | None
) -> dict[str, Any]:
    """Validates an ID document and returns the stored columns (cipher, digest, mask, derived
    birth date and gender). Raises ValidationError naming the field."""
    try:
        parsed = validate_id_number(id_type, id_number)
        check_consistency(parsed, birth_date=birth_date, gender=gender)
    except IdNumberError as exc:
        raise ValidationError({"id_number": str(exc)}) from exc
    if id_type == Person.IdType.NONE:
        return {
            "id_cipher": None,
            "id_digest": "",
            "id_masked": "",
            "birth_date": birth_date,
            "gender": gender,
        }
    vault = get_vault()
    return {
        "id_cipher": vault.encrypt(parsed.number),
        "id_digest": vault.digest(id_type, parsed.number),
        "id_masked": mask_id_number(parsed.number),
        "birth_date": parsed.birth_date or birth_date,
        "gender": parsed.gender or gender,
    }


def _validate_person_basics(*, name: str, gender: str | None, id_type: str) -> None:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("姓名不能为空。")
    elif len(name.strip()) > 64:
        errors["name"] = _("姓名不能超过64个字符。")
    if id_type not in Person.IdType.values:
        errors["id_type"] = _("未知的证件类型。")
    if gender is not None and gender not in Person.Gender.values:
        errors["gender"] = _("性别应为 1（男）或 2（女）。")
    if errors:
        raise ValidationError(errors)


def create_person(
    *,
    name: str,
    id_type: str,
    id_number: str,
    gender: str | None = None,
    birth_date: date | None = None,
) -> Person:
    """Creates a real-name person; refuses a second person with the same ID document."""
    _validate_person_basics(name=name, gender=gender, id_type=id_type)
    fields = identity_fields(
        id_type=id_type, id_number=id_number, birth_date=birth_date, gender=gender
    )
    if fields["gender"] is None:
        raise ValidationError({"gender": _("无证件号码时必须填写性别。")})
    if fields["id_digest"] and Person.objects.filter(id_digest=fields["id_digest"]).exists():
        raise ValidationError({"id_number": _("该证件号码已登记在其他人员名下。")})
    try:
        with transaction.atomic():
            return Person.objects.create(name=name.strip(), id_type=id_type, **fields)
    except IntegrityError as exc:
        raise ValidationError({"id_number": _("该证件号码已登记在其他人员名下。")}) from exc


def reveal_id_number(*, actor: Actor, person: Person, path: str) -> str:
    """The clear ID number: a deliberate read, written to the audit log before it is returned."""
    actor.require_admin()
    if not person.id_cipher:
        return ""
    record_event(
        actor=actor, action=AuditEvent.Action.REVEAL, obj=person, path=path, object_repr=person.name
    )
    return get_vault().decrypt(bytes(person.id_cipher))


def _unit_for(
    *,
    kind: str,
    region: Region | None,
    school: School | None,
    school_class: SchoolClass | None,
    subject: Subject | None,
    child: Person | None,
) -> tuple[str, dict[str, Any]]:
    """Checks that a role names exactly the unit its kind binds to; returns (path, fields)."""
    if kind not in RANK:
        raise ValidationError({"kind": _("未知的角色类型。")})
    field = unit_field(kind)
    given = {"region": region, "school": school, "school_class": school_class}
    errors: dict[str, str] = {}
    for name, value in given.items():
        if name == field and value is None:
            errors[name] = _("该角色必须绑定到此类单位。")
        elif name != field and value is not None:
            errors[name] = _("该角色不能绑定到此类单位。")
    if kind in REGION_LEVEL and region is not None and region.level != REGION_LEVEL[kind]:
        errors["region"] = _("所选行政区划的层级与角色不符。")
    if kind == Role.Kind.SUBJECT_TEACHER and subject is None:
        errors["subject"] = _("任课教师必须指定学科。")
    if kind != Role.Kind.SUBJECT_TEACHER and subject is not None:
        errors["subject"] = _("只有任课教师可以指定学科。")
    if kind == Role.Kind.PARENT and child is None:
        errors["child"] = _("家长角色必须关联子女。")
    if kind != Role.Kind.PARENT and child is not None:
        errors["child"] = _("只有家长角色可以关联子女。")
    if errors:
        raise ValidationError(errors)
    unit = given[field]
    assert unit is not None
    path: str = unit.path
    return path, {
        "region": region,
        "school": school,
        "school_class": school_class,
        "subject": subject,
        "child": child,
    }


def _check_grant(actor: Actor, *, kind: str, path: str) -> None:
    actor.require_admin()
    actor.require_within(path)
    if actor.role is not None and RANK[kind] < RANK[actor.role.kind]:
        raise ScopeError(_("只能授予与本级相同或更低级别的角色。"))


@transaction.atomic
def grant_role(
    *,
    actor: Actor,
    user: User,
    kind: str,
    region: Region | None = None,
    school: School | None = None,
    school_class: SchoolClass | None = None,
    subject: Subject | None = None,
    child: Person | None = None,
) -> Role:
    path, fields = _unit_for(
        kind=kind,
        region=region,
        school=school,
        school_class=school_class,
        subject=subject,
        child=child,
    )
    _check_grant(actor, kind=kind, path=path)
    if kind == Role.Kind.PARENT and child is not None:
        is_student_here = Role.objects.filter(
            kind=Role.Kind.STUDENT, user__person=child, path=path
        ).exists()
        if not is_student_here:
            raise ValidationError({"child": _("该子女不是所选班级的学生。")})
    if Role.objects.filter(user=user, kind=kind, path=path, **_identity(fields)).exists():
        raise ValidationError({"kind": _("该账号已拥有此角色。")})
    role = Role.objects.create(user=user, kind=kind, path=path, granted_by=actor.user, **fields)
    record_event(
        actor=actor,
        action=AuditEvent.Action.GRANT,
        obj=role,
        path=path,
        detail={"user": user.username, "kind": kind},
    )
    return role


def _identity(fields: dict[str, Any]) -> dict[str, Any]:
    return {"subject": fields["subject"], "child": fields["child"]}


@transaction.atomic
def revoke_role(*, actor: Actor, role: Role) -> None:
    _check_grant(actor, kind=role.kind, path=role.path)
    if actor.role is not None and role.pk == actor.role.pk:
        raise ValidationError({"role": _("不能撤销自己正在使用的角色。")})
    record_event(
        actor=actor,
        action=AuditEvent.Action.REVOKE,
        obj=role,
        path=role.path,
        detail={"user": role.user.username, "kind": role.kind},
    )
    role.delete()


def _validate_username(username: str, phone: str | None) -> None:
    errors: dict[str, str] = {}
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace(".", "").isalnum()
    ):
        errors["username"] = _("用户名应为1到64位字母、数字、下划线或点。")
    elif User.objects.filter(username=username).exists():
        errors["username"] = _("用户名 %(username)s 已被使用。") % {"username": username}
    if phone:
        # isdigit() alone also takes digits of other scripts ("١٣٨…") and superscripts.
        if not (len(phone) == 11 and phone.isascii() and phone.isdigit() and phone[0] == "1"):
            errors["phone"] = _("手机号应为以1开头的11位数字。")
        elif User.objects.filter(phone=phone).exists():
            errors["phone"] = _("该手机号已被其他账号使用。")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_account(
    *,
    actor: Actor,
    username: str,
    person: Person,
    kind: str,
    password: str | None = None,
    phone: str | None = None,
    region: Region | None = None,
    school: School | None = None,
    school_class: SchoolClass | None = None,
    subject: Subject | None = None,
    child: Person | None = None,
) -> User:
    """Creates an account for `person` together with its first role, so it is born in scope."""
    username = username.strip()
    _validate_username(username, phone or None)
    if User.objects.filter(person=person).exists():
        raise ValidationError({"person": _("该人员已有账号。")})
    path, _fields = _unit_for(
        kind=kind,
        region=region,
        school=school,
        school_class=school_class,
        subject=subject,
        child=child,
    )
    _check_grant(actor, kind=kind, path=path)
    user = User(username=username, phone=phone or None, person=person)
    if password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    record_event(actor=actor, action=AuditEvent.Action.CREATE, obj=user, path=path)
    grant_role(
        actor=actor,
        user=user,
        kind=kind,
        region=region,
        school=school,
        school_class=school_class,
        subject=subject,
        child=child,
    )
    return user


def _gather(errors: dict[str, list[str]], check: Callable[[], object], field: str) -> None:
    """Runs `check`, adding its messages to `errors` (those naming no field under `field`)."""
    try:
        check()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        else:
            errors.setdefault(field, []).extend(exc.messages)


@transaction.atomic
def create_person_with_account(
    *,
    actor: Actor,
    name: str,
    id_type: str,
    id_number: str,
    username: str,
    kind: str,
    gender: str | None = None,
    birth_date: date | None = None,
    password: str | None = None,
    phone: str | None = None,
    region: Region | None = None,
    school: School | None = None,
    school_class: SchoolClass | None = None,
    subject: Subject | None = None,
    child: Person | None = None,
) -> User:
    """A new person with an account and its first role, all or nothing.

    Every field is checked before anything is written, so one answer names the wrong ID number
    and the taken username together; the right to grant the role is checked before the person
    exists, so a refused request leaves nothing behind.
    """
    username = username.strip()
    unit: dict[str, Any] = {
        "region": region,
        "school": school,
        "school_class": school_class,
        "subject": subject,
        "child": child,
    }
    errors: dict[str, list[str]] = {}
    _gather(errors, lambda: _unit_for(kind=kind, **unit), "kind")
    _gather(
        errors, lambda: _validate_person_basics(name=name, gender=gender, id_type=id_type), "name"
    )
    if "id_type" not in errors:
        _gather(
            errors,
            lambda: identity_fields(
                id_type=id_type, id_number=id_number, birth_date=birth_date, gender=gender
            ),
            "id_number",
        )
    _gather(errors, lambda: _validate_username(username, phone or None), "username")
    if password:
        account = User(username=username, phone=phone or None)
        _gather(errors, lambda: validate_password(password, account), "password")
    if errors:
        raise ValidationError(errors)
    path, _fields = _unit_for(kind=kind, **unit)
    _check_grant(actor, kind=kind, path=path)
    person = create_person(
        name=name, id_type=id_type, id_number=id_number, gender=gender, birth_date=birth_date
    )
    record_event(actor=actor, action=AuditEvent.Action.CREATE, obj=person, path=path)
    return create_account(
        actor=actor,
        username=username,
        person=person,
        kind=kind,
        password=password,
        phone=phone,
        **unit,
    )


def _require_manages(actor: Actor, user: User) -> str:
    """The path of a role `user` holds inside the actor's subtree; refuses otherwise."""
    actor.require_admin()
    root = actor.scope_path or ""
    for path in user.roles.values_list("path", flat=True):
        if contains(root, path):
            return path
    raise ScopeError(_("该账号不在您的管理范围内。"))


@transaction.atomic
def set_account_active(*, actor: Actor, user: User, active: bool) -> User:
    path = _require_manages(actor, user)
    if actor.user is not None and user.pk == actor.user.pk:
        raise ValidationError({"is_active": _("不能停用自己的账号。")})
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        record_event(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=user,
            path=path,
            detail={"is_active": [str(not active), str(active)]},
        )
    return user


@transaction.atomic
def reset_password(*, actor: Actor, user: User) -> str:
    """Gives the account a new random password and returns it, to be handed over in person."""
    path = _require_manages(actor, user)
    password = generate_password()
    user.set_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.save(update_fields=["password", "failed_logins", "locked_until"])
    record_event(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=user,
        path=path,
        detail={"password": "reset"},
    )
    return password


def generate_password() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(14))


@transaction.atomic
def change_own_password(*, actor: Actor, old_password: str, new_password: str) -> None:
    user = actor.user
    assert user is not None
    if not user.check_password(old_password):
        raise ValidationError({"old_password": _("原密码不正确。")})
    validate_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record_event(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=user,
        path=actor.role.path if actor.role else "",
        detail={"password": "changed"},
    )


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


@transaction.atomic
def record_login(*, actor: Actor, user: User, succeeded: bool) -> None:
    """Counts failures (locking the account for a while after too many) and audits the attempt."""
    if succeeded:
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    else:
        failures = user.failed_logins + 1
        locked_until = (
            timezone.now() + timedelta(minutes=LOCK_MINUTES)
            if failures >= LOCK_AFTER_FAILURES
            else None
        )
        User.objects.filter(pk=user.pk).update(failed_logins=failures, locked_until=locked_until)
    role_path = actor.role.path if actor.role is not None else ""
    record_event(
        actor=actor,
        action=AuditEvent.Action.LOGIN if succeeded else AuditEvent.Action.LOGIN_FAILED,
        obj=user,
        path=role_path,
        outcome=AuditEvent.Outcome.OK if succeeded else AuditEvent.Outcome.FAILED,
    )


@transaction.atomic
def record_logout(*, actor: Actor) -> None:
    """Audits the end of a session, in the role it was acting in."""
    user = actor.user
    assert user is not None
    record_event(
        actor=actor,
        action=AuditEvent.Action.LOGOUT,
        obj=user,
        path=actor.role.path if actor.role is not None else "",
    )


def record_role_switch(*, actor: Actor) -> None:
    assert actor.role is not None
    record_event(
        actor=actor, action=AuditEvent.Action.SWITCH_ROLE, obj=actor.role, path=actor.role.path
    )


@transaction.atomic
def issue_api_token(*, user: User) -> str:
    """The account's API token, created on first use; the login it follows is audited by the
    `user_logged_in` signal like any other."""
    from rest_framework.authtoken.models import Token

    token, _created = Token.objects.get_or_create(user=user)
    key: str = token.key
    return key


# --------------------------------------------------------------------------- for the registries


def create_people(*, rows: Sequence[Mapping[str, Any]]) -> list[Person]:
    """Creates many people in bulk statements, for the registries' set-based enrolment.

    Each row holds `name`, `id_type` and the columns `identity_fields` returned for that
    person (so every number was validated); a duplicate ID document raises IntegrityError,
    which the caller turns into a message naming the row.
    """
    return Person.objects.bulk_create([Person(**row) for row in rows], batch_size=1000)


@transaction.atomic
def update_person_identity(
    *, actor: Actor, person: Person, id_type: str, id_number: str, path: str
) -> Person:
    """Records a new ID document for `person` (e.g. a student registered without one), checked
    against the birth date and gender already on record; `path` is the record it belongs to."""
    actor.require_admin()
    actor.require_within(path)
    person = Person.objects.select_for_update().get(pk=person.pk)
    fields = identity_fields(
        id_type=id_type, id_number=id_number, birth_date=person.birth_date, gender=person.gender
    )
    taken = Person.objects.filter(id_digest=fields["id_digest"]).exclude(pk=person.pk)
    if fields["id_digest"] and taken.exists():
        raise ValidationError({"id_number": _("该证件号码已登记在其他人员名下。")})
    before = person.id_type
    for name, value in fields.items():
        setattr(person, name, value)
    person.id_type = id_type
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:
        raise ValidationError({"id_number": _("该证件号码已登记在其他人员名下。")}) from exc
    record_event(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=person,
        path=path,
        object_repr=person.name,
        detail={"id_type": [before, id_type], "id_number": "changed"},
    )
    return person


@transaction.atomic
def move_student_roles(*, actor: Actor, person: Person, school_class: SchoolClass) -> int:
    """Moves a student's class role, and the roles of the student's parents, to `school_class`
    (after a transfer or a resumption). Returns how many roles moved."""
    actor.require_within(school_class.path)
    roles = Role.objects.filter(
        Q(kind=Role.Kind.STUDENT, user__person=person) | Q(kind=Role.Kind.PARENT, child=person)
    ).exclude(school_class=school_class)
    moved = list(roles.values_list("pk", "path"))
    if not moved:
        return 0
    Role.objects.filter(pk__in=[pk for pk, _path in moved]).update(
        school_class=school_class, path=school_class.path
    )
    record_event(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="role",
        object_repr=person.name,
        path=school_class.path,
        detail={"moved": [[pk, path] for pk, path in moved], "to": school_class.path},
    )
    return len(moved)


@transaction.atomic
def end_student_roles(*, actor: Actor, person: Person, path: str) -> int:
    """Ends the class role of a student who left the region's schools (transferred out of the
    region, dropped out, deregistered), so the account no longer counts as a member of the old
    class. The parents' roles stay: they are keyed on the child and keep showing the child's
    record and its history. Returns how many roles ended."""
    actor.require_within(path)
    roles = Role.objects.filter(kind=Role.Kind.STUDENT, user__person=person)
    ended = list(roles.values_list("pk", "path"))
    if not ended:
        return 0
    Role.objects.filter(pk__in=[pk for pk, _path in ended]).delete()
    record_event(
        actor=actor,
        action=AuditEvent.Action.REVOKE,
        object_type="role",
        object_repr=person.name,
        path=path,
        detail={"ended": [[pk, role_path] for pk, role_path in ended]},
    )
    return len(ended)


@transaction.atomic
def move_class_roles(
    *,
    actor: Actor,
    path: str,
    moves: QuerySet[Any],
    people: QuerySet[Any] | None,
    kinds: Sequence[str] | None,
) -> int:
    """Moves class-bound roles inside `path` from each class to the class that succeeds it, in
    one UPDATE ... FROM (a school merge moves every class role, a year rollover its students'
    and their parents'). `moves` yields rows with `old_class_id`, `new_class_id` and
    `new_path`; `people`, when given, limits student and parent roles to those students (a
    queryset of person ids)."""
    actor.require_admin()
    actor.require_within(path)
    roles = Role.objects.filter(subtree_q(path))
    if kinds is not None:
        roles = roles.filter(kind__in=kinds)
    if people is not None:
        roles = roles.filter(
            Q(kind=Role.Kind.STUDENT, user__person_id__in=people)
            | Q(kind=Role.Kind.PARENT, child_id__in=people)
            | ~Q(kind__in=(Role.Kind.STUDENT, Role.Kind.PARENT))
        )
    role_sql, role_params = roles.order_by().values("pk").query.sql_with_params()
    move_sql, move_params = (
        moves.order_by().values("old_class_id", "new_class_id", "new_path").query.sql_with_params()
    )
    table = connection.ops.quote_name(Role._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET school_class_id = m.new_class_id, path = m.new_path "
            f"FROM ({move_sql}) m WHERE m.old_class_id = {table}.school_class_id "
            f"AND {table}.id IN ({role_sql})",
            [*move_params, *role_params],
        )
        count = int(cursor.rowcount)
    if count:
        record_event(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="role",
            object_repr=_("%(count)s 个班级角色随班级接续") % {"count": count},
            path=path,
            detail={"moved": count},
        )
    return count


class NewRole(NamedTuple):
    """A role for `bulk_create_people_with_accounts`, naming its unit by id (a region by code).
    A parent names the child by the username of the child's account in the same batch."""

    kind: str
    region_code: str | None = None
    school_id: int | None = None
    school_class_id: int | None = None
    subject_code: str | None = None
    child_username: str | None = None


class NewAccount(NamedTuple):
    """A real-name person with a resident ID number, their account and its roles."""

    username: str
    name: str
    id_number: str
    roles: tuple[NewRole, ...]


def _username_ok(username: str) -> bool:
    return 0 < len(username) <= 64 and username.replace("_", "").replace(".", "").isalnum()


def _unit_paths(roles: list[NewRole]) -> tuple[dict[str, str], dict[int, str], dict[int, str]]:
    """Region levels by code, school paths and class paths by id, one query per kind of unit."""
    region_codes = {r.region_code for r in roles if r.region_code is not None}
    school_ids = {r.school_id for r in roles if r.school_id is not None}
    class_ids = {r.school_class_id for r in roles if r.school_class_id is not None}
    levels: dict[str, str] = {}
    for codes in in_slices(region_codes):
        levels.update(Region.objects.filter(code__in=codes).values_list("code", "level"))
    school_paths: dict[int, str] = {}
    for ids in in_slices(school_ids):
        school_paths.update(School.objects.filter(pk__in=ids).values_list("pk", "path"))
    class_paths: dict[int, str] = {}
    for ids in in_slices(class_ids):
        class_paths.update(SchoolClass.objects.filter(pk__in=ids).values_list("pk", "path"))
    return levels, school_paths, class_paths


@transaction.atomic
def bulk_create_people_with_accounts(*, actor: Actor, accounts: Sequence[NewAccount]) -> int:
    """Creates people with resident ID numbers, their accounts and roles, set-based; returns
    how many accounts were created.

    For loads of thousands (a school's roster, `santong demo`): ID numbers are validated,
    encrypted with `encrypt_many` and digested; units are looked up with one query per kind of
    unit; people, accounts and roles are each written with one `insert_rows`, and the audit log
    gets one row for the accounts and one for the roles. Every row is checked before anything
    is written. The accounts share one unusable-password marker: hashing is deliberately slow,
    so each person sets a password through the normal reset instead.
    """
    if not accounts:
        return 0
    today = timezone.localdate()
    errors: dict[str, str] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, message)

    vault = get_vault()
    resident = Person.IdType.RESIDENT
    parsed: list[ParsedId] = []
    digests: list[str] = []
    usernames: dict[str, int] = {}
    for index, account in enumerate(accounts):
        username = account.username
        if not _username_ok(username):
            fail(
                "username",
                _("用户名 %(username)s 应为1到64位字母、数字、下划线或点。")
                % {"username": username},
            )
        elif username in usernames:
            fail("username", _("用户名 %(username)s 重复。") % {"username": username})
        usernames[username] = index
        name = account.name.strip()
        if not name or len(name) > 64:
            fail("name", _("账号 %(username)s 的姓名应为1到64个字符。") % {"username": username})
        if not account.roles:
            fail("kind", _("账号 %(username)s 没有角色。") % {"username": username})
        try:
            identity = validate_id_number(resident, account.id_number, today=today)
        except IdNumberError as exc:
            fail(
                "id_number",
                _("账号 %(username)s：%(error)s") % {"username": username, "error": exc},
            )
            continue
        parsed.append(identity)
        digests.append(vault.digest(resident, identity.number))
    if len(set(digests)) != len(digests):
        fail("id_number", _("同一证件号码出现了不止一次。"))

    roles = [role for account in accounts for role in account.roles]
    levels, school_paths, class_paths = _unit_paths(roles)
    subjects = set(Subject.objects.values_list("code", flat=True))
    student_classes = {
        (account.username, role.school_class_id)
        for account in accounts
        for role in account.roles
        if role.kind == Role.Kind.STUDENT
    }
    role_paths: list[list[str]] = []
    grants: set[tuple[str, str]] = set()
    for account in accounts:
        paths: list[str] = []
        held: set[tuple[str, str, str | None, str | None]] = set()
        for role in account.roles:
            path = _bulk_role_path(
                role, levels, school_paths, class_paths, subjects, student_classes, fail
            )
            if path is None:
                continue
            identity_key = (role.kind, path, role.subject_code, role.child_username)
            if identity_key in held:
                fail("kind", _("账号 %(username)s 的角色重复。") % {"username": account.username})
            held.add(identity_key)
            paths.append(path)
            grants.add((role.kind, path))
        role_paths.append(paths)
    if errors:
        raise ValidationError(errors)
    for kind, path in grants:
        _check_grant(actor, kind=kind, path=path)

    ciphers = vault.encrypt_many([identity.number for identity in parsed])
    try:
        # The unique indexes check usernames and ID numbers against the stored ones in the
        # same pass that writes them; only a refused batch pays for finding the culprit.
        with transaction.atomic():
            _write_people(accounts, parsed, ciphers, digests, role_paths, actor)
    except IntegrityError as exc:
        raise _uniqueness_error(accounts, digests) from exc
    all_paths = [path for paths in role_paths for path in paths]
    scope = common_unit(all_paths)
    record_event(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="user",
        object_repr=_("批量新建 %(count)s 个账号") % {"count": len(accounts)},
        path=scope,
        detail={"created": len(accounts)},
    )
    kinds: dict[str, int] = {}
    for role in roles:
        kinds[role.kind] = kinds.get(role.kind, 0) + 1
    record_event(
        actor=actor,
        action=AuditEvent.Action.GRANT,
        object_type="role",
        object_repr=_("批量授予 %(count)s 个角色") % {"count": len(roles)},
        path=scope,
        detail={"granted": kinds},
    )
    return len(accounts)


def _write_people(
    accounts: Sequence[NewAccount],
    parsed: list[ParsedId],
    ciphers: list[bytes],
    digests: list[str],
    role_paths: list[list[str]],
    actor: Actor,
) -> None:
    person_ids = reserve_ids(Person, len(accounts))
    user_ids = reserve_ids(User, len(accounts))
    now = timezone.now()
    resident = Person.IdType.RESIDENT
    insert_rows(
        Person,
        ("id", "name", "gender", "birth_date", "id_cipher", "id_digest", "id_masked"),
        (
            (
                pk,
                account.name.strip(),
                identity.gender,
                identity.birth_date,
                cipher,
                digest,
                mask_id_number(identity.number),
            )
            for pk, account, identity, cipher, digest in zip(
                person_ids, accounts, parsed, ciphers, digests, strict=True
            )
        ),
        constants={"id_type": resident, "created_at": now, "updated_at": now},
    )
    insert_rows(
        User,
        ("id", "username", "person_id"),
        (
            (pk, account.username, person_pk)
            for pk, person_pk, account in zip(user_ids, person_ids, accounts, strict=True)
        ),
        constants={
            "password": make_password(None),
            "last_login": None,
            "is_superuser": False,
            "phone": None,
            "is_active": True,
            "is_staff": False,
            "date_joined": now,
            "failed_logins": 0,
            "locked_until": None,
        },
    )
    person_of = {account.username: pk for account, pk in zip(accounts, person_ids, strict=True)}
    insert_rows(
        Role,
        (
            "user_id",
            "kind",
            "region_id",
            "school_id",
            "school_class_id",
            "subject_id",
            "child_id",
            "path",
        ),
        (
            (
                user_pk,
                role.kind,
                role.region_code,
                role.school_id,
                role.school_class_id,
                role.subject_code,
                person_of[role.child_username] if role.child_username else None,
                path,
            )
            for user_pk, account, paths in zip(user_ids, accounts, role_paths, strict=True)
            for role, path in zip(account.roles, paths, strict=True)
        ),
        constants={
            "granted_by_id": actor.user.pk if actor.user is not None else None,
            "created_at": now,
        },
    )


def _uniqueness_error(accounts: Sequence[NewAccount], digests: list[str]) -> ValidationError:
    """Which username or ID number of a refused batch is stored already."""
    for part in in_slices(account.username for account in accounts):
        taken = User.objects.filter(username__in=part).values_list("username", flat=True).first()
        if taken is not None:
            return ValidationError(
                {"username": _("用户名 %(username)s 已被使用。") % {"username": taken}}
            )
    return ValidationError({"id_number": _("该证件号码已登记在其他人员名下。")})


def _bulk_role_path(
    role: NewRole,
    levels: Mapping[str, str],
    school_paths: Mapping[int, str],
    class_paths: Mapping[int, str],
    subjects: set[str],
    student_classes: set[tuple[str, int | None]],
    fail: Callable[[str, str], None],
) -> str | None:
    """The path of the unit `role` binds to, after the checks `_unit_for` makes one at a time."""
    if role.kind not in RANK:
        fail("kind", _("未知的角色类型。"))
        return None
    field = unit_field(role.kind)
    given = {
        "region": role.region_code,
        "school": role.school_id,
        "school_class": role.school_class_id,
    }
    for name, value in given.items():
        if (name == field) != (value is not None):
            fail(
                name,
                _("该角色必须绑定到此类单位。")
                if name == field
                else _("该角色不能绑定到此类单位。"),
            )
            return None
    path: str | None
    if field == "region":
        level = levels.get(role.region_code or "")
        if level is None or level != REGION_LEVEL[role.kind]:
            fail("region", _("所选行政区划的层级与角色不符。"))
            return None
        path = role.region_code
    elif field == "school":
        path = school_paths.get(role.school_id or 0)
    else:
        path = class_paths.get(role.school_class_id or 0)
    if path is None:
        fail(field, _("所选单位不存在。"))
        return None
    is_subject_teacher = role.kind == Role.Kind.SUBJECT_TEACHER
    if is_subject_teacher and role.subject_code not in subjects:
        fail("subject", _("任课教师必须指定学科。"))
    if not is_subject_teacher and role.subject_code is not None:
        fail("subject", _("只有任课教师可以指定学科。"))
    if role.kind == Role.Kind.PARENT:
        if (role.child_username, role.school_class_id) not in student_classes:
            fail("child", _("该子女不是所选班级的学生。"))
    elif role.child_username is not None:
        fail("child", _("只有家长角色可以关联子女。"))
    return path


# --------------------------------------------------------------------------- for imports


class NewPerson(NamedTuple):
    """A person for `bulk_add_people`. The caller validated the document with
    `validate_id_number` and digested it: `number` is normalised, and "" for 无证件."""

    name: str
    id_type: str
    number: str
    digest: str
    gender: str
    birth_date: date | None


def bulk_add_people(*, people: Sequence[NewPerson]) -> Sequence[int]:
    """Inserts people in one statement (COPY on PostgreSQL, one executemany on SQLite), their
    numbers encrypted with `encrypt_many`; returns their ids in order. A document registered
    meanwhile by someone else raises IntegrityError from the unique digest index."""
    if not people:
        return []
    vault = get_vault()
    ids = reserve_ids(Person, len(people))
    ciphers = iter(vault.encrypt_many([p.number for p in people if p.number]))
    now = timezone.now()
    insert_rows(
        Person,
        ("id", "name", "gender", "birth_date", "id_type", "id_cipher", "id_digest", "id_masked"),
        (
            (
                pk,
                p.name,
                p.gender,
                p.birth_date,
                p.id_type,
                next(ciphers) if p.number else None,
                p.digest,
                mask_id_number(p.number) if p.number else "",
            )
            for pk, p in zip(ids, people, strict=True)
        ),
        constants={"created_at": now, "updated_at": now},
    )
    return ids


# Usernames of imported accounts: a prefix for what the person is, then the person's id.
USERNAME_PREFIXES: dict[str, str] = {
    Role.Kind.STUDENT: "xs",
    Role.Kind.PARENT: "jz",
    Role.Kind.HEAD_TEACHER: "js",
    Role.Kind.SUBJECT_TEACHER: "js",
}


@transaction.atomic
def bulk_open_accounts(
    *,
    actor: Actor,
    person_ids: Sequence[int],
    kind: str,
    path: str,
    phones: Sequence[str | None] | None = None,
) -> dict[int, int]:
    """Accounts for people who have none, for a bulk import into the unit at `path`; returns
    {person_id: user_id}.

    Each is named after what the person is and the person's id (xs1024 for a student), and
    starts without a usable password: hashing one per row is deliberately slow, and the
    person chooses their own with a one-time code (`issue_activation_codes`). `phones`, when
    given, are the accounts' login phone numbers (the caller checked they are free). One
    statement and one audit row, whatever the number.
    """
    actor.require_admin()
    actor.require_within(path)
    if not person_ids:
        return {}
    prefix = USERNAME_PREFIXES[kind]
    ids = reserve_ids(User, len(person_ids))
    usernames = [f"{prefix}{pk}" for pk in person_ids]
    quote = connection.ops.quote_name
    table = quote(User._meta.db_table)
    shared: dict[str, Any] = {
        "password": make_password(None),
        "last_login": None,
        "is_superuser": False,
        "is_active": True,
        "is_staff": False,
        "date_joined": connection.ops.adapt_datetimefield_value(timezone.now()),
        "failed_logins": 0,
        "locked_until": None,
    }
    columns = ", ".join(quote(name) for name in ("id", "username", "person_id", "phone", *shared))
    values = list(shared.values())
    staged = zip(ids, usernames, person_ids, phones or [None] * len(ids), strict=True)
    columns_staged = (("id", "int"), ("username", "text"), ("person_id", "int"), ("phone", "text"))
    with (
        staging_table("account_stage", columns_staged, staged) as stage,
        connection.cursor() as cursor,
    ):
        # A name someone already chose by hand gets a random tail; found by one join.
        cursor.execute(
            f"UPDATE {stage} SET username = username || '_' || %s || id "
            f"WHERE EXISTS (SELECT 1 FROM {table} u WHERE u.username = {stage}.username)",
            [secrets.token_hex(2)],
        )
        marks = ", ".join(["%s"] * len(values))
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT s.id, s.username, s.person_id, s.phone, "
            f"{marks} FROM {stage} s",
            values,
        )
        cursor.execute(f"SELECT MIN(username), MAX(username) FROM {stage}")
        first, last = cursor.fetchone()
    record_event(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        object_type="user",
        object_repr=_("批量新建 %(count)s 个账号") % {"count": len(ids)},
        path=path,
        detail={"created": len(ids), "first": first, "last": last},
    )
    return dict(zip(person_ids, ids, strict=True))


class ClassRole(NamedTuple):
    """A class-bound role for `bulk_grant_class_roles` (a parent's names the child)."""

    user_id: int
    kind: str
    school_class_id: int
    path: str
    subject_code: str | None = None
    child_id: int | None = None


@transaction.atomic
def bulk_grant_class_roles(*, actor: Actor, roles: Sequence[ClassRole]) -> int:
    """Grants the class-bound roles not yet held, set-based, with `grant_role`'s rules: the
    right to grant is checked once per kind and class, a subject teacher names a subject, a
    parent names a child who is a student of that class. Roles already held are left alone,
    so granting the same roles twice changes nothing. Returns how many were granted."""
    wanted = list(dict.fromkeys(roles))
    if not wanted:
        return 0
    for kind, path in {(r.kind, r.path) for r in wanted}:
        if kind not in RANK or unit_field(kind) != "school_class":
            raise ValidationError({"kind": _("该角色不能绑定到此类单位。")})
        _check_grant(actor, kind=kind, path=path)
    for role in wanted:
        if (role.kind == Role.Kind.SUBJECT_TEACHER) != (role.subject_code is not None):
            raise ValidationError({"subject": _("任课教师必须指定学科。")})
        if (role.kind == Role.Kind.PARENT) != (role.child_id is not None):
            raise ValidationError({"child": _("家长角色必须关联子女。")})
    children = {(r.child_id, r.path) for r in wanted if r.child_id is not None}
    if children:
        students: set[tuple[int | None, str]] = set()
        for part in in_slices({child for child, _path in children}):
            students.update(
                Role.objects.filter(kind=Role.Kind.STUDENT, user__person_id__in=part).values_list(
                    "user__person_id", "path"
                )
            )
        if not children <= students:
            raise ValidationError({"child": _("该子女不是所选班级的学生。")})
    quote = connection.ops.quote_name
    table = quote(Role._meta.db_table)
    columns = (  # in the order of ClassRole's fields
        ("user_id", "int"),
        ("kind", "text"),
        ("school_class_id", "int"),
        ("path", "text"),
        ("subject_id", "text"),
        ("child_id", "int"),
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    granter = actor.user.pk if actor.user is not None else None
    with (
        staging_table("role_stage", columns, wanted) as stage,
        connection.cursor() as cursor,
    ):
        # Roles already held are left out by the database, in the same statement.
        held = (
            f"SELECT 1 FROM {table} r WHERE r.user_id = s.user_id AND r.kind = s.kind "
            "AND r.path = s.path AND COALESCE(r.subject_id, '') = COALESCE(s.subject_id, '') "
            "AND COALESCE(r.child_id, 0) = COALESCE(s.child_id, 0)"
        )
        cursor.execute(
            f"INSERT INTO {table} (user_id, kind, school_class_id, subject_id, child_id, path, "
            "region_id, school_id, granted_by_id, created_at) "
            "SELECT s.user_id, s.kind, s.school_class_id, s.subject_id, s.child_id, s.path, "
            f"NULL, NULL, %s, %s FROM {stage} s WHERE NOT EXISTS ({held})",
            [granter, now],
        )
        granted = int(cursor.rowcount)
        cursor.execute(f"SELECT s.kind, COUNT(*) FROM {stage} s GROUP BY s.kind")
        kinds = dict(cursor.fetchall())
    if not granted:
        return 0
    record_event(
        actor=actor,
        action=AuditEvent.Action.GRANT,
        object_type="role",
        object_repr=_("批量授予 %(count)s 个角色") % {"count": granted},
        path=common_unit(r.path for r in wanted),
        detail={"granted": granted, "asked": kinds},
    )
    return granted


@transaction.atomic
def bulk_move_student_roles(*, actor: Actor, moves: Sequence[tuple[int, int, str]]) -> int:
    """`move_student_roles` for many students at once: each (person_id, class_id, class_path)
    moves that student's class role and their parents' roles to the class. One UPDATE per
    destination class and one audit row; returns how many roles moved."""
    by_class: dict[tuple[int, str], list[int]] = {}
    for person_id, class_id, path in moves:
        by_class.setdefault((class_id, path), []).append(person_id)
    moved = 0
    for (class_id, path), people in by_class.items():
        actor.require_within(path)
        for part in in_slices(people):
            moved += (
                Role.objects.filter(
                    Q(kind=Role.Kind.STUDENT, user__person_id__in=part)
                    | Q(kind=Role.Kind.PARENT, child_id__in=part)
                )
                .exclude(school_class_id=class_id)
                .update(school_class_id=class_id, path=path)
            )
    if moved:
        record_event(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="role",
            object_repr=_("%(count)s 个班级角色随学生调班") % {"count": moved},
            path=common_unit(path for _class_id, path in by_class),
            detail={"moved": moved, "to": sorted(path for _class_id, path in by_class)},
        )
    return moved


# --------------------------------------------------------------------------- activation codes

# An account that has not chosen a password holds, in place of one, the keyed hash of a
# one-time activation code and its expiry. The leading "!" is Django's mark of an unusable
# password, so no login can ever match it; choosing a password replaces it, which is what
# makes the code single-use.
ACTIVATION_MARK = "!activation$"
ACTIVATION_DAYS = 30
ACTIVATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: no 0/O, 1/I
ACTIVATION_LENGTH = 10


class IssuedCode(NamedTuple):
    """An activation code as handed out on a class list; the code is not stored anywhere."""

    user_id: int
    username: str
    name: str
    unit: str
    kind: str
    code: str


def _activation_hash(user_id: int, code: str) -> str:
    from django.utils.crypto import salted_hmac

    return salted_hmac(
        "santong.accounts.activation", f"{user_id}:{code}", algorithm="sha256"
    ).hexdigest()


def normalize_activation_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _new_codes(count: int) -> list[str]:
    """`count` random codes from one call to the system's random source (256 is a multiple
    of the alphabet's 32, so taking each byte modulo 32 is unbiased)."""
    pool = secrets.token_bytes(count * ACTIVATION_LENGTH)
    alphabet = ACTIVATION_ALPHABET
    return [
        "".join(alphabet[b % 32] for b in pool[i : i + ACTIVATION_LENGTH])
        for i in range(0, len(pool), ACTIVATION_LENGTH)
    ]


@transaction.atomic
def issue_activation_codes(
    *, actor: Actor, path: str, kinds: Sequence[str] | None = None, days: int = ACTIVATION_DAYS
) -> list[IssuedCode]:
    """New one-time codes for every account holding a role inside the unit at `path` (of
    `kinds`, when given) that has not chosen a password yet, e.g. a class's students and
    parents after an import. Codes issued earlier for them stop working. Only a keyed hash of
    each code and its expiry are stored, in one set-based write; the codes themselves are
    returned once, for the printed class list, in class and name order. One audit row."""
    actor.require_admin()
    actor.require_within(path)
    roles = Role.objects.filter(subtree_q(path), user__password__startswith="!")
    if kinds is not None:
        roles = roles.filter(kind__in=kinds)
    found: dict[int, tuple[str, str, str, str]] = {}
    for user_id, username, name, school_class, school, kind in roles.order_by(
        "path", "kind", "user__person__name", "user_id"
    ).values_list(
        "user_id",
        "user__username",
        "user__person__name",
        "school_class__name",
        "school__name",
        "kind",
    ):
        found.setdefault(user_id, (username, name or "", school_class or school or "", kind))
    if not found:
        return []
    codes = _new_codes(len(found))
    expires = int((timezone.now() + timedelta(days=days)).timestamp())
    marks = [
        f"{ACTIVATION_MARK}{expires}${_activation_hash(user_id, code)}"
        for user_id, code in zip(found, codes, strict=True)
    ]
    quote = connection.ops.quote_name
    table = quote(User._meta.db_table)
    with (
        staging_table(
            "activation_stage", (("id", "int"), ("mark", "text")), zip(found, marks, strict=True)
        ) as stage,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"UPDATE {table} SET password = s.mark FROM {stage} s WHERE {table}.id = s.id"
        )
    record_event(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="user",
        object_repr=_("为 %(count)s 个未激活账号发放激活码") % {"count": len(found)},
        path=path,
        detail={"activation_codes": len(found), "expires": expires},
    )
    return [
        IssuedCode(user_id, username, name, unit, kind, code)
        for (user_id, (username, name, unit, kind)), code in zip(found.items(), codes, strict=True)
    ]


def activation_expiry(user: User) -> int | None:
    """When the account's activation code expires (a Unix time), or None if it has none."""
    if not user.password.startswith(ACTIVATION_MARK):
        return None
    expires, _sep, _digest = user.password[len(ACTIVATION_MARK) :].partition("$")
    return int(expires) if expires.isdigit() else None


def activate_account(*, actor: Actor, username: str, code: str, new_password: str) -> User:
    """Exchanges a one-time activation code for the password the person chooses.

    A wrong or expired code counts as a failed login (the account locks after
    LOCK_AFTER_FAILURES, as for passwords) and is audited; the right code works once, since
    the password it sets replaces the code's hash. Every refusal says the same thing, so the
    page tells nobody which accounts exist or still wait for activation.
    """
    from santong.accounts.selectors import login_account

    refused = ValidationError({"code": _("用户名或激活码不正确，或激活码已过期。")})
    found = login_account(username.strip())
    if found is None:
        raise refused
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=found.pk)
        if is_locked(user):
            raise ValidationError(
                {
                    "code": _("尝试次数过多，账号已暂时锁定，请 %(minutes)s 分钟后再试。")
                    % {"minutes": LOCK_MINUTES}
                }
            )
        expires = activation_expiry(user)
        expired = expires is not None and expires < timezone.now().timestamp()
        given = _activation_hash(user.pk, normalize_activation_code(code))
        matches = expires is not None and secrets.compare_digest(
            user.password.rpartition("$")[2], given
        )
        if matches and not expired:
            validate_password(new_password, user)
            user.set_password(new_password)
            user.failed_logins = 0
            user.locked_until = None
            user.save(update_fields=["password", "failed_logins", "locked_until"])
            record_event(
                actor=actor,
                action=AuditEvent.Action.UPDATE,
                obj=user,
                detail={"password": "activated"},
            )
            return user
        # The failure is committed before the refusal is raised, so it counts.
        failures = user.failed_logins + 1
        locked_until = (
            timezone.now() + timedelta(minutes=LOCK_MINUTES)
            if failures >= LOCK_AFTER_FAILURES
            else None
        )
        User.objects.filter(pk=user.pk).update(failed_logins=failures, locked_until=locked_until)
        record_event(
            actor=actor,
            action=AuditEvent.Action.LOGIN_FAILED,
            obj=user,
            outcome=AuditEvent.Outcome.FAILED,
            detail={"activation": "expired" if matches else "wrong code"},
        )
    raise refused


# --------------------------------------------------------------------------- exporting ID numbers

# Lists export ID numbers masked. Exporting them in full is a right given to named
# administrator accounts (a Django permission on Person), and each such export is audited.
ID_EXPORT_CODENAME = "export_id_numbers"
ID_EXPORT_PERMISSION = f"accounts.{ID_EXPORT_CODENAME}"


def _id_export_permission() -> Any:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    permission, _created = Permission.objects.get_or_create(
        codename=ID_EXPORT_CODENAME,
        content_type=ContentType.objects.get_for_model(Person),
        defaults={"name": "导出完整证件号码"},
    )
    return permission


def may_export_id_numbers(user: Any) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(ID_EXPORT_PERMISSION))


def _require_grants_id_export(actor: Actor, user: User) -> str:
    """Only a province's administrators (or the system) decide who exports ID numbers in
    full, and only to administrator accounts they manage."""
    path = _require_manages(actor, user) if actor.role is not None else ""
    if actor.role is not None and actor.role.kind != Role.Kind.PROVINCE_ADMIN:
        raise ScopeError(_("只有省级管理员可以授予导出完整证件号码的权限。"))
    if not user.roles.filter(kind__in=ADMIN_KINDS).exists():
        raise ValidationError({"user": _("只能授予管理员账号。")})
    return path


@transaction.atomic
def grant_id_number_export(*, actor: Actor, user: User) -> None:
    path = _require_grants_id_export(actor, user)
    user.user_permissions.add(_id_export_permission())
    record_event(
        actor=actor,
        action=AuditEvent.Action.GRANT,
        obj=user,
        path=path,
        detail={"permission": ID_EXPORT_CODENAME},
    )


@transaction.atomic
def revoke_id_number_export(*, actor: Actor, user: User) -> None:
    path = _require_grants_id_export(actor, user)
    user.user_permissions.remove(_id_export_permission())
    record_event(
        actor=actor,
        action=AuditEvent.Action.REVOKE,
        obj=user,
        path=path,
        detail={"permission": ID_EXPORT_CODENAME},
    )
