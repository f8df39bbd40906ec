"""Audits every login attempt, whichever way it came in (web form or API token)."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from santong.accounts.models import User
from santong.accounts.selectors import default_role
from santong.core.actors import Actor, client_ip


@receiver(user_logged_in)
def audit_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    from santong.accounts.services import record_login

    ip = client_ip(request) if request is not None else None
    record_login(actor=Actor(user=user, role=default_role(user), ip=ip), user=user, succeeded=True)


@receiver(user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    from django.db.models import Q

    from santong.accounts.services import record_login

    name = credentials.get("username") or ""
    user = User.objects.filter(Q(username=name) | Q(phone=name)).first() if name else None
    ip = client_ip(request) if request is not None else None
    if user is None:
        from santong.audit.models import AuditEvent
        from santong.audit.services import record_event

        record_event(
            actor=Actor(user=None, role=None, ip=ip),
            action=AuditEvent.Action.LOGIN_FAILED,
            object_type="user",
            object_repr=str(name)[:200],
            outcome=AuditEvent.Outcome.FAILED,
        )
        return
    record_login(actor=Actor(user=user, role=default_role(user), ip=ip), user=user, succeeded=False)
