"""Import jobs and their row-level issues: the only tables this app owns."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One import of one file (导入任务): its options, progress, outcome and report.

    `path` is the scope path of the role that started it, so a job is visible to that role and
    to the administrators above it. `last_committed_batch` is written in the same transaction
    as each batch, which is what lets a run killed midway resume where it stopped.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("导入类型"), max_length=32)
    file = models.FileField(_("文件"), upload_to="imports/uploads/%Y/%m/", blank=True)
    source_path = models.CharField(_("本地文件"), max_length=500, blank=True)
    source_name = models.CharField(_("文件名"), max_length=255)
    source_digest = models.CharField(max_length=64, db_index=True, editable=False)
    options = models.JSONField(_("选项"), default=dict, blank=True)
    header_mapping = models.JSONField(_("列对应关系"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    message = models.TextField(_("说明"), blank=True)
    notes = models.JSONField(_("文件说明"), default=list, blank=True)
    rows_read = models.PositiveIntegerField(_("读取行数"), default=0)
    rows_created = models.PositiveIntegerField(_("新增"), default=0)
    rows_updated = models.PositiveIntegerField(_("更新"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("未变化"), default=0)
    rows_rejected = models.PositiveIntegerField(_("拒绝"), default=0)
    rows_warned = models.PositiveIntegerField(_("有修正"), default=0)
    rows_estimated = models.PositiveIntegerField(_("预计行数"), null=True, blank=True)
    last_committed_batch = models.IntegerField(default=-1, editable=False)
    report = models.FileField(_("报告"), upload_to="imports/reports/%Y/%m/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    role = models.ForeignKey(
        "accounts.Role",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作角色"),
    )
    role_label = models.CharField(_("操作角色"), max_length=100, blank=True)
    path = models.CharField(max_length=60, blank=True, db_index=True, editable=False)
    worker = models.CharField(max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")

    def __str__(self) -> str:
        return f"{self.kind} · {self.source_name}"

    @property
    def rows_imported(self) -> int:
        return self.rows_created + self.rows_updated + self.rows_unchanged


class ImportIssue(models.Model):
    """A problem with one cell or row of an import (导入问题): an error rejects the row, a
    warning records a repair (old → new) made to a row that was imported."""

    class Severity(models.TextChoices):
        ERROR = "error", _("错误")
        WARNING = "warning", _("自动修正")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row_number = models.PositiveIntegerField(_("行号"))
    header = models.CharField(_("列"), max_length=100, blank=True)
    field = models.CharField(max_length=64, blank=True)
    value = models.CharField(_("原值"), max_length=500, blank=True)
    repaired = models.CharField(_("修正为"), max_length=500, blank=True)
    message = models.CharField(_("原因"), max_length=500)
    suggestion = models.CharField(_("建议值"), max_length=200, blank=True)
    severity = models.CharField(_("类别"), max_length=8, choices=Severity.choices)

    class Meta:
        ordering = ["job", "row_number", "id"]
        verbose_name = _("导入问题")
        verbose_name_plural = _("导入问题")
        indexes = [models.Index(fields=["job", "row_number"], name="import_issue_job_row")]

    def __str__(self) -> str:
        return f"{self.row_number}: {self.message}"
