"""Form plumbing shared by the pages: Bootstrap widgets, list filters, and service errors."""

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

M = TypeVar("M", bound=Model)


class BootstrapFormMixin:
    """Gives every widget its Bootstrap class and marks fields with errors as invalid."""

    fields: dict[str, forms.Field]

    def style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()


class StyledForm(BootstrapFormMixin, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()


def apply_service_errors(
    form: forms.Form,
    error: ValidationError | PermissionDenied,
    *,
    aliases: Mapping[str, str] | None = None,
    default_field: str | None = None,
) -> None:
    """Shows a service's refusal on the form: field errors under their fields, the rest on top.

    `aliases` maps a service's field name to the form's, `default_field` takes errors that
    name no field (e.g. the password validators' list)."""
    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error) or str(_("当前角色无权执行此操作。")))
        return
    names = aliases or {}
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = names.get(field, field)
            form.add_error(target if target in form.fields else None, messages)
        return
    form.add_error(default_field if default_field in form.fields else None, error.messages)


class ListFilterForm(StyledForm):
    """A list page's search and filters, read from the query string. Every field is optional,
    and a value that does not validate is ignored rather than answered with an error page."""

    q = forms.CharField(label=_("搜索"), required=False, max_length=64)

    @property
    def values(self) -> dict[str, Any]:
        self.is_valid()
        cleaned: dict[str, Any] = getattr(self, "cleaned_data", {})
        return {name: value for name, value in cleaned.items() if value not in (None, "", [])}

    @property
    def is_filtered(self) -> bool:
        return bool(self.values)

    def filter(self, queryset: QuerySet[M]) -> QuerySet[M]:
        raise NotImplementedError


def choice_field(label: Any, choices: Any) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[("", _("全部")), *choices])


def day_start(day: Any) -> datetime:
    """The first instant of a local calendar day, so a date filter stays an index range."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_after(day: Any) -> datetime:
    return day_start(day + timedelta(days=1))
