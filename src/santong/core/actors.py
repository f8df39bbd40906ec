"""Who is acting: services take an `Actor`, so audit rows and scope checks need no request."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from santong.core.scope import contains

if TYPE_CHECKING:
    from santong.accounts.models import Role, User


class ScopeError(PermissionDenied):
    """The acting role reached outside its unit's subtree, or beyond what its role may do."""


@dataclass(frozen=True)
class Actor:
    user: "User | None"
    role: "Role | None"
    ip: str | None = None
    is_system: bool = False

    @property
    def scope_path(self) -> str | None:
        """The root of what this actor may touch; None means nothing."""
        if self.is_system:
            return ""
        if self.role is not None:
            return self.role.path
        if self.user is not None and self.user.is_superuser:
            return ""
        return None

    def require_within(self, path: str) -> None:
        root = self.scope_path
        if root is None or not contains(root, path):
            raise ScopeError(_("该对象不在您的管理范围内。"))

    def require_admin(self) -> None:
        from santong.accounts.roles import is_admin_kind

        if self.role is None:
            if self.is_system or (self.user is not None and self.user.is_superuser):
                return
            raise ScopeError(_("当前角色无权执行此操作。"))
        if not is_admin_kind(self.role.kind):
            raise ScopeError(_("当前角色无权执行此操作。"))


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def actor_from_request(request: HttpRequest) -> Actor:
    user = request.user if request.user.is_authenticated else None
    return Actor(user=user, role=getattr(request, "active_role", None), ip=client_ip(request))


# The installer and command-line tools acting with the whole tree in scope (`santong demo`).
SYSTEM = Actor(user=None, role=None, ip=None, is_system=True)
