"""People, accounts, roles, the signed-in account and API tokens over the API."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from santong.accounts import selectors, services
from santong.accounts.middleware import SESSION_KEY
from santong.accounts.models import Person, Role, User
from santong.accounts.roles import ADMIN_KINDS
from santong.accounts.serializers import (
    AccountCreateSerializer,
    AccountSerializer,
    MeSerializer,
    NewPasswordSerializer,
    PersonSerializer,
    RevealedIdNumberSerializer,
    RoleGrantSerializer,
    RoleSerializer,
    SwitchRoleSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from santong.core.api import IdFilter, parse_input, request_actor
from santong.core.filters import FilterSet
from santong.core.permissions import HasActiveRole, ScopedViewSetMixin


class PersonFilter(FilterSet):
    class Meta:
        model = Person
        fields = ["gender", "id_type"]


class PersonViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Person]):
    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    search_fields = ["name"]
    ordering_fields = ["name", "birth_date", "created_at"]
    action_roles = {"reveal": ADMIN_KINDS}

    def scoped_queryset(self, role: Role) -> QuerySet[Person]:
        return selectors.people(role=role)

    @extend_schema(request=None, responses={200: RevealedIdNumberSerializer})
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, pk: Any = None) -> Response:
        """The person's full ID number; every call is written to the audit log."""
        person = self.get_object()
        number = services.reveal_id_number(
            actor=request_actor(request),
            person=person,
            path=selectors.person_unit_path(role=request.active_role, person=person),  # type: ignore[attr-defined]
        )
        return Response(RevealedIdNumberSerializer({"id_number": number}).data)


class AccountFilter(FilterSet):
    class Meta:
        model = User
        fields = ["is_active"]


class AccountViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[User],
):
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    search_fields = ["username", "phone", "person__name"]
    ordering_fields = ["username", "date_joined", "last_login"]
    action_roles = {
        "create": ADMIN_KINDS,
        "activate": ADMIN_KINDS,
        "deactivate": ADMIN_KINDS,
        "reset_password": ADMIN_KINDS,
    }

    def scoped_queryset(self, role: Role) -> QuerySet[User]:
        return selectors.accounts(role=role).order_by("username")

    @extend_schema(request=AccountCreateSerializer, responses={201: AccountSerializer})
    def create(self, request: Request) -> Response:
        """Registers a person and opens their account with its first role, in one step."""
        data = parse_input(AccountCreateSerializer, request, self.get_serializer_context())
        user = services.create_person_with_account(actor=request_actor(request), **data)
        return Response(self.get_serializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: AccountSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: Any = None) -> Response:
        user = services.set_account_active(
            actor=request_actor(request), user=self.get_object(), active=True
        )
        return Response(self.get_serializer(user).data)

    @extend_schema(request=None, responses={200: AccountSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: Any = None) -> Response:
        user = services.set_account_active(
            actor=request_actor(request), user=self.get_object(), active=False
        )
        return Response(self.get_serializer(user).data)

    @extend_schema(request=None, responses={200: NewPasswordSerializer})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request: Request, pk: Any = None) -> Response:
        """Sets a new random password, returned once, to be handed to its owner in person."""
        password = services.reset_password(actor=request_actor(request), user=self.get_object())
        return Response(NewPasswordSerializer({"password": password}).data)


class RoleFilter(FilterSet):
    user = IdFilter(field_name="user_id")

    class Meta:
        model = Role
        fields = ["user", "kind"]


class RoleViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Role],
):
    serializer_class = RoleSerializer
    filterset_class = RoleFilter
    search_fields = ["user__username", "user__person__name"]
    ordering_fields = ["path", "kind", "created_at"]
    action_roles = {"create": ADMIN_KINDS, "destroy": ADMIN_KINDS}

    def scoped_queryset(self, role: Role) -> QuerySet[Role]:
        return selectors.roles(role=role)

    @extend_schema(request=RoleGrantSerializer, responses={201: RoleSerializer})
    def create(self, request: Request) -> Response:
        """Grants a role bound to a unit inside the acting role's scope."""
        data = parse_input(RoleGrantSerializer, request, self.get_serializer_context())
        role = services.grant_role(actor=request_actor(request), **data)
        return Response(self.get_serializer(role).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: Any = None) -> Response:
        """Revokes the role."""
        services.revoke_role(actor=request_actor(request), role=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@dataclass(frozen=True)
class Me:
    user: User
    active_role: Role
    roles: list[Role]


def me_of(request: Request) -> Me:
    user: User = request.user  # type: ignore[assignment]
    return Me(
        user=user,
        active_role=request.active_role,  # type: ignore[attr-defined]
        roles=list(selectors.roles_of(user)),
    )


class MeView(APIView):
    permission_classes = (HasActiveRole,)

    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        """The signed-in account, the role it acts in and the roles it may switch to."""
        return Response(MeSerializer(me_of(request)).data)


class SwitchRoleView(APIView):
    permission_classes = (HasActiveRole,)

    @extend_schema(request=SwitchRoleSerializer, responses={200: MeSerializer})
    def post(self, request: Request) -> Response:
        """Acts in another of the account's own roles from now on (kept in the session; a
        request that names a role in the X-Santong-Role header still acts in that one)."""
        data = parse_input(SwitchRoleSerializer, request, {"request": request})
        role: Role = data["role"]
        request.session[SESSION_KEY] = role.pk
        request.active_role = role  # type: ignore[attr-defined]
        request._request.active_role = role  # type: ignore[attr-defined]
        services.record_role_switch(actor=request_actor(request))
        return Response(MeSerializer(me_of(request)).data)


class TokenObtainView(APIView):
    """Exchanges a username (or phone number) and password for an API token.

    Django's `authenticate` refuses locked and inactive accounts and signals every failure,
    which the audit log records and the lockout counts.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        data = parse_input(TokenRequestSerializer, request, {"request": request})
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if not isinstance(user, User):
            raise exceptions.ValidationError(
                {"non_field_errors": [_("用户名或密码不正确，或账号已停用或暂时锁定。")]}
            )
        user_logged_in.send(sender=User, request=request._request, user=user)
        return Response(TokenSerializer({"token": services.issue_api_token(user=user)}).data)
