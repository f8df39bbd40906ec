"""The append-only audit log."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One audited action (审计事件): a write, a login, or a read of unmasked personal data.

    Rows are only ever inserted: `save` refuses updates and `delete` is refused, and on
    PostgreSQL a trigger refuses UPDATE and DELETE even from raw SQL.
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("登录")
        LOGIN_FAILED = "login_failed", _("登录失败")
        LOGOUT = "logout", _("退出")
        CREATE = "create", _("新增")
        UPDATE = "update", _("修改")
        DELETE = "delete", _("删除")
        GRANT = "grant", _("授予角色")
        REVOKE = "revoke", _("撤销角色")
        REVEAL = "reveal", _("查看完整证件号")
        EXPORT = "export", _("导出")
        SWITCH_ROLE = "switch_role", _("切换角色")

    class Outcome(models.TextChoices):
        OK = "ok", _("成功")
        DENIED = "denied", _("拒绝")
        FAILED = "failed", _("失败")

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
        db_constraint=False,
    )
    actor_name = models.CharField(_("操作人"), max_length=64, blank=True)
    actor_role = models.CharField(_("操作角色"), max_length=64, blank=True)
    action = models.CharField(_("操作"), max_length=16, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=32, blank=True, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    path = models.CharField(max_length=60, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    outcome = models.CharField(_("结果"), max_length=8, choices=Outcome.choices, default=Outcome.OK)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.get_action_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")
