"""What every page shares (the acting role, list pages with pagination and export), and home.

Pages act in `request.active_role`: a view decorated with `role_page` receives it as its second
argument and reads only through selectors called with it, so anything outside the role's
subtree is simply absent (404) rather than filtered here.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from santong.accounts import selectors as account_selectors
from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS, REGION_LEVEL, is_admin_kind
from santong.audit import selectors as audit_selectors
from santong.core.actors import Actor, client_ip
from santong.core.export import Export, export_xlsx
from santong.orgs import selectors as org_selectors

P = ParamSpec("P")
RoleView = Callable[Concatenate[HttpRequest, Role, P], HttpResponseBase]
PageView = Callable[Concatenate[HttpRequest, P], HttpResponseBase]

PAGE_SIZE = 50
TEACHER_KINDS = (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER)


def current_role(request: HttpRequest) -> Role | None:
    role = getattr(request, "active_role", None)
    if isinstance(role, SimpleLazyObject):
        return role._wrapped if role else None
    return role


def actor_for(request: HttpRequest, role: Role | None) -> Actor:
    return Actor(user=request.user, role=role, ip=client_ip(request))  # type: ignore[arg-type]


def role_page(*, admin: bool = False) -> Callable[[RoleView[P]], PageView[P]]:
    """Logged in and acting in a role (administrator roles only when `admin`)."""

    def decorate(view: RoleView[P]) -> PageView[P]:
        def page(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            role = current_role(request)
            if role is None:
                return render(request, "core/no_role.html", status=403)
            if admin and not is_admin_kind(role.kind):
                raise PermissionDenied(_("当前角色无权访问此页面。"))
            return view(request, role, *args, **kwargs)

        return cast(PageView[P], wraps(view)(page))

    return decorate


def list_page(
    request: HttpRequest,
    role: Role,
    *,
    template: str,
    queryset: QuerySet[Any],
    export: Export,
    context: dict[str, Any],
) -> HttpResponseBase:
    """A paginated list, or the same rows as `.xlsx` when asked with `?format=xlsx`."""
    if request.GET.get("format") == "xlsx":
        return export_xlsx(request=request, role=role, queryset=queryset, export=export)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    page_range = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    return render(request, template, {**context, "page": page, "page_range": page_range})


@role_page()
def home(request: HttpRequest, role: Role) -> HttpResponse:
    context: dict[str, Any] = {"role": role}
    if role.kind in ADMIN_KINDS:
        measures = (
            org_selectors.REGION_MEASURES
            if role.kind in REGION_LEVEL
            else org_selectors.SCHOOL_MEASURES
        )
        context["counts"] = org_selectors.unit_counts(role=role, path=role.path, measures=measures)
        context["counts"]["accounts"] = account_selectors.accounts(role=role).count()
        context["recent_events"] = list(audit_selectors.events(role=role)[:8])
        context["may_create_school"] = role.kind in REGION_LEVEL
        return render(request, "core/home_admin.html", context)
    school_class = (
        org_selectors.classes(role=role).filter(pk=role.school_class_id).first()
        if role.school_class_id is not None
        else None
    )
    members = list(
        account_selectors.roles(role=role)
        .filter(school_class_id=role.school_class_id)
        .order_by("kind", "user__person__name", "pk")
    )
    context.update(
        school_class=school_class,
        teachers=[m for m in members if m.kind in TEACHER_KINDS],
        students=[m for m in members if m.kind == Role.Kind.STUDENT],
        is_teacher=role.kind in TEACHER_KINDS,
    )
    return render(request, "core/home_class.html", context)
