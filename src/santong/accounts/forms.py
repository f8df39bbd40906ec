"""Forms of the account pages: login, own password, list filters, granting roles, new accounts.

A role form offers only role kinds at or below the acting role's rank and only units inside
its subtree (each unit field's queryset comes from a selector called with the acting role);
the services check both again, so a forged POST is refused there too.
"""

import math
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from santong.accounts import selectors
from santong.accounts.models import Person, Role, User
from santong.accounts.roles import RANK
from santong.accounts.services import is_locked
from santong.core.forms import BootstrapFormMixin, ListFilterForm, StyledForm, choice_field
from santong.orgs import selectors as org_selectors
from santong.orgs.forms import SchoolCodeField
from santong.orgs.models import Region, School, SchoolClass, Subject

TEACHER = "teacher"
TEACHER_KINDS = (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER)
# The service's field names that the role forms show under another name.
ROLE_FIELD_ALIASES = {"child": "child_account"}


class LoginForm(BootstrapFormMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名（或手机号）或密码不正确。"),
        "inactive": _("该账号已停用，请联系管理员。"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("用户名或手机号")
        self.fields["username"].widget.attrs["autocomplete"] = "username"
        self.fields["password"].label = _("密码")
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            self._explain_refusal()
            raise

    def _explain_refusal(self) -> None:
        """A locked or disabled account says so: the person can then wait or ask for help,
        rather than retrying a password that was right."""
        user = selectors.login_account(self.cleaned_data.get("username") or "")
        if user is None:
            return
        user.refresh_from_db(fields=["failed_logins", "locked_until", "is_active"])
        if is_locked(user):
            assert user.locked_until is not None
            minutes = max(1, math.ceil((user.locked_until - timezone.now()).total_seconds() / 60))
            raise ValidationError(
                _("登录失败次数过多，账号已临时锁定，请 %(minutes)s 分钟后再试。"),
                code="locked",
                params={"minutes": minutes},
            )
        password = self.cleaned_data.get("password") or ""
        if not user.is_active and user.check_password(password):
            raise ValidationError(self.error_messages["inactive"], code="inactive")


class PasswordChangeForm(StyledForm):
    old_password = forms.CharField(
        label=_("原密码"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password = forms.CharField(
        label=_("新密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少10位，不能全为数字，不能与用户名或手机号相近，不能过于常见。"),
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        return cleaned


def role_kind_choices() -> list[tuple[str, Any]]:
    return [(TEACHER, _("教师（班主任和任课教师）")), *Role.Kind.choices]


def _kind_q(kind: str) -> Q:
    return Q(kind__in=TEACHER_KINDS) if kind == TEACHER else Q(kind=kind)


class PersonFilterForm(ListFilterForm):
    kind = choice_field(_("角色"), role_kind_choices())

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.role = role
        self.fields["q"].widget.attrs["placeholder"] = _("姓名")

    def filter(self, queryset: QuerySet[Person]) -> QuerySet[Person]:  # type: ignore[override]
        values = self.values
        if "q" in values:
            queryset = queryset.filter(name__icontains=values["q"])
        if "kind" in values:
            holding = selectors.roles(role=self.role).filter(
                _kind_q(values["kind"]), user__person=OuterRef("pk")
            )
            queryset = queryset.filter(Exists(holding))
        return queryset


class AccountFilterForm(ListFilterForm):
    kind = choice_field(_("角色"), role_kind_choices())
    active = choice_field(_("状态"), [("1", _("启用")), ("0", _("停用"))])

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.role = role
        self.fields["q"].widget.attrs["placeholder"] = _("用户名、姓名或手机号")

    def filter(self, queryset: QuerySet[User]) -> QuerySet[User]:  # type: ignore[override]
        values = self.values
        if "q" in values:
            q = values["q"]
            queryset = queryset.filter(
                Q(username__icontains=q) | Q(person__name__icontains=q) | Q(phone=q)
            )
        if "kind" in values:
            holding = selectors.roles(role=self.role).filter(
                _kind_q(values["kind"]), user=OuterRef("pk")
            )
            queryset = queryset.filter(Exists(holding))
        if "active" in values:
            queryset = queryset.filter(is_active=values["active"] == "1")
        return queryset


class RoleFilterForm(ListFilterForm):
    kind = choice_field(_("角色"), role_kind_choices())

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs["placeholder"] = _("用户名或姓名")

    def filter(self, queryset: QuerySet[Role]) -> QuerySet[Role]:  # type: ignore[override]
        values = self.values
        if "q" in values:
            q = values["q"]
            queryset = queryset.filter(
                Q(user__username__icontains=q) | Q(user__person__name__icontains=q)
            )
        if "kind" in values:
            queryset = queryset.filter(_kind_q(values["kind"]))
        return queryset


class ClassChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.school.name} {obj.name}（{obj.school_year}）"


class RoleUnitFields(StyledForm):
    """The role part of a form: its kind and the unit it binds to, within the acting scope."""

    kind = forms.ChoiceField(label=_("角色"))
    region = forms.ModelChoiceField(
        label=_("行政区划"), queryset=Region.objects.none(), required=False
    )
    school = SchoolCodeField(
        School.objects.none(),
        label=_("学校标识码"),
        required=False,
        help_text=_("学校管理员填写：10位学校标识码。"),
    )
    school_class = forms.ModelChoiceField(
        label=_("班级编码"),
        queryset=SchoolClass.objects.none(),
        required=False,
        to_field_name="path",
        widget=forms.TextInput,
        help_text=_("班级角色填写：班级页面上显示的班级编码。"),
        error_messages={"invalid_choice": _("未找到该班级编码，或该班级不在您的管理范围内。")},
    )
    subject = forms.ModelChoiceField(
        label=_("学科"),
        queryset=Subject.objects.all(),
        required=False,
        help_text=_("任课教师填写。"),
    )
    child_account = forms.ModelChoiceField(
        label=_("子女的学生账号"),
        queryset=User.objects.none(),
        required=False,
        to_field_name="username",
        widget=forms.TextInput,
        help_text=_("家长填写：子女学生账号的用户名。"),
        error_messages={"invalid_choice": _("未找到该学生账号，或不在您的管理范围内。")},
    )

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rank = RANK[role.kind]
        self.fields["kind"].choices = [  # type: ignore[attr-defined]
            ("", "---------"),
            *((value, label) for value, label in Role.Kind.choices if RANK[value] >= rank),
        ]
        regions = org_selectors.regions(role=role).order_by("code")
        if role.kind in (Role.Kind.PROVINCE_ADMIN, Role.Kind.CITY_ADMIN, Role.Kind.COUNTY_ADMIN):
            self.fields["region"].queryset = regions  # type: ignore[attr-defined]
            self.fields["region"].help_text = _("省级、市级、区县管理员选择所管辖的行政区划。")
        else:
            del self.fields["region"]
        self.fields["school"].queryset = org_selectors.schools(role=role)  # type: ignore[attr-defined]
        classes = org_selectors.classes(role=role)
        if role.kind == Role.Kind.SCHOOL_ADMIN:
            self.fields["school_class"] = ClassChoiceField(
                label=_("班级"),
                queryset=classes.order_by("-school_year__start_year", "grade__order", "number"),
                required=False,
                help_text=_("班级角色选择。"),
            )
            self.fields["school"].initial = role.school.code if role.school else None
        else:
            self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]
        self.fields["child_account"].queryset = selectors.accounts(role=role)  # type: ignore[attr-defined]
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        child_account = cleaned.get("child_account")
        if child_account is not None and child_account.person_id is None:
            self.add_error("child_account", _("该账号没有登记人员信息。"))
        return cleaned

    def role_fields(self) -> dict[str, Any]:
        """The keyword arguments the account services take for the role."""
        data = self.cleaned_data
        child_account = data.get("child_account")
        return {
            "kind": data["kind"],
            "region": data.get("region"),
            "school": data.get("school"),
            "school_class": data.get("school_class"),
            "subject": data.get("subject"),
            "child": child_account.person if child_account is not None else None,
        }


class GrantRoleForm(RoleUnitFields):
    pass


class AccountCreateForm(RoleUnitFields):
    name = forms.CharField(label=_("姓名"), max_length=64)
    gender = forms.ChoiceField(
        label=_("性别"),
        choices=[("", _("按证件号码自动识别")), *Person.Gender.choices],
        required=False,
    )
    id_type = forms.ChoiceField(
        label=_("证件类型"), choices=Person.IdType.choices, initial=Person.IdType.RESIDENT
    )
    id_number = forms.CharField(label=_("证件号码"), max_length=32, required=False)
    birth_date = forms.DateField(
        label=_("出生日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("居民身份证可不填，由证件号码得出。"),
    )
    username = forms.CharField(label=_("用户名"), max_length=64)
    phone = forms.CharField(label=_("手机号"), max_length=11, required=False)
    password = forms.CharField(
        label=_("初始密码"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("留空则自动生成，并在创建后显示一次。"),
    )

    person_fields = ("name", "gender", "id_type", "id_number", "birth_date")
    account_fields = ("username", "phone", "password")
    role_field_names = ("kind", "region", "school", "school_class", "subject", "child_account")

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        super().__init__(*args, role=role, **kwargs)
        order = [*self.person_fields, *self.account_fields, *self.role_field_names]
        self.order_fields([name for name in order if name in self.fields])

    def section(self, names: tuple[str, ...]) -> list[Any]:
        return [self[name] for name in names if name in self.fields]

    def person_section(self) -> list[Any]:
        return self.section(self.person_fields)

    def account_section(self) -> list[Any]:
        return self.section(self.account_fields)

    def role_section(self) -> list[Any]:
        return self.section(self.role_field_names)
