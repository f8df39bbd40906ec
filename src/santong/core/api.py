"""API plumbing: errors always answer with field and reason in the user's language."""

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from santong.core.actors import Actor, actor_from_request

if TYPE_CHECKING:
    from santong.accounts.models import Role


def validation_detail(error: DjangoValidationError) -> Any:
    if hasattr(error, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): [
                str(m) for m in messages
            ]
            for field, messages in error.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: [str(m) for m in error.messages]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turns service-layer Django errors into DRF ones so they answer 400/403, never 500."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    return drf_exception_handler(exc, context)


def request_actor(request: Request) -> Actor:
    """The actor of an API request, acting in the role `HasActiveRole` resolved for it."""
    return actor_from_request(request._request)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """A reference to an object the active role can see, found through the owning selector.

    A key outside the role's scope answers exactly like a key no row has, so a request cannot
    learn whether an invisible object exists.
    """

    default_error_messages = {
        "does_not_exist": _("对象不存在。"),
        "incorrect_type": _("对象编号的格式不正确。"),
    }

    def __init__(
        self, *, model: type[Model], selector: Callable[..., QuerySet[Any]], **kwargs: Any
    ) -> None:
        self.selector = selector
        # The model's empty queryset only names the model (for the schema); rows come from
        # `get_queryset`, which asks the selector with the role acting on this request.
        super().__init__(queryset=model._default_manager.none(), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        role: Role = self.context["request"].active_role
        return self.selector(role=role)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):  # type: ignore[misc]
    """Filters by an object id: a whole number within the database's id range, so "1.5" or an
    id too large for a 64-bit column answers 400 instead of matching id 1 or failing."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class InputSerializer(serializers.Serializer[Any]):
    """Input that refuses keys it does not know, so a misspelt or read-only field is reported
    instead of silently dropped."""

    default_error_messages = {"unknown_field": _("不接受此字段。")}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                message = self.error_messages["unknown_field"]
                raise serializers.ValidationError({name: [message] for name in unknown})
        return super().to_internal_value(data)


def parse_input(
    serializer_class: type[serializers.Serializer[Any]],
    request: Request,
    context: Mapping[str, Any],
    *,
    partial: bool = False,
) -> dict[str, Any]:
    """The validated input of a write, or a 400 naming each field that is wrong."""
    serializer = serializer_class(data=request.data, context=dict(context), partial=partial)
    serializer.is_valid(raise_exception=True)
    data: dict[str, Any] = dict(serializer.validated_data)
    return data
