# ruff: noqa: N999  Django names a command after its file: this one is `santong import`.
"""`santong import KIND FILE`: a bulk import from the command line, with a progress bar.

Runs as an import job in the foreground, so it leaves the same record, issues and report as
an upload on the web. Run the same command again after an interruption (even SIGKILL) and it
continues the unfinished job after its last committed batch; every write is an upsert by
natural key, so nothing is duplicated either way.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils.translation import gettext as _
from tqdm import tqdm

from santong.accounts.models import User
from santong.accounts.selectors import active_role_for
from santong.core.actors import SYSTEM, Actor
from santong.imports import jobs, selectors, services
from santong.imports.headers import HeaderMapping
from santong.imports.kinds import kind_names
from santong.imports.models import ImportJob
from santong.imports.pipeline import DEFAULT_BATCH_SIZE, Progress


class _Unterminated:
    """A command's stream for tqdm: Django's wrapper ends every write with a newline, which
    would print each redraw of the bar on a line of its own instead of over the last one."""

    def __init__(self, stream: OutputWrapper) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        self._stream.write(text, ending="")

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _(
            "从 .xlsx、.xls 或 .csv 文件批量导入（表头按名称匹配）。"
            "默认导入通过校验的行并报告其余行；--strict 有任何错误行则不导入；"
            "--dry-run 只校验不写入。中断后重新运行同一命令会从中断处继续。"
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(kind_names()), help=_("导入类型"))
        parser.add_argument("file", help=_("要导入的文件"))
        parser.add_argument("--school", help=_("这些记录所属学校的学校标识码"))
        parser.add_argument("--dry-run", action="store_true", help=_("只校验并生成报告，不写入"))
        parser.add_argument("--strict", action="store_true", help=_("有任何错误行则什么都不导入"))
        parser.add_argument(
            "--as", dest="username", help=_("以该账号的身份导入（默认以系统身份，不受范围限制）")
        )
        parser.add_argument("--role", type=int, help=_("该账号有多个角色时，使用的角色编号"))
        parser.add_argument("--sheet", help=_("读取的工作表名称（默认第一个可见的工作表）"))
        parser.add_argument(
            "--ignore-unknown", action="store_true", help=_("忽略无法识别的列，而不是拒绝导入")
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=_("每批提交的行数")
        )
        parser.add_argument(
            "--restart", action="store_true", help=_("不继续未完成的任务，重新开始一个新任务")
        )

    def _actor(self, username: str | None, role_id: int | None) -> Actor:
        if not username:
            return SYSTEM
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(_("没有名为 %(name)s 的启用账号。") % {"name": username})
        role = active_role_for(user, role_id)
        if role is None:
            raise CommandError(_("账号 %(name)s 没有可用的角色。") % {"name": username})
        return Actor(user=user, role=role)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("文件不存在：%(path)s") % {"path": path})
        actor = self._actor(options["username"], options["role"])
        job_options: dict[str, Any] = {
            "dry_run": options["dry_run"],
            "strict": options["strict"],
            "ignore_unknown": options["ignore_unknown"],
            "batch_size": options["batch_size"],
        }
        for name in ("sheet", "school"):
            if options[name]:
                job_options[name] = options[name]
        job = None
        if not options["restart"]:
            job = selectors.resumable_job(
                kind=options["kind"],
                digest=services.file_digest(path),
                user=actor.user,
                options=job_options,
            )
        if job is not None and not jobs.is_abandoned(job):
            raise CommandError(
                _("该文件正在由 %(worker)s 导入（任务 #%(id)s）。")
                % {"worker": job.worker, "id": job.pk}
            )
        if job is not None:
            self.stderr.write(
                _("继续未完成的导入任务 #%(id)s：已提交 %(batches)s 批、%(rows)s 行。")
                % {"id": job.pk, "batches": job.last_committed_batch + 1, "rows": job.rows_read}
            )
        else:
            job = services.create_import_job(
                actor=actor, kind=options["kind"], options=job_options, source_path=path
            )
        bar = tqdm(
            unit=_("行"),
            file=_Unterminated(self.stderr),
            disable=options["verbosity"] == 0,
            dynamic_ncols=True,
        )

        def on_progress(progress: Progress) -> None:
            if progress.total_estimate and bar.total != progress.total_estimate:
                bar.total = progress.total_estimate
            bar.update(progress.rows_read - bar.n)
            bar.set_postfix({_("拒绝"): progress.rejected}, refresh=False)

        try:
            job = jobs.run_job(job.pk, progress=on_progress)
        finally:
            bar.close()
        self._summary(job)

    def _summary(self, job: ImportJob) -> None:
        out = self.stdout
        out.write(
            _(
                "读取 %(read)s 行：导入 %(imported)s（新增 %(created)s，更新 %(updated)s，"
                "未变化 %(unchanged)s），拒绝 %(rejected)s；%(warned)s 行做了自动修正。"
            )
            % {
                "read": job.rows_read,
                "imported": job.rows_imported,
                "created": job.rows_created,
                "updated": job.rows_updated,
                "unchanged": job.rows_unchanged,
                "rejected": job.rows_rejected,
                "warned": job.rows_warned,
            }
        )
        for note in job.notes:
            out.write(f"· {note}")
        if job.report:
            out.write(_("报告：%(path)s") % {"path": job.report.path})
        if job.status == ImportJob.Status.FAILED:
            message = job.message
            if job.header_mapping and not job.rows_read:
                mapping = HeaderMapping.from_json(job.header_mapping)
                if mapping.unknown and mapping.complete:
                    message += _("。确认这些列不需要导入时，可加 --ignore-unknown。")
            raise CommandError(message)
