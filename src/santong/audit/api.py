"""The audit log over the API: each administrator reads the events inside its scope."""

from django.db.models import QuerySet
from rest_framework import viewsets

from santong.accounts.models import Role
from santong.audit import selectors
from santong.audit.models import AuditEvent
from santong.audit.serializers import AuditEventSerializer
from santong.core.api import IdFilter
from santong.core.filters import FilterSet
from santong.core.permissions import ScopedViewSetMixin


class AuditEventFilter(FilterSet):
    actor = IdFilter(field_name="actor_id")

    class Meta:
        model = AuditEvent
        fields = {
            "action": ["exact"],
            "actor": ["exact"],
            "object_type": ["exact"],
            "outcome": ["exact"],
            "at": ["gte", "lte"],
        }


class AuditEventViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[AuditEvent]):
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    search_fields = ["actor_name", "object_repr"]
    ordering_fields = ["at", "action"]

    def scoped_queryset(self, role: Role) -> QuerySet[AuditEvent]:
        return selectors.events(role=role)
