# ruff: noqa: N999  Django names a command after its file: this one is `santong activation-codes`.
"""`santong activation-codes --school CODE --out FILE`: issue one-time activation codes for the
accounts of a school (or one class of it) that have not chosen a password yet, and write the
printable class lists (`.xlsx`, or PDF when FILE ends in `.pdf`)."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts.models import Role, User
from santong.accounts.selectors import active_role_for
from santong.accounts.services import ACTIVATION_DAYS, issue_activation_codes
from santong.core.actors import SYSTEM, Actor
from santong.imports.class_list import write_pdf, write_xlsx
from santong.orgs.models import School, SchoolClass


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _(
            "为尚未设置密码的账号发放一次性激活码，并生成可打印的班级名单；"
            "此前发放的激活码随之失效。"
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--school", required=True, help=_("学校标识码"))
        parser.add_argument("--class", dest="class_name", help=_("只发放该班级，如“三年级（2）班”"))
        parser.add_argument(
            "--kind",
            action="append",
            choices=[
                Role.Kind.STUDENT,
                Role.Kind.PARENT,
                Role.Kind.HEAD_TEACHER,
                Role.Kind.SUBJECT_TEACHER,
            ],
            help=_("只发放这些角色的账号（可重复）"),
        )
        parser.add_argument("--days", type=int, default=ACTIVATION_DAYS, help=_("有效天数"))
        parser.add_argument("--out", required=True, help=_("名单文件（.xlsx 或 .pdf）"))
        parser.add_argument("--as", dest="username", help=_("以该账号的身份发放"))

    def handle(self, *args: Any, **options: Any) -> None:
        actor = SYSTEM
        if options["username"]:
            user = User.objects.filter(username=options["username"], is_active=True).first()
            role = active_role_for(user, None) if user is not None else None
            if user is None or role is None:
                raise CommandError(
                    _("没有名为 %(name)s 的可用账号。") % {"name": options["username"]}
                )
            actor = Actor(user=user, role=role)
        school = School.objects.filter(code=options["school"]).first()
        if school is None:
            raise CommandError(_("学校标识码 %(code)s 未登记。") % {"code": options["school"]})
        path = school.path
        if options["class_name"]:
            found = (
                SchoolClass.objects.filter(
                    school=school, name=options["class_name"], school_year__is_current=True
                )
                .values_list("path", flat=True)
                .first()
            )
            if found is None:
                raise CommandError(
                    _("本学年没有班级「%(name)s」。") % {"name": options["class_name"]}
                )
            path = found
        try:
            codes = issue_activation_codes(
                actor=actor, path=path, kinds=options["kind"], days=options["days"]
            )
        except (PermissionDenied, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        out = Path(options["out"])
        expires = timezone.now() + timedelta(days=options["days"])
        writer = write_pdf if out.suffix.lower() == ".pdf" else write_xlsx
        writer(codes, out, school=school.name, expires=expires)
        self.stdout.write(
            _("已为 %(count)s 个账号发放激活码，名单：%(path)s")
            % {"count": len(codes), "path": out}
        )
