# ruff: noqa: N999  Django names a command after its file: `santong import-template`.
"""`santong import-template KIND OUT.xlsx`: writes the import template of a kind."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from santong.core.actors import SYSTEM
from santong.imports.kinds import get_kind, kind_names
from santong.imports.templates import write_template


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _("生成某类导入的 Excel 模板：中文表头、填写说明，以及代码类列的下拉列表。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(kind_names()), help=_("导入类型"))
        parser.add_argument("out", help=_("输出的 .xlsx 文件"))

    def handle(self, *args: Any, **options: Any) -> None:
        out = write_template(get_kind(options["kind"]), Path(options["out"]), actor=SYSTEM)
        self.stdout.write(_("模板已写入 %(path)s") % {"path": out})
