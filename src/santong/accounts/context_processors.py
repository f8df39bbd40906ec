from typing import Any

from django.http import HttpRequest

from santong.accounts.selectors import roles_of


def active_role(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {}
    role = getattr(request, "active_role", None)
    return {
        "active_role": role if role else None,
        "my_roles": lambda: list(roles_of(request.user)),
    }
