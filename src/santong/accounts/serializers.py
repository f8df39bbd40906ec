"""People, accounts and roles over the API. ID numbers only ever leave masked here; the clear
number has its own audited endpoint."""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from santong.accounts import selectors
from santong.accounts.models import Person, Role, User
from santong.accounts.services import is_locked
from santong.core.api import (
    InputSerializer,
    KeyRelatedField,
    ScopedPrimaryKeyRelatedField,
    TextField,
)
from santong.orgs import selectors as org_selectors
from santong.orgs.models import Region, School, SchoolClass, Subject


class PersonSerializer(serializers.ModelSerializer[Person]):
    gender_display = serializers.CharField(
        source="get_gender_display", read_only=True, label=_("性别名称")
    )
    id_type_display = serializers.CharField(
        source="get_id_type_display", read_only=True, label=_("证件类型名称")
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "gender",
            "gender_display",
            "birth_date",
            "id_type",
            "id_type_display",
            "id_masked",
        ]


class RevealedIdNumberSerializer(serializers.Serializer[Any]):
    id_number = serializers.CharField(label=_("证件号码"))


class AccountSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(
        source="person.name", read_only=True, allow_null=True, default=None, label=_("姓名")
    )
    id_masked = serializers.CharField(
        source="person.id_masked",
        read_only=True,
        allow_null=True,
        default=None,
        label=_("证件号码"),
    )
    is_locked = serializers.SerializerMethodField(label=_("已锁定"))

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "phone",
            "is_active",
            "is_locked",
            "person",
            "name",
            "id_masked",
            "date_joined",
            "last_login",
        ]

    def get_is_locked(self, user: User) -> bool:
        return is_locked(user)


class NewPasswordSerializer(serializers.Serializer[Any]):
    password = serializers.CharField(read_only=True, label=_("新密码"))


class AccountCreateSerializer(InputSerializer):
    """A new person, their account and its first role, which places the account in scope."""

    name = TextField(label=_("姓名"), max_length=64)
    gender = serializers.ChoiceField(
        label=_("性别"), choices=Person.Gender.choices, required=False, allow_null=True
    )
    birth_date = serializers.DateField(label=_("出生日期"), required=False, allow_null=True)
    id_type = serializers.ChoiceField(label=_("证件类型"), choices=Person.IdType.choices)
    id_number = serializers.CharField(
        label=_("证件号码"), max_length=32, required=False, allow_blank=True, default=""
    )
    username = TextField(label=_("用户名"), max_length=64, form="NFKC")
    phone = TextField(
        label=_("手机号"),
        max_length=11,
        required=False,
        allow_blank=True,
        allow_null=True,
        form="NFKC",
    )
    password = serializers.CharField(
        label=_("初始密码"),
        write_only=True,
        required=False,
        allow_blank=True,
        style={"input_type": "password"},
    )
    kind = serializers.ChoiceField(label=_("角色"), choices=Role.Kind.choices)
    region = ScopedPrimaryKeyRelatedField(
        label=_("行政区划"),
        model=Region,
        selector=org_selectors.regions,
        required=False,
        allow_null=True,
    )
    school = ScopedPrimaryKeyRelatedField(
        label=_("学校"),
        model=School,
        selector=org_selectors.schools,
        required=False,
        allow_null=True,
    )
    school_class = ScopedPrimaryKeyRelatedField(
        label=_("班级"),
        model=SchoolClass,
        selector=org_selectors.classes,
        required=False,
        allow_null=True,
    )
    subject = KeyRelatedField(
        label=_("学科"), queryset=Subject.objects.all(), required=False, allow_null=True
    )
    child = ScopedPrimaryKeyRelatedField(
        label=_("子女"),
        model=Person,
        selector=selectors.people,
        required=False,
        allow_null=True,
    )


class RoleSerializer(serializers.ModelSerializer[Role]):
    kind_display = serializers.CharField(
        source="get_kind_display", read_only=True, label=_("角色名称")
    )
    username = serializers.CharField(source="user.username", read_only=True, label=_("用户名"))
    name = serializers.CharField(
        source="user.person.name", read_only=True, allow_null=True, default=None, label=_("姓名")
    )
    unit_name = serializers.CharField(read_only=True, label=_("所属单位"))
    subject_name = serializers.CharField(
        source="subject.name", read_only=True, allow_null=True, default=None, label=_("学科名称")
    )
    child_name = serializers.CharField(
        source="child.name", read_only=True, allow_null=True, default=None, label=_("子女姓名")
    )

    class Meta:
        model = Role
        fields = [
            "id",
            "user",
            "username",
            "name",
            "kind",
            "kind_display",
            "unit_name",
            "region",
            "school",
            "school_class",
            "subject",
            "subject_name",
            "child",
            "child_name",
            "created_at",
        ]


class RoleGrantSerializer(InputSerializer):
    user = ScopedPrimaryKeyRelatedField(label=_("账号"), model=User, selector=selectors.accounts)
    kind = serializers.ChoiceField(label=_("角色"), choices=Role.Kind.choices)
    region = ScopedPrimaryKeyRelatedField(
        label=_("行政区划"),
        model=Region,
        selector=org_selectors.regions,
        required=False,
        allow_null=True,
    )
    school = ScopedPrimaryKeyRelatedField(
        label=_("学校"),
        model=School,
        selector=org_selectors.schools,
        required=False,
        allow_null=True,
    )
    school_class = ScopedPrimaryKeyRelatedField(
        label=_("班级"),
        model=SchoolClass,
        selector=org_selectors.classes,
        required=False,
        allow_null=True,
    )
    subject = KeyRelatedField(
        label=_("学科"), queryset=Subject.objects.all(), required=False, allow_null=True
    )
    child = ScopedPrimaryKeyRelatedField(
        label=_("子女"),
        model=Person,
        selector=selectors.people,
        required=False,
        allow_null=True,
    )


class RoleBriefSerializer(serializers.ModelSerializer[Role]):
    kind_display = serializers.CharField(
        source="get_kind_display", read_only=True, label=_("角色名称")
    )
    unit_name = serializers.CharField(read_only=True, label=_("所属单位"))

    class Meta:
        model = Role
        fields = ["id", "kind", "kind_display", "unit_name"]


class MeSerializer(serializers.Serializer[Any]):
    """The signed-in account, the role it is acting in and the roles it may switch to."""

    id = serializers.IntegerField(source="user.pk", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True, label=_("用户名"))
    name = serializers.CharField(source="user.display_name", read_only=True, label=_("姓名"))
    phone = serializers.CharField(
        source="user.phone", read_only=True, allow_null=True, label=_("手机号")
    )
    active_role = RoleBriefSerializer(read_only=True, label=_("当前角色"))
    roles = RoleBriefSerializer(many=True, read_only=True, label=_("全部角色"))


def own_roles(*, role: Role) -> QuerySet[Role]:
    """The roles of the account acting in `role`: the only ones it may switch to."""
    return selectors.roles_of(role.user)


class SwitchRoleSerializer(InputSerializer):
    role = ScopedPrimaryKeyRelatedField(label=_("角色"), model=Role, selector=own_roles)


class TokenRequestSerializer(InputSerializer):
    username = TextField(label=_("用户名或手机号"), max_length=64, form="NFKC")
    password = serializers.CharField(
        label=_("密码"), max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(read_only=True, label=_("令牌"))
