"""The API's filter backends, which refuse what they cannot honour with a 400 naming the
query parameter, where DRF's would ignore it or fail.

They are named in DEFAULT_FILTER_BACKENDS, which DRF imports while `rest_framework.generics` is
still loading, so this module must not import the generic views (as `santong.core.api` does).
"""

import unicodedata
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework import filters as drf_filters
from rest_framework.request import Request


class StrictBooleanField(forms.Field):
    """true or false, where django-filter's field reads anything else ("null", "yes please")
    as no filter at all."""

    default_error_messages = {"invalid": _("应为 true 或 false。")}
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.VALUES[str(value).lower()]
        except KeyError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(filters.BooleanFilter):  # type: ignore[misc]
    field_class = StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # django-filter's BooleanWidget has already turned "null" into "no filter" by the time
        # the field sees it; a plain input hands the field what the client sent.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class BoundedDateTimeField(IsoDateTimeField):  # type: ignore[misc]
    """An ISO 8601 date and time the database can compare, given to it in UTC.

    Python accepts more than the databases do: 0001-01-01T00:00+14:00 is still in year 0 in
    UTC, where SQLite's adapter overflows, and PostgreSQL refuses a UTC offset beyond 15:59
    (…T13:26:18-19:27); either was a 500.
    """

    default_error_messages = {"out_of_range": _("日期时间超出可用范围。")}

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            in_utc: datetime = moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                self.error_messages["out_of_range"], code="out_of_range"
            ) from None
        return in_utc


class DateTimeFilter(filters.IsoDateTimeFilter):  # type: ignore[misc]
    field_class = BoundedDateTimeField


class FilterSet(filters.FilterSet):  # type: ignore[misc]
    """The API's filter sets: boolean fields take only true or false, and dates and times only
    ones that can be stored."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.DateTimeField: {"filter_class": DateTimeFilter},
    }


class FilterBackend(filters.DjangoFilterBackend):  # type: ignore[misc]
    """django-filter, after refusing query parameters that hold a NUL character: PostgreSQL
    cannot compare text with one, so a filter, a lookup or a search would fail with a 500."""

    filterset_base = FilterSet

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        refused = sorted(name for name, value in request.query_params.items() if "\x00" in value)
        if refused:
            message = _("不能包含空字符（NUL）。")
            raise exceptions.ValidationError({name: [message] for name in refused})
        return super().filter_queryset(request, queryset, view)


SEARCH_MAX_LENGTH = 100


class SearchFilter(drf_filters.SearchFilter):
    """DRF's search with a bounded term (every word adds a condition to the query), refused
    by name when wrong, and normalized like the names it searches (`TextField`)."""

    def get_search_terms(self, request: Request) -> list[str]:
        value = request.query_params.get(self.search_param, "")
        field = serializers.CharField(
            trim_whitespace=False, allow_blank=True, max_length=SEARCH_MAX_LENGTH
        )
        try:
            cleaned = field.run_validation(value)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({self.search_param: exc.detail}) from None
        normalized = unicodedata.normalize("NFC", cleaned)
        terms: list[str] = drf_filters.search_smart_split(normalized)  # type: ignore[arg-type]
        return terms

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if not getattr(view, "search_fields", None):
            return []
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["maxLength"] = SEARCH_MAX_LENGTH
        return parameters


class OrderingFilter(drf_filters.OrderingFilter):
    """Ordering by the fields a view offers, and a 400 naming the choices for any other.

    DRF drops unknown fields silently, so `ordering=id_cipher` looked accepted; refusing it
    says plainly that private columns are not sortable.
    """

    def _choices(self, queryset: QuerySet[Any], view: Any) -> list[str]:
        return [name for name, _label in self.get_valid_fields(queryset, view, {})]

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        raw = request.query_params.get(self.ordering_param, "")
        if not raw.strip():
            return self.get_default_ordering(view)
        terms = [term.strip() for term in raw.split(",")]
        choices = self._choices(queryset, view)
        unknown = [term for term in terms if term.removeprefix("-") not in choices]
        if unknown:
            raise serializers.ValidationError(
                {
                    self.ordering_param: [
                        _("不能按“%(field)s”排序，可选：%(choices)s。")
                        % {"field": unknown[0], "choices": "、".join(choices)}
                    ]
                }
            )
        return terms

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        choices = self._choices(view.get_queryset(), view)
        if not choices:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": str(_("排序字段，逗号分隔；字段前加“-”为倒序。")),
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "enum": [f"{sign}{name}" for name in choices for sign in ("", "-")],
                    },
                },
                "style": "form",
                "explode": False,
            }
        ]
