"""Pages of people, accounts and roles; login, logout, own password and the role switch."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from santong.accounts import selectors, services
from santong.accounts.forms import (
    ROLE_FIELD_ALIASES,
    AccountCreateForm,
    AccountFilterForm,
    GrantRoleForm,
    LoginForm,
    PasswordChangeForm,
    PersonFilterForm,
    RoleFilterForm,
)
from santong.accounts.middleware import SESSION_KEY
from santong.accounts.models import Person, Role
from santong.accounts.roles import ADMIN_KINDS
from santong.core.export import Column, Export
from santong.core.forms import apply_service_errors
from santong.core.views import actor_for, current_role, list_page, role_page

PERSON_EXPORT = Export(
    name=pgettext_lazy("list", "人员"),
    columns=[
        Column(gettext_lazy("姓名"), "name", width=12),
        Column(gettext_lazy("性别"), "gender", choices=Person.Gender.choices, width=6),
        Column(gettext_lazy("出生日期"), "birth_date", width=12),
        Column(gettext_lazy("证件类型"), "id_type", choices=Person.IdType.choices),
        Column(gettext_lazy("证件号码"), "id_masked", width=22),
        Column(gettext_lazy("账号"), "account__username"),
    ],
)

ACCOUNT_EXPORT = Export(
    name=pgettext_lazy("list", "账号"),
    columns=[
        Column(gettext_lazy("用户名"), "username"),
        Column(gettext_lazy("姓名"), "person__name", width=12),
        Column(gettext_lazy("证件号码"), "person__id_masked", width=22),
        Column(gettext_lazy("手机号"), "phone", width=14),
        Column(gettext_lazy("启用"), "is_active", width=8),
        Column(gettext_lazy("创建时间"), "date_joined", width=20),
        Column(gettext_lazy("最近登录"), "last_login", width=20),
    ],
)

ROLE_EXPORT = Export(
    name=pgettext_lazy("list", "角色"),
    columns=[
        Column(gettext_lazy("用户名"), "user__username"),
        Column(gettext_lazy("姓名"), "user__person__name", width=12),
        Column(gettext_lazy("角色"), "kind", choices=Role.Kind.choices, width=12),
        Column(gettext_lazy("行政区划"), "region__name"),
        Column(gettext_lazy("学校"), "school__name", width=30),
        Column(gettext_lazy("班级所在学校"), "school_class__school__name", width=30),
        Column(gettext_lazy("班级"), "school_class__name"),
        Column(gettext_lazy("学科"), "subject__name", width=10),
        Column(gettext_lazy("子女"), "child__name", width=12),
        Column(gettext_lazy("单位编码"), "path", width=32),
        Column(gettext_lazy("授予时间"), "created_at", width=20),
    ],
)


class SantongLoginView(LoginView):
    authentication_form = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class SantongLogoutView(LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Audited before Django's logout, which replaces the user with an anonymous one.
        if request.user.is_authenticated:
            services.record_logout(actor=actor_for(request, current_role(request)))
        return super().post(request, *args, **kwargs)


login = SantongLoginView.as_view()
logout = SantongLogoutView.as_view()


@never_cache
def password_change(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_own_password(
                actor=actor_for(request, current_role(request)),
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as error:
            apply_service_errors(form, error, default_field="new_password")
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改。"))
            return redirect("core:home")
    return render(request, "accounts/password_change.html", {"form": form})


@require_POST
def switch_role(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    role = selectors.active_role_for(request.user, request.POST.get("role"))
    if role is None or not request.POST.get("role"):
        messages.error(request, _("无法切换到该角色。"))
        return redirect("core:home")
    request.session[SESSION_KEY] = role.pk
    services.record_role_switch(actor=actor_for(request, role))
    messages.success(request, _("已切换为：%(role)s") % {"role": role})
    return redirect("core:home")


@role_page()
def person_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = PersonFilterForm(request.GET, role=role)
    queryset = (
        form.filter(selectors.people(role=role))
        .select_related("account")
        .prefetch_related(
            Prefetch("account__roles", queryset=selectors.roles(role=role), to_attr="visible")
        )
    )
    return list_page(
        request,
        role,
        template="accounts/person_list.html",
        queryset=queryset,
        export=PERSON_EXPORT,
        context={"form": form},
    )


def _person_page(
    request: HttpRequest, role: Role, pk: int, *, revealed: str | None = None
) -> HttpResponse:
    person = get_object_or_404(selectors.people(role=role).select_related("account"), pk=pk)
    response = render(
        request,
        "accounts/person_detail.html",
        {
            "person": person,
            "roles": list(selectors.roles(role=role).filter(user__person=person)),
            "account": getattr(person, "account", None),
            "revealed": revealed,
            "may_reveal": role.kind in ADMIN_KINDS and bool(person.id_masked),
        },
    )
    if revealed is not None:
        response["Cache-Control"] = "no-store"
    return response


@role_page()
def person_detail(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    return _person_page(request, role, pk)


@require_POST
@role_page(admin=True)
def person_reveal(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    person = get_object_or_404(selectors.people(role=role), pk=pk)
    number = services.reveal_id_number(
        actor=actor_for(request, role),
        person=person,
        path=selectors.person_unit_path(role=role, person=person),
    )
    return _person_page(request, role, pk, revealed=number)


@role_page(admin=True)
def account_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = AccountFilterForm(request.GET, role=role)
    queryset = form.filter(selectors.accounts(role=role)).prefetch_related(
        Prefetch("roles", queryset=selectors.roles(role=role), to_attr="visible")
    )
    return list_page(
        request,
        role,
        template="accounts/account_list.html",
        queryset=queryset,
        export=ACCOUNT_EXPORT,
        context={"form": form},
    )


def _account_page(
    request: HttpRequest,
    role: Role,
    pk: int,
    *,
    grant_form: GrantRoleForm | None = None,
    new_password: str | None = None,
) -> HttpResponse:
    account = get_object_or_404(selectors.accounts(role=role), pk=pk)
    context: dict[str, Any] = {
        "account": account,
        "roles": list(selectors.roles(role=role).filter(user=account)),
        "grant_form": grant_form or GrantRoleForm(role=role),
        "new_password": new_password,
        "is_self": account.pk == request.user.pk,
        "locked": services.is_locked(account),
    }
    response = render(request, "accounts/account_detail.html", context)
    if new_password is not None:
        response["Cache-Control"] = "no-store"
    return response


@role_page(admin=True)
def account_detail(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    return _account_page(request, role, pk)


@require_POST
@role_page(admin=True)
def account_set_active(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    account = get_object_or_404(selectors.accounts(role=role), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.set_account_active(actor=actor_for(request, role), user=account, active=active)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(_messages(error)))
    else:
        messages.success(request, _("账号已启用。") if active else _("账号已停用。"))
    return redirect("accounts:account_detail", pk=account.pk)


@require_POST
@role_page(admin=True)
def account_reset_password(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    account = get_object_or_404(selectors.accounts(role=role), pk=pk)
    password = services.reset_password(actor=actor_for(request, role), user=account)
    return _account_page(request, role, pk, new_password=password)


@require_POST
@role_page(admin=True)
def account_grant_role(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    account = get_object_or_404(selectors.accounts(role=role), pk=pk)
    form = GrantRoleForm(request.POST, role=role)
    if form.is_valid():
        try:
            granted = services.grant_role(
                actor=actor_for(request, role), user=account, **form.role_fields()
            )
        except (ValidationError, PermissionDenied) as error:
            apply_service_errors(form, error, aliases=ROLE_FIELD_ALIASES)
        else:
            messages.success(request, _("已授予角色：%(role)s") % {"role": granted})
            return redirect("accounts:account_detail", pk=account.pk)
    return _account_page(request, role, pk, grant_form=form)


@require_POST
@role_page(admin=True)
def role_revoke(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    target = get_object_or_404(selectors.roles(role=role), pk=pk)
    account_pk = target.user_id
    label = str(target)
    try:
        services.revoke_role(actor=actor_for(request, role), role=target)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(_messages(error)))
    else:
        messages.success(request, _("已撤销角色：%(role)s") % {"role": label})
    if selectors.accounts(role=role).filter(pk=account_pk).exists():
        return redirect("accounts:account_detail", pk=account_pk)
    return redirect("accounts:account_list")


@never_cache
@role_page(admin=True)
def account_create(request: HttpRequest, role: Role) -> HttpResponse:
    form = AccountCreateForm(request.POST or None, role=role)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = data["password"] or services.generate_password()
        try:
            user = services.create_person_with_account(
                actor=actor_for(request, role),
                name=data["name"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                gender=data["gender"] or None,
                birth_date=data["birth_date"],
                username=data["username"],
                phone=data["phone"] or None,
                password=password,
                **form.role_fields(),
            )
        except (ValidationError, PermissionDenied) as error:
            apply_service_errors(form, error, aliases=ROLE_FIELD_ALIASES, default_field="password")
        else:
            messages.success(request, _("已创建账号 %(username)s。") % {"username": user.username})
            shown = None if data["password"] else password
            return _account_page(request, role, user.pk, new_password=shown)
    return render(request, "accounts/account_form.html", {"form": form})


@role_page()
def role_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = RoleFilterForm(request.GET, role=role)
    queryset = form.filter(selectors.roles(role=role))
    return list_page(
        request,
        role,
        template="accounts/role_list.html",
        queryset=queryset,
        export=ROLE_EXPORT,
        context={"form": form, "may_revoke": role.kind in ADMIN_KINDS},
    )


def _messages(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)]
