"""Import jobs over the API: what a job says about itself, and the upload that starts one."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from santong.core.api import InputSerializer, ScopedPrimaryKeyRelatedField
from santong.imports.headers import HeaderMapping
from santong.imports.kinds import kind_names
from santong.imports.models import ImportJob
from santong.imports.selectors import needs_mapping
from santong.orgs import selectors as org_selectors
from santong.orgs.models import School

_TEXTS = {"type": "array", "items": {"type": "string"}}
HEADER_MAPPING_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "How the file's header row maps onto the kind's columns: `fields[i]` is the "
    "field file column `i` fills (null when the column is ignored).",
    "properties": {
        "header_row": {"type": "integer"},
        "headers": _TEXTS,
        "fields": {"type": "array", "items": {"type": "string", "nullable": True}},
        "unknown": _TEXTS,
        "missing": _TEXTS,
        "duplicated": _TEXTS,
    },
    "required": ["header_row", "headers", "fields", "unknown", "missing", "duplicated"],
}


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    created_by = serializers.SerializerMethodField()
    rows_imported = serializers.IntegerField(read_only=True)
    needs_mapping = serializers.SerializerMethodField()
    has_report = serializers.SerializerMethodField()
    header_mapping = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "source_name",
            "status",
            "message",
            "options",
            "notes",
            "rows_read",
            "rows_estimated",
            "rows_imported",
            "rows_created",
            "rows_updated",
            "rows_unchanged",
            "rows_rejected",
            "rows_warned",
            "needs_mapping",
            "header_mapping",
            "has_report",
            "created_by",
            "role_label",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, job: ImportJob) -> str | None:
        return job.created_by.display_name if job.created_by is not None else None

    def get_needs_mapping(self, job: ImportJob) -> bool:
        return needs_mapping(job)

    @extend_schema_field(HEADER_MAPPING_SCHEMA)
    def get_header_mapping(self, job: ImportJob) -> dict[str, Any] | None:
        if job.header_mapping is None:
            return None
        return HeaderMapping.from_json(job.header_mapping).to_json()

    def get_has_report(self, job: ImportJob) -> bool:
        return bool(job.report)


class ImportUploadSerializer(InputSerializer):
    """A file to import (multipart/form-data). `mapping` (JSON: file header → field, or null to
    skip the column) answers the column-mapping step in advance."""

    kind = serializers.ChoiceField(choices=[])
    file = serializers.FileField()
    school = ScopedPrimaryKeyRelatedField(
        model=School, selector=org_selectors.schools, required=False, allow_null=True
    )
    dry_run = serializers.BooleanField(default=False)
    strict = serializers.BooleanField(default=False)
    mapping = serializers.JSONField(required=False, allow_null=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, serializers.ChoiceField)
        kind.choices = list(kind_names().items())

    def validate_mapping(self, value: Any) -> dict[str, str | None] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
        ):
            raise serializers.ValidationError(
                _("应为一个JSON对象：文件中的列名 → 字段名（不导入的列为 null）。")
            )
        return value
