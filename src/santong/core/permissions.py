"""The API's half of the scope rule: every request acts in one role, every queryset is scoped.

Views never filter by scope themselves: `ScopedViewSetMixin.get_queryset` asks the owning app's
selector with the active role, so an object outside the role's subtree simply does not exist
for the request (404), and a write to it never starts.
"""

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

ROLE_HEADER = "HTTP_X_SANTONG_ROLE"


class HasActiveRole(BasePermission):
    """Authenticated, and acting in one of the user's roles (X-Santong-Role or the session's)."""

    message = _("请先登录，并选择一个角色。")

    def has_permission(self, request: Request, view: "APIView") -> bool:
        from santong.accounts.middleware import SESSION_KEY
        from santong.accounts.selectors import active_role_for

        user = request.user
        if not user or not user.is_authenticated:
            return False
        wanted = request.META.get(ROLE_HEADER) or request.session.get(SESSION_KEY)
        role = active_role_for(user, wanted)  # type: ignore[arg-type]
        request.active_role = role  # type: ignore[attr-defined]
        request._request.active_role = role  # type: ignore[attr-defined]
        return role is not None


class IsAdministrator(HasActiveRole):
    message = _("当前角色无权执行此操作。")

    def has_permission(self, request: Request, view: "APIView") -> bool:
        from santong.accounts.roles import is_admin_kind

        return super().has_permission(request, view) and is_admin_kind(
            request.active_role.kind  # type: ignore[attr-defined]
        )


class ScopedViewSetMixin:
    """Each viewset names the selector that yields what the active role may read."""

    request: Request

    def scoped_queryset(self, role: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        role = getattr(self.request, "active_role", None)
        if role is None:
            from santong.accounts.models import Role

            return Role.objects.none()
        return self.scoped_queryset(role)
