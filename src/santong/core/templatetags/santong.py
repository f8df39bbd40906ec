"""Template helpers of the pages: active navigation, role kinds, and list filter summaries."""

from typing import Any

from django import template
from django.http import HttpRequest

from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS, REGION_LEVEL

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_active(context: dict[str, Any], *view_prefixes: str) -> str:
    """ "active" when the current view's name starts with one of `view_prefixes`."""
    request: HttpRequest | None = context.get("request")
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match is not None else ""
    return "active" if any(name.startswith(prefix) for prefix in view_prefixes) else ""


@register.filter
def is_admin(role: Role | None) -> bool:
    return bool(role) and role is not None and role.kind in ADMIN_KINDS


@register.filter
def is_regional_admin(role: Role | None) -> bool:
    return bool(role) and role is not None and role.kind in REGION_LEVEL


@register.filter
def role_icon(kind: str) -> str:
    icons: dict[str, str] = {
        Role.Kind.PROVINCE_ADMIN: "bi-bank",
        Role.Kind.CITY_ADMIN: "bi-buildings",
        Role.Kind.COUNTY_ADMIN: "bi-building",
        Role.Kind.SCHOOL_ADMIN: "bi-mortarboard",
        Role.Kind.HEAD_TEACHER: "bi-person-video3",
        Role.Kind.SUBJECT_TEACHER: "bi-journal-text",
        Role.Kind.STUDENT: "bi-backpack",
        Role.Kind.PARENT: "bi-people",
    }
    return icons.get(kind, "bi-person")


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")
