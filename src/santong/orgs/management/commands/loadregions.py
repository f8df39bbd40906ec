"""`santong loadregions`: load the GB/T 2260 region tree of the deployment's provinces."""

import operator
from functools import reduce
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils.translation import gettext as _

from santong.core.scope import subtree_q
from santong.orgs.models import Region
from santong.orgs.services import load_regions


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _(
            "从 GB/T 2260 行政区划代码文件载入省、地市、区县三级（可重复运行，只更新名称）。"
            "默认载入设置 SANTONG_PROVINCE 指定的省份，为空时载入全国。"
        )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--province",
            nargs="+",
            metavar="CODE",
            help=_("要载入的省级代码（2位），可给多个，例如 --province 51 50。"),
        )
        which.add_argument("--all", action="store_true", help=_("载入全国31个省级行政区。"))

    def handle(self, *args: Any, **options: Any) -> None:
        provinces: list[str] | None
        if options["all"]:
            provinces = None
        elif options["province"]:
            provinces = options["province"]
        else:
            configured = str(getattr(settings, "SANTONG_PROVINCE", "")).strip()
            provinces = [configured] if configured else None
        if provinces is not None:
            bad = [code for code in provinces if not (len(code) == 2 and code.isdigit())]
            if bad:
                raise CommandError(_("省级代码应为2位数字：%(codes)s") % {"codes": " ".join(bad)})
        loaded = load_regions(provinces=provinces)
        if provinces is not None and loaded == 0:
            raise CommandError(
                _("没有找到这些省级代码：%(codes)s") % {"codes": " ".join(provinces)}
            )
        scope = Region.objects.all()
        if provinces is not None:
            scope = scope.filter(
                reduce(operator.or_, (subtree_q(code, "code") for code in provinces))
            )
        levels = dict(scope.values_list("level").annotate(n=Count("code")))
        self.stdout.write(
            _("已载入行政区划：省级 %(province)s 个，地市级 %(city)s 个，区县级 %(county)s 个。")
            % {
                "province": levels.get(Region.Level.PROVINCE, 0),
                "city": levels.get(Region.Level.CITY, 0),
                "county": levels.get(Region.Level.COUNTY, 0),
            }
        )
