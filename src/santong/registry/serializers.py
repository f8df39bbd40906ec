"""What the registries look like over the API, and what a client may send to change them.

ID numbers, and the national student numbers that contain them, only ever leave masked here;
the clear number has its own audited endpoint (`students/{id}/reveal-number/`). Coded facts
(民族, 学历, 职称 ...) travel as their codes; `code-tables/` names them.
"""

import re
from typing import TYPE_CHECKING, Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from santong.accounts.models import Person, Role
from santong.core.api import (
    InputSerializer,
    KeyRelatedField,
    ScopedPrimaryKeyRelatedField,
    TextField,
)
from santong.orgs import selectors as org_selectors
from santong.orgs.models import Region, School, SchoolClass, SchoolYear
from santong.registry import selectors
from santong.registry.models import (
    ApprovalFlow,
    CodeTable,
    CodeValue,
    SchoolChange,
    SchoolProfile,
    StudentEvent,
    StudentRecord,
    StudentRequest,
    TeacherEvent,
    TeacherRecord,
    TeacherTransfer,
    TitleHistory,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    Label = str | _StrPromise
else:
    Label = str

CODE_LENGTH = 2
REASON_LENGTH = 200

# --------------------------------------------------------------------------- code tables


class CodeValueSerializer(serializers.ModelSerializer[CodeValue]):
    class Meta:
        model = CodeValue
        fields = ["code", "name", "order", "active"]


class CodeTableSerializer(serializers.ModelSerializer[CodeTable]):
    values = CodeValueSerializer(many=True, read_only=True, label=_("代码"))

    class Meta:
        model = CodeTable
        fields = ["name", "title", "standard", "values"]


def coded(label: Label, table: str, **kwargs: Any) -> serializers.CharField:
    """A code of `table`, checked against the table by the registry's services."""
    return serializers.CharField(
        label=label,
        max_length=CODE_LENGTH,
        help_text=format_lazy(_("代码表 {table} 中的代码"), table=table),
        **kwargs,
    )


REASON = _("理由")


def reason_field(*, required: bool, label: Label = REASON) -> TextField:
    if required:
        return TextField(label=label, max_length=REASON_LENGTH)
    return TextField(
        label=label, max_length=REASON_LENGTH, required=False, allow_blank=True, default=""
    )


def optional_date(label: Label) -> serializers.DateField:
    return serializers.DateField(label=label, required=False, allow_null=True, default=None)


# --------------------------------------------------------------------------- 学校库


class SchoolProfileSerializer(serializers.ModelSerializer[School]):
    """A school with its registered facts; a school nobody has edited yet has no profile row,
    so its profile fields are null and it is open."""

    kind_display = serializers.CharField(
        source="get_kind_display", read_only=True, label=_("学校类型名称")
    )
    operator_display = serializers.CharField(
        source="get_operator_display", read_only=True, label=_("办学类型名称")
    )
    locale_display = serializers.CharField(
        source="get_locale_display", read_only=True, label=_("城乡类型名称")
    )
    county_name = serializers.CharField(source="county.name", read_only=True, label=_("区县"))
    status = serializers.ChoiceField(
        source="registry_status",
        choices=SchoolProfile.Status.choices,
        read_only=True,
        label=_("办学状态"),
    )
    status_display = serializers.SerializerMethodField(label=_("办学状态名称"))
    principal = serializers.CharField(
        source="profile.principal", read_only=True, allow_null=True, label=_("校长")
    )
    phone = serializers.CharField(
        source="profile.phone", read_only=True, allow_null=True, label=_("联系电话")
    )
    founded_on = serializers.DateField(
        source="profile.founded_on", read_only=True, allow_null=True, label=_("建校日期")
    )
    merged_into = serializers.IntegerField(
        source="profile.merged_into_id", read_only=True, allow_null=True, label=_("并入学校")
    )
    merged_into_name = serializers.CharField(
        source="profile.merged_into.name",
        read_only=True,
        allow_null=True,
        label=_("并入学校名称"),
    )
    closed_on = serializers.DateField(
        source="profile.closed_on", read_only=True, allow_null=True, label=_("停办日期")
    )

    class Meta:
        model = School
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "kind_display",
            "operator",
            "operator_display",
            "locale",
            "locale_display",
            "address",
            "county",
            "county_name",
            "status",
            "status_display",
            "principal",
            "phone",
            "founded_on",
            "merged_into",
            "merged_into_name",
            "closed_on",
            "updated_at",
        ]

    def get_status_display(self, school: School) -> str:
        return str(SchoolProfile.Status(school.registry_status).label)  # type: ignore[attr-defined]


class SchoolProfileUpdateSerializer(InputSerializer):
    """The facts a school and its bureaus keep up to date; the code and place in the tree
    never change here. `reason` is kept with each change."""

    name = TextField(label=_("学校名称"), max_length=100, required=False)
    operator = serializers.ChoiceField(
        label=_("办学类型"), choices=School.Operator.choices, required=False
    )
    locale = serializers.ChoiceField(
        label=_("城乡类型"), choices=School.Locale.choices, required=False
    )
    address = TextField(label=_("地址"), max_length=200, required=False, allow_blank=True)
    principal = TextField(label=_("校长"), max_length=64, required=False, allow_blank=True)
    phone = TextField(
        label=_("联系电话"), max_length=20, required=False, allow_blank=True, form="NFKC"
    )
    founded_on = serializers.DateField(label=_("建校日期"), required=False, allow_null=True)
    reason = reason_field(required=False, label=_("变更原因"))


class SchoolChangeSerializer(serializers.ModelSerializer[SchoolChange]):
    class Meta:
        model = SchoolChange
        fields = ["id", "at", "actor_name", "field", "old_value", "new_value", "reason"]


class SchoolMergeSerializer(InputSerializer):
    into = ScopedPrimaryKeyRelatedField(
        label=_("并入学校"), model=School, selector=org_selectors.schools
    )
    reason = reason_field(required=True)
    on = optional_date(_("合并日期"))


class SchoolCloseSerializer(InputSerializer):
    reason = reason_field(required=True)
    on = optional_date(_("停办日期"))


# --------------------------------------------------------------------------- approval flows


class ApprovalStepSerializer(serializers.Serializer[Any]):
    level = serializers.ChoiceField(
        choices=ApprovalFlow.Level.choices, read_only=True, label=_("层级")
    )
    path = serializers.CharField(read_only=True, label=_("单位路径"))
    name = serializers.CharField(read_only=True, label=_("单位名称"))


class ApprovalFlowFields(serializers.Serializer[Any]):
    """The fields every request waiting for approvals shows: where it stands and who decided."""

    status_display = serializers.CharField(
        source="get_status_display", read_only=True, label=_("状态名称")
    )
    steps = ApprovalStepSerializer(many=True, read_only=True, label=_("审批环节"))
    waiting = ApprovalStepSerializer(
        source="waiting_step", read_only=True, allow_null=True, label=_("当前待处理环节")
    )
    from_school_name = serializers.CharField(
        source="from_school.name", read_only=True, label=_("转出学校名称")
    )
    to_school_name = serializers.CharField(
        source="to_school.name", read_only=True, default=None, label=_("转入学校名称")
    )


FLOW_FIELDS = [
    "reason",
    "status",
    "status_display",
    "steps",
    "step",
    "waiting",
    "from_school",
    "from_school_name",
    "to_school",
    "to_school_name",
    "requested_by_name",
    "requested_at",
    "closed_at",
    "decision_note",
]


class DecisionNoteSerializer(InputSerializer):
    note = reason_field(required=False, label=_("审批意见"))


class RejectSerializer(InputSerializer):
    reason = reason_field(required=True, label=_("驳回理由"))


class WithdrawSerializer(InputSerializer):
    reason = reason_field(required=False, label=_("撤回原因"))


# --------------------------------------------------------------------------- 教师库


class TeacherRecordSerializer(serializers.ModelSerializer[TeacherRecord]):
    name = serializers.CharField(source="person.name", read_only=True, label=_("姓名"))
    gender = serializers.ChoiceField(
        source="person.gender", choices=Person.Gender.choices, read_only=True, label=_("性别")
    )
    birth_date = serializers.DateField(
        source="person.birth_date", read_only=True, allow_null=True, label=_("出生日期")
    )
    id_type = serializers.ChoiceField(
        source="person.id_type", choices=Person.IdType.choices, read_only=True, label=_("证件类型")
    )
    id_masked = serializers.CharField(
        source="person.id_masked", read_only=True, label=_("证件号码")
    )
    school_name = serializers.CharField(source="school.name", read_only=True, label=_("学校名称"))
    subjects: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="code", label=_("任教学科")
    )
    status_display = serializers.CharField(
        source="get_status_display", read_only=True, label=_("状态名称")
    )

    class Meta:
        model = TeacherRecord
        fields = [
            "id",
            "name",
            "gender",
            "birth_date",
            "id_type",
            "id_masked",
            "school",
            "school_name",
            "ethnicity",
            "political_status",
            "education",
            "title",
            "position",
            "subjects",
            "hired_on",
            "employment",
            "status",
            "status_display",
            "left_on",
            "created_at",
            "updated_at",
        ]


SUBJECTS_MAX = 20


def subject_codes(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        label=_("任教学科"),
        child=serializers.CharField(max_length=8),
        max_length=SUBJECTS_MAX,
        help_text=_("学科代码，见 subjects/"),
        **kwargs,
    )


class TeacherCreateSerializer(InputSerializer):
    school = ScopedPrimaryKeyRelatedField(
        label=_("学校"), model=School, selector=org_selectors.schools
    )
    name = TextField(label=_("姓名"), max_length=64)
    id_type = serializers.ChoiceField(label=_("证件类型"), choices=Person.IdType.choices)
    id_number = serializers.CharField(label=_("证件号码"), max_length=32)
    gender = serializers.ChoiceField(
        label=_("性别"), choices=Person.Gender.choices, required=False, allow_null=True
    )
    birth_date = optional_date(_("出生日期"))
    ethnicity = coded(_("民族"), "ethnicity")
    political_status = coded(
        _("政治面貌"), "political_status", required=False, allow_blank=True, default=""
    )
    education = coded(_("最高学历"), "education")
    title = coded(_("职称"), "teacher_title")
    title_since = optional_date(_("取得职称日期"))
    position = coded(_("岗位职务"), "teacher_position")
    subjects = subject_codes(required=False, default=list)
    hired_on = serializers.DateField(label=_("参加工作日期"))
    employment = coded(_("用人形式"), "employment")


class TeacherUpdateSerializer(InputSerializer):
    """The record facts that may change; a new `title` is kept in the title history from
    `title_since` (today if not given)."""

    ethnicity = coded(_("民族"), "ethnicity", required=False)
    political_status = coded(_("政治面貌"), "political_status", required=False, allow_blank=True)
    education = coded(_("最高学历"), "education", required=False)
    title = coded(_("职称"), "teacher_title", required=False)
    title_since = serializers.DateField(label=_("取得职称日期"), required=False, allow_null=True)
    position = coded(_("岗位职务"), "teacher_position", required=False)
    subjects = subject_codes(required=False)
    hired_on = serializers.DateField(label=_("参加工作日期"), required=False)
    employment = coded(_("用人形式"), "employment", required=False)


class TeacherRetireSerializer(InputSerializer):
    on = optional_date(_("退休日期"))
    reason = reason_field(required=False, label=_("说明"))


class TeacherLeaveSerializer(InputSerializer):
    reason = reason_field(required=True, label=_("离岗原因"))
    on = optional_date(_("离岗日期"))


class TeacherReturnSerializer(InputSerializer):
    on = optional_date(_("返岗日期"))


class TitleHistorySerializer(serializers.ModelSerializer[TitleHistory]):
    class Meta:
        model = TitleHistory
        fields = ["id", "title", "since", "recorded_at", "actor_name"]


class TeacherEventSerializer(serializers.ModelSerializer[TeacherEvent]):
    kind_display = serializers.CharField(
        source="get_kind_display", read_only=True, label=_("事件名称")
    )

    class Meta:
        model = TeacherEvent
        fields = [
            "id",
            "kind",
            "kind_display",
            "at",
            "actor_name",
            "step",
            "reason",
            "detail",
            "transfer",
        ]


class TeacherTransferSerializer(ApprovalFlowFields, serializers.ModelSerializer[TeacherTransfer]):
    teacher_name = serializers.CharField(
        source="teacher.person.name", read_only=True, label=_("教师姓名")
    )

    class Meta:
        model = TeacherTransfer
        fields = ["id", "teacher", "teacher_name", *FLOW_FIELDS]


class TeacherTransferCreateSerializer(InputSerializer):
    """调动, asked by the sending school. The receiving school may be anywhere in the region:
    naming it is how the request reaches it."""

    teacher = ScopedPrimaryKeyRelatedField(
        label=_("教师"), model=TeacherRecord, selector=selectors.teachers
    )
    to_school = KeyRelatedField(label=_("调入学校"), queryset=School.objects.all())
    reason = reason_field(required=True, label=_("调动理由"))


# --------------------------------------------------------------------------- 学籍库


class StudentRecordSerializer(serializers.ModelSerializer[StudentRecord]):
    number = serializers.CharField(
        source="number_masked",
        read_only=True,
        label=_("全国学籍号"),
        help_text=_("G 开头的学籍号含身份证号码，只显示遮蔽后的号码；L 开头的为临时学籍号"),
    )
    name = serializers.CharField(source="person.name", read_only=True, label=_("姓名"))
    gender = serializers.ChoiceField(
        source="person.gender", choices=Person.Gender.choices, read_only=True, label=_("性别")
    )
    birth_date = serializers.DateField(
        source="person.birth_date", read_only=True, allow_null=True, label=_("出生日期")
    )
    id_type = serializers.ChoiceField(
        source="person.id_type", choices=Person.IdType.choices, read_only=True, label=_("证件类型")
    )
    id_masked = serializers.CharField(
        source="person.id_masked", read_only=True, label=_("证件号码")
    )
    school_name = serializers.CharField(source="school.name", read_only=True, label=_("学校名称"))
    class_name = serializers.CharField(
        source="school_class.name", read_only=True, default=None, label=_("班级名称")
    )
    grade = serializers.CharField(
        source="school_class.grade_id", read_only=True, default=None, label=_("年级")
    )
    grade_name = serializers.CharField(
        source="school_class.grade.name", read_only=True, default=None, label=_("年级名称")
    )
    status_display = serializers.CharField(
        source="get_status_display", read_only=True, label=_("学籍状态名称")
    )

    class Meta:
        model = StudentRecord
        fields = [
            "id",
            "number",
            "name",
            "gender",
            "birth_date",
            "id_type",
            "id_masked",
            "school",
            "school_name",
            "school_class",
            "class_name",
            "grade",
            "grade_name",
            "status",
            "status_display",
            "graduating",
            "ethnicity",
            "hukou",
            "health",
            "enrolled_on",
            "left_on",
            "destination",
            "updated_at",
        ]


class StudentEnrolSerializer(InputSerializer):
    """新生注册 into a class. Without an ID document (`id_type` 9) the gender is required and
    the student gets a temporary `L` number."""

    school_class = ScopedPrimaryKeyRelatedField(
        label=_("班级"), model=SchoolClass, selector=org_selectors.classes
    )
    name = TextField(label=_("姓名"), max_length=64)
    id_type = serializers.ChoiceField(label=_("证件类型"), choices=Person.IdType.choices)
    id_number = serializers.CharField(
        label=_("证件号码"), max_length=32, required=False, allow_blank=True, default=""
    )
    gender = serializers.ChoiceField(
        label=_("性别"), choices=Person.Gender.choices, required=False, allow_null=True
    )
    birth_date = optional_date(_("出生日期"))
    ethnicity = coded(_("民族"), "ethnicity")
    hukou = coded(_("户口性质"), "hukou", required=False, allow_blank=True, default="")
    health = coded(_("健康状况"), "health", required=False, allow_blank=True, default="")
    enrolled_on = optional_date(_("入学日期"))


class RegisteredElsewhereSerializer(serializers.Serializer[Any]):
    """The refusal of a second record for one person: where the first is, so the client can
    ask that school to start a transfer."""

    detail = serializers.CharField(read_only=True, label=_("原因"))
    record = serializers.IntegerField(read_only=True, label=_("已有学籍"))
    school_name = serializers.CharField(read_only=True, label=_("学籍所在学校"))
    number = serializers.CharField(read_only=True, label=_("全国学籍号"))
    status = serializers.CharField(read_only=True, label=_("学籍状态"))


class StudentUpdateSerializer(InputSerializer):
    ethnicity = coded(_("民族"), "ethnicity", required=False)
    hukou = coded(_("户口性质"), "hukou", required=False, allow_blank=True)
    health = coded(_("健康状况"), "health", required=False, allow_blank=True)


class StudentIdSerializer(InputSerializer):
    """The ID document of a student registered without one; a resident ID number replaces the
    temporary `L` number with the `G` number."""

    id_type = serializers.ChoiceField(label=_("证件类型"), choices=Person.IdType.choices)
    id_number = serializers.CharField(label=_("证件号码"), max_length=32)


class StudentResumeSerializer(InputSerializer):
    school_class = ScopedPrimaryKeyRelatedField(
        label=_("复学班级"), model=SchoolClass, selector=org_selectors.classes
    )
    reason = reason_field(required=False, label=_("说明"))


class RevealedStudentNumberSerializer(serializers.Serializer[Any]):
    number = serializers.CharField(read_only=True, label=_("全国学籍号"))


class StudentEventSerializer(serializers.ModelSerializer[StudentEvent]):
    kind_display = serializers.CharField(
        source="get_kind_display", read_only=True, label=_("事件名称")
    )

    class Meta:
        model = StudentEvent
        fields = [
            "id",
            "kind",
            "kind_display",
            "at",
            "actor_name",
            "step",
            "reason",
            "detail",
            "request",
        ]


class StudentRequestSerializer(ApprovalFlowFields, serializers.ModelSerializer[StudentRequest]):
    kind_display = serializers.CharField(
        source="get_kind_display", read_only=True, label=_("类型名称")
    )
    student_name = serializers.CharField(
        source="record.person.name", read_only=True, label=_("学生姓名")
    )
    number = serializers.CharField(
        source="record.number_masked", read_only=True, label=_("全国学籍号")
    )
    from_class_name = serializers.CharField(
        source="from_class.name", read_only=True, default=None, label=_("原班级名称")
    )
    to_class_name = serializers.CharField(
        source="to_class.name", read_only=True, default=None, label=_("转入班级名称")
    )

    class Meta:
        model = StudentRequest
        fields = [
            "id",
            "kind",
            "kind_display",
            "record",
            "student_name",
            "number",
            "from_class",
            "from_class_name",
            "to_class",
            "to_class_name",
            "destination",
            *FLOW_FIELDS,
        ]


class StudentRequestCreateSerializer(InputSerializer):
    """A student change that waits for approvals. A transfer (`transfer`) names the receiving
    school, anywhere in the region; a transfer out of the region (`transfer_out`) names the
    receiving school as text in `destination`; the others name neither."""

    kind = serializers.ChoiceField(label=_("申请类型"), choices=StudentRequest.Kind.choices)
    record = ScopedPrimaryKeyRelatedField(
        label=_("学籍"), model=StudentRecord, selector=selectors.students
    )
    reason = reason_field(required=True, label=_("申请理由"))
    to_school = KeyRelatedField(
        label=_("转入学校"),
        queryset=School.objects.all(),
        required=False,
        allow_null=True,
        default=None,
    )
    destination = TextField(
        label=_("转入学校（区域外）"),
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
    )

    default_error_messages = {
        "to_school_required": _("转学申请须选择转入学校。"),
        "destination_required": _("请填写转入学校名称。"),
        "not_for_kind": _("此类申请不填写此项。"),
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        errors: dict[str, Any] = {}
        if kind == StudentRequest.Kind.TRANSFER:
            if attrs["to_school"] is None:
                errors["to_school"] = self.error_messages["to_school_required"]
        elif attrs["to_school"] is not None:
            errors["to_school"] = self.error_messages["not_for_kind"]
        if kind == StudentRequest.Kind.TRANSFER_OUT:
            if not attrs["destination"]:
                errors["destination"] = self.error_messages["destination_required"]
        elif attrs["destination"]:
            errors["destination"] = self.error_messages["not_for_kind"]
        if errors:
            raise serializers.ValidationError({name: [message] for name, message in errors.items()})
        return attrs


class AcceptStudentSerializer(InputSerializer):
    """The receiving school accepts a transfer into one of its classes of the same year."""

    school_class = ScopedPrimaryKeyRelatedField(
        label=_("转入班级"), model=SchoolClass, selector=org_selectors.classes
    )
    note = reason_field(required=False, label=_("审批意见"))


# --------------------------------------------------------------------------- set-based work


MAX_KEY = 2**63 - 1
# A GB/T 2260 code: province (2 digits), city (4) or county (6).
REGION_CODE = r"^[0-9]{2}(?:[0-9]{2}){0,2}$"


def _key_value(field: serializers.Field[Any, Any, Any, Any], data: Any) -> int:
    """`data` as a whole number within the id range, or the field's `invalid_key` refusal."""
    if isinstance(data, str) and data.isascii() and data.isdigit():
        data = int(data)
    if isinstance(data, bool) or not isinstance(data, int) or not 1 <= data <= MAX_KEY:
        field.fail("invalid_key")
    return int(data)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_KEY})
class ScopedKeyField(ScopedPrimaryKeyRelatedField):
    """An object the role can see, by its id: a whole number from 1, as the schema says."""

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(_key_value(self, data))


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_KEY})
class KeyField(KeyRelatedField):
    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(_key_value(self, data))


@extend_schema_field({"type": "string", "pattern": REGION_CODE})
class RegionCodeField(ScopedPrimaryKeyRelatedField):
    """A region the role can see, by its code; a value that cannot be a code says so."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not re.fullmatch(REGION_CODE, data):
            self.fail("invalid_code")
        return super().to_internal_value(data)


class UnitSerializer(InputSerializer):
    """The unit a set-based operation covers: a school, a region, or (neither given) the
    acting role's own unit."""

    school = ScopedKeyField(
        label=_("学校"),
        model=School,
        selector=org_selectors.schools,
        required=False,
        default=None,
        error_messages={
            "null": _("学校不能为空；不限定学校时请不传此字段。"),
            "invalid_key": _("学校编号应为正整数。"),
        },
    )
    region = RegionCodeField(
        label=_("行政区划"),
        model=Region,
        selector=org_selectors.regions,
        required=False,
        default=None,
        help_text=_("行政区划代码：2位（省）、4位（市）或6位（区县）数字"),
        error_messages={
            "null": _("行政区划不能为空；不限定行政区划时请不传此字段。"),
            "invalid_code": _("行政区划代码应为2位、4位或6位数字。"),
        },
    )

    default_error_messages = {"one_unit": _("学校和行政区划只能选择其一。")}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("school") is not None and attrs.get("region") is not None:
            raise serializers.ValidationError({"region": [self.error_messages["one_unit"]]})
        return attrs


def unit_path(data: dict[str, Any], role: Role) -> str:
    """The path of the unit `UnitSerializer` named."""
    if data.get("school") is not None:
        return str(data["school"].path)
    if data.get("region") is not None:
        return str(data["region"].code)
    return role.path


class GraduateSerializer(UnitSerializer):
    on = optional_date(_("毕业日期"))


class GraduatedSerializer(serializers.Serializer[Any]):
    graduated = serializers.IntegerField(read_only=True, label=_("毕业人数"))


class RolloverQuerySerializer(UnitSerializer):
    school_year = KeyField(
        label=_("原学年"),
        queryset=SchoolYear.objects.all(),
        required=False,
        default=None,
        help_text=_("升级前的学年；不填为当前学年"),
        error_messages={
            "null": _("学年不能为空；按当前学年升级时请不传此字段。"),
            "invalid_key": _("学年编号应为正整数。"),
            "does_not_exist": _("对象不存在。"),
        },
    )

    default_error_messages = {"no_current_year": _("尚未设置当前学年，请选择学年。")}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs["school_year"] is None:
            attrs["school_year"] = SchoolYear.objects.filter(is_current=True).first()
            if attrs["school_year"] is None:
                raise serializers.ValidationError(
                    {"school_year": [self.error_messages["no_current_year"]]}
                )
        return attrs


class RolloverRunSerializer(RolloverQuerySerializer):
    dry_run = serializers.BooleanField(
        label=_("仅预览"), required=False, default=False, help_text=_("为真时只计算，不做任何更改")
    )


class RolloverPlanSerializer(serializers.Serializer[Any]):
    path = serializers.CharField(read_only=True, label=_("范围"))
    from_year = serializers.IntegerField(read_only=True, label=_("原学年起始年份"))
    to_year = serializers.IntegerField(read_only=True, label=_("新学年起始年份"))
    classes_to_create = serializers.IntegerField(read_only=True, label=_("需新建班级数"))
    to_promote = serializers.IntegerField(read_only=True, label=_("升级人数"))
    to_mark_graduating = serializers.IntegerField(read_only=True, label=_("待毕业人数"))
    staying_suspended = serializers.IntegerField(read_only=True, label=_("休学不升级人数"))
    has_work = serializers.BooleanField(read_only=True, label=_("有待升级学生"))


class RolloverResultSerializer(serializers.Serializer[Any]):
    """What a rollover did: nothing for a dry run, or for a second run of the same year."""

    dry_run = serializers.BooleanField(read_only=True, label=_("仅预览"))
    plan = RolloverPlanSerializer(read_only=True, label=_("预览"))
    rollover = serializers.IntegerField(read_only=True, allow_null=True, label=_("升级记录"))
    classes_created = serializers.IntegerField(read_only=True, label=_("新建班级数"))
    promoted = serializers.IntegerField(read_only=True, label=_("升级人数"))
    marked_graduating = serializers.IntegerField(read_only=True, label=_("标记待毕业人数"))


class QueueItemSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(read_only=True, label=_("待办类型"))
    name = serializers.CharField(source="label", read_only=True, label=_("名称"))
    count = serializers.IntegerField(read_only=True, label=_("件数"))
