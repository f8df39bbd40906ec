"""API plumbing: errors always answer with field and reason in the user's language.

Every 400 body maps each field it refuses to its reasons (`{"name": ["该字段不能为空。"]}`, with
`non_field_errors` for what belongs to no field, such as a body that is not JSON); every other
error answers `{"detail": reason}`. `ApiSchema` documents both for every operation, and
`tests/api/test_fuzz.py` holds the API to its schema.
"""

import contextlib
import unicodedata
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from santong.core.actors import Actor, actor_from_request

if TYPE_CHECKING:
    from santong.accounts.models import Role

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY

# --------------------------------------------------------------------------- errors


def validation_detail(error: DjangoValidationError) -> Any:
    if hasattr(error, "error_dict"):
        return {
            (NON_FIELD if field == NON_FIELD_ERRORS else field): [str(m) for m in messages]
            for field, messages in error.message_dict.items()
        }
    return {NON_FIELD: [str(m) for m in error.messages]}


def _renderable(value: Any) -> Any:
    """`value` with lone surrogates spelt out: an error may quote what the client sent, and a
    string holding U+D800 cannot be encoded as UTF-8, so the error would end as a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, Mapping):
        return {_renderable(key): _renderable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_renderable(item) for item in value]
    return value


def _field_errors(detail: Any) -> Any:
    """A 400 detail as {field: [reasons]}: reasons that name no field go under
    `non_field_errors`, so every 400 body has the one shape."""
    if isinstance(detail, Mapping):
        return {
            key: (messages if isinstance(messages, list | Mapping) else [messages])
            for key, messages in detail.items()
        }
    if isinstance(detail, list):
        return {NON_FIELD: detail}
    return {NON_FIELD: [detail]}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("请求内容过大。")
    default_code = "request_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every refusal as a DRF error in the user's language: service-layer Django errors answer
    400/403 instead of 500, and Django's own refusals (an oversized body, a missing object)
    answer JSON in the shapes the schema documents instead of HTML or English."""
    if isinstance(exc, RequestDataTooBig):
        # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE with an HTML page.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        exc = RequestTooLarge(_("请求内容不能超过%(size)s字节。") % {"size": f"{limit:,}"})
    elif isinstance(exc, exceptions.ParseError):
        exc = exceptions.ValidationError({NON_FIELD: [exc.detail]})
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, Http404):
        # Django's own text names the model in English ("No Person matches the given query.").
        exc = exceptions.NotFound(_("对象不存在。"))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = _field_errors(response.data)
    response.data = _renderable(response.data)
    return response


class UnknownRouteView(APIView):
    """Answers every path under the API that names no endpoint, so clients always get JSON."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    schema = None

    @property
    def default_response_headers(self) -> dict[str, str]:
        # No Allow header: no method is allowed on a path that names no endpoint.
        headers: dict[str, str] = super().default_response_headers
        headers.pop("Allow", None)
        return headers

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        path = request.path_info
        if not path.endswith("/"):
            with contextlib.suppress(Resolver404):
                if getattr(resolve(f"{path}/").func, "view_class", None) is not UnknownRouteView:
                    raise exceptions.NotFound(_("接口地址应以“/”结尾：%(path)s/") % {"path": path})
        raise exceptions.NotFound(_("接口不存在。"))


# --------------------------------------------------------------------------- input


def request_actor(request: Request) -> Actor:
    """The actor of an API request, acting in the role `HasActiveRole` resolved for it."""
    return actor_from_request(request._request)


class TextField(serializers.CharField):
    """Text normalized to one Unicode form, so names that look the same are stored the same.

    NFC (the default) joins decomposed characters (e + U+0301 → é) and changes nothing else;
    NFKC, for identifiers such as usernames and phone numbers, also folds full-width letters
    and digits, so "ｃｏｕｎｔｙ_admin" is the same account as "county_admin".
    """

    def __init__(self, *, form: str = "NFC", **kwargs: Any) -> None:
        self.form = form
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        return unicodedata.normalize(self.form, value)  # type: ignore[arg-type]


class KeyRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """A reference by primary key that never sends a NUL character to the database (PostgreSQL
    refuses it with an error instead of finding nothing)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class ScopedPrimaryKeyRelatedField(KeyRelatedField):
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


class InputSerializer(serializers.Serializer[Any]):
    """Input that refuses keys it does not know, so a misspelt or read-only field is reported
    instead of silently dropped."""

    default_error_messages = {
        "unknown_field": _("不接受此字段。"),
        "no_object": _("请求内容应为一个JSON对象。"),
    }

    def run_validation(self, data: Any = serializers.empty) -> Any:
        # DRF answers a `null` body with an untranslated "No data provided".
        if data is None:
            raise serializers.ValidationError({NON_FIELD: [self.error_messages["no_object"]]})
        return super().run_validation(data)

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


# --------------------------------------------------------------------------- query parameters


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(filters.NumberFilter):  # type: ignore[misc]
    """Filters by an object id: a whole number within the database's id range, so "1.5" or an
    id too large for a 64-bit column answers 400 instead of matching id 1 or failing."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


# --------------------------------------------------------------------------- schema


def _component(name: str, schema: dict[str, Any]) -> ResolvedComponent:
    return ResolvedComponent(  # type: ignore[no-untyped-call]
        name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
    )


FIELD_ERRORS = _component(
    "FieldErrors",
    {
        "type": "object",
        # A field holding a list or an object reports its items by index or name, nested.
        "additionalProperties": {
            "oneOf": [
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
                {"$ref": "#/components/schemas/FieldErrors"},
            ]
        },
        "minProperties": 1,
    },
)
ERROR_DETAIL = _component(
    "ErrorDetail",
    {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
)


NO_NUL = "^[^\\u0000]*$"


class ApiSchema(AutoSchema):
    """drf-spectacular's schema, plus the error answers each operation can give."""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            # An empty filter, page or search (?kind=&page=) is read as not given, as forms send.
            if not parameter.get("required"):
                parameter["allowEmptyValue"] = True
            value_schema = parameter.get("schema", {})
            if value_schema.get("type") == "string" and "enum" not in value_schema:
                # FilterBackend refuses a NUL character in any query parameter.
                value_schema.setdefault("pattern", NO_NUL)
                max_length = self._filter_max_lengths().get(parameter["name"])
                if max_length is not None:
                    value_schema.setdefault("maxLength", max_length)
        for code, component, description in self._error_responses(operation):
            self.registry.register_on_missing(component)
            operation["responses"].setdefault(
                code,
                {
                    "description": description,
                    "content": {"application/json": {"schema": component.ref}},
                },
            )
        return operation

    def _filter_max_lengths(self) -> dict[str, int]:
        """The length limit of each text filter of the view, which drf-spectacular leaves out."""
        filterset_class = getattr(self.view, "filterset_class", None)
        if filterset_class is None:
            return {}
        return {
            name: filter_.extra["max_length"]
            for name, filter_ in filterset_class.base_filters.items()
            if filter_.extra.get("max_length") is not None
        }

    def _error_responses(
        self, operation: dict[str, Any]
    ) -> list[tuple[str, ResolvedComponent, str]]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        reads_query = bool(getattr(self.view, "filter_backends", None)) or any(
            parameter["in"] == "query" for parameter in parameters
        )
        public = all(
            isinstance(permission, type) and issubclass(permission, AllowAny)
            for permission in self.view.permission_classes
        )
        found_by_key = any(parameter["in"] == "path" for parameter in parameters)
        paginated = any(parameter["name"] == "page" for parameter in parameters)
        answers: list[tuple[str, ResolvedComponent, Any]] = []
        if has_body or reads_query or self.method != "GET":
            reasons = _("请求有误：逐个字段说明原因，不属于某个字段的原因在 non_field_errors 下")
            answers.append(("400", FIELD_ERRORS, reasons))
        if not public:
            answers.append(("403", ERROR_DETAIL, _("未登录、角色无效，或当前角色无权执行此操作")))
        if found_by_key or paginated:
            answers.append(
                ("404", ERROR_DETAIL, _("对象不存在或不在当前角色的范围内，或页码超出范围"))
            )
        if has_body:
            answers.append(("413", ERROR_DETAIL, _("请求内容过大。")))
            answers.append(("415", ERROR_DETAIL, _("请求内容不是 application/json")))
        return [(code, component, str(description)) for code, component, description in answers]
