"""Import jobs over the API: administrators list and read the jobs they may see, upload a file
to start one (multipart/form-data), and download a job's report.

Jobs come from the imports selectors with the active role, so a job the role may not see is a
404; the upload and the report download go through the imports services, which check scope
and write the audit row. A job runs in the background: poll it until `status` is
`succeeded` or `failed`; a job that stopped at the column-mapping step says `needs_mapping`
and shows its `header_mapping`, and the same file uploaded again with `mapping` runs.
"""

from collections.abc import Collection
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS
from santong.core.api import parse_input, request_actor
from santong.core.filters import FilterSet
from santong.core.permissions import ScopedViewSetMixin
from santong.imports import selectors, services
from santong.imports.models import ImportJob
from santong.imports.serializers import ImportJobSerializer, ImportUploadSerializer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportJobFilter(FilterSet):
    class Meta:
        model = ImportJob
        fields = {"kind": ["exact"], "status": ["exact"], "created_at": ["gte", "lte"]}


class ImportJobViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ImportJob],
):
    """导入任务: a job is seen by the administrator who started it and those above."""

    serializer_class = ImportJobSerializer
    filterset_class = ImportJobFilter
    search_fields = ["source_name"]
    ordering_fields = ["created_at", "finished_at"]
    action_roles: dict[str, Collection[str]] = {"create": ADMIN_KINDS}
    # The one write is a file upload; every other action is a read without a body.
    parser_classes = (MultiPartParser,)

    def scoped_queryset(self, role: Role) -> QuerySet[ImportJob]:
        return selectors.jobs(role=role)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportJobSerializer},
    )
    def create(self, request: Request) -> Response:
        """Uploads a file and starts importing it in the background."""
        data = parse_input(ImportUploadSerializer, request, self.get_serializer_context())
        job = services.upload_import(
            actor=request_actor(request),
            kind=data["kind"],
            upload=data["file"],
            school=data.get("school"),
            dry_run=data["dry_run"],
            strict=data["strict"],
            mapping=data.get("mapping"),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=job.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        responses={
            (200, XLSX): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file's rows with the reason each rejected row was refused.",
            )
        }
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def report(self, request: Request, pk: Any = None) -> FileResponse:
        """The job's report (.xlsx): the original rows with an error column added."""
        job = self.get_object()
        if not job.report:
            raise Http404(_("该任务没有报告。"))
        services.record_report_download(actor=request_actor(request), job=job)
        return FileResponse(
            job.report.open("rb"),
            as_attachment=True,
            filename=f"{job.pk}-{Path(job.source_name).stem}-report.xlsx",
            content_type=XLSX,
        )
