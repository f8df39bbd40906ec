"""Forms of the org pages: list filters and the create-school and create-class forms.

Choices that name units are built from the acting role's selectors, so a form can only offer,
and only accept, units inside the role's subtree.
"""

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from santong.accounts.models import Role
from santong.accounts.roles import REGION_LEVEL
from santong.core.forms import ListFilterForm, StyledForm, choice_field
from santong.orgs import selectors
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear
from santong.orgs.services import SCHOOL_KIND_STAGES


def scoped_counties(role: Role) -> QuerySet[Region]:
    return selectors.regions(role=role).filter(level=Region.Level.COUNTY).order_by("code")


class SchoolCodeField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A school named by its 10-digit code (学校标识码), typed rather than picked from a list
    that could hold thousands of schools."""

    def __init__(self, queryset: QuerySet[School], **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric"}))
        super().__init__(
            queryset,
            to_field_name="code",
            error_messages={
                "invalid_choice": _("未找到该学校标识码，或该学校不在您的管理范围内。")
            },
            **kwargs,
        )


class SchoolFilterForm(ListFilterForm):
    county = forms.ModelChoiceField(
        label=_("区县"), queryset=Region.objects.none(), required=False, empty_label=_("全部")
    )
    kind = choice_field(_("学校类型"), School.Kind.choices)
    operator = choice_field(_("办学类型"), School.Operator.choices)
    locale = choice_field(_("城乡类型"), School.Locale.choices)

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs["placeholder"] = _("学校名称或标识码")
        counties = scoped_counties(role)
        self.fields["county"].queryset = counties  # type: ignore[attr-defined]
        if role.kind in (Role.Kind.COUNTY_ADMIN, Role.Kind.SCHOOL_ADMIN):
            del self.fields["county"]

    def filter(self, queryset: QuerySet[School]) -> QuerySet[School]:  # type: ignore[override]
        values = self.values
        if "q" in values:
            queryset = queryset.filter(Q(name__icontains=values["q"]) | Q(code=values["q"]))
        if "county" in values:
            queryset = queryset.filter(county=values["county"])
        for name in ("kind", "operator", "locale"):
            if name in values:
                queryset = queryset.filter(**{name: values[name]})
        return queryset


class ClassFilterForm(ListFilterForm):
    school = forms.CharField(label=_("学校标识码"), required=False, max_length=10)
    grade = forms.ModelChoiceField(
        label=_("年级"), queryset=Grade.objects.all(), required=False, empty_label=_("全部")
    )
    school_year = forms.ModelChoiceField(
        label=_("学年"), queryset=SchoolYear.objects.all(), required=False, empty_label=_("全部")
    )

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs["placeholder"] = _("班级名称")
        if role.kind not in REGION_LEVEL:
            del self.fields["school"]

    def filter(self, queryset: QuerySet[SchoolClass]) -> QuerySet[SchoolClass]:  # type: ignore[override]
        values = self.values
        if "q" in values:
            queryset = queryset.filter(name__icontains=values["q"])
        if "school" in values:
            queryset = queryset.filter(school__code=values["school"])
        if "grade" in values:
            queryset = queryset.filter(grade=values["grade"])
        if "school_year" in values:
            queryset = queryset.filter(school_year=values["school_year"])
        return queryset


class SchoolForm(StyledForm):
    code = forms.CharField(
        label=_("学校标识码"),
        max_length=10,
        help_text=_("10位数字，由教育部门统一编制。"),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    name = forms.CharField(label=_("学校名称"), max_length=100)
    kind = forms.ChoiceField(label=_("学校类型"), choices=School.Kind.choices)
    operator = forms.ChoiceField(label=_("办学类型"), choices=School.Operator.choices)
    locale = forms.ChoiceField(label=_("城乡类型"), choices=School.Locale.choices)
    county = forms.ModelChoiceField(label=_("所属区县"), queryset=Region.objects.none())
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    host_school = SchoolCodeField(
        School.objects.none(),
        label=_("主校标识码"),
        required=False,
        help_text=_("仅教学点填写：其主校的学校标识码。"),
    )

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        counties = scoped_counties(role)
        self.fields["county"].queryset = counties  # type: ignore[attr-defined]
        self.fields["host_school"].queryset = selectors.schools(role=role)  # type: ignore[attr-defined]
        if role.kind == Role.Kind.COUNTY_ADMIN:
            self.fields["county"].initial = role.region_id
            self.fields["county"].empty_label = None  # type: ignore[attr-defined]


class ClassForm(StyledForm):
    school_year = forms.ModelChoiceField(
        label=_("学年"), queryset=SchoolYear.objects.all(), empty_label=None
    )
    grade = forms.ModelChoiceField(label=_("年级"), queryset=Grade.objects.all())
    number = forms.IntegerField(label=_("班号"), min_value=1, max_value=99)

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = SchoolYear.objects.filter(is_current=True).first()
        if current is not None:
            self.fields["school_year"].initial = current.pk
        stages = SCHOOL_KIND_STAGES.get(school.kind)
        if stages:
            self.fields["grade"].queryset = Grade.objects.filter(  # type: ignore[attr-defined]
                stage__in=stages
            )
