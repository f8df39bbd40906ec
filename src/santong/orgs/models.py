"""The org tree: regions (GB/T 2260), schools, school years, stages, grades, subjects, classes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """An administrative division (行政区划): province, city or county, by its GB/T 2260 code."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("省级")
        CITY = "city", _("地市级")
        COUNTY = "county", _("区县级")

    code = models.CharField(_("行政区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.CharField(_("层级"), max_length=8, choices=Level.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def path(self) -> str:
        return self.code


class School(models.Model):
    """A school as an org unit (学校), identified by its 10-digit school code (学校标识码)."""

    class Kind(models.TextChoices):
        KINDERGARTEN = "kindergarten", _("幼儿园")
        PRIMARY = "primary", _("小学")
        JUNIOR = "junior", _("初级中学")
        NINE_YEAR = "nine_year", _("九年一贯制学校")
        SENIOR = "senior", _("高级中学")
        COMPLETE = "complete", _("完全中学")
        TWELVE_YEAR = "twelve_year", _("十二年一贯制学校")
        VOCATIONAL = "vocational", _("中等职业学校")
        SPECIAL = "special", _("特殊教育学校")
        TEACHING_POINT = "teaching_point", _("教学点")

    class Operator(models.TextChoices):
        PUBLIC = "public", _("公办")
        PRIVATE = "private", _("民办")

    class Locale(models.TextChoices):
        URBAN = "urban", _("城区")
        TOWN = "town", _("镇区")
        RURAL = "rural", _("乡村")

    code = models.CharField(_("学校标识码"), max_length=10, unique=True)
    name = models.CharField(_("学校名称"), max_length=100)
    kind = models.CharField(_("学校类型"), max_length=16, choices=Kind.choices)
    operator = models.CharField(_("办学类型"), max_length=8, choices=Operator.choices)
    locale = models.CharField(_("城乡类型"), max_length=8, choices=Locale.choices)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    county = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="schools", verbose_name=_("所属区县")
    )
    host_school = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="teaching_points",
        verbose_name=_("主校"),
    )
    path = models.CharField(max_length=40, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("学校")
        verbose_name_plural = _("学校")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="teaching_point", host_school__isnull=False)
                | (~models.Q(kind="teaching_point") & models.Q(host_school__isnull=True)),
                name="school_teaching_point_has_host",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SchoolYear(models.Model):
    """A school year (学年), e.g. 2025–2026, starting in autumn."""

    start_year = models.PositiveSmallIntegerField(_("起始年份"), unique=True)
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    is_current = models.BooleanField(_("当前学年"), default=False)

    class Meta:
        ordering = ["-start_year"]
        verbose_name = _("学年")
        verbose_name_plural = _("学年")
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=models.Q(is_current=True),
                name="one_current_school_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start_year}-{self.start_year + 1}"


class Term(models.Model):
    """A term (学期) of a school year: 1 is autumn, 2 is spring."""

    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="terms")
    number = models.PositiveSmallIntegerField(
        _("学期"), choices=[(1, _("第一学期")), (2, _("第二学期"))]
    )
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))

    class Meta:
        ordering = ["school_year", "number"]
        verbose_name = _("学期")
        verbose_name_plural = _("学期")
        constraints = [
            models.UniqueConstraint(fields=["school_year", "number"], name="unique_term"),
        ]

    def __str__(self) -> str:
        return f"{self.school_year} {self.get_number_display()}"


class Stage(models.Model):
    """A stage of schooling (学段), loaded from the code table in `data/stages.csv`."""

    code = models.CharField(_("代码"), max_length=4, primary_key=True)
    name = models.CharField(_("名称"), max_length=32)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        verbose_name = _("学段")
        verbose_name_plural = _("学段")

    def __str__(self) -> str:
        return self.name


class Grade(models.Model):
    """A grade (年级) within a stage, loaded from the code table in `data/grades.csv`."""

    code = models.CharField(_("代码"), max_length=4, primary_key=True)
    name = models.CharField(_("名称"), max_length=32)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="grades")
    order = models.PositiveSmallIntegerField(default=0)
    is_final = models.BooleanField(_("毕业年级"), default=False)

    class Meta:
        ordering = ["order"]
        verbose_name = _("年级")
        verbose_name_plural = _("年级")

    def __str__(self) -> str:
        return self.name


class Subject(models.Model):
    """A school subject (学科), loaded from the code table in `data/subjects.csv`."""

    code = models.CharField(_("代码"), max_length=4, primary_key=True)
    name = models.CharField(_("名称"), max_length=32)

    class Meta:
        ordering = ["code"]
        verbose_name = _("学科")
        verbose_name_plural = _("学科")

    def __str__(self) -> str:
        return self.name


class SchoolClass(models.Model):
    """A class (班级) of a school in one school year, e.g. 三年级（2）班."""

    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="classes", verbose_name=_("学校")
    )
    school_year = models.ForeignKey(
        SchoolYear, on_delete=models.PROTECT, related_name="classes", verbose_name=_("学年")
    )
    grade = models.ForeignKey(
        Grade, on_delete=models.PROTECT, related_name="classes", verbose_name=_("年级")
    )
    number = models.PositiveSmallIntegerField(_("班号"))
    name = models.CharField(_("班级名称"), max_length=64)
    path = models.CharField(max_length=60, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["school", "grade__order", "number"]
        verbose_name = _("班级")
        verbose_name_plural = _("班级")
        constraints = [
            models.UniqueConstraint(
                fields=["school", "school_year", "grade", "number"], name="unique_class"
            ),
        ]

    def __str__(self) -> str:
        return self.name
