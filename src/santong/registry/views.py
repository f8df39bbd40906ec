"""Pages of the registries: 学籍 (students), 教师 (teachers), 学校档案 (school profiles), the
approval workflows from each side, the work queue, year rollover, graduation and code tables.

Views act in the active role: reads go through the registry's selectors, so anything outside
the role's subtree is a 404; writes go through its services, which check scope and the
workflow's rules again. A refused write shows the form again with the service's message, and
nothing is written.
"""

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from santong.accounts.models import Person, Role
from santong.accounts.roles import ADMIN_KINDS, REGION_LEVEL
from santong.core.export import Column, Export, export_xlsx
from santong.core.forms import StyledForm, apply_service_errors
from santong.core.scope import contains
from santong.core.views import PageView, actor_for, list_page, role_page
from santong.orgs import selectors as org_selectors
from santong.orgs.models import Grade, School, SchoolClass, Stage, Subject
from santong.registry import forms, selectors, services
from santong.registry.models import (
    LEVEL_OF_KIND,
    ApprovalFlow,
    SchoolProfile,
    StudentEvent,
    StudentRecord,
    StudentRequest,
    TeacherRecord,
    TeacherTransfer,
)

# A national student number typed in full: `G` + the ID number, or a temporary `L` number.
STUDENT_NUMBER = re.compile(r"[GL][0-9A-Z]{18}")
QUEUE_ROWS = 50
HISTORY_ROWS = 100
ACTIVE = (StudentRecord.Status.ENROLLED, StudentRecord.Status.SUSPENDED)
STUDENT_CODES = ("ethnicity", "hukou", "health")
TEACHER_CODES = (
    "ethnicity",
    "political_status",
    "education",
    "teacher_title",
    "teacher_position",
    "employment",
)


class CodeChoices(Sequence[tuple[str, str]]):
    """A code table's (code, name) pairs for an export column, read on first use: a list page
    that is not exported never reads them."""

    def __init__(self, table: str) -> None:
        self.table = table
        self._items: list[tuple[str, str]] | None = None

    def _load(self) -> list[tuple[str, str]]:
        if self._items is None:
            self._items = list(selectors.code_names(self.table)[self.table].items())
        return self._items

    def __getitem__(self, index: Any) -> Any:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._load())


def student_export() -> Export:
    return Export(
        name=pgettext_lazy("list", "学籍"),
        columns=[
            Column(gettext_lazy("全国学籍号"), "number_masked", width=22),
            Column(gettext_lazy("姓名"), "person__name", width=12),
            Column(gettext_lazy("性别"), "person__gender", choices=Person.Gender.choices, width=6),
            Column(gettext_lazy("出生日期"), "person__birth_date", width=12),
            Column(gettext_lazy("证件类型"), "person__id_type", choices=Person.IdType.choices),
            Column(gettext_lazy("证件号码"), "person__id_masked", width=22),
            Column(gettext_lazy("民族"), "ethnicity", choices=CodeChoices("ethnicity"), width=10),
            Column(gettext_lazy("户口性质"), "hukou", choices=CodeChoices("hukou"), width=12),
            Column(gettext_lazy("健康状况"), "health", choices=CodeChoices("health"), width=12),
            Column(gettext_lazy("学校标识码"), "school__code", width=14),
            Column(gettext_lazy("学校名称"), "school__name", width=30),
            Column(gettext_lazy("年级"), "school_class__grade__name", width=10),
            Column(gettext_lazy("班级"), "school_class__name", width=14),
            Column(gettext_lazy("学籍状态"), "status", choices=StudentRecord.Status.choices),
            Column(gettext_lazy("待毕业"), "graduating", width=8),
            Column(gettext_lazy("入学日期"), "enrolled_on", width=12),
            Column(gettext_lazy("离校日期"), "left_on", width=12),
            Column(gettext_lazy("转入学校（区域外）"), "destination", width=24),
        ],
    )


def teacher_export() -> Export:
    return Export(
        name=pgettext_lazy("list", "教师"),
        columns=[
            Column(gettext_lazy("姓名"), "person__name", width=12),
            Column(gettext_lazy("性别"), "person__gender", choices=Person.Gender.choices, width=6),
            Column(gettext_lazy("出生日期"), "person__birth_date", width=12),
            Column(gettext_lazy("证件号码"), "person__id_masked", width=22),
            Column(gettext_lazy("学校标识码"), "school__code", width=14),
            Column(gettext_lazy("学校名称"), "school__name", width=30),
            Column(gettext_lazy("民族"), "ethnicity", choices=CodeChoices("ethnicity"), width=10),
            Column(
                gettext_lazy("政治面貌"),
                "political_status",
                choices=CodeChoices("political_status"),
            ),
            Column(gettext_lazy("最高学历"), "education", choices=CodeChoices("education")),
            Column(gettext_lazy("职称"), "title", choices=CodeChoices("teacher_title")),
            Column(gettext_lazy("岗位职务"), "position", choices=CodeChoices("teacher_position")),
            Column(gettext_lazy("参加工作日期"), "hired_on", width=12),
            Column(gettext_lazy("用人形式"), "employment", choices=CodeChoices("employment")),
            Column(gettext_lazy("状态"), "status", choices=TeacherRecord.Status.choices, width=10),
        ],
    )


def _flow_columns(subject: Sequence[Column]) -> list[Column]:
    return [
        *subject,
        Column(gettext_lazy("转出学校"), "from_school__name", width=30),
        Column(gettext_lazy("转入学校"), "to_school__name", width=30),
        Column(gettext_lazy("状态"), "status", choices=ApprovalFlow.Status.choices, width=10),
        Column(gettext_lazy("申请理由"), "reason", width=30),
        Column(gettext_lazy("申请人"), "requested_by_name", width=12),
        Column(gettext_lazy("申请时间"), "requested_at", width=20),
        Column(gettext_lazy("办结时间"), "closed_at", width=20),
        Column(gettext_lazy("驳回理由"), "decision_note", width=30),
    ]


REQUEST_EXPORT = Export(
    name=pgettext_lazy("list", "学籍申请"),
    columns=_flow_columns(
        [
            Column(gettext_lazy("类型"), "kind", choices=StudentRequest.Kind.choices, width=12),
            Column(gettext_lazy("姓名"), "record__person__name", width=12),
            Column(gettext_lazy("全国学籍号"), "record__number_masked", width=22),
            Column(gettext_lazy("转入学校（区域外）"), "destination", width=24),
        ]
    ),
)

TEACHER_TRANSFER_EXPORT = Export(
    name=pgettext_lazy("list", "教师调动"),
    columns=_flow_columns([Column(gettext_lazy("姓名"), "teacher__person__name", width=12)]),
)

SCHOOL_EXPORT = Export(
    name=pgettext_lazy("list", "学校档案"),
    columns=[
        Column(gettext_lazy("学校标识码"), "code", width=14),
        Column(gettext_lazy("学校名称"), "name", width=30),
        Column(gettext_lazy("学校类型"), "kind", choices=School.Kind.choices),
        Column(gettext_lazy("办学类型"), "operator", choices=School.Operator.choices, width=10),
        Column(gettext_lazy("城乡类型"), "locale", choices=School.Locale.choices, width=10),
        Column(gettext_lazy("所属区县"), "county__name"),
        Column(gettext_lazy("地址"), "address", width=40),
        Column(gettext_lazy("校长"), "profile__principal", width=12),
        Column(gettext_lazy("联系电话"), "profile__phone", width=16),
        Column(gettext_lazy("建校日期"), "profile__founded_on", width=12),
        Column(gettext_lazy("办学状态"), "registry_status", choices=SchoolProfile.Status.choices),
        Column(gettext_lazy("并入学校"), "profile__merged_into__name", width=30),
        Column(gettext_lazy("停办日期"), "profile__closed_on", width=12),
    ],
)

CODE_EXPORT_COLUMNS = [
    Column(gettext_lazy("代码"), "code", width=10),
    Column(gettext_lazy("名称"), "name", width=30),
]

# The org tree's code tables, shown beside the registry's own.
ORG_CODE_TABLES: dict[str, tuple[Any, Callable[[], QuerySet[Any]]]] = {
    "stage": (gettext_lazy("学段"), lambda: Stage.objects.order_by("order")),
    "grade": (gettext_lazy("年级"), lambda: Grade.objects.order_by("order")),
    "subject": (gettext_lazy("学科"), lambda: Subject.objects.order_by("code")),
}

SCHOOL_FIELD_LABELS = {
    "name": gettext_lazy("学校名称"),
    "operator": gettext_lazy("办学类型"),
    "locale": gettext_lazy("城乡类型"),
    "address": gettext_lazy("地址"),
    "principal": gettext_lazy("校长"),
    "phone": gettext_lazy("联系电话"),
    "founded_on": gettext_lazy("建校日期"),
    "status": gettext_lazy("办学状态"),
    "merged_into": gettext_lazy("并入学校"),
}
SCHOOL_VALUE_LABELS: dict[str, dict[str, Any]] = {
    "operator": dict(School.Operator.choices),
    "locale": dict(School.Locale.choices),
}

STATUS_REQUESTS: dict[str, tuple[Any, Any, Callable[..., StudentRequest]]] = {
    StudentRequest.Kind.SUSPEND: (
        gettext_lazy("申请休学"),
        gettext_lazy("休学须经区县教育局审批；休学期间不升级、不转学、不毕业。"),
        services.request_suspension,
    ),
    StudentRequest.Kind.DROP_OUT: (
        gettext_lazy("申请辍学"),
        gettext_lazy("辍学须经区县教育局审批（控辍保学），批准后学籍关闭。"),
        services.request_drop_out,
    ),
    StudentRequest.Kind.DEREGISTER: (
        gettext_lazy("申请死亡注销"),
        gettext_lazy("死亡注销须经区县教育局审批，批准后学籍关闭并保留记录。"),
        services.request_deregistration,
    ),
}


def _url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


# --------------------------------------------------------------------------- 学籍


def _students(role: Role, search: str) -> QuerySet[StudentRecord]:
    """The role's students matching `search`: a full national number (a `G` number is found
    through the ID digest), or else part of a name or a masked number."""
    if STUDENT_NUMBER.fullmatch(search.upper()):
        found = selectors.find_student(role=role, number=search)
        if found is not None:
            return selectors.students(role=role).filter(pk=found.pk)
    return selectors.students(role=role, search=search)


@role_page()
def student_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = forms.StudentFilterForm(request.GET, role=role)
    return list_page(
        request,
        role,
        template="registry/student_list.html",
        queryset=form.filter(_students(role, form.search)),
        export=student_export(),
        context={"form": form, "may_enrol": role.kind in ADMIN_KINDS},
    )


def _student(role: Role, pk: int) -> StudentRecord:
    return get_object_or_404(selectors.students(role=role), pk=pk)


def _student_page(
    request: HttpRequest, role: Role, record: StudentRecord, *, revealed: str | None = None
) -> HttpResponse:
    requests = list(selectors.student_requests(role=role).filter(record=record))
    pending = next((r for r in requests if r.status == ApprovalFlow.Status.PENDING), None)
    status = record.status
    free = role.kind in ADMIN_KINDS and pending is None
    enrolled = status == StudentRecord.Status.ENROLLED
    response = render(
        request,
        "registry/student_detail.html",
        {
            "record": record,
            "crumbs": [
                {"name": _("学籍"), "url": _url("registry:student_list")},
                {"name": record.person.name},
            ],
            "events": list(selectors.student_events(role=role, record=record)[:HISTORY_ROWS]),
            "requests": requests,
            "pending": pending,
            "codes": selectors.code_names(*STUDENT_CODES),
            "is_admin": role.kind in ADMIN_KINDS,
            "revealed": revealed,
            "may_transfer": free and enrolled and not record.graduating,
            "may_suspend": free and enrolled,
            "may_close": free and status in ACTIVE,
            "may_resume": free and status == StudentRecord.Status.SUSPENDED,
            "may_record_id": role.kind in ADMIN_KINDS and not record.id_digest,
        },
    )
    if revealed is not None:
        response["Cache-Control"] = "no-store"
    return response


@role_page()
def student_detail(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    return _student_page(request, role, _student(role, pk))


@require_POST
@role_page(admin=True)
def student_reveal(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    record = _student(role, pk)
    number = services.reveal_student_number(actor=actor_for(request, role), record=record)
    return _student_page(request, role, record, revealed=number)


def _registered_elsewhere(role: Role, error: ValidationError) -> dict[str, Any] | None:
    """Where the person already holds a record, when that is why enrolment was refused; with
    the record itself when the role may start its transfer."""
    for reason in getattr(error, "error_dict", {}).get("id_number", []):
        if reason.code == "registered_elsewhere" and reason.params:
            return {
                "school": reason.params["school"],
                "record": selectors.students(role=role).filter(pk=reason.params["record"]).first(),
            }
    return None


@role_page(admin=True)
def student_enrol(request: HttpRequest, role: Role) -> HttpResponse:
    classes = org_selectors.classes(role=role).filter(school_year__is_current=True)
    context: dict[str, Any] = {"holder": None}
    if role.kind in REGION_LEVEL:
        school_form = forms.EnrolSchoolForm(request.GET or None, role=role)
        context["school_form"] = school_form
        if not school_form.is_valid():
            return render(request, "registry/student_enrol.html", context)
        school = school_form.cleaned_data["school"]
        context["school"] = school
        classes = classes.filter(school=school)
    form = forms.EnrolForm(
        request.POST or None,
        classes=classes.order_by("school__code", "grade__order", "number"),
        with_school=role.kind not in REGION_LEVEL,
    )
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        try:
            record = services.enrol_student(actor=actor_for(request, role), **form.service_fields())
        except ValidationError as error:
            context["holder"] = _registered_elsewhere(role, error)
            context["receiving"] = form.cleaned_data["school_class"].school
            apply_service_errors(form, error)
        except PermissionDenied as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已为 %(name)s 注册学籍，学籍号 %(number)s。")
                % {"name": record.person.name, "number": record.number_masked},
            )
            return redirect("registry:student_detail", pk=record.pk)
    return render(request, "registry/student_enrol.html", context)


def _action_page(
    request: HttpRequest,
    *,
    form: Any,
    title: Any,
    subject: Any,
    back: str,
    submit: Any,
    note: Any = "",
    danger: bool = False,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    return render(
        request,
        "registry/action_form.html",
        {
            "form": form,
            "title": title,
            "subject": subject,
            "back": back,
            "submit": submit,
            "note": note,
            "danger": danger,
            **(extra or {}),
        },
    )


def _run(request: HttpRequest, form: Any, write: Callable[[], Any]) -> Any:
    """Runs `write` when the posted form is valid; a refusal lands on the form. Returns what
    `write` returned, or None when nothing was written."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return write()
    except (ValidationError, PermissionDenied) as error:
        apply_service_errors(form, error)
        return None


def _form_page(
    request: HttpRequest,
    form: Any,
    write: Callable[[], Any],
    *,
    done: Any,
    back: str,
    then: Callable[[Any], str] | None = None,
    **page: Any,
) -> HttpResponse:
    """The page of one action's form: when a valid post writes, the `done` message (or
    `done(result)`) and on to `then(result)`, or else `back`; otherwise the form again."""
    result = _run(request, form, write)
    if result is None:
        return _action_page(request, form=form, back=back, **page)
    messages.success(request, done(result) if callable(done) else done)
    return redirect(then(result) if then is not None else back)


def _student_about(record: StudentRecord) -> dict[str, Any]:
    return {
        "subject": f"{record.person.name} · {record.number_masked} · {record.school.name}",
        "back": _url("registry:student_detail", record.pk),
    }


@role_page(admin=True)
def student_edit(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    record = _student(role, pk)
    form = forms.StudentEditForm(
        request.POST or None,
        initial={"ethnicity": record.ethnicity, "hukou": record.hukou, "health": record.health},
    )
    return _form_page(
        request,
        form,
        lambda: services.update_student(
            actor=actor_for(request, role), record=record, **form.cleaned_data
        ),
        done=_("学籍信息已保存。"),
        title=_("修改学籍信息"),
        submit=_("保存"),
        **_student_about(record),
    )


@role_page(admin=True)
def student_record_id(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    record = _student(role, pk)
    form = forms.StudentIdForm(request.POST or None)
    return _form_page(
        request,
        form,
        lambda: services.record_student_id(
            actor=actor_for(request, role), record=record, **form.cleaned_data
        ),
        done=lambda numbered: (
            _("证件已登记，学籍号为 %(number)s。") % {"number": numbered.number_masked}
        ),
        title=_("登记证件号码"),
        submit=_("登记"),
        note=_("登记居民身份证后，学生获得以 G 开头的正式学籍号，原临时学籍号仍可查询。"),
        **_student_about(record),
    )


def _request_url(flow: ApprovalFlow) -> str:
    return _url("registry:request_detail", flow.pk)


@role_page(admin=True)
def student_transfer(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    record = _student(role, pk)
    form = forms.TransferForm(
        request.POST or None,
        current=record.school,
        initial={"to_school": request.GET.get("to", "")},
    )
    actor = actor_for(request, role)

    def write() -> StudentRequest:
        data = form.cleaned_data
        if data["destination_kind"] == forms.TransferForm.OUTSIDE:
            return services.request_transfer_out(
                actor=actor, record=record, destination=data["destination"], reason=data["reason"]
            )
        return services.request_transfer(
            actor=actor, record=record, to_school=data["school"], reason=data["reason"]
        )

    return _form_page(
        request,
        form,
        write,
        done=_("转学申请已提交，等待审批。"),
        then=_request_url,
        title=_("申请转学"),
        submit=_("提交转学申请"),
        note=_(
            "转学须经转入学校接收、转出地区县教育局审批（跨区县时两地均须审批）；"
            "全部审批通过前，学生的学籍不变。"
        ),
        extra={"matches_field": "to_school"},
        **_student_about(record),
    )


@role_page(admin=True)
def student_status(request: HttpRequest, role: Role, pk: int, kind: str) -> HttpResponse:
    if kind not in STATUS_REQUESTS:
        raise Http404
    title, note, service = STATUS_REQUESTS[kind]
    record = _student(role, pk)
    form = forms.ReasonForm(request.POST or None)
    return _form_page(
        request,
        form,
        lambda: service(
            actor=actor_for(request, role), record=record, reason=form.cleaned_data["reason"]
        ),
        done=_("申请已提交，等待审批。"),
        then=_request_url,
        title=title,
        submit=_("提交申请"),
        note=note,
        danger=kind != StudentRequest.Kind.SUSPEND,
        **_student_about(record),
    )


@role_page(admin=True)
def student_resume(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    record = _student(role, pk)
    classes = (
        org_selectors.classes(role=role)
        .filter(school=record.school)
        .order_by("-school_year__start_year", "grade__order", "number")
    )
    form = forms.ResumeForm(request.POST or None, classes=classes)
    return _form_page(
        request,
        form,
        lambda: services.resume_student(
            actor=actor_for(request, role), record=record, **form.cleaned_data
        ),
        done=_("已办理复学。"),
        title=_("办理复学"),
        submit=_("确认复学"),
        **_student_about(record),
    )


# --------------------------------------------------------------------------- approvals


def may_decide(role: Role, flow: ApprovalFlow) -> bool:
    """Whether the page offers the role the decision forms: it administers the waiting unit at
    that unit's level. The services check the same rule again on every decision."""
    step = flow.waiting_step
    return (
        step is not None
        and LEVEL_OF_KIND.get(role.kind) == step["level"]
        and contains(role.path, step["path"])
    )


def may_withdraw(request: HttpRequest, role: Role, flow: ApprovalFlow) -> bool:
    """Whether the page offers withdrawing: to the requester and the sending school."""
    if flow.status != ApprovalFlow.Status.PENDING:
        return False
    if flow.requested_by_id == request.user.pk:
        return True
    return role.kind == Role.Kind.SCHOOL_ADMIN and contains(role.path, flow.from_path)


def flow_steps(flow: ApprovalFlow, events: list[Any]) -> list[dict[str, Any]]:
    """Each step of the chain with its state and the event that decided it (student and
    teacher events name their approvals and rejections alike)."""
    approvals = [e for e in events if e.kind == StudentEvent.Kind.STEP_APPROVED]
    rejection = next((e for e in events if e.kind == StudentEvent.Kind.REJECTED), None)
    rows = []
    for index, step in enumerate(flow.steps):
        event = approvals[index] if index < len(approvals) else None
        if event is not None:
            state = "approved"
        elif index == flow.step and flow.status == ApprovalFlow.Status.REJECTED:
            state, event = "rejected", rejection
        elif index == flow.step and flow.status == ApprovalFlow.Status.PENDING:
            state = "waiting"
        elif flow.status == ApprovalFlow.Status.PENDING:
            state = "later"
        else:
            state = "skipped"
        rows.append(
            {
                "number": index + 1,
                "level": ApprovalFlow.Level(step["level"]).label,
                "name": step["name"],
                "state": state,
                "event": event,
            }
        )
    return rows


def _flow_forms(
    request: HttpRequest,
    role: Role,
    flow: ApprovalFlow,
    *,
    deciding: bool,
    decide: Any,
    reject: Any,
    withdraw: Any,
) -> dict[str, Any]:
    """The decision forms the role may use on a request's page, and the refusals of a posted
    form the role may not use (shown on top of the page rather than lost)."""
    withdrawing = may_withdraw(request, role, flow)
    shown = {"decide": deciding, "reject": deciding, "withdraw": withdrawing}
    posted = {"decide": decide, "reject": reject, "withdraw": withdraw}
    return {
        "decide_form": decide if deciding else None,
        "reject_form": (reject or forms.RejectForm(prefix="reject")) if deciding else None,
        "withdraw_form": (withdraw or forms.WithdrawForm(prefix="withdraw"))
        if withdrawing
        else None,
        "refusals": [
            error
            for name, form in posted.items()
            if form is not None and form.is_bound and not shown[name]
            for error in form.non_field_errors()
        ],
    }


def _decided(request: HttpRequest, flow: ApprovalFlow, route: str) -> HttpResponse:
    flow.refresh_from_db()
    if flow.status == ApprovalFlow.Status.APPROVED:
        messages.success(request, _("审批已全部通过，变更已生效。"))
    elif flow.status == ApprovalFlow.Status.PENDING:
        messages.success(request, _("已通过本环节，等待下一环节审批。"))
    else:
        messages.success(
            request, _("申请状态：%(status)s。") % {"status": flow.get_status_display()}
        )
    return redirect(route, pk=flow.pk)


# The posted form of each step action, by the slot (also its prefix) it fills on the page.
STEP_FORMS: dict[str, tuple[str, type[StyledForm]]] = {
    "approve": ("decide", forms.NoteForm),
    "reject": ("reject", forms.RejectForm),
    "withdraw": ("withdraw", forms.WithdrawForm),
}


@dataclass(frozen=True)
class FlowPages:
    """The pages of one approval workflow: its list, a request's page, and the posts that act
    on the waiting step. Student requests and teacher transfers run the same approval chain, so
    they differ only in what is named here; `flow_arg` is the keyword their selectors and
    services take the flow by."""

    route: str
    title: Any
    template: str
    export: Export
    with_kind: bool
    person: str
    readable: Callable[..., QuerySet[Any]]
    waiting: Callable[..., QuerySet[Any]]
    events: Callable[..., QuerySet[Any]]
    flow_arg: str
    approve: Callable[..., Any]
    reject: Callable[..., Any]
    withdraw: Callable[..., Any]
    subject: Callable[[Role, Any], tuple[str, dict[str, Any]]]
    receives: Callable[[Any], bool]
    accept_form: Callable[[Role, Any, Any], StyledForm]

    def flow(self, role: Role, pk: int) -> Any:
        return get_object_or_404(self.readable(role=role), pk=pk)

    def list(self, request: HttpRequest, role: Role) -> HttpResponseBase:
        form = forms.FlowFilterForm(request.GET, with_kind=self.with_kind)
        rows = self.waiting if form.values.get("waiting") else self.readable
        queryset = rows(role=role)
        if form.values.get("q"):
            queryset = queryset.filter(**{f"{self.person}__name__icontains": form.values["q"]})
        return list_page(
            request,
            role,
            template=self.template,
            queryset=form.filter(queryset),
            export=self.export,
            context={"form": form, "title": self.title},
        )

    def detail(self, request: HttpRequest, role: Role, pk: int) -> HttpResponse:
        return self.page(request, role, self.flow(role, pk))

    def page(
        self,
        request: HttpRequest,
        role: Role,
        flow: Any,
        *,
        decide: Any = None,
        reject: Any = None,
        withdraw: Any = None,
    ) -> HttpResponse:
        events = list(self.events(role=role, **{self.flow_arg: flow}))
        deciding = may_decide(role, flow)
        accepting = (
            deciding and self.receives(flow) and flow.waiting_level == ApprovalFlow.Level.SCHOOL
        )
        if decide is None and deciding:
            decide = (
                self.accept_form(role, flow, None) if accepting else forms.NoteForm(prefix="decide")
            )
        crumb, about = self.subject(role, flow)
        return render(
            request,
            "registry/flow_detail.html",
            {
                "flow": flow,
                **about,
                "crumbs": [
                    {"name": self.title, "url": _url(f"{self.route}_list")},
                    {"name": crumb},
                ],
                "steps": flow_steps(flow, events),
                "events": events,
                "codes": {},
                "accepting": accepting,
                **_flow_forms(
                    request,
                    role,
                    flow,
                    deciding=deciding,
                    decide=decide,
                    reject=reject,
                    withdraw=withdraw,
                ),
                "decide_url": _url(f"{self.route}_{'accept' if accepting else 'approve'}", flow.pk),
                "reject_url": _url(f"{self.route}_reject", flow.pk),
                "withdraw_url": _url(f"{self.route}_withdraw", flow.pk),
            },
        )

    def act(self, request: HttpRequest, role: Role, pk: int, step: str) -> HttpResponse:
        """Acts on the flow's waiting step: `accept` is approving by the receiving school."""
        flow = self.flow(role, pk)
        if step == "accept":
            slot, form = "decide", self.accept_form(role, flow, request.POST)
        else:
            slot, form_class = STEP_FORMS[step]
            form = form_class(request.POST, prefix=slot)
        write = self.approve if step == "accept" else getattr(self, step)
        done = _run(
            request,
            form,
            lambda: write(
                actor=actor_for(request, role), **{self.flow_arg: flow}, **form.cleaned_data
            ),
        )
        if done is not None:
            return _decided(request, flow, f"{self.route}_detail")
        return self.page(request, role, flow, **{slot: form})

    def list_view(self) -> PageView[[]]:
        return role_page(admin=True)(self.list)

    def detail_view(self) -> PageView[[int]]:
        return role_page(admin=True)(self.detail)

    def step_view(self, step: str) -> PageView[[int]]:
        def act(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
            return self.act(request, role, pk, step)

        return require_POST(role_page(admin=True)(act))


def _student_flow_subject(role: Role, flow: StudentRequest) -> tuple[str, dict[str, Any]]:
    person = flow.record.person.name
    return f"{person} · {flow.get_kind_display()}", {
        "is_student": True,
        "person_name": person,
        "number": flow.record.number_masked,
        "student_url": (
            _url("registry:student_detail", flow.record_id)
            if selectors.students(role=role).filter(pk=flow.record_id).exists()
            else ""
        ),
    }


def _receiving_classes(role: Role, flow: StudentRequest) -> QuerySet[SchoolClass]:
    """Classes the receiving school may place the student in: its own, in the student's
    current school year."""
    current = flow.record.school_class
    classes = org_selectors.classes(role=role).filter(school=flow.to_school)
    if current is not None:
        classes = classes.filter(school_year_id=current.school_year_id)
    return classes.order_by("grade__order", "number")


STUDENT_REQUESTS = FlowPages(
    route="registry:request",
    title=gettext_lazy("学籍申请"),
    template="registry/request_list.html",
    export=REQUEST_EXPORT,
    with_kind=True,
    person="record__person",
    readable=selectors.student_requests,
    waiting=selectors.waiting_student_requests,
    events=selectors.student_request_events,
    flow_arg="request",
    approve=services.approve_request,
    reject=services.reject_request,
    withdraw=services.withdraw_request,
    subject=_student_flow_subject,
    receives=lambda flow: flow.kind == StudentRequest.Kind.TRANSFER,
    accept_form=lambda role, flow, data: forms.AcceptForm(
        data, prefix="decide", classes=_receiving_classes(role, flow)
    ),
)
request_list = STUDENT_REQUESTS.list_view()
request_detail = STUDENT_REQUESTS.detail_view()
request_accept = STUDENT_REQUESTS.step_view("accept")
request_approve = STUDENT_REQUESTS.step_view("approve")
request_reject = STUDENT_REQUESTS.step_view("reject")
request_withdraw = STUDENT_REQUESTS.step_view("withdraw")


# --------------------------------------------------------------------------- 待办, 毕业


@role_page(admin=True)
def queue(request: HttpRequest, role: Role) -> HttpResponse:
    items = selectors.work_queue(role=role)
    return render(
        request,
        "registry/queue.html",
        {
            "items": items,
            "total": sum(item.count for item in items),
            "student_requests": list(selectors.waiting_student_requests(role=role)[:QUEUE_ROWS]),
            "teacher_transfers": list(selectors.waiting_teacher_transfers(role=role)[:QUEUE_ROWS]),
            "counts": {item.key: item.count for item in items},
            "may_graduate": role.kind in REGION_LEVEL,
            "queue_rows": QUEUE_ROWS,
        },
    )


@role_page(admin=True)
def graduate(request: HttpRequest, role: Role) -> HttpResponse:
    if role.kind not in REGION_LEVEL:
        raise PermissionDenied(_("毕业由区县及以上教育行政部门确认。"))
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = forms.UnitScopeForm(data, role=role)
    confirm = forms.ConfirmRunForm(request.POST if request.method == "POST" else None)
    path, unit = form.unit() if form.is_valid() else (role.path, role.unit_name)
    if request.method == "POST" and form.is_valid() and confirm.is_valid():
        try:
            count = services.graduate_students(actor=actor_for(request, role), path=path)
        except (ValidationError, PermissionDenied) as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已确认 %(count)s 名学生毕业（%(unit)s）。") % {"count": count, "unit": unit},
            )
            return redirect("registry:queue")
    graduating = selectors.graduating_students_in(role=role, path=path)
    return render(
        request,
        "registry/graduate.html",
        {
            "form": form,
            "confirm_form": confirm,
            "unit": unit,
            "count": graduating.count(),
            "students": list(graduating[:QUEUE_ROWS]),
            "queue_rows": QUEUE_ROWS,
        },
    )


# --------------------------------------------------------------------------- 教师


@role_page()
def teacher_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = forms.TeacherFilterForm(request.GET, role=role)
    queryset = form.filter(selectors.teachers(role=role, search=str(form.values.get("q", ""))))
    return list_page(
        request,
        role,
        template="registry/teacher_list.html",
        queryset=queryset,
        export=teacher_export(),
        context={
            "form": form,
            "may_register": role.kind in ADMIN_KINDS,
            "titles": selectors.code_names("teacher_title")["teacher_title"],
        },
    )


def _teacher(role: Role, pk: int) -> TeacherRecord:
    return get_object_or_404(selectors.teachers(role=role), pk=pk)


@role_page()
def teacher_detail(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    teacher = get_object_or_404(selectors.teachers(role=role).prefetch_related("subjects"), pk=pk)
    transfers = list(selectors.teacher_transfers(role=role).filter(teacher=teacher))
    pending = next((t for t in transfers if t.status == ApprovalFlow.Status.PENDING), None)
    admin = role.kind in ADMIN_KINDS
    status = teacher.status
    statuses = TeacherRecord.Status
    return render(
        request,
        "registry/teacher_detail.html",
        {
            "teacher": teacher,
            "crumbs": [
                {"name": _("教师"), "url": _url("registry:teacher_list")},
                {"name": teacher.person.name},
            ],
            "codes": selectors.code_names(*TEACHER_CODES),
            "titles": list(selectors.teacher_titles(role=role, teacher=teacher)),
            "events": list(selectors.teacher_events(role=role, teacher=teacher)[:HISTORY_ROWS]),
            "transfers": transfers,
            "pending": pending,
            "is_admin": admin,
            "may_edit": admin and status != statuses.RETIRED,
            "may_transfer": admin and status == statuses.ACTIVE and pending is None,
            "may_leave": admin and status == statuses.ACTIVE and pending is None,
            "may_return": admin and status == statuses.ON_LEAVE,
            "may_retire": admin and status != statuses.RETIRED and pending is None,
        },
    )


@role_page(admin=True)
def teacher_create(request: HttpRequest, role: Role) -> HttpResponse:
    form = forms.TeacherForm(request.POST or None, role=role)
    teacher = _run(
        request,
        form,
        lambda: services.register_teacher(actor=actor_for(request, role), **form.service_fields()),
    )
    if teacher is not None:
        messages.success(request, _("已建立 %(name)s 的教师档案。") % {"name": teacher.person.name})
        return redirect("registry:teacher_detail", pk=teacher.pk)
    return render(request, "registry/teacher_form.html", {"form": form})


def _teacher_about(teacher: TeacherRecord) -> dict[str, Any]:
    return {
        "subject": f"{teacher.person.name} · {teacher.school.name}",
        "back": _url("registry:teacher_detail", teacher.pk),
    }


@role_page(admin=True)
def teacher_edit(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    teacher = get_object_or_404(selectors.teachers(role=role).prefetch_related("subjects"), pk=pk)
    initial = {name: getattr(teacher, name) for name in forms.TEACHER_CODE_FIELDS}
    initial.update(hired_on=teacher.hired_on, subjects=list(teacher.subjects.all()))
    form = forms.TeacherFactsForm(request.POST or None, initial=initial)
    return _form_page(
        request,
        form,
        lambda: services.update_teacher(
            actor=actor_for(request, role), teacher=teacher, **form.service_fields()
        ),
        done=_("教师档案已保存。"),
        title=_("修改教师档案"),
        submit=_("保存"),
        **_teacher_about(teacher),
    )


@role_page(admin=True)
def teacher_transfer(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    teacher = _teacher(role, pk)
    form = forms.TeacherTransferForm(
        request.POST or None, current=teacher.school, initial={"to_school": request.GET.get("to")}
    )
    return _form_page(
        request,
        form,
        lambda: services.request_teacher_transfer(
            actor=actor_for(request, role),
            teacher=teacher,
            to_school=form.cleaned_data["school"],
            reason=form.cleaned_data["reason"],
        ),
        done=_("调动申请已提交，等待审批。"),
        then=lambda flow: _url("registry:teacher_transfer_detail", flow.pk),
        title=_("申请调动"),
        submit=_("提交调动申请"),
        note=_("调动须经调入学校接收、区县教育局审批（跨区县时两地均须审批）。"),
        extra={"matches_field": "to_school"},
        **_teacher_about(teacher),
    )


def _teacher_status_view(
    form_class: type[StyledForm], write: Callable[..., TeacherRecord], **page: Any
) -> PageView[[int]]:
    """The page of a change of the teacher's own status, which `write` makes."""

    def view(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
        teacher = _teacher(role, pk)
        form = form_class(request.POST or None)
        return _form_page(
            request,
            form,
            lambda: write(actor=actor_for(request, role), teacher=teacher, **form.cleaned_data),
            **page,
            **_teacher_about(teacher),
        )

    return role_page(admin=True)(view)


teacher_leave = _teacher_status_view(
    forms.TeacherLeaveForm,
    services.start_teacher_leave,
    title=gettext_lazy("办理离岗"),
    submit=gettext_lazy("确认离岗"),
    done=gettext_lazy("已办理离岗。"),
)
teacher_return = _teacher_status_view(
    forms.TeacherReturnForm,
    services.end_teacher_leave,
    title=gettext_lazy("办理返岗"),
    submit=gettext_lazy("确认返岗"),
    done=gettext_lazy("已办理返岗。"),
)
teacher_retire = _teacher_status_view(
    forms.TeacherRetireForm,
    services.retire_teacher,
    title=gettext_lazy("办理退休"),
    submit=gettext_lazy("确认退休"),
    done=gettext_lazy("已办理退休。"),
    danger=True,
)


def _teacher_flow_subject(role: Role, flow: TeacherTransfer) -> tuple[str, dict[str, Any]]:
    person = flow.teacher.person.name
    return f"{person} · {_('调动')}", {
        "is_student": False,
        "person_name": person,
        "teacher_url": (
            _url("registry:teacher_detail", flow.teacher_id)
            if selectors.teachers(role=role).filter(pk=flow.teacher_id).exists()
            else ""
        ),
    }


# A transfer's receiving step takes a note only: the teacher keeps no class to be placed in.
TEACHER_TRANSFERS = FlowPages(
    route="registry:teacher_transfer",
    title=gettext_lazy("教师调动"),
    template="registry/teacher_transfer_list.html",
    export=TEACHER_TRANSFER_EXPORT,
    with_kind=False,
    person="teacher__person",
    readable=selectors.teacher_transfers,
    waiting=selectors.waiting_teacher_transfers,
    events=selectors.teacher_transfer_events,
    flow_arg="transfer",
    approve=services.approve_teacher_transfer,
    reject=services.reject_teacher_transfer,
    withdraw=services.withdraw_teacher_transfer,
    subject=_teacher_flow_subject,
    receives=lambda flow: True,
    accept_form=lambda role, flow, data: forms.NoteForm(data, prefix="decide"),
)
teacher_transfer_list = TEACHER_TRANSFERS.list_view()
teacher_transfer_detail = TEACHER_TRANSFERS.detail_view()
teacher_transfer_approve = TEACHER_TRANSFERS.step_view("approve")
teacher_transfer_reject = TEACHER_TRANSFERS.step_view("reject")
teacher_transfer_withdraw = TEACHER_TRANSFERS.step_view("withdraw")


# --------------------------------------------------------------------------- 学校档案


@role_page(admin=True)
def school_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = forms.SchoolFilterForm(request.GET, role=role)
    queryset = form.filter(selectors.schools(role=role, status=form.registry_status)).order_by(
        "code"
    )
    return list_page(
        request,
        role,
        template="registry/school_list.html",
        queryset=queryset,
        export=SCHOOL_EXPORT,
        context={"form": form},
    )


def _school(role: Role, pk: int) -> School:
    return get_object_or_404(selectors.schools(role=role), pk=pk)


def _change_rows(role: Role, school: School) -> list[dict[str, Any]]:
    rows = []
    for change in selectors.school_changes(role=role, school=school)[:HISTORY_ROWS]:
        values = SCHOOL_VALUE_LABELS.get(change.field, {})
        rows.append(
            {
                "change": change,
                "label": SCHOOL_FIELD_LABELS.get(change.field, change.field),
                "old": values.get(change.old_value, change.old_value),
                "new": values.get(change.new_value, change.new_value),
            }
        )
    return rows


@role_page(admin=True)
def school_detail(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    school = _school(role, pk)
    profile = selectors.school_profile(role=role, school=school)
    is_open = profile.status == SchoolProfile.Status.OPEN
    return render(
        request,
        "registry/school_detail.html",
        {
            "school": school,
            "profile": profile,
            "crumbs": [
                {"name": _("学校档案"), "url": _url("registry:school_list")},
                {"name": school.name},
            ],
            "changes": _change_rows(role, school),
            "may_edit": is_open,
            "may_decide": is_open and role.kind in REGION_LEVEL,
        },
    )


def _school_about(school: School) -> dict[str, Any]:
    return {
        "subject": f"{school.name} · {school.code}",
        "back": _url("registry:school_detail", school.pk),
    }


@role_page(admin=True)
def school_edit(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    school = _school(role, pk)
    profile = selectors.school_profile(role=role, school=school)
    initial = {
        "name": school.name,
        "operator": school.operator,
        "locale": school.locale,
        "address": school.address,
        "principal": profile.principal,
        "phone": profile.phone,
        "founded_on": profile.founded_on,
    }
    form = forms.SchoolProfileForm(request.POST or None, initial=initial)
    return _form_page(
        request,
        form,
        lambda: services.update_school_profile(
            actor=actor_for(request, role), school=school, **form.cleaned_data
        ),
        done=_("学校档案已保存。"),
        title=_("修改学校档案"),
        submit=_("保存"),
        note=_("每项修改都记入变更记录（修改人、时间、原值和新值）。"),
        **_school_about(school),
    )


def _require_bureau(role: Role) -> None:
    if role.kind not in REGION_LEVEL:
        raise PermissionDenied(_("学校合并、撤销由区县及以上教育行政部门办理。"))


def _school_people(role: Role, school: School) -> dict[str, int]:
    return {
        "students": selectors.students(role=role).filter(school=school, status__in=ACTIVE).count(),
        "teachers": selectors.teachers(role=role)
        .filter(school=school)
        .exclude(status=TeacherRecord.Status.RETIRED)
        .count(),
    }


@role_page(admin=True)
def school_merge(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    _require_bureau(role)
    school = _school(role, pk)
    form = forms.MergeForm(request.POST or None, role=role, school=school)
    if request.method == "POST" and form.is_valid() and not form.confirmed:
        return render(
            request,
            "registry/school_confirm.html",
            {
                "school": school,
                "form": form,
                "target": form.cleaned_data["school"],
                "people": _school_people(role, school),
                "merging": True,
            },
        )
    return _form_page(
        request,
        form,
        lambda: services.merge_school(
            actor=actor_for(request, role),
            school=school,
            into=form.cleaned_data["school"],
            reason=form.cleaned_data["reason"],
            on=form.cleaned_data["on"],
        ),
        done=lambda profile: (
            _("%(school)s 已并入 %(into)s。")
            % {"school": school.name, "into": form.cleaned_data["school"].name}
        ),
        title=_("学校合并"),
        submit=_("下一步"),
        note=_(
            "合并后，该校在读、休学的学生和在职教师整体转入并入学校，班级在并入学校接续；"
            "该校档案保留，状态为“已合并”。"
        ),
        danger=True,
        extra={"matches_field": "into"},
        **_school_about(school),
    )


@role_page(admin=True)
def school_close(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    _require_bureau(role)
    school = _school(role, pk)
    form = forms.CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and not form.confirmed:
        return render(
            request,
            "registry/school_confirm.html",
            {
                "school": school,
                "form": form,
                "people": _school_people(role, school),
                "merging": False,
            },
        )
    return _form_page(
        request,
        form,
        lambda: services.close_school(
            actor=actor_for(request, role),
            school=school,
            reason=form.cleaned_data["reason"],
            on=form.cleaned_data["on"],
        ),
        done=_("%(school)s 已撤销。") % {"school": school.name},
        title=_("撤销学校"),
        submit=_("下一步"),
        note=_("只有已没有在读学生和在职教师的学校可以撤销；档案、班级和历史记录保留。"),
        danger=True,
        **_school_about(school),
    )


# --------------------------------------------------------------------------- 升级


@role_page(admin=True)
def rollover(request: HttpRequest, role: Role) -> HttpResponse:
    posted = request.method == "POST"
    form = forms.RolloverForm(request.POST if posted else (request.GET or None), role=role)
    confirm = forms.ConfirmRunForm(request.POST if posted else None)
    context: dict[str, Any] = {
        "form": form,
        "confirm_form": confirm,
        "runs": list(selectors.rollovers(role=role)[:10]),
    }
    if form.is_bound and form.is_valid():
        path, unit = form.unit()
        year = form.cleaned_data["school_year"]
        actor = actor_for(request, role)
        context.update(unit=unit, year=year)
        try:
            if posted and confirm.is_valid():
                context["result"] = services.rollover_year(actor=actor, path=path, from_year=year)
                context["runs"] = list(selectors.rollovers(role=role)[:10])
            else:
                context["plan"] = services.preview_rollover(actor=actor, path=path, from_year=year)
        except (ValidationError, PermissionDenied) as error:
            apply_service_errors(form, error)
    return render(request, "registry/rollover.html", context)


# --------------------------------------------------------------------------- 代码表


def _code_tables() -> list[dict[str, Any]]:
    tables = [
        {"name": table.name, "title": table.title, "standard": table.standard, "count": count}
        for table, count in selectors.code_tables()
    ]
    tables += [
        {
            "name": name,
            "title": title,
            "standard": _("本平台组织机构代码表"),
            "count": rows().count(),
        }
        for name, (title, rows) in ORG_CODE_TABLES.items()
    ]
    return tables


@role_page(admin=True)
def code_tables(request: HttpRequest, role: Role, name: str = "") -> HttpResponseBase:
    tables = _code_tables()
    table = next((t for t in tables if t["name"] == name), None) if name else tables[0]
    if table is None:
        raise Http404
    if table["name"] in ORG_CODE_TABLES:
        values: QuerySet[Any] = ORG_CODE_TABLES[table["name"]][1]()
    else:
        values = selectors.code_values(table["name"], include_inactive=True)
    if request.GET.get("format") == "xlsx":
        export = Export(name=table["title"], columns=CODE_EXPORT_COLUMNS)
        return export_xlsx(request=request, role=role, queryset=values, export=export)
    return render(
        request,
        "registry/code_tables.html",
        {"tables": tables, "table": table, "values": list(values)},
    )
