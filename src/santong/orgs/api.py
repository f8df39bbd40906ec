"""The org tree over the API: regions, schools and classes scoped to the active role, and the
code tables every role reads alike."""

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS, REGION_LEVEL
from santong.core.api import IdFilter, parse_input, request_actor
from santong.core.filters import FilterSet
from santong.core.permissions import HasActiveRole, ScopedViewSetMixin
from santong.orgs import selectors, services
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear, Stage, Subject
from santong.orgs.serializers import (
    GradeSerializer,
    RegionSerializer,
    SchoolClassCreateSerializer,
    SchoolClassRenameSerializer,
    SchoolClassSerializer,
    SchoolCreateSerializer,
    SchoolSerializer,
    SchoolUpdateSerializer,
    SchoolYearSerializer,
    StageSerializer,
    SubjectSerializer,
)

# Schools are founded by the education bureaus; a school administrator edits its own school.
SCHOOL_FOUNDERS = tuple(REGION_LEVEL)


class RegionFilter(FilterSet):
    parent = filters.CharFilter(field_name="parent_id")

    class Meta:
        model = Region
        fields = ["level", "parent"]


# Codes in the URL are checked by shape before any query: a code holding a NUL character,
# which PostgreSQL cannot compare, then never reaches the database (it answers 404).
REGION_CODE = r"[0-9]+"
TABLE_CODE = r"[0-9A-Za-z]+"


class RegionViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Region]):
    serializer_class = RegionSerializer
    lookup_field = "code"
    lookup_value_regex = REGION_CODE
    filterset_class = RegionFilter
    search_fields = ["name"]
    ordering_fields = ["code", "name"]

    def scoped_queryset(self, role: Role) -> QuerySet[Region]:
        return selectors.regions(role=role)


class SchoolFilter(FilterSet):
    county = filters.CharFilter(field_name="county_id")
    host_school = IdFilter(field_name="host_school_id")

    class Meta:
        model = School
        fields = ["county", "kind", "operator", "locale", "host_school"]


class SchoolViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[School],
):
    serializer_class = SchoolSerializer
    filterset_class = SchoolFilter
    search_fields = ["name", "code"]
    ordering_fields = ["code", "name", "kind", "county", "created_at"]
    action_roles = {"create": SCHOOL_FOUNDERS, "partial_update": ADMIN_KINDS}

    def scoped_queryset(self, role: Role) -> QuerySet[School]:
        return selectors.schools(role=role)

    @extend_schema(request=SchoolCreateSerializer, responses={201: SchoolSerializer})
    def create(self, request: Request) -> Response:
        data = parse_input(SchoolCreateSerializer, request, self.get_serializer_context())
        school = services.create_school(actor=request_actor(request), **data)
        return Response(self.get_serializer(school).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SchoolUpdateSerializer, responses={200: SchoolSerializer})
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        school = self.get_object()
        data = parse_input(SchoolUpdateSerializer, request, self.get_serializer_context())
        school = services.update_school(actor=request_actor(request), school=school, **data)
        return Response(self.get_serializer(school).data)


class SchoolClassFilter(FilterSet):
    school = IdFilter(field_name="school_id")
    school_year = IdFilter(field_name="school_year_id")
    grade = filters.CharFilter(field_name="grade_id")

    class Meta:
        model = SchoolClass
        fields = ["school", "school_year", "grade"]


class SchoolClassViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[SchoolClass],
):
    serializer_class = SchoolClassSerializer
    filterset_class = SchoolClassFilter
    search_fields = ["name"]
    ordering_fields = ["path", "name", "number", "created_at"]
    action_roles = {"create": ADMIN_KINDS, "partial_update": ADMIN_KINDS}

    def scoped_queryset(self, role: Role) -> QuerySet[SchoolClass]:
        return selectors.classes(role=role)

    @extend_schema(request=SchoolClassCreateSerializer, responses={201: SchoolClassSerializer})
    def create(self, request: Request) -> Response:
        data = parse_input(SchoolClassCreateSerializer, request, self.get_serializer_context())
        school_class = services.create_class(actor=request_actor(request), **data)
        return Response(self.get_serializer(school_class).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SchoolClassRenameSerializer, responses={200: SchoolClassSerializer})
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        """Renames the class; its school, year, grade and number stay as they are."""
        school_class = self.get_object()
        data = parse_input(SchoolClassRenameSerializer, request, self.get_serializer_context())
        school_class = services.rename_class(
            actor=request_actor(request), school_class=school_class, name=data["name"]
        )
        return Response(self.get_serializer(school_class).data)


# The code tables below are the same rows for every role: a role is required, not a scope.


class SchoolYearViewSet(viewsets.ReadOnlyModelViewSet[SchoolYear]):
    permission_classes = (HasActiveRole,)
    queryset = SchoolYear.objects.all()
    serializer_class = SchoolYearSerializer
    filterset_fields = ["is_current"]
    ordering_fields = ["start_year"]


class StageViewSet(viewsets.ReadOnlyModelViewSet[Stage]):
    permission_classes = (HasActiveRole,)
    lookup_field = "code"
    lookup_value_regex = TABLE_CODE
    queryset = Stage.objects.all()
    serializer_class = StageSerializer
    search_fields = ["name"]


class GradeFilter(FilterSet):
    # By code, like the other code filters: an unknown stage lists nothing rather than failing.
    stage = filters.CharFilter(field_name="stage_id")

    class Meta:
        model = Grade
        fields = ["stage"]


class GradeViewSet(viewsets.ReadOnlyModelViewSet[Grade]):
    permission_classes = (HasActiveRole,)
    lookup_field = "code"
    lookup_value_regex = TABLE_CODE
    queryset = Grade.objects.select_related("stage")
    serializer_class = GradeSerializer
    filterset_class = GradeFilter
    search_fields = ["name"]


class SubjectViewSet(viewsets.ReadOnlyModelViewSet[Subject]):
    permission_classes = (HasActiveRole,)
    lookup_field = "code"
    lookup_value_regex = TABLE_CODE
    queryset = Subject.objects.all()
    serializer_class = SubjectSerializer
    search_fields = ["name"]
