"""Writes to people, accounts and roles. Each takes the acting `Actor`, checks its scope and
writes its audit row in the same transaction."""

import secrets
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts.identity import (
    IdNumberError,
    check_consistency,
    get_vault,
    mask_id_number,
    validate_id_number,
)
from santong.accounts.models import Person, Role, User
from santong.accounts.roles import RANK, REGION_LEVEL, unit_field
from santong.audit.models import AuditEvent
from santong.audit.services import record_event
from santong.core.actors import Actor, ScopeError
from santong.core.scope import contains
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
        if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
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


def record_role_switch(*, actor: Actor) -> None:
    assert actor.role is not None
    record_event(
        actor=actor, action=AuditEvent.Action.SWITCH_ROLE, obj=actor.role, path=actor.role.path
    )
