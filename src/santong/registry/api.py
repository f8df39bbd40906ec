"""The three registries over the API: code tables, school profiles, teacher and student records,
the approval workflows seen from every side, the year rollover and the work queues.

Reads come from the registry's selectors with the active role, so an object outside the role's
subtree does not exist for the request (404). Writes call the registry's services, which check
the role's scope and the workflow's rules; `action_roles` answers 403 first to role kinds that
may never run an action. Each action looks its object up before reading the body, so an
outside object is a 404 whatever the body holds.

A request waiting for approvals is accepted by the receiving school (`accept`, naming the
class for a student) and approved by the bureaus (`approve`); any waiting unit may `reject`
with a reason, and the requester or the sending school may `withdraw` it.
"""

from collections.abc import Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS, REGION_LEVEL
from santong.core.api import ERROR_DETAIL, IdFilter, parse_input, request_actor
from santong.core.filters import BooleanFilter, FilterSet
from santong.core.permissions import HasActiveRole, ScopedViewSetMixin
from santong.orgs.models import School
from santong.registry import selectors, services
from santong.registry.models import (
    DECIDING_KIND,
    CodeTable,
    SchoolProfile,
    StudentRecord,
    StudentRequest,
    TeacherRecord,
    TeacherTransfer,
)
from santong.registry.serializers import (
    AcceptStudentSerializer,
    CodeTableSerializer,
    DecisionNoteSerializer,
    GraduatedSerializer,
    GraduateSerializer,
    QueueItemSerializer,
    RegisteredElsewhereSerializer,
    RejectSerializer,
    RevealedStudentNumberSerializer,
    RolloverQuerySerializer,
    RolloverResultSerializer,
    RolloverRunSerializer,
    SchoolChangeSerializer,
    SchoolCloseSerializer,
    SchoolMergeSerializer,
    SchoolProfileSerializer,
    SchoolProfileUpdateSerializer,
    StudentEnrolSerializer,
    StudentEventSerializer,
    StudentIdSerializer,
    StudentRecordSerializer,
    StudentRequestCreateSerializer,
    StudentRequestSerializer,
    StudentResumeSerializer,
    StudentUpdateSerializer,
    TeacherCreateSerializer,
    TeacherEventSerializer,
    TeacherLeaveSerializer,
    TeacherRecordSerializer,
    TeacherRetireSerializer,
    TeacherReturnSerializer,
    TeacherTransferCreateSerializer,
    TeacherTransferSerializer,
    TeacherUpdateSerializer,
    TitleHistorySerializer,
    WithdrawSerializer,
    unit_path,
)

# Merging or closing a school, and confirming graduations, are the bureaus' decisions.
BUREAU_KINDS = tuple(REGION_LEVEL)
# Who decides a step: the receiving school accepts, the county (and city) bureaus approve.
ACCEPTING_KINDS = (Role.Kind.SCHOOL_ADMIN,)
APPROVING_KINDS = (Role.Kind.COUNTY_ADMIN, Role.Kind.CITY_ADMIN)
DECIDING_KINDS = tuple(DECIDING_KIND.values())
FLOW_ROLES: dict[str, Collection[str]] = {
    "create": ADMIN_KINDS,
    "accept": ACCEPTING_KINDS,
    "approve": APPROVING_KINDS,
    "reject": DECIDING_KINDS,
    "withdraw": ADMIN_KINDS,
}
# Codes in the URL are checked by shape before any query (see orgs.api).
TABLE_NAME = r"[0-9A-Za-z_]+"


def _role(request: Request) -> Role:
    role: Role = request.active_role  # type: ignore[attr-defined]
    return role


class HistoryMixin(ScopedViewSetMixin):
    """History endpoints list a record's rows, a page at a time; the record list's own
    filters do not apply to them (their actions set no filter backends)."""

    def history_page(self, rows: QuerySet[Any], serializer: type[Any]) -> Response:
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(serializer(page, many=True).data)


# --------------------------------------------------------------------------- code tables


class CodeTableViewSet(viewsets.ReadOnlyModelViewSet[CodeTable]):
    """The code tables the registries use, with every code (inactive ones are kept because
    stored records may carry them). The same rows for every role."""

    permission_classes = (HasActiveRole,)
    lookup_field = "name"
    lookup_value_regex = TABLE_NAME
    queryset = CodeTable.objects.prefetch_related("values")
    serializer_class = CodeTableSerializer
    search_fields = ["name", "title"]


# --------------------------------------------------------------------------- 学校库


class SchoolProfileFilter(FilterSet):
    county = filters.CharFilter(field_name="county_id")
    status = filters.ChoiceFilter(
        field_name="registry_status", choices=SchoolProfile.Status.choices
    )

    class Meta:
        model = School
        fields = ["county", "kind", "operator", "locale", "status"]


class SchoolProfileViewSet(
    HistoryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[School],
):
    """学校库: each school's registered facts, their history, merging and closing."""

    serializer_class = SchoolProfileSerializer
    filterset_class = SchoolProfileFilter
    search_fields = ["name", "code"]
    ordering_fields = ["code", "name"]
    action_roles = {"partial_update": ADMIN_KINDS, "merge": BUREAU_KINDS, "close": BUREAU_KINDS}

    def scoped_queryset(self, role: Role) -> QuerySet[School]:
        return selectors.schools(role=role).select_related("profile__merged_into")

    def _profile_response(self, school: School) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=school.pk)).data)

    @extend_schema(request=SchoolProfileUpdateSerializer, responses={200: SchoolProfileSerializer})
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        """Edits the school's facts; each changed field is kept in its history."""
        school = self.get_object()
        data = parse_input(SchoolProfileUpdateSerializer, request, self.get_serializer_context())
        services.update_school_profile(actor=request_actor(request), school=school, **data)
        return self._profile_response(school)

    @extend_schema(responses={200: SchoolChangeSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request: Request, pk: Any = None) -> Response:
        """Every change of the school's facts: who, when, which field, old → new, why."""
        school = self.get_object()
        rows = selectors.school_changes(role=_role(request), school=school)
        return self.history_page(rows, SchoolChangeSerializer)

    @extend_schema(request=SchoolMergeSerializer, responses={200: SchoolProfileSerializer})
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: Any = None) -> Response:
        """Merges the school into another: its students, classes and teachers move there."""
        school = self.get_object()
        data = parse_input(SchoolMergeSerializer, request, self.get_serializer_context())
        services.merge_school(actor=request_actor(request), school=school, **data)
        return self._profile_response(school)

    @extend_schema(request=SchoolCloseSerializer, responses={200: SchoolProfileSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: Any = None) -> Response:
        """Closes (撤销) a school nobody studies or works at any more; its records stay."""
        school = self.get_object()
        data = parse_input(SchoolCloseSerializer, request, self.get_serializer_context())
        services.close_school(actor=request_actor(request), school=school, **data)
        return self._profile_response(school)


# --------------------------------------------------------------------------- 教师库


class TeacherRecordFilter(FilterSet):
    school = IdFilter(field_name="school_id")

    class Meta:
        model = TeacherRecord
        fields = ["school", "status", "title", "position", "employment"]


class TeacherRecordViewSet(
    HistoryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[TeacherRecord],
):
    """教师库: administrators read the teachers of their unit, a teacher their own record."""

    serializer_class = TeacherRecordSerializer
    filterset_class = TeacherRecordFilter
    search_fields = ["person__name"]
    ordering_fields = ["hired_on", "created_at", "updated_at"]
    action_roles: dict[str, Collection[str]] = dict.fromkeys(
        ("create", "partial_update", "retire", "start_leave", "end_leave"), ADMIN_KINDS
    )

    def scoped_queryset(self, role: Role) -> QuerySet[TeacherRecord]:
        return selectors.teachers(role=role).prefetch_related("subjects")

    def _record_response(self, teacher: TeacherRecord, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            self.get_serializer(self.get_queryset().get(pk=teacher.pk)).data, status=code
        )

    @extend_schema(request=TeacherCreateSerializer, responses={201: TeacherRecordSerializer})
    def create(self, request: Request) -> Response:
        """Registers a teacher at a school; a person who already has a record is refused."""
        data = parse_input(TeacherCreateSerializer, request, self.get_serializer_context())
        teacher = services.register_teacher(actor=request_actor(request), **data)
        return self._record_response(teacher, status.HTTP_201_CREATED)

    @extend_schema(request=TeacherUpdateSerializer, responses={200: TeacherRecordSerializer})
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        teacher = self.get_object()
        data = parse_input(TeacherUpdateSerializer, request, self.get_serializer_context())
        services.update_teacher(actor=request_actor(request), teacher=teacher, **data)
        return self._record_response(teacher)

    @extend_schema(responses={200: TeacherEventSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request: Request, pk: Any = None) -> Response:
        """The teacher's history, newest first: who did what, when, why, at which step."""
        teacher = self.get_object()
        rows = selectors.teacher_events(role=_role(request), teacher=teacher)
        return self.history_page(rows, TeacherEventSerializer)

    @extend_schema(responses={200: TitleHistorySerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def titles(self, request: Request, pk: Any = None) -> Response:
        """The teacher's professional titles (职称), the latest first."""
        teacher = self.get_object()
        rows = selectors.teacher_titles(role=_role(request), teacher=teacher)
        return self.history_page(rows, TitleHistorySerializer)

    @extend_schema(request=TeacherRetireSerializer, responses={200: TeacherRecordSerializer})
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: Any = None) -> Response:
        """退休: the record is kept, closed; the roles held at the school end."""
        teacher = self.get_object()
        data = parse_input(TeacherRetireSerializer, request, self.get_serializer_context())
        services.retire_teacher(actor=request_actor(request), teacher=teacher, **data)
        return self._record_response(teacher)

    @extend_schema(request=TeacherLeaveSerializer, responses={200: TeacherRecordSerializer})
    @action(detail=True, methods=["post"], url_path="start-leave")
    def start_leave(self, request: Request, pk: Any = None) -> Response:
        """离岗休假 (study, sick or maternity leave, secondment)."""
        teacher = self.get_object()
        data = parse_input(TeacherLeaveSerializer, request, self.get_serializer_context())
        services.start_teacher_leave(actor=request_actor(request), teacher=teacher, **data)
        return self._record_response(teacher)

    @extend_schema(request=TeacherReturnSerializer, responses={200: TeacherRecordSerializer})
    @action(detail=True, methods=["post"], url_path="end-leave")
    def end_leave(self, request: Request, pk: Any = None) -> Response:
        """返岗: the teacher is back at work."""
        teacher = self.get_object()
        data = parse_input(TeacherReturnSerializer, request, self.get_serializer_context())
        services.end_teacher_leave(actor=request_actor(request), teacher=teacher, **data)
        return self._record_response(teacher)


class WaitingFilterSet(FilterSet):
    """`waiting=true`: only the requests waiting for the acting role's own decision."""

    waiting = BooleanFilter(method="filter_waiting", label=_("待本单位处理"))

    def waiting_requests(self) -> QuerySet[Any]:
        raise NotImplementedError

    def filter_waiting(self, queryset: QuerySet[Any], name: str, value: bool | None) -> Any:
        if value is None:
            return queryset
        waiting = self.waiting_requests().values("pk")
        return queryset.filter(pk__in=waiting) if value else queryset.exclude(pk__in=waiting)


class TeacherTransferFilter(WaitingFilterSet):
    teacher = IdFilter(field_name="teacher_id")

    class Meta:
        model = TeacherTransfer
        fields = ["teacher", "status", "waiting"]

    def waiting_requests(self) -> QuerySet[Any]:
        return selectors.waiting_teacher_transfers(role=_role(self.request))


class TeacherTransferViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[TeacherTransfer],
):
    """调动: the sending school requests, the receiving school accepts, the sending county and
    (when it differs) the receiving county approve. Both ends see the request."""

    serializer_class = TeacherTransferSerializer
    filterset_class = TeacherTransferFilter
    ordering_fields = ["requested_at", "closed_at"]
    action_roles = FLOW_ROLES

    def scoped_queryset(self, role: Role) -> QuerySet[TeacherTransfer]:
        return selectors.teacher_transfers(role=role)

    def _flow_response(self, transfer: TeacherTransfer, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            self.get_serializer(self.get_queryset().get(pk=transfer.pk)).data, status=code
        )

    @extend_schema(
        request=TeacherTransferCreateSerializer, responses={201: TeacherTransferSerializer}
    )
    def create(self, request: Request) -> Response:
        data = parse_input(TeacherTransferCreateSerializer, request, self.get_serializer_context())
        transfer = services.request_teacher_transfer(actor=request_actor(request), **data)
        return self._flow_response(transfer, status.HTTP_201_CREATED)

    def _approve(self, request: Request) -> Response:
        transfer = self.get_object()
        data = parse_input(DecisionNoteSerializer, request, self.get_serializer_context())
        services.approve_teacher_transfer(
            actor=request_actor(request), transfer=transfer, note=data["note"]
        )
        return self._flow_response(transfer)

    @extend_schema(request=DecisionNoteSerializer, responses={200: TeacherTransferSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        """The receiving school accepts the teacher."""
        return self._approve(request)

    @extend_schema(request=DecisionNoteSerializer, responses={200: TeacherTransferSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: Any = None) -> Response:
        """The waiting bureau approves; on the last approval the teacher moves."""
        return self._approve(request)

    @extend_schema(request=RejectSerializer, responses={200: TeacherTransferSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: Any = None) -> Response:
        transfer = self.get_object()
        data = parse_input(RejectSerializer, request, self.get_serializer_context())
        services.reject_teacher_transfer(
            actor=request_actor(request), transfer=transfer, reason=data["reason"]
        )
        return self._flow_response(transfer)

    @extend_schema(request=WithdrawSerializer, responses={200: TeacherTransferSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: Any = None) -> Response:
        transfer = self.get_object()
        data = parse_input(WithdrawSerializer, request, self.get_serializer_context())
        services.withdraw_teacher_transfer(
            actor=request_actor(request), transfer=transfer, reason=data["reason"]
        )
        return self._flow_response(transfer)


# --------------------------------------------------------------------------- 学籍库


class StudentRecordFilter(FilterSet):
    school = IdFilter(field_name="school_id")
    school_class = IdFilter(field_name="school_class_id")
    grade = filters.CharFilter(field_name="school_class__grade_id", max_length=8)
    search = filters.CharFilter(
        method="filter_search",
        max_length=100,
        label=_("姓名（包含）或遮蔽后的全国学籍号"),
    )
    number = filters.CharFilter(
        method="filter_number",
        max_length=32,
        label=_("完整的全国学籍号：G 号、临时 L 号或已停用的临时号"),
    )

    class Meta:
        model = StudentRecord
        fields = ["school", "school_class", "grade", "status", "graduating"]

    def filter_search(self, queryset: QuerySet[StudentRecord], name: str, value: str) -> Any:
        if not value.strip():
            return queryset
        return queryset & selectors.students(role=_role(self.request), search=value)

    def filter_number(self, queryset: QuerySet[StudentRecord], name: str, value: str) -> Any:
        if not value.strip():
            return queryset
        found = selectors.find_student(role=_role(self.request), number=value)
        return queryset.filter(pk=found.pk) if found is not None else queryset.none()


def registered_elsewhere(error: ValidationError) -> dict[str, Any] | None:
    """The holding record named by a refusal of a second record for one person, if that is
    what `error` is."""
    for reason in getattr(error, "error_dict", {}).get("id_number", []):
        if reason.code == "registered_elsewhere" and reason.params:
            return {
                "detail": reason.messages[0],
                "record": reason.params["record"],
                "school_name": reason.params["school"],
                "number": reason.params["number"],
                "status": reason.params["status"],
            }
    return None


REGISTERED_ELSEWHERE = {409: RegisteredElsewhereSerializer}


class StudentRecordViewSet(
    HistoryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[StudentRecord],
):
    """学籍库: administrators read their unit's students, teachers their class's, a student
    their own record and a parent their child's. One record per person in the region: enrolling
    a person who has one answers 409, naming the school that holds it."""

    serializer_class = StudentRecordSerializer
    filterset_class = StudentRecordFilter
    ordering_fields = ["enrolled_on", "updated_at"]
    action_roles = {
        **dict.fromkeys(
            ("create", "partial_update", "resume", "record_id", "reveal_number"), ADMIN_KINDS
        ),
        "graduate": BUREAU_KINDS,
    }

    def scoped_queryset(self, role: Role) -> QuerySet[StudentRecord]:
        return selectors.students(role=role)

    def _record_response(self, record: StudentRecord, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            self.get_serializer(self.get_queryset().get(pk=record.pk)).data, status=code
        )

    @extend_schema(
        request=StudentEnrolSerializer,
        responses={201: StudentRecordSerializer, **REGISTERED_ELSEWHERE},
    )
    def create(self, request: Request) -> Response:
        """新生注册: registers a student into a class."""
        data = parse_input(StudentEnrolSerializer, request, self.get_serializer_context())
        try:
            record = services.enrol_student(actor=request_actor(request), **data)
        except ValidationError as exc:
            holder = registered_elsewhere(exc)
            if holder is None:
                raise
            return Response(holder, status=status.HTTP_409_CONFLICT)
        return self._record_response(record, status.HTTP_201_CREATED)

    @extend_schema(request=StudentUpdateSerializer, responses={200: StudentRecordSerializer})
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        """Edits the record's coded facts (民族, 户口性质, 健康状况)."""
        record = self.get_object()
        data = parse_input(StudentUpdateSerializer, request, self.get_serializer_context())
        services.update_student(actor=request_actor(request), record=record, **data)
        return self._record_response(record)

    @extend_schema(responses={200: StudentEventSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request: Request, pk: Any = None) -> Response:
        """The student's history, newest first: who did what, when, why, at which step."""
        record = self.get_object()
        rows = selectors.student_events(role=_role(request), record=record)
        return self.history_page(rows, StudentEventSerializer)

    @extend_schema(
        request=StudentIdSerializer,
        responses={200: StudentRecordSerializer, **REGISTERED_ELSEWHERE},
    )
    @action(detail=True, methods=["post"], url_path="record-id")
    def record_id(self, request: Request, pk: Any = None) -> Response:
        """Records the ID document of a student registered without one."""
        record = self.get_object()
        data = parse_input(StudentIdSerializer, request, self.get_serializer_context())
        try:
            services.record_student_id(actor=request_actor(request), record=record, **data)
        except ValidationError as exc:
            holder = registered_elsewhere(exc)
            if holder is None:
                raise
            return Response(holder, status=status.HTTP_409_CONFLICT)
        return self._record_response(record)

    @extend_schema(request=None, responses={200: RevealedStudentNumberSerializer})
    @action(detail=True, methods=["post"], url_path="reveal-number")
    def reveal_number(self, request: Request, pk: Any = None) -> Response:
        """The full national student number; reading a `G` number is written to the audit log."""
        record = self.get_object()
        number = services.reveal_student_number(actor=request_actor(request), record=record)
        return Response(RevealedStudentNumberSerializer({"number": number}).data)

    @extend_schema(request=StudentResumeSerializer, responses={200: StudentRecordSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: Any = None) -> Response:
        """复学: the school takes a suspended student back into one of its classes."""
        record = self.get_object()
        data = parse_input(StudentResumeSerializer, request, self.get_serializer_context())
        services.resume_student(actor=request_actor(request), record=record, **data)
        return self._record_response(record)

    @extend_schema(request=GraduateSerializer, responses={200: GraduatedSerializer})
    @action(detail=False, methods=["post"], filter_backends=[])
    def graduate(self, request: Request) -> Response:
        """毕业: confirms the graduation of every student the rollover marked graduating in a
        school, a region, or (neither given) the bureau's own region."""
        data = parse_input(GraduateSerializer, request, self.get_serializer_context())
        count = services.graduate_students(
            actor=request_actor(request), path=unit_path(data, _role(request)), on=data["on"]
        )
        return Response(GraduatedSerializer({"graduated": count}).data)


class StudentRequestFilter(WaitingFilterSet):
    record = IdFilter(field_name="record_id")

    class Meta:
        model = StudentRequest
        fields = ["record", "kind", "status", "waiting"]

    def waiting_requests(self) -> QuerySet[Any]:
        return selectors.waiting_student_requests(role=_role(self.request))


STATUS_CHANGE_REQUESTS = {
    StudentRequest.Kind.SUSPEND: services.request_suspension,
    StudentRequest.Kind.DROP_OUT: services.request_drop_out,
    StudentRequest.Kind.DEREGISTER: services.request_deregistration,
}


class StudentRequestViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[StudentRequest],
):
    """Student changes that wait for approvals: 转学 (the receiving school accepts, then the
    county bureaus approve), 转出本区域, 休学, 辍学 and 死亡注销 (the county approves). Nothing
    about the student changes until the last approval."""

    serializer_class = StudentRequestSerializer
    filterset_class = StudentRequestFilter
    ordering_fields = ["requested_at", "closed_at"]
    action_roles = FLOW_ROLES

    def scoped_queryset(self, role: Role) -> QuerySet[StudentRequest]:
        return selectors.student_requests(role=role)

    def _flow_response(self, request: StudentRequest, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            self.get_serializer(self.get_queryset().get(pk=request.pk)).data, status=code
        )

    @extend_schema(
        request=StudentRequestCreateSerializer, responses={201: StudentRequestSerializer}
    )
    def create(self, request: Request) -> Response:
        data = parse_input(StudentRequestCreateSerializer, request, self.get_serializer_context())
        actor = request_actor(request)
        kind, record, reason = data["kind"], data["record"], data["reason"]
        if kind == StudentRequest.Kind.TRANSFER:
            flow = services.request_transfer(
                actor=actor, record=record, to_school=data["to_school"], reason=reason
            )
        elif kind == StudentRequest.Kind.TRANSFER_OUT:
            flow = services.request_transfer_out(
                actor=actor, record=record, destination=data["destination"], reason=reason
            )
        else:
            flow = STATUS_CHANGE_REQUESTS[kind](actor=actor, record=record, reason=reason)
        return self._flow_response(flow, status.HTTP_201_CREATED)

    @extend_schema(request=AcceptStudentSerializer, responses={200: StudentRequestSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        """The receiving school accepts the student into one of its classes."""
        flow = self.get_object()
        data = parse_input(AcceptStudentSerializer, request, self.get_serializer_context())
        services.approve_request(
            actor=request_actor(request),
            request=flow,
            school_class=data["school_class"],
            note=data["note"],
        )
        return self._flow_response(flow)

    @extend_schema(request=DecisionNoteSerializer, responses={200: StudentRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: Any = None) -> Response:
        """The waiting bureau approves; on the last approval the change is applied at once."""
        flow = self.get_object()
        data = parse_input(DecisionNoteSerializer, request, self.get_serializer_context())
        services.approve_request(actor=request_actor(request), request=flow, note=data["note"])
        return self._flow_response(flow)

    @extend_schema(request=RejectSerializer, responses={200: StudentRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: Any = None) -> Response:
        flow = self.get_object()
        data = parse_input(RejectSerializer, request, self.get_serializer_context())
        services.reject_request(actor=request_actor(request), request=flow, reason=data["reason"])
        return self._flow_response(flow)

    @extend_schema(request=WithdrawSerializer, responses={200: StudentRequestSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: Any = None) -> Response:
        flow = self.get_object()
        data = parse_input(WithdrawSerializer, request, self.get_serializer_context())
        services.withdraw_request(actor=request_actor(request), request=flow, reason=data["reason"])
        return self._flow_response(flow)


# --------------------------------------------------------------------------- rollover, queues


class RolloverViewSet(ScopedViewSetMixin, viewsets.GenericViewSet[Any]):
    """升级: a school, a region, or (neither given) the role's own unit promoted to the next
    school year in one set-based run. `preview` (or a POST with `dry_run`) counts what a run
    would do and writes nothing; a second run of the same year finds nothing left to do."""

    serializer_class = RolloverResultSerializer
    pagination_class = None
    filter_backends = ()
    action_roles = {"create": ADMIN_KINDS, "preview": ADMIN_KINDS}

    @extend_schema(request=RolloverRunSerializer, responses={200: RolloverResultSerializer})
    def create(self, request: Request) -> Response:
        data = parse_input(RolloverRunSerializer, request, self.get_serializer_context())
        return self._run(request, data, dry_run=data["dry_run"])

    @extend_schema(
        parameters=[RolloverQuerySerializer],
        responses={
            200: RolloverResultSerializer,
            404: OpenApiResponse(
                response=ERROR_DETAIL.ref,
                description=_("学校、行政区划或学年不存在，或不在当前角色的范围内"),
            ),
        },
    )
    @action(detail=False, methods=["get"])
    def preview(self, request: Request) -> Response:
        """What a run would do, as counts; nothing is written. A read names what it reads in
        its query, so a unit or year that does not exist for the role is not found (404)."""
        serializer = RolloverQuerySerializer(
            data=request.query_params, context=self.get_serializer_context()
        )
        if not serializer.is_valid():
            reasons = [reason for field in serializer.errors.values() for reason in field]
            if all(getattr(reason, "code", None) == "does_not_exist" for reason in reasons):
                raise NotFound(reasons[0])
            raise DRFValidationError(serializer.errors)
        return self._run(request, dict(serializer.validated_data), dry_run=True)

    def _run(self, request: Request, data: dict[str, Any], *, dry_run: bool) -> Response:
        actor = request_actor(request)
        path = unit_path(data, _role(request))
        if dry_run:
            plan = services.preview_rollover(actor=actor, path=path, from_year=data["school_year"])
            result: dict[str, Any] = {
                "dry_run": True,
                "plan": plan,
                "rollover": None,
                "classes_created": 0,
                "promoted": 0,
                "marked_graduating": 0,
            }
        else:
            run = services.rollover_year(actor=actor, path=path, from_year=data["school_year"])
            result = {
                "dry_run": False,
                "plan": run.plan,
                "rollover": run.rollover.pk if run.rollover is not None else None,
                "classes_created": run.classes_created,
                "promoted": run.promoted,
                "marked_graduating": run.marked_graduating,
            }
        return Response(RolloverResultSerializer(result).data)


class WorkQueueViewSet(ScopedViewSetMixin, viewsets.GenericViewSet[Any]):
    """What waits for the acting role's decision, with counts; `waiting=true` on the request
    lists shows the items themselves."""

    serializer_class = QueueItemSerializer
    pagination_class = None
    filter_backends = ()

    @extend_schema(responses={200: QueueItemSerializer(many=True)})
    def list(self, request: Request) -> Response:
        items = selectors.work_queue(role=_role(request))
        return Response(QueueItemSerializer(items, many=True).data)
