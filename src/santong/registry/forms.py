"""Forms of the registry pages: list filters, 新生注册, requests and their decisions, teacher
records and moves, school profiles, and the units a rollover or a graduation covers.

Choices that name units come from the acting role's selectors, so a form offers and accepts only
units inside the role's subtree. The receiving school of a transfer or a move may lie anywhere
in the region, so it is found by code or name among the schools still open. The services check
every rule again, so a forged POST is refused there too.
"""

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from santong.accounts.models import Person, Role
from santong.accounts.roles import REGION_LEVEL
from santong.core.forms import ListFilterForm, StyledForm, choice_field
from santong.orgs import selectors as org_selectors
from santong.orgs.forms import SchoolCodeField, scoped_counties
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear, Subject
from santong.registry import selectors
from santong.registry.models import (
    ApprovalFlow,
    SchoolProfile,
    StudentRecord,
    StudentRequest,
    TeacherRecord,
)

# How many schools a search for the receiving school lists before asking for more letters.
MATCH_LIMIT = 10
NO_CODE = [("", "—")]
TEACHER_CODE_FIELDS = {
    "ethnicity": "ethnicity",
    "political_status": "political_status",
    "education": "education",
    "title": "teacher_title",
    "position": "teacher_position",
    "employment": "employment",
}
STUDENT_CODE_FIELDS = {"ethnicity": "ethnicity", "hukou": "hukou", "health": "health"}
OPTIONAL_CODES = ("political_status", "hukou", "health")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def date_field(label: Any, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=DATE_WIDGET, **kwargs)


def reason_field(label: Any = None, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label or _("理由"),
        max_length=200,
        required=required,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ClassChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A class, named with its school when the choices span several schools."""

    def __init__(self, *args: Any, with_school: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.with_school = with_school

    def label_from_instance(self, obj: Any) -> str:
        name = f"{obj.name}（{obj.school_year}）"
        return f"{obj.school.name} {name}" if self.with_school else name


def set_code_choices(form: forms.Form, fields: dict[str, str]) -> None:
    """Gives each coded field its table's active codes (one query for all of them)."""
    names = selectors.code_names(*fields.values(), include_inactive=False)
    for field, table in fields.items():
        if field not in form.fields:
            continue
        choices = list(names[table].items())
        optional = field in OPTIONAL_CODES
        form.fields[field].choices = (NO_CODE if optional else [("", "---------")]) + choices  # type: ignore[attr-defined]
        form.fields[field].required = not optional


def find_school(
    form: forms.Form, field: str, schools: QuerySet[School], *, exclude: School | None = None
) -> School | None:
    """The one school of `schools` that the text typed in `field` names (a code, or part of a
    name); otherwise an error on the field, and `form.matches` lists the candidates."""
    term = (form.cleaned_data.get(field) or "").strip()
    if not term:
        form.add_error(field, _("请填写学校标识码或学校名称。"))
        return None
    if exclude is not None:
        schools = schools.exclude(pk=exclude.pk)
    found = list(schools[: MATCH_LIMIT + 1])
    exact = [school for school in found if term in (school.code, school.name)]
    if len(exact) == 1:
        return exact[0]
    if not found:
        form.add_error(field, _("未找到该学校，或该学校已合并、撤销。"))
        return None
    if len(found) > 1:
        form.matches = found[:MATCH_LIMIT]  # type: ignore[attr-defined]
        if len(found) > MATCH_LIMIT:
            form.add_error(field, _("符合条件的学校太多，请输入更完整的名称或学校标识码。"))
        else:
            form.add_error(field, _("找到多所学校，请在下面选择一所。"))
        return None
    return found[0]


# --------------------------------------------------------------------------- 学籍


class StudentFilterForm(ListFilterForm):
    school = forms.CharField(label=_("学校标识码"), required=False, max_length=10)
    school_class = ClassChoiceField(
        label=_("班级"), queryset=SchoolClass.objects.none(), required=False, empty_label=_("全部")
    )
    grade = forms.ModelChoiceField(
        label=_("年级"), queryset=Grade.objects.all(), required=False, empty_label=_("全部")
    )
    status = choice_field(_("学籍状态"), StudentRecord.Status.choices)

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs["placeholder"] = _("姓名或学籍号")
        if role.kind not in REGION_LEVEL:
            del self.fields["school"]
        classes = org_selectors.classes(role=role).filter(school_year__is_current=True)
        school = (data or {}).get("school", "").strip() if role.kind in REGION_LEVEL else ""
        if role.kind == Role.Kind.SCHOOL_ADMIN:
            self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]
            self.fields["school_class"].with_school = True  # type: ignore[attr-defined]
        elif school:
            self.fields["school_class"].queryset = classes.filter(school__code=school)  # type: ignore[attr-defined]
        else:
            # A class list of a whole region would run to thousands; a school comes first.
            del self.fields["school_class"]

    @property
    def search(self) -> str:
        return str(self.values.get("q", ""))

    def filter(self, queryset: QuerySet[StudentRecord]) -> QuerySet[StudentRecord]:  # type: ignore[override]
        values = self.values
        if "school" in values:
            queryset = queryset.filter(school__code=values["school"])
        if "school_class" in values:
            queryset = queryset.filter(school_class=values["school_class"])
        if "grade" in values:
            queryset = queryset.filter(school_class__grade=values["grade"])
        if "status" in values:
            queryset = queryset.filter(status=values["status"])
        return queryset


class EnrolSchoolForm(StyledForm):
    """A regional administrator names the school first; its classes are then offered."""

    school = SchoolCodeField(School.objects.none(), label=_("学校标识码"))

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.fields["school"].queryset = org_selectors.schools(role=role)  # type: ignore[attr-defined]


class EnrolForm(StyledForm):
    school_class = ClassChoiceField(label=_("班级"), queryset=SchoolClass.objects.none())
    name = forms.CharField(label=_("姓名"), max_length=64)
    id_type = forms.ChoiceField(
        label=_("证件类型"), choices=Person.IdType.choices, initial=Person.IdType.RESIDENT
    )
    id_number = forms.CharField(
        label=_("证件号码"),
        max_length=32,
        required=False,
        help_text=_("无证件的学生留空，系统分配以 L 开头的临时学籍号。"),
    )
    gender = forms.ChoiceField(
        label=_("性别"),
        choices=[("", _("按证件号码自动识别")), *Person.Gender.choices],
        required=False,
    )
    birth_date = date_field(_("出生日期"), help_text=_("居民身份证可不填，由证件号码得出。"))
    ethnicity = forms.ChoiceField(label=_("民族"))
    hukou = forms.ChoiceField(label=_("户口性质"), required=False)
    health = forms.ChoiceField(label=_("健康状况"), required=False)
    enrolled_on = date_field(_("入学日期"), help_text=_("不填为今天。"))

    def __init__(
        self, *args: Any, classes: QuerySet[SchoolClass], with_school: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]
        self.fields["school_class"].with_school = with_school  # type: ignore[attr-defined]
        self.fields["ethnicity"].initial = "01"
        set_code_choices(self, STUDENT_CODE_FIELDS)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["gender"] = data["gender"] or None
        return data


class StudentEditForm(StyledForm):
    ethnicity = forms.ChoiceField(label=_("民族"))
    hukou = forms.ChoiceField(label=_("户口性质"), required=False)
    health = forms.ChoiceField(label=_("健康状况"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_code_choices(self, STUDENT_CODE_FIELDS)


class StudentIdForm(StyledForm):
    id_type = forms.ChoiceField(
        label=_("证件类型"),
        choices=[c for c in Person.IdType.choices if c[0] != Person.IdType.NONE],
        initial=Person.IdType.RESIDENT,
    )
    id_number = forms.CharField(label=_("证件号码"), max_length=32)


class TransferForm(StyledForm):
    """转学: to a school in the region (named by code or name), or out of it (typed name)."""

    WITHIN = "within"
    OUTSIDE = "outside"

    destination_kind = forms.ChoiceField(
        label=_("转往"),
        choices=[(WITHIN, _("本区域内的学校")), (OUTSIDE, _("本区域以外的学校"))],
        initial=WITHIN,
        widget=forms.RadioSelect,
    )
    to_school = forms.CharField(
        label=_("转入学校"),
        max_length=100,
        required=False,
        help_text=_("本区域内：输入学校标识码或学校名称的一部分。"),
    )
    destination = forms.CharField(
        label=_("转入学校名称（区域外）"),
        max_length=100,
        required=False,
        help_text=_("转往本区域以外时填写，由本方审批后办结。"),
    )
    reason = reason_field(_("转学理由"))

    def __init__(self, *args: Any, current: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self.matches: list[School] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("destination_kind")
        if kind == self.WITHIN:
            schools = selectors.receiving_schools(search=cleaned.get("to_school") or "")
            cleaned["school"] = find_school(self, "to_school", schools, exclude=self.current)
        elif kind == self.OUTSIDE and not (cleaned.get("destination") or "").strip():
            self.add_error("destination", _("请填写转入学校名称。"))
        return cleaned


class ResumeForm(StyledForm):
    school_class = ClassChoiceField(label=_("复学班级"), queryset=SchoolClass.objects.none())
    reason = reason_field(_("说明"), required=False)

    def __init__(self, *args: Any, classes: QuerySet[SchoolClass], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]


class ReasonForm(StyledForm):
    reason = reason_field()


class NoteForm(StyledForm):
    note = reason_field(_("审批意见"), required=False)


class AcceptForm(NoteForm):
    school_class = ClassChoiceField(label=_("转入班级"), queryset=SchoolClass.objects.none())

    field_order = ("school_class", "note")

    def __init__(self, *args: Any, classes: QuerySet[SchoolClass], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]


class RejectForm(StyledForm):
    reason = reason_field(_("驳回理由"))


class WithdrawForm(StyledForm):
    reason = reason_field(_("撤回说明"), required=False)


class FlowFilterForm(ListFilterForm):
    kind = choice_field(_("类型"), StudentRequest.Kind.choices)
    status = choice_field(_("状态"), ApprovalFlow.Status.choices)
    waiting = forms.BooleanField(label=_("只看待我处理"), required=False)

    def __init__(self, data: Any, *, with_kind: bool = True) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs["placeholder"] = _("姓名")
        if not with_kind:
            del self.fields["kind"]

    def filter(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        values = self.values
        for name in ("kind", "status"):
            if name in values:
                queryset = queryset.filter(**{name: values[name]})
        return queryset


# --------------------------------------------------------------------------- 教师


class TeacherFilterForm(ListFilterForm):
    school = forms.CharField(label=_("学校标识码"), required=False, max_length=10)
    status = choice_field(_("状态"), TeacherRecord.Status.choices)
    title = forms.ChoiceField(label=_("职称"), required=False)
    employment = forms.ChoiceField(label=_("用人形式"), required=False)

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs["placeholder"] = _("姓名")
        if role.kind not in REGION_LEVEL:
            del self.fields["school"]
        names = selectors.code_names("teacher_title", "employment", include_inactive=False)
        self.fields["title"].choices = [("", _("全部")), *names["teacher_title"].items()]  # type: ignore[attr-defined]
        self.fields["employment"].choices = [("", _("全部")), *names["employment"].items()]  # type: ignore[attr-defined]

    def filter(self, queryset: QuerySet[TeacherRecord]) -> QuerySet[TeacherRecord]:  # type: ignore[override]
        values = self.values
        if "school" in values:
            queryset = queryset.filter(school__code=values["school"])
        for name in ("status", "title", "employment"):
            if name in values:
                queryset = queryset.filter(**{name: values[name]})
        return queryset


class TeacherFactsForm(StyledForm):
    """The record facts a teacher's registration and edits share."""

    ethnicity = forms.ChoiceField(label=_("民族"))
    political_status = forms.ChoiceField(label=_("政治面貌"), required=False)
    education = forms.ChoiceField(label=_("最高学历"))
    title = forms.ChoiceField(label=_("职称"))
    title_since = date_field(_("取得职称日期"), help_text=_("职称变动时填写，不填为今天。"))
    position = forms.ChoiceField(label=_("岗位职务"))
    subjects = forms.ModelMultipleChoiceField(
        label=_("任教学科"),
        queryset=Subject.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    hired_on = forms.DateField(label=_("参加工作日期"), widget=DATE_WIDGET)
    employment = forms.ChoiceField(label=_("用人形式"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_code_choices(self, TEACHER_CODE_FIELDS)
        self.fields["subjects"].widget.attrs["class"] = "form-check-input"

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["subjects"] = tuple(subject.code for subject in data.get("subjects") or ())
        return data


class TeacherForm(TeacherFactsForm):
    school = forms.ModelChoiceField(label=_("学校"), queryset=School.objects.none())
    name = forms.CharField(label=_("姓名"), max_length=64)
    id_type = forms.ChoiceField(
        label=_("证件类型"),
        choices=[c for c in Person.IdType.choices if c[0] != Person.IdType.NONE],
        initial=Person.IdType.RESIDENT,
    )
    id_number = forms.CharField(label=_("证件号码"), max_length=32)
    gender = forms.ChoiceField(
        label=_("性别"),
        choices=[("", _("按证件号码自动识别")), *Person.Gender.choices],
        required=False,
    )
    birth_date = date_field(_("出生日期"), help_text=_("居民身份证可不填，由证件号码得出。"))

    person_fields = ("school", "name", "id_type", "id_number", "gender", "birth_date")

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = org_selectors.schools(role=role)
        if role.kind in REGION_LEVEL:
            self.fields["school"] = SchoolCodeField(schools, label=_("学校标识码"))
            self.fields["school"].widget.attrs["class"] = "form-control"
        else:
            self.fields["school"].queryset = schools  # type: ignore[attr-defined]
            self.fields["school"].initial = role.school_id
        self.order_fields([*self.person_fields])

    def person_section(self) -> list[Any]:
        return [self[name] for name in self.person_fields]

    def record_section(self) -> list[Any]:
        return [self[name] for name in self.fields if name not in self.person_fields]

    def service_fields(self) -> dict[str, Any]:
        data = super().service_fields()
        data["gender"] = data["gender"] or None
        return data


class TeacherTransferForm(StyledForm):
    to_school = forms.CharField(
        label=_("调入学校"),
        max_length=100,
        help_text=_("输入学校标识码或学校名称的一部分。"),
    )
    reason = reason_field(_("调动理由"))

    def __init__(self, *args: Any, current: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self.matches: list[School] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "to_school" in cleaned:
            schools = selectors.receiving_schools(search=cleaned["to_school"])
            cleaned["school"] = find_school(self, "to_school", schools, exclude=self.current)
        return cleaned


class TeacherLeaveForm(StyledForm):
    reason = reason_field(_("离岗事由"))
    on = date_field(_("离岗日期"), help_text=_("不填为今天。"))


class TeacherRetireForm(StyledForm):
    on = date_field(_("退休日期"), help_text=_("不填为今天。"))
    reason = reason_field(_("说明"), required=False)


class TeacherReturnForm(StyledForm):
    on = date_field(_("返岗日期"), help_text=_("不填为今天。"))


# --------------------------------------------------------------------------- 学校档案


class SchoolFilterForm(ListFilterForm):
    county = forms.ModelChoiceField(
        label=_("区县"), queryset=Region.objects.none(), required=False, empty_label=_("全部")
    )
    status = choice_field(_("办学状态"), SchoolProfile.Status.choices)
    kind = choice_field(_("学校类型"), School.Kind.choices)

    def __init__(self, data: Any, *, role: Role) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs["placeholder"] = _("学校名称或标识码")
        if role.kind in (Role.Kind.PROVINCE_ADMIN, Role.Kind.CITY_ADMIN):
            self.fields["county"].queryset = scoped_counties(role)  # type: ignore[attr-defined]
        else:
            del self.fields["county"]

    @property
    def registry_status(self) -> str:
        return str(self.values.get("status", ""))

    def filter(self, queryset: QuerySet[School]) -> QuerySet[School]:  # type: ignore[override]
        values = self.values
        if "q" in values:
            queryset = queryset.filter(Q(name__icontains=values["q"]) | Q(code=values["q"]))
        if "county" in values:
            queryset = queryset.filter(county=values["county"])
        if "kind" in values:
            queryset = queryset.filter(kind=values["kind"])
        return queryset


class SchoolProfileForm(StyledForm):
    name = forms.CharField(label=_("学校名称"), max_length=100)
    operator = forms.ChoiceField(label=_("办学类型"), choices=School.Operator.choices)
    locale = forms.ChoiceField(label=_("城乡类型"), choices=School.Locale.choices)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    principal = forms.CharField(label=_("校长"), max_length=64, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    founded_on = date_field(_("建校日期"))
    reason = reason_field(_("变更说明"), required=False)


class ConfirmMixin(StyledForm):
    """A decision with a confirmation step: the first POST checks the form and shows what will
    happen, the second (with `confirm`) carries it out."""

    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    @property
    def confirmed(self) -> bool:
        return bool(self.is_valid() and self.cleaned_data.get("confirm"))


class MergeForm(ConfirmMixin):
    into = forms.CharField(
        label=_("并入学校"),
        max_length=100,
        help_text=_("输入本辖区内学校的标识码或名称。"),
    )
    reason = reason_field(_("合并理由"))
    on = date_field(_("合并日期"), help_text=_("不填为今天。"))

    def __init__(self, *args: Any, role: Role, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = role
        self.school = school
        self.matches: list[School] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "into" in cleaned:
            term = cleaned["into"].strip()
            schools = selectors.schools(role=self.role, status=SchoolProfile.Status.OPEN)
            schools = (
                schools.filter(code=term)
                if term.isdigit()
                else schools.filter(name__icontains=term)
            ).order_by("code")
            cleaned["school"] = find_school(self, "into", schools, exclude=self.school)
        return cleaned


class CloseForm(ConfirmMixin):
    reason = reason_field(_("撤销理由"))
    on = date_field(_("停办日期"), help_text=_("不填为今天。"))


# --------------------------------------------------------------------------- 升级, 毕业


class UnitScopeForm(StyledForm):
    """The unit a set-based operation covers: the role's own unit, a region below it, or one
    school named by its code."""

    region = forms.ModelChoiceField(label=_("范围"), queryset=Region.objects.none(), required=False)
    school = SchoolCodeField(
        School.objects.none(),
        label=_("或只办理一所学校"),
        required=False,
        help_text=_("填写学校标识码，只处理该校（含其教学点）。"),
    )

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = role
        if role.kind in REGION_LEVEL:
            self.fields["region"].queryset = org_selectors.regions(role=role).order_by("code")  # type: ignore[attr-defined]
            self.fields["region"].empty_label = _("本单位全部（%(unit)s）") % {  # type: ignore[attr-defined]
                "unit": role.unit_name
            }
            self.fields["school"].queryset = org_selectors.schools(role=role)  # type: ignore[attr-defined]
        else:
            del self.fields["region"]
            del self.fields["school"]

    def unit(self) -> tuple[str, str]:
        """(path, name) of the chosen unit."""
        data = self.cleaned_data
        if data.get("school") is not None:
            return data["school"].path, data["school"].name
        if data.get("region") is not None:
            return data["region"].code, data["region"].name
        return self.role.path, self.role.unit_name


class RolloverForm(UnitScopeForm):
    school_year = forms.ModelChoiceField(
        label=_("原学年"), queryset=SchoolYear.objects.all(), empty_label=None
    )

    field_order = ("school_year", "region", "school")

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        super().__init__(*args, role=role, **kwargs)
        current = SchoolYear.objects.filter(is_current=True).first()
        if current is not None:
            self.fields["school_year"].initial = current.pk


class ConfirmRunForm(StyledForm):
    confirm = forms.BooleanField(
        label=_("我已核对预览结果，确认执行"),
        error_messages={"required": _("请勾选确认后再执行。")},
    )
