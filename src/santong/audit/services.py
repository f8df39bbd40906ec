"""Writing the audit log: called inside the same transaction as the write it records."""

from typing import Any

from django.db import models

from santong.audit.models import AuditEvent
from santong.core.actors import Actor


def record_event(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    path: str = "",
    outcome: str = AuditEvent.Outcome.OK,
    detail: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    user = actor.user
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.display_name if user is not None else "system",
        actor_role=str(actor.role)[:64] if actor.role is not None else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        path=path,
        ip=actor.ip,
        outcome=outcome,
        detail=detail or {},
    )


def changes(instance: models.Model, data: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields `data` would change on `instance`, as {field: [old, new]} for the audit row."""
    diff: dict[str, list[Any]] = {}
    for name, new in data.items():
        old = getattr(instance, name)
        if isinstance(old, models.Model):
            old = old.pk
        compare_new = new.pk if isinstance(new, models.Model) else new
        if old != compare_new:
            diff[name] = [str(old) if old is not None else None, str(compare_new)]
    return diff
