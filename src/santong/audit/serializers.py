"""The audit log over the API: read-only, with the action and outcome named in words."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from santong.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    action_display = serializers.CharField(
        source="get_action_display", read_only=True, label=_("操作名称")
    )
    outcome_display = serializers.CharField(
        source="get_outcome_display", read_only=True, label=_("结果名称")
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "actor_name",
            "actor_role",
            "action",
            "action_display",
            "object_type",
            "object_id",
            "object_repr",
            "ip",
            "outcome",
            "outcome_display",
            "detail",
        ]
