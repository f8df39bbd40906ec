"""What every registry service shares: who is acting, where, and on whose authority."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts.models import Role
from santong.accounts.roles import RANK
from santong.audit.models import AuditEvent
from santong.audit.services import record_event
from santong.core.actors import Actor, ScopeError
from santong.orgs.models import School
from santong.registry.models import SchoolProfile

BATCH_SIZE = 1000
T = TypeVar("T")
R = TypeVar("R", bound=models.Model)


@dataclass
class BulkResult(Generic[R]):
    """What a set-based call did: the records written, and each refused row's errors.

    `errors` maps the row's position in the input to a ValidationError whose `message_dict`
    names the fields; valid rows are written even when others are refused.
    """

    records: list[R] = field(default_factory=list)
    errors: dict[int, ValidationError] = field(default_factory=dict)
    created: int = 0
    updated: int = 0


def batched(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


SYSTEM_NAME = "system"


def actor_name(actor: Actor) -> str:
    return actor.user.display_name if actor.user is not None else SYSTEM_NAME


def require_admin_within(actor: Actor, path: str) -> None:
    actor.require_admin()
    actor.require_within(path)


def require_rank_at_least(actor: Actor, kind: str) -> None:
    """Refuses roles ranked below `kind` (e.g. a school administrator where a county decides)."""
    if actor.role is not None and RANK[actor.role.kind] > RANK[kind]:
        raise ScopeError(
            _("此操作须由%(kind)s或上级管理员执行。") % {"kind": Role.Kind(kind).label}
        )


def on_behalf_of_approvals(actor: Actor) -> Actor:
    """The actor that applies a fully approved request.

    A transfer between two counties changes rows in both subtrees, which no single approver's
    scope covers; the chain of approvals is the authority. Audit rows still name the person
    and role who gave the last approval.
    """
    return Actor(user=actor.user, role=actor.role, ip=actor.ip, is_system=True)


def school_status(school: School) -> str:
    profile = SchoolProfile.objects.filter(school=school).only("status").first()
    return profile.status if profile is not None else SchoolProfile.Status.OPEN


def closed_school_ids(school_ids: set[int]) -> set[int]:
    """Of `school_ids`, the schools that no longer run (merged or closed)."""
    return set(
        SchoolProfile.objects.filter(school_id__in=school_ids)
        .exclude(status=SchoolProfile.Status.OPEN)
        .values_list("school_id", flat=True)
    )


def require_open(school: School, field: str) -> None:
    if school_status(school) != SchoolProfile.Status.OPEN:
        raise ValidationError({field: closed_message(school)})


def closed_message(school: School) -> str:
    return _("%(school)s 已合并或撤销，不能办理此业务。") % {"school": school.name}


def first_errors(error: ValidationError) -> dict[str, str]:
    return {name: messages[0] for name, messages in error.message_dict.items()}


def insert_events(
    model: type[models.Model],
    owner: str,
    owners: models.QuerySet[Any],
    *,
    actor: Actor,
    kind: str,
    at: datetime,
    step: str = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> int:
    """One history row per record of `owners`, written by the database (INSERT ... SELECT).

    `model` is an event model, `owner` its foreign key to the record (`record` or `teacher`);
    each event takes its record's current path. No row passes through Python.
    """
    selection, params = owners.order_by().values("pk").query.sql_with_params()
    quote = connection.ops.quote_name
    owner_table = quote(owners.model._meta.db_table)
    columns = ", ".join(
        quote(_column(model, name))
        for name in (owner, "kind", "at", "actor", "actor_name", "step", "reason", "path", "detail")
    )
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
        f"SELECT o.id, %s, %s, %s, %s, %s, %s, o.path, %s FROM {owner_table} o "
        f"WHERE o.id IN ({selection})"
    )
    values = [
        kind,
        at,
        actor.user.pk if actor.user is not None else None,
        actor_name(actor),
        step,
        reason,
        json.dumps(detail or {}, ensure_ascii=False),
        *params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return int(cursor.rowcount)


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.column)


def audit_many(
    *,
    actor: Actor,
    action: str,
    records: Iterable[Any],
    school_of: Any,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit rows for records written together: one per school, naming every record."""
    by_school: dict[int, list[Any]] = {}
    schools: dict[int, School] = {}
    for record in records:
        school = school_of(record)
        by_school.setdefault(school.pk, []).append(record)
        schools[school.pk] = school
    for school_id, group in by_school.items():
        if len(group) == 1:
            record_event(
                actor=actor, action=action, obj=group[0], path=group[0].path, detail=detail
            )
            continue
        first = group[0]
        record_event(
            actor=actor,
            action=action,
            object_type=first._meta.model_name,
            object_repr=_("%(school)s %(count)s 条记录")
            % {"school": schools[school_id].name, "count": len(group)},
            path=schools[school_id].path,
            detail={**(detail or {}), "ids": [record.pk for record in group]},
        )


def now() -> datetime:
    return timezone.now()


AUDIT = AuditEvent.Action
