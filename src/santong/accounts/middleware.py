"""Attaches the acting role to each request: the one chosen in the session, else the highest."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from santong.accounts.models import Role
from santong.accounts.selectors import active_role_for

SESSION_KEY = "santong_active_role"


def resolve_role(request: HttpRequest) -> Role | None:
    user = request.user
    if not user.is_authenticated:
        return None
    wanted = request.session.get(SESSION_KEY)
    role = active_role_for(user, wanted)
    if role is None and wanted:
        role = active_role_for(user, None)
    return role


class ActiveRoleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.active_role = SimpleLazyObject(lambda: resolve_role(request))  # type: ignore[attr-defined]
        return self.get_response(request)
