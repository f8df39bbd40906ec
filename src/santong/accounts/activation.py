"""Account activation (首次登录激活): a person whose account was opened in bulk exchanges the
one-time code from the printed class list for a password of their own, and is logged in.

The page needs no login and no role, so it is not under the API's scope matrix: it reads
nothing but its own form, and every refusal reads the same (see `activate_account`).
"""

from typing import Any

from django import forms
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from santong.accounts import services
from santong.core.actors import Actor, client_ip
from santong.core.forms import StyledForm, apply_service_errors

BACKEND = "santong.accounts.backends.UsernameOrPhoneBackend"


class ActivationForm(StyledForm):
    username = forms.CharField(
        label=_("用户名"), max_length=64, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    code = forms.CharField(
        label=_("激活码"),
        max_length=32,
        help_text=_("班级名单上的10位激活码，不区分大小写。"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )
    new_password = forms.CharField(
        label=_("设置密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少10位，不能全为数字，不能与用户名或手机号相近，不能过于常见。"),
    )
    new_password2 = forms.CharField(
        label=_("确认密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("两次输入的密码不一致。"))
        return cleaned


@never_cache
@sensitive_post_parameters("code", "new_password", "new_password2")
def activate(request: HttpRequest) -> HttpResponse:
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.activate_account(
                actor=Actor(user=None, role=None, ip=client_ip(request)),
                username=data["username"],
                code=data["code"],
                new_password=data["new_password"],
            )
        except ValidationError as error:
            apply_service_errors(form, error, default_field="new_password")
        else:
            login(request, user, backend=BACKEND)
            return redirect("core:home")
    return render(request, "accounts/activate.html", {"form": form})
