"""Scoped reads of the audit log: administrators see events on objects inside their subtree."""

from django.db.models import Q, QuerySet

from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS
from santong.audit.models import AuditEvent
from santong.core.scope import subtree_q


def readable_events_q(role: Role) -> Q:
    if role.kind in ADMIN_KINDS:
        return subtree_q(role.path)
    return Q(pk__in=[])


def events(*, role: Role) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(readable_events_q(role)).order_by("-at", "-id")
