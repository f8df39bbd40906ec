"""What the org tree looks like over the API, and what a client may send to change it."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from santong.core.api import (
    InputSerializer,
    KeyRelatedField,
    ScopedPrimaryKeyRelatedField,
    TextField,
)
from santong.orgs import selectors
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear, Stage, Subject


class RegionSerializer(serializers.ModelSerializer[Region]):
    level_display = serializers.CharField(
        source="get_level_display", read_only=True, label=_("层级名称")
    )

    class Meta:
        model = Region
        fields = ["code", "name", "level", "level_display", "parent"]


class SchoolSerializer(serializers.ModelSerializer[School]):
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
    city_name = serializers.CharField(source="county.parent.name", read_only=True, label=_("地市"))
    host_school_name = serializers.CharField(
        source="host_school.name",
        read_only=True,
        allow_null=True,
        default=None,
        label=_("主校名称"),
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
            "city_name",
            "host_school",
            "host_school_name",
            "created_at",
            "updated_at",
        ]


class SchoolCreateSerializer(InputSerializer):
    code = TextField(label=_("学校标识码"), max_length=10, form="NFKC")
    name = TextField(label=_("学校名称"), max_length=100)
    kind = serializers.ChoiceField(label=_("学校类型"), choices=School.Kind.choices)
    operator = serializers.ChoiceField(label=_("办学类型"), choices=School.Operator.choices)
    locale = serializers.ChoiceField(label=_("城乡类型"), choices=School.Locale.choices)
    address = TextField(
        label=_("地址"), max_length=200, required=False, allow_blank=True, default=""
    )
    county = ScopedPrimaryKeyRelatedField(
        label=_("所属区县"), model=Region, selector=selectors.regions
    )
    host_school = ScopedPrimaryKeyRelatedField(
        label=_("主校"),
        model=School,
        selector=selectors.schools,
        required=False,
        allow_null=True,
        default=None,
    )


class SchoolUpdateSerializer(InputSerializer):
    """The descriptive fields of a school; its code and place in the tree never change here."""

    name = TextField(label=_("学校名称"), max_length=100, required=False)
    operator = serializers.ChoiceField(
        label=_("办学类型"), choices=School.Operator.choices, required=False
    )
    locale = serializers.ChoiceField(
        label=_("城乡类型"), choices=School.Locale.choices, required=False
    )
    address = TextField(label=_("地址"), max_length=200, required=False, allow_blank=True)


class SchoolYearSerializer(serializers.ModelSerializer[SchoolYear]):
    name = serializers.CharField(source="__str__", read_only=True, label=_("学年"))

    class Meta:
        model = SchoolYear
        fields = ["id", "name", "start_year", "start_date", "end_date", "is_current"]


class StageSerializer(serializers.ModelSerializer[Stage]):
    class Meta:
        model = Stage
        fields = ["code", "name", "order"]


class GradeSerializer(serializers.ModelSerializer[Grade]):
    stage_name = serializers.CharField(source="stage.name", read_only=True, label=_("学段名称"))

    class Meta:
        model = Grade
        fields = ["code", "name", "stage", "stage_name", "order", "is_final"]


class SubjectSerializer(serializers.ModelSerializer[Subject]):
    class Meta:
        model = Subject
        fields = ["code", "name"]


class SchoolClassSerializer(serializers.ModelSerializer[SchoolClass]):
    school_name = serializers.CharField(source="school.name", read_only=True, label=_("学校名称"))
    school_year_name = serializers.CharField(
        source="school_year.__str__", read_only=True, label=_("学年名称")
    )
    grade_name = serializers.CharField(source="grade.name", read_only=True, label=_("年级名称"))

    class Meta:
        model = SchoolClass
        fields = [
            "id",
            "name",
            "number",
            "school",
            "school_name",
            "school_year",
            "school_year_name",
            "grade",
            "grade_name",
            "created_at",
        ]


class SchoolClassCreateSerializer(InputSerializer):
    school = ScopedPrimaryKeyRelatedField(label=_("学校"), model=School, selector=selectors.schools)
    school_year = KeyRelatedField(label=_("学年"), queryset=SchoolYear.objects.all())
    grade = KeyRelatedField(label=_("年级"), queryset=Grade.objects.all())
    number = serializers.IntegerField(label=_("班号"), min_value=1, max_value=99)


class SchoolClassRenameSerializer(InputSerializer):
    name = TextField(label=_("班级名称"), max_length=64)
