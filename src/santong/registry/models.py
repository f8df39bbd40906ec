"""The three base registries: 学校库 (school profiles), 教师库 (teachers), 学籍库 (students).

Every record carries `path`, the path of the unit it sits in (a school, or a student's class),
so the scope rule of `santong.core.scope` applies unchanged. Records are never deleted: a
student who leaves, a teacher who retires and a school that closes keep their rows, with their
history in the event tables.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from santong.accounts.models import Person, Role
from santong.orgs.models import School, SchoolClass, SchoolYear, Subject

# --------------------------------------------------------------------------- code tables


class CodeTable(models.Model):
    """A code table (代码表) loaded from `registry/data/<name>.csv`."""

    name = models.CharField(_("代码表"), max_length=32, primary_key=True)
    title = models.CharField(_("名称"), max_length=64)
    standard = models.CharField(_("依据标准"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("代码表")
        verbose_name_plural = _("代码表")

    def __str__(self) -> str:
        return self.title


class CodeValue(models.Model):
    """One code of a code table; inactive codes stay because stored records may carry them."""

    table = models.ForeignKey(
        CodeTable, on_delete=models.CASCADE, related_name="values", verbose_name=_("代码表")
    )
    code = models.CharField(_("代码"), max_length=8)
    name = models.CharField(_("名称"), max_length=64)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["table", "order", "code"]
        verbose_name = _("代码")
        verbose_name_plural = _("代码")
        constraints = [
            models.UniqueConstraint(fields=["table", "code"], name="unique_code_value"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


# --------------------------------------------------------------------------- shared shapes


class RegistryEvent(models.Model):
    """Who did what to a record, when, why, and at which step of which workflow."""

    at = models.DateTimeField(_("时间"), default=timezone.now)
    # Not indexed: events are read through their record, never by actor, and accounts are
    # deactivated rather than deleted (an import writes one event per student, one actor).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
        db_index=False,
    )
    actor_name = models.CharField(_("操作人"), max_length=64, blank=True)
    step = models.CharField(_("环节"), max_length=100, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    # Where the record was when it happened; events are read through their record, so this
    # column is not indexed (a rollover writes one event per student).
    path = models.CharField(max_length=60)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        abstract = True


class ApprovalFlow(models.Model):
    """A request that waits for one unit's decision after another (school, county, city).

    `steps` lists the units in order as {"level", "path", "name"}; `waiting_path` and
    `waiting_level` copy the current one so a work queue is an indexed range scan.
    """

    class Level(models.TextChoices):
        SCHOOL = "school", _("学校")
        COUNTY = "county", _("区县")
        CITY = "city", _("地市")

    class Status(models.TextChoices):
        PENDING = "pending", _("审批中")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("已驳回")
        WITHDRAWN = "withdrawn", _("已撤回")

    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    reason = models.CharField(_("申请理由"), max_length=200)
    steps = models.JSONField(_("审批环节"), default=list)
    step = models.PositiveSmallIntegerField(_("当前环节"), default=0)
    waiting_path = models.CharField(max_length=60, blank=True, db_index=True)
    waiting_level = models.CharField(max_length=8, choices=Level.choices, blank=True)
    from_school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="+", verbose_name=_("转出学校")
    )
    from_path = models.CharField(max_length=60, db_index=True)
    to_school = models.ForeignKey(
        School,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("转入学校"),
    )
    to_path = models.CharField(max_length=60, blank=True, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申请人"),
    )
    requested_by_name = models.CharField(_("申请人"), max_length=64, blank=True)
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    decision_note = models.CharField(_("驳回理由"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def waiting_step(self) -> dict[str, str] | None:
        if self.status != self.Status.PENDING:
            return None
        step: dict[str, str] = self.steps[self.step]
        return step


# The role kind that decides a step of each level.
DECIDING_KIND: dict[str, str] = {
    ApprovalFlow.Level.SCHOOL: Role.Kind.SCHOOL_ADMIN,
    ApprovalFlow.Level.COUNTY: Role.Kind.COUNTY_ADMIN,
    ApprovalFlow.Level.CITY: Role.Kind.CITY_ADMIN,
}
LEVEL_OF_KIND: dict[str, str] = {kind: level for level, kind in DECIDING_KIND.items()}


# --------------------------------------------------------------------------- 学校库


class SchoolProfile(models.Model):
    """The registry's facts about a school beyond its place in the org tree (学校库).

    A school without a profile row is open; the row is created on its first change.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("正常办学")
        MERGED = "merged", _("已合并")
        CLOSED = "closed", _("已撤销")

    school = models.OneToOneField(
        School,
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="profile",
        verbose_name=_("学校"),
    )
    path = models.CharField(max_length=40, db_index=True, editable=False)
    principal = models.CharField(_("校长"), max_length=64, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    founded_on = models.DateField(_("建校日期"), null=True, blank=True)
    status = models.CharField(
        _("办学状态"), max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    merged_into = models.ForeignKey(
        School,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="absorbed_profiles",
        verbose_name=_("并入学校"),
    )
    closed_on = models.DateField(_("停办日期"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("学校档案")
        verbose_name_plural = _("学校档案")

    def __str__(self) -> str:
        return str(self.school)


class SchoolChange(models.Model):
    """One changed fact of a school: who, when, which field, old → new."""

    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="registry_changes", verbose_name=_("学校")
    )
    path = models.CharField(max_length=40, db_index=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人"), max_length=64, blank=True)
    field = models.CharField(_("字段"), max_length=32)
    old_value = models.CharField(_("原值"), max_length=200, blank=True)
    new_value = models.CharField(_("新值"), max_length=200, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("学校变更记录")
        verbose_name_plural = _("学校变更记录")

    def __str__(self) -> str:
        return f"{self.school} {self.field}"


# --------------------------------------------------------------------------- 教师库


class TeacherRecord(models.Model):
    """A teacher's record (教师档案); one per person."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("在职")
        ON_LEAVE = "on_leave", _("离岗休假")
        RETIRED = "retired", _("退休")

    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="teacher_record", verbose_name=_("人员")
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="teacher_records", verbose_name=_("学校")
    )
    path = models.CharField(max_length=40, db_index=True, editable=False)
    ethnicity = models.CharField(_("民族"), max_length=2)
    political_status = models.CharField(_("政治面貌"), max_length=2, blank=True)
    education = models.CharField(_("最高学历"), max_length=2)
    title = models.CharField(_("职称"), max_length=2)
    position = models.CharField(_("岗位职务"), max_length=2)
    subjects = models.ManyToManyField(
        Subject, blank=True, related_name="teacher_records", verbose_name=_("任教学科")
    )
    hired_on = models.DateField(_("参加工作日期"))
    employment = models.CharField(_("用人形式"), max_length=2)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    left_on = models.DateField(_("离岗日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path", "id"]
        verbose_name = _("教师档案")
        verbose_name_plural = _("教师档案")

    def __str__(self) -> str:
        return str(self.person)


class TitleHistory(models.Model):
    """A teacher's professional title from a date on (职称变动)."""

    teacher = models.ForeignKey(
        TeacherRecord, on_delete=models.CASCADE, related_name="titles", verbose_name=_("教师")
    )
    title = models.CharField(_("职称"), max_length=2)
    since = models.DateField(_("取得日期"))
    recorded_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    actor_name = models.CharField(_("登记人"), max_length=64, blank=True)

    class Meta:
        ordering = ["teacher", "-since", "-id"]
        verbose_name = _("职称记录")
        verbose_name_plural = _("职称记录")

    def __str__(self) -> str:
        return f"{self.teacher} {self.title} {self.since}"


class TeacherTransfer(ApprovalFlow):
    """调动: the sending school requests, the receiving school accepts, the counties approve."""

    teacher = models.ForeignKey(
        TeacherRecord, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("教师")
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("教师调动")
        verbose_name_plural = _("教师调动")
        constraints = [
            models.UniqueConstraint(
                fields=["teacher"],
                condition=models.Q(status="pending"),
                name="one_open_transfer_per_teacher",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} → {self.to_school}"


class TeacherEvent(RegistryEvent):
    """One event in a teacher's history."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("入职登记")
        UPDATED = "updated", _("信息变更")
        TITLE_CHANGED = "title_changed", _("职称变动")
        REQUESTED = "requested", _("提出申请")
        STEP_APPROVED = "step_approved", _("审批通过")
        REJECTED = "rejected", _("驳回")
        WITHDRAWN = "withdrawn", _("撤回")
        TRANSFERRED = "transferred", _("调动")
        RETIRED = "retired", _("退休")
        LEAVE_STARTED = "leave_started", _("离岗休假")
        LEAVE_ENDED = "leave_ended", _("返岗")
        MOVED_BY_MERGE = "moved_by_merge", _("学校合并")

    teacher = models.ForeignKey(
        TeacherRecord, on_delete=models.CASCADE, related_name="events", verbose_name=_("教师")
    )
    kind = models.CharField(_("事件"), max_length=16, choices=Kind.choices)
    transfer = models.ForeignKey(
        TeacherTransfer, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )

    class Meta:
        ordering = ["teacher", "-at", "-id"]
        verbose_name = _("教师事件")
        verbose_name_plural = _("教师事件")

    def __str__(self) -> str:
        return f"{self.teacher} {self.get_kind_display()}"


# --------------------------------------------------------------------------- 学籍库


class StudentRecord(models.Model):
    """A student's record (学籍): one per person across the region.

    `id_digest` copies the person's keyed ID hash so the database itself refuses a second
    record for the same ID document, even from two schools at the same moment. The national
    student number of a student with a resident ID is `G` + that number; it is not stored in
    clear (it would expose the ID number) but found through the digest and shown masked.
    A student without one has a temporary `L` number until the ID is recorded.
    """

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("在读")
        SUSPENDED = "suspended", _("休学")
        GRADUATED = "graduated", _("毕业")
        DROPPED_OUT = "dropped_out", _("辍学")
        DEREGISTERED = "deregistered", _("死亡注销")
        TRANSFERRED_OUT = "transferred_out", _("转出本区域")

    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="student_record", verbose_name=_("人员")
    )
    id_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    number_masked = models.CharField(_("全国学籍号"), max_length=19)
    # Unique through `unique_temporary_number`, not `unique=True`, which on PostgreSQL adds a
    # pattern_ops twin that nothing uses; NULL when there is none, so the index holds only the
    # students without an ID document (DJ001 exempts exactly this for `unique=True` fields).
    temporary_number = models.CharField(  # noqa: DJ001
        _("临时学籍号"), max_length=19, null=True, blank=True
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="student_records", verbose_name=_("学校")
    )
    # Indexed by `student_class_status` below: a second index on the class alone would only
    # add to what every promotion of a whole region has to rewrite.
    school_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="student_records",
        verbose_name=_("班级"),
        db_index=False,
    )
    path = models.CharField(max_length=60, editable=False)
    status = models.CharField(
        _("学籍状态"), max_length=16, choices=Status.choices, default=Status.ENROLLED
    )
    graduating = models.BooleanField(_("待毕业"), default=False)
    ethnicity = models.CharField(_("民族"), max_length=2)
    hukou = models.CharField(_("户口性质"), max_length=1, blank=True)
    health = models.CharField(_("健康状况"), max_length=2, blank=True)
    enrolled_on = models.DateField(_("入学日期"))
    left_on = models.DateField(_("离校日期"), null=True, blank=True)
    destination = models.CharField(_("转入学校（区域外）"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path", "id"]
        verbose_name = _("学籍")
        verbose_name_plural = _("学籍")
        constraints = [
            models.UniqueConstraint(
                fields=["id_digest"],
                condition=~models.Q(id_digest=""),
                name="one_student_record_per_id_document",
            ),
            models.UniqueConstraint(
                fields=["temporary_number"],
                condition=models.Q(temporary_number__isnull=False),
                name="unique_temporary_number",
            ),
        ]
        # Declared here rather than with db_index, which on PostgreSQL adds a second
        # (LIKE) index on `path` that subtree ranges never use.
        indexes = [
            models.Index(fields=["path"], name="student_path"),
            models.Index(fields=["school_class", "status"], name="student_class_status"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.number_masked}"


class StudentNumberAlias(models.Model):
    """A student number the record no longer carries (a replaced `L` number), still findable."""

    record = models.ForeignKey(
        StudentRecord, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("学籍")
    )
    number = models.CharField(_("原学籍号"), max_length=19, unique=True)
    replaced_at = models.DateTimeField(_("停用时间"), default=timezone.now)

    class Meta:
        verbose_name = _("原学籍号")
        verbose_name_plural = _("原学籍号")

    def __str__(self) -> str:
        return self.number


class TemporaryNumberCounter(models.Model):
    """The last temporary number handed out in a county for an entry year."""

    county = models.CharField(max_length=6)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["county", "year"], name="unique_temporary_counter"),
        ]

    def __str__(self) -> str:
        return f"{self.county}/{self.year}: {self.last}"


class StudentRequest(ApprovalFlow):
    """A student change that waits for approvals: transfer, transfer out, suspend, drop out,
    deregister. Nothing about the student changes until the last approval."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("转学")
        TRANSFER_OUT = "transfer_out", _("转出本区域")
        SUSPEND = "suspend", _("休学")
        DROP_OUT = "drop_out", _("辍学")
        DEREGISTER = "deregister", _("死亡注销")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, db_index=True)
    record = models.ForeignKey(
        StudentRecord, on_delete=models.PROTECT, related_name="requests", verbose_name=_("学籍")
    )
    from_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("原班级"),
    )
    to_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("转入班级"),
    )
    destination = models.CharField(_("转入学校（区域外）"), max_length=100, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("学籍申请")
        verbose_name_plural = _("学籍申请")
        constraints = [
            models.UniqueConstraint(
                fields=["record"],
                condition=models.Q(status="pending"),
                name="one_open_request_per_student",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record} {self.get_kind_display()}"


class StudentEvent(RegistryEvent):
    """One event in a student's history, shown on the student's page."""

    class Kind(models.TextChoices):
        ENROLLED = "enrolled", _("新生注册")
        READMITTED = "readmitted", _("入学（升学或重新入学）")
        UPDATED = "updated", _("信息变更")
        REQUESTED = "requested", _("提出申请")
        STEP_APPROVED = "step_approved", _("审批通过")
        REJECTED = "rejected", _("驳回")
        WITHDRAWN = "withdrawn", _("撤回")
        TRANSFERRED = "transferred", _("转学")
        TRANSFERRED_OUT = "transferred_out", _("转出本区域")
        PROMOTED = "promoted", _("升级")
        GRADUATING = "graduating", _("待毕业")
        GRADUATED = "graduated", _("毕业")
        SUSPENDED = "suspended", _("休学")
        RESUMED = "resumed", _("复学")
        DROPPED_OUT = "dropped_out", _("辍学")
        DEREGISTERED = "deregistered", _("死亡注销")
        NUMBER_REPLACED = "number_replaced", _("临时学籍号转正式学籍号")
        MOVED_BY_MERGE = "moved_by_merge", _("学校合并")

    record = models.ForeignKey(
        StudentRecord, on_delete=models.CASCADE, related_name="events", verbose_name=_("学籍")
    )
    kind = models.CharField(_("事件"), max_length=16, choices=Kind.choices)
    # Indexed by `student_event_request` where set: most events belong to no request.
    request = models.ForeignKey(
        StudentRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )

    class Meta:
        ordering = ["record", "-at", "-id"]
        verbose_name = _("学籍事件")
        verbose_name_plural = _("学籍事件")
        indexes = [
            models.Index(
                fields=["request"],
                condition=models.Q(request__isnull=False),
                name="student_event_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record} {self.get_kind_display()}"


class Rollover(models.Model):
    """One run of the year rollover (升级) over a school, county or region."""

    path = models.CharField(max_length=60, db_index=True)
    from_year = models.ForeignKey(
        SchoolYear, on_delete=models.PROTECT, related_name="+", verbose_name=_("原学年")
    )
    to_year = models.ForeignKey(
        SchoolYear, on_delete=models.PROTECT, related_name="+", verbose_name=_("新学年")
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人"), max_length=64, blank=True)
    classes_created = models.PositiveIntegerField(_("新建班级数"), default=0)
    promoted = models.PositiveIntegerField(_("升级人数"), default=0)
    graduating = models.PositiveIntegerField(_("待毕业人数"), default=0)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("学年升级")
        verbose_name_plural = _("学年升级")

    def __str__(self) -> str:
        return f"{self.path} {self.from_year} → {self.to_year}"


class ClassSuccession(models.Model):
    """Which class a class's students continue in: next year's class after a rollover, or the
    absorbing school's class after a merge. Kept, so a class's line can be followed."""

    class Kind(models.TextChoices):
        ROLLOVER = "rollover", _("升级")
        MERGE = "merge", _("学校合并")

    old_class = models.OneToOneField(
        SchoolClass, on_delete=models.PROTECT, related_name="successor_link"
    )
    new_class = models.ForeignKey(SchoolClass, on_delete=models.PROTECT, related_name="+")
    old_path = models.CharField(max_length=60, db_index=True)
    new_path = models.CharField(max_length=60)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    rollover = models.ForeignKey(
        Rollover, on_delete=models.PROTECT, null=True, blank=True, related_name="successions"
    )

    class Meta:
        verbose_name = _("班级接续")
        verbose_name_plural = _("班级接续")

    def __str__(self) -> str:
        return f"{self.old_path} → {self.new_path}"
