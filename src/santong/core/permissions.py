"""The API's half of the scope rule: every request acts in one role, every queryset is scoped.

Views never filter by scope themselves: `ScopedViewSetMixin.get_queryset` asks the owning app's
selector with the active role, so an object outside the role's subtree simply does not exist
for the request (404), and a write to it never starts.
"""

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView
    from rest_framework.views import APIView

    ViewSetBase = GenericAPIView[Any]
else:
    # DRF imports this module while `rest_framework.views` is still loading (it is named in
    # DEFAULT_PERMISSION_CLASSES), so the view classes exist here for the type checker only.
    ViewSetBase = object

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
        role = active_role_for(user, wanted)
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


class RoleKindMayAct(BasePermission):
    """The view's `action_roles` names the role kinds that may run each listed action.

    Used after `HasActiveRole`. It answers 403 before any object is looked up, so a role that
    may never run an action learns nothing about which objects exist; actions not listed are
    open to every role, their reach being whatever the selectors let the role see.
    """

    message = _("当前角色无权执行此操作。")

    def has_permission(self, request: Request, view: "APIView") -> bool:
        action_roles: dict[str, Collection[str]] = getattr(view, "action_roles", {})
        allowed = action_roles.get(getattr(view, "action", None) or "")
        if allowed is None:
            return True
        role = getattr(request, "active_role", None)
        return role is not None and role.kind in allowed


class ScopedViewSetMixin(ViewSetBase):
    """Each viewset names the selector that yields what the active role may read, and in
    `action_roles` the role kinds that may run each write."""

    permission_classes = (HasActiveRole, RoleKindMayAct)
    action_roles: dict[str, Collection[str]] = {}

    def scoped_queryset(self, role: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        role = getattr(self.request, "active_role", None)
        if role is None:
            # No role (e.g. the schema generator inspecting the view): nothing, of the right model.
            model = self.get_serializer_class().Meta.model  # type: ignore[attr-defined]
            none: QuerySet[Any] = model._default_manager.none()
            return none
        return self.scoped_queryset(role)
