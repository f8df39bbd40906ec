"""The audit log page: events on objects inside the acting administrator's subtree."""

from typing import Any

from django import forms
from django.apps import apps
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _

from santong.accounts.models import Role
from santong.audit import selectors
from santong.audit.models import AuditEvent
from santong.core.export import Column, Export
from santong.core.forms import ListFilterForm, choice_field, day_after, day_start
from santong.core.views import list_page, role_page


def object_type_choices() -> list[tuple[str, Any]]:
    """Audited object types are model names; offer santong's models by their verbose names."""
    return sorted(
        (
            (model._meta.model_name or "", model._meta.verbose_name)
            for model in apps.get_models()
            if model.__module__.startswith("santong.") and model is not AuditEvent
        ),
        key=lambda choice: choice[0],
    )


class EventFilterForm(ListFilterForm):
    action = choice_field(_("操作"), AuditEvent.Action.choices)
    outcome = choice_field(_("结果"), AuditEvent.Outcome.choices)
    object_type = choice_field(_("对象类型"), [])
    date_from = forms.DateField(
        label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.fields["q"].label = _("操作人")
        self.fields["q"].widget.attrs["placeholder"] = _("操作人姓名")
        self.fields["object_type"].choices = [  # type: ignore[attr-defined]
            ("", _("全部")),
            *object_type_choices(),
        ]

    def filter(self, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:  # type: ignore[override]
        values = self.values
        if "q" in values:
            queryset = queryset.filter(actor_name__icontains=values["q"])
        for name in ("action", "outcome", "object_type"):
            if name in values:
                queryset = queryset.filter(**{name: values[name]})
        if "date_from" in values:
            queryset = queryset.filter(at__gte=day_start(values["date_from"]))
        if "date_to" in values:
            queryset = queryset.filter(at__lt=day_after(values["date_to"]))
        return queryset


EVENT_EXPORT = Export(
    name=_("审计日志"),
    columns=[
        Column(_("时间"), "at", width=20),
        Column(_("操作人"), "actor_name", width=12),
        Column(_("操作角色"), "actor_role", width=30),
        Column(_("操作"), "action", choices=AuditEvent.Action.choices, width=12),
        Column(_("对象类型"), "object_type", width=12),
        Column(_("对象编号"), "object_id", width=10),
        Column(_("对象"), "object_repr", width=30),
        Column(_("结果"), "outcome", choices=AuditEvent.Outcome.choices, width=8),
        Column(_("来源地址"), "ip", width=16),
        Column(_("单位编码"), "path", width=30),
        Column(_("详情"), "detail", width=40),
    ],
)


@role_page(admin=True)
def event_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = EventFilterForm(request.GET)
    return list_page(
        request,
        role,
        template="audit/event_list.html",
        queryset=form.filter(selectors.events(role=role)),
        export=EVENT_EXPORT,
        context={"form": form, "object_types": dict(object_type_choices())},
    )
