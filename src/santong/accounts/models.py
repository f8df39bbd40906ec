"""People (real-name), the accounts they log in with, and the roles that bind them to org units."""

from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from santong.orgs.models import Region, School, SchoolClass, Subject


class Person(models.Model):
    """A real-name natural person (自然人): teacher, student, parent or administrator.

    The ID number is never stored in clear: `id_cipher` holds it encrypted with a key kept
    outside the database, `id_digest` is a keyed hash used to find and deduplicate it, and
    `id_masked` is what every screen shows unless an unmasked read is asked for and audited.
    """

    class Gender(models.TextChoices):
        MALE = "1", _("男")
        FEMALE = "2", _("女")

    class IdType(models.TextChoices):
        RESIDENT = "1", _("居民身份证")
        RESIDENCE_PERMIT = "2", _("港澳台居民居住证")
        HK_MACAO_PERMIT = "3", _("港澳居民来往内地通行证")
        TAIWAN_PERMIT = "4", _("台湾居民来往大陆通行证")
        PASSPORT = "5", _("护照")
        NONE = "9", _("无证件")

    # Indexed by `person_name` below: db_index would add, on PostgreSQL, a second
    # (varchar_pattern_ops) index that no query uses, since names are searched by substring.
    name = models.CharField(_("姓名"), max_length=64)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    id_type = models.CharField(_("证件类型"), max_length=1, choices=IdType.choices)
    id_cipher = models.BinaryField(_("证件号码（密文）"), null=True, blank=True, editable=False)
    id_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        constraints = [
            models.UniqueConstraint(
                fields=["id_digest"],
                condition=~models.Q(id_digest=""),
                name="one_person_per_id_document",
            ),
        ]
        indexes = [models.Index(fields=["name"], name="person_name")]

    def __str__(self) -> str:
        return self.name


class UserManager(DjangoUserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: object
    ) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, PermissionsMixin):
    """An account (账号): how a person logs in, by username or phone number."""

    # Unique through `Meta.constraints`, not `unique=True`, which on PostgreSQL adds a
    # varchar_pattern_ops index beside the unique one; accounts are found by exact value only.
    username = models.CharField(_("用户名"), max_length=64)
    # NULL, not "", for no phone, as with `unique=True` (which DJ001 exempts): `unique_phone`.
    phone = models.CharField(_("手机号"), max_length=11, null=True, blank=True)  # noqa: DJ001
    person = models.OneToOneField(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="account",
        verbose_name=_("人员"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    is_staff = models.BooleanField(_("平台运维"), default=False)
    date_joined = models.DateTimeField(_("创建时间"), default=timezone.now)
    failed_logins = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("账号")
        verbose_name_plural = _("账号")
        constraints = [
            models.UniqueConstraint(fields=["username"], name="unique_username"),
            # Most accounts (students') have no phone: they stay out of the index.
            models.UniqueConstraint(
                fields=["phone"], condition=models.Q(phone__isnull=False), name="unique_phone"
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def display_name(self) -> str:
        return self.person.name if self.person_id and self.person else self.username


class Role(models.Model):
    """A role (角色) an account holds, bound to one org unit: the unit is its data scope."""

    class Kind(models.TextChoices):
        PROVINCE_ADMIN = "province_admin", _("省级管理员")
        CITY_ADMIN = "city_admin", _("市级管理员")
        COUNTY_ADMIN = "county_admin", _("区县管理员")
        SCHOOL_ADMIN = "school_admin", _("学校管理员")
        HEAD_TEACHER = "head_teacher", _("班主任")
        SUBJECT_TEACHER = "subject_teacher", _("任课教师")
        STUDENT = "student", _("学生")
        PARENT = "parent", _("家长")

    # The indexes are in `Meta.indexes`: `unique_role` starts with the account, the units a
    # student's role leaves empty are indexed where set, and `path` has no pattern_ops twin
    # (subtrees are ranges, see santong.core.scope).
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles", db_index=False)
    kind = models.CharField(_("角色"), max_length=16, choices=Kind.choices)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("行政区划"),
        db_index=False,
    )
    school = models.ForeignKey(
        School,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("学校"),
        db_index=False,
    )
    school_class = models.ForeignKey(
        SchoolClass, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("班级")
    )
    subject = models.ForeignKey(
        Subject,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("学科"),
        db_index=False,
    )
    child = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="guardian_roles",
        verbose_name=_("子女"),
        db_index=False,
    )
    path = models.CharField(max_length=60, editable=False)
    # Not indexed: nothing reads roles by their granter, and accounts are deactivated rather
    # than deleted, so the index would only cost every role written (all of an import's
    # roles have the same granter).
    granted_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path", "kind"]
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        constraints = [
            models.UniqueConstraint(
                "user",
                "kind",
                "path",
                Coalesce("subject", Value("")),
                Coalesce("child", Value(0)),
                name="unique_role",
            ),
        ]
        indexes = [
            models.Index(fields=["path"], name="role_path"),
            models.Index(
                fields=["region"], condition=models.Q(region__isnull=False), name="role_region"
            ),
            models.Index(
                fields=["school"], condition=models.Q(school__isnull=False), name="role_school"
            ),
            models.Index(
                fields=["subject"], condition=models.Q(subject__isnull=False), name="role_subject"
            ),
            models.Index(
                fields=["child"], condition=models.Q(child__isnull=False), name="role_child"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.unit_name}"

    @property
    def unit_name(self) -> str:
        if self.school_class_id and self.school_class:
            return f"{self.school_class.school.name} {self.school_class.name}"
        if self.school_id and self.school:
            return self.school.name
        if self.region_id and self.region:
            return self.region.name
        return ""
