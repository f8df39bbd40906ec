"""`santong demo`: a working platform from a fresh clone in one command.

Creates the database, collects static files, loads 四川省's region tree, builds (or reuses) the
deterministic synthetic population, prints one account per role with a fresh password, and
serves on http://127.0.0.1:8000.
"""

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils.translation import gettext as _
from tqdm import tqdm

from santong.accounts.models import Role
from santong.demo.credentials import credentials_path, format_table, issue_credentials
from santong.demo.credentials import write_credentials as write_credentials_file
from santong.demo.generator import (
    DEFAULT_CHUNK,
    DEFAULT_SEED,
    PROVINCE,
    START_YEAR,
    Options,
    PopulationError,
    build_population,
    planned_people,
    population_complete,
    scale_for_students,
)
from santong.demo.registry_population import (
    pending_students,
    pending_teachers,
    populate_registry,
)
from santong.orgs import services as org_services
from santong.orgs.models import School, SchoolClass, SchoolYear


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(str(_("应为正数。")))
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(str(_("应为正整数。")))
    return value


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _(
            "建立演示环境并启动服务：创建数据库（默认 var/ 下的 SQLite）、收集静态文件、载入四川省"
            "行政区划、生成确定性的合成人口（各类学校、班级、教师、学生、家长），为每类角色各打印一个"
            "演示账号和新生成的密码（同时写入 var/demo-credentials.json），然后在 "
            "http://127.0.0.1:8000 上提供服务。再次运行会复用已有数据并重新生成演示密码。"
        )

    def add_arguments(self, parser: CommandParser) -> None:
        size = parser.add_mutually_exclusive_group()
        size.add_argument(
            "--scale",
            type=_positive_float,
            help=_(
                "人口规模倍数（默认 1：约 300 所学校）。学校数随倍数增长，班额保持真实；"
                "小于 1 时学校更少、班级更小（测试用 0.01）。约 10 对应一百万学生。"
            ),
        )
        size.add_argument(
            "--students",
            type=_positive_int,
            help=_("大约的学生人数，代替 --scale（按默认规模的学生数折算倍数）。"),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=_("随机种子；同一种子和规模总是生成同样的人口（默认 %(default)s）。"),
        )
        parser.add_argument(
            "--chunk-size",
            type=_positive_int,
            default=DEFAULT_CHUNK,
            help=_("每个事务写入的人数（按整校划分，默认 %(default)s）。"),
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help=_("准备好数据并打印账号后退出，不启动服务。"),
        )
        parser.add_argument(
            "--port",
            type=_positive_int,
            default=8000,
            help=_("服务端口（默认 %(default)s，只监听 127.0.0.1）。"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        started = time.monotonic()
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        self._say(verbosity, _("准备数据库和静态文件……"))
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
        call_command("collectstatic", interactive=False, verbosity=max(0, verbosity - 1))
        org_services.load_regions(provinces=[PROVINCE])
        has_current = SchoolYear.objects.filter(is_current=True).exists()
        year = org_services.ensure_school_year(start_year=START_YEAR, make_current=not has_current)

        try:
            if population_complete():
                self._say(
                    verbosity,
                    _("演示人口已存在，直接复用（要按其他规模重建，请先删除 %(dir)s）。")
                    % {"dir": settings.VAR_DIR},
                )
            else:
                self._build(options, year, verbosity)
            self._register(options, verbosity)
            accounts = issue_credentials()
        except PopulationError as exc:
            raise CommandError(str(exc)) from exc
        path = credentials_path()
        write_credentials_file(accounts, path)

        if verbosity:
            self.stdout.write(self._summary())
            self.stdout.write("")
            self.stdout.write(
                _("演示账号（密码每次运行重新生成，也保存在 %(path)s）：") % {"path": path}
            )
            self.stdout.write(format_table(accounts))
            self.stdout.write("")
            self.stdout.write(
                _("准备用时 %(seconds).1f 秒。") % {"seconds": time.monotonic() - started}
            )
        if options["no_serve"]:
            return
        self.stdout.write(
            _("在浏览器中打开 http://127.0.0.1:%(port)s/ ，按 Ctrl+C 停止。")
            % {"port": options["port"]}
        )
        call_command("runserver", f"127.0.0.1:{options['port']}", use_reloader=False)

    def _build(self, options: dict[str, Any], year: SchoolYear, verbosity: int) -> None:
        seed: int = options["seed"]
        scale: float = options["scale"] or 1.0
        if options["students"]:
            scale = scale_for_students(options["students"], seed=seed)
        plan = Options(seed=seed, scale=scale, chunk_size=options["chunk_size"])
        students, people = planned_people(plan)
        self._say(
            verbosity,
            _("生成合成人口：规模 %(scale).3g，约 %(students)s 名学生，共 %(people)s 人……")
            % {"scale": scale, "students": f"{students:,}", "people": f"{people:,}"},
        )
        with tqdm(
            total=people,
            unit=_("人"),
            unit_scale=True,
            file=sys.stderr,
            disable=verbosity == 0,
            dynamic_ncols=True,
        ) as bar:
            build_population(plan, school_year=year, progress=bar.update)

    def _register(self, options: dict[str, Any], verbosity: int) -> None:
        """Registers the population in the 学籍库 and 教师库 (skipping who is registered) and
        leaves a few requests waiting, so the registry pages and work queues have content."""
        people = pending_students() + pending_teachers()
        if people:
            self._say(
                verbosity,
                _("在学籍库、教师库中登记 %(people)s 人……") % {"people": f"{people:,}"},
            )
        with tqdm(
            total=people,
            unit=_("人"),
            unit_scale=True,
            file=sys.stderr,
            disable=verbosity == 0 or not people,
            dynamic_ncols=True,
        ) as bar:
            counts = populate_registry(seed=options["seed"], progress=bar.update)
        if counts.requests:
            self._say(
                verbosity,
                _("已在示范区县发起 %(count)s 项待审批的转学、休学和调动申请。")
                % {"count": counts.requests},
            )

    def _say(self, verbosity: int, message: str) -> None:
        if verbosity:
            self.stdout.write(message)

    def _summary(self) -> str:
        kinds = dict(School.objects.values_list("kind").annotate(n=Count("pk")))
        by_kind = "，".join(
            f"{label} {kinds[value]:,}" for value, label in School.Kind.choices if value in kinds
        )
        roles = dict(Role.objects.values_list("kind").annotate(n=Count("pk")))
        teachers = (
            Role.objects.filter(kind__in=[Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER])
            .values("user_id")
            .distinct()
            .count()
        )
        return _(
            "学校 %(schools)s 所（%(by_kind)s）；班级 %(classes)s 个；教师 %(teachers)s 人；"
            "学生 %(students)s 人；家长 %(parents)s 人。"
        ) % {
            "schools": f"{sum(kinds.values()):,}",
            "by_kind": by_kind,
            "classes": f"{SchoolClass.objects.count():,}",
            "teachers": f"{teachers:,}",
            "students": f"{roles.get(Role.Kind.STUDENT, 0):,}",
            "parents": f"{roles.get(Role.Kind.PARENT, 0):,}",
        }
