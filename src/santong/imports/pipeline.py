"""The import pipeline: stream → header mapping → repairs → validation → write, batch by batch.

Each batch is written in one transaction together with its issues and the job's progress
(the `Ledger`), so a process killed at any moment leaves whole batches or nothing. Running the
same file again skips the batches the ledger says are committed; that only saves time, since
every write is an upsert by natural key and a batch written twice changes nothing.

Modes: by default the valid rows are written and the rest reported; `strict` first validates
the whole file and writes nothing if any row is bad (then writes everything in one
transaction); `dry_run` validates and counts, and writes nothing.

Memory stays flat: a batch of rows is the largest thing held, plus one 8-byte hash per
accepted row for finding duplicates inside the file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.db.backends.sqlite3.creation import DatabaseCreation as SQLiteCreation
from django.utils import translation
from django.utils.translation import gettext as _

from santong.core.actors import Actor
from santong.imports.cleaning import Batch, clean_rows
from santong.imports.codes import CodeTable
from santong.imports.headers import HeaderMapping, find_header_row, map_headers
from santong.imports.kinds import ImportKind, RowError, WriteResult
from santong.imports.readers import SheetRow, TableFile, open_table
from santong.imports.report import Issue, ReportWriter, Severity

DEFAULT_BATCH_SIZE: Final = 10_000
HEADER_SCAN_ROWS: Final = 10


class HeaderMismatchError(ValueError):
    """The file's headers do not match the kind's columns; `mapping` says how."""

    def __init__(self, mapping: HeaderMapping, message: str | None = None) -> None:
        super().__init__(message or mapping.describe())
        self.mapping = mapping


@dataclass
class Progress:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0  # rows imported with at least one repair or warning
    batches: int = 0
    total_estimate: int | None = None

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def apply_write(self, result: WriteResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged


class Ledger(Protocol):
    """Where a run keeps what it has committed; an `ImportJob` in production."""

    @property
    def resume_after(self) -> int:
        """Index of the last batch committed by an earlier run of this job, or -1."""
        ...

    def restored_progress(self) -> Progress:
        """The counts as of `resume_after`."""
        ...

    def commit(self, *, batch_index: int, progress: Progress, issues: Sequence[Issue]) -> None:
        """Records a batch; called inside the batch's transaction."""
        ...

    def stored_issues(self, first_row: int, last_row: int) -> list[Issue]:
        """Issues an earlier run committed for these rows (to rebuild the report)."""
        ...


@dataclass
class MemoryLedger:
    """A ledger for one call: keeps everything in memory, resumes nothing."""

    issues: list[Issue] = field(default_factory=list)
    committed: int = -1
    progress: Progress = field(default_factory=Progress)

    @property
    def resume_after(self) -> int:
        return -1

    def restored_progress(self) -> Progress:
        return Progress()

    def commit(self, *, batch_index: int, progress: Progress, issues: Sequence[Issue]) -> None:
        self.issues.extend(issues)
        self.committed = batch_index
        self.progress = Progress(**progress.to_json())

    def stored_issues(self, first_row: int, last_row: int) -> list[Issue]:
        return [i for i in self.issues if first_row <= i.row <= last_row]


@dataclass
class ImportOutcome:
    progress: Progress
    mapping: HeaderMapping
    notes: list[str]
    report: Path | None
    strict_refused: bool = False
    dry_run: bool = False
    message: str = ""  # why nothing was imported, when that is the outcome


@dataclass
class _Run:
    kind: ImportKind
    actor: Actor
    mapping: HeaderMapping
    ledger: Ledger
    report_path: Path | None
    batch_size: int
    on_progress: Callable[[Progress], None] | None
    progress: Progress
    table: TableFile
    seen: dict[int, int] = field(default_factory=dict)
    report: ReportWriter | None = None

    def report_writer(self) -> ReportWriter | None:
        if self.report is None and self.report_path is not None:
            self.report = ReportWriter(self.report_path, headers=self.mapping.headers)
        return self.report


def run_import(
    kind: ImportKind,
    path: str | Path,
    *,
    actor: Actor,
    dry_run: bool = False,
    strict: bool = False,
    progress: Callable[[Progress], None] | None = None,
    ledger: Ledger | None = None,
    sheet: str | None = None,
    mapping: HeaderMapping | None = None,
    ignore_unknown: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    report_path: Path | None = None,
) -> ImportOutcome:
    """Imports `path` as `kind` on behalf of `actor`; see the module docstring for the modes.

    Raises HeaderMismatchError when columns are missing or duplicated, or unknown (unless
    `ignore_unknown`); ImportFileError when the file cannot be read; ScopeError when the actor
    may not import at all. Row problems never raise: they are in the ledger and the report.
    """
    actor.require_admin()
    ledger = ledger or MemoryLedger()
    with open_table(path, sheet=sheet) as table:
        mapping, rows = _mapped_rows(kind, table, mapping)
        if not mapping.complete or (mapping.unknown and not ignore_unknown):
            raise HeaderMismatchError(mapping)
        notes = [*table.notes, *_title_notes(mapping)]
        if table.merged:
            notes.append(
                _("文件含合并单元格：%(refs)s。")
                % {"refs": "、".join(m.ref for m in table.merged[:20])}
            )
        resume = -1 if (strict or dry_run) else ledger.resume_after
        state = ledger.restored_progress() if resume >= 0 else Progress()
        state.total_estimate = (
            table.estimated_rows - mapping.header_row if table.estimated_rows else None
        )
        run = _Run(
            kind=kind,
            actor=actor,
            mapping=mapping,
            ledger=ledger,
            report_path=report_path,
            batch_size=batch_size,
            on_progress=progress,
            progress=state,
            table=table,
        )
        tables = kind.code_tables(actor=actor)
        try:
            # Strict mode's first pass is a dry run: it counts, and lets the kind remember what
            # earlier batches would create (a teaching point's host), without writing.
            _run_pass(run, rows, tables, dry_run=dry_run or strict, resume_after=resume)
        except BaseException:
            if run.report is not None:
                run.report.close([], notes)
            raise
    # The whole file has been read: the total is no longer an estimate.
    run.progress.total_estimate = run.progress.rows_read
    if progress is not None:
        progress(run.progress)
    refused = strict and run.progress.rejected > 0
    message = ""
    if strict and not dry_run:
        # The first pass counted what would happen; the second pass counts what did.
        run.progress.apply_write(
            WriteResult(-run.progress.created, -run.progress.updated, -run.progress.unchanged)
        )
        if not refused:
            _write_strict(run, path, sheet, tables)
    if refused:
        message = _("严格模式：有 %(count)s 行未通过校验，没有导入任何数据。") % {
            "count": run.progress.rejected
        }
        notes.append(message)
    if dry_run:
        notes.append(_("试运行：只做了校验，没有写入任何数据。"))
    report = None
    if run.report is not None:
        run.report.close(_summary(run.progress, dry_run=dry_run, refused=refused), notes)
        report = run.report.path
    return ImportOutcome(run.progress, mapping, notes, report, refused, dry_run, message)


def _mapped_rows(
    kind: ImportKind, table: TableFile, given: HeaderMapping | None
) -> tuple[HeaderMapping, Iterator[SheetRow]]:
    """The header mapping and the data rows after the header row."""
    rows = table.rows()
    head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    if given is not None:
        position = next((i for i, r in enumerate(head) if r.number == given.header_row), None)
        found = [] if position is None else [str(v or "").strip() for v in head[position].values]
        if position is None or found[: len(given.headers)] != given.headers[: len(found)]:
            raise HeaderMismatchError(
                given, _("文件的表头与设置的列对应关系不一致，请重新设置列对应关系。")
            )
        return given, itertools.chain(head[position + 1 :], rows)
    located = find_header_row(kind.spec, ((r.number, r.values) for r in head))
    if located is None:
        number = head[0].number if head else 1
        values: Sequence[str | None] = head[0].values if head else []
    else:
        number, values = located
    mapping = map_headers(kind.spec, values, header_row=number)
    after = next((i + 1 for i, r in enumerate(head) if r.number == number), len(head))
    return mapping, itertools.chain(head[after:], rows)


def _title_notes(mapping: HeaderMapping) -> list[str]:
    if mapping.header_row > 1:
        return [_("表头在第 %(row)s 行，上面的标题行已跳过。") % {"row": mapping.header_row}]
    return []


def _non_empty(rows: Iterable[SheetRow]) -> Iterator[SheetRow]:
    for row in rows:
        if any(v is not None and str(v).strip() for v in row.values):
            yield row


def _batches(rows: Iterable[SheetRow], size: int) -> Iterator[list[SheetRow]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _key_hash(batch: Batch, position: int, key: Sequence[str]) -> int | None:
    values = tuple(batch.columns[name][position] for name in key)
    if any(v is None for v in values):
        return None
    return hash(values)


@dataclass
class _Prepared:
    """A batch read, cleaned, checked for duplicates and validated, ready to be written; or,
    with `stored` set, a batch an earlier run committed, to be replayed into the report."""

    index: int
    chunk: list[SheetRow]
    ok: Batch | None = None
    issues: list[Issue] = field(default_factory=list)
    stored: list[Issue] | None = None


def _prepare(
    run: _Run,
    index: int,
    chunk: list[SheetRow],
    tables: dict[str, CodeTable],
    resume_after: int,
) -> _Prepared:
    spec = run.kind.spec
    cleaned = clean_rows(spec, run.mapping, chunk, index=index, tables=tables)
    if index <= resume_after:
        return _Prepared(index, chunk, stored=_replayed(run, chunk, cleaned.batch))
    issues = cleaned.issues
    bad = set(cleaned.bad)
    batch = cleaned.batch
    for position in range(len(batch)):
        if position in bad:
            continue
        digest = _key_hash(batch, position, spec.key)
        if digest is None:
            continue
        first = run.seen.get(digest)
        if first is not None:
            bad.add(position)
            issues.append(
                Issue(
                    row=batch.row_numbers[position],
                    header="",
                    value="",
                    message=_("与第 %(row)s 行重复（%(key)s相同）：请删除或改正其中一行。")
                    % {
                        "row": first,
                        "key": "、".join(spec.by_field[k].header for k in spec.key),
                    },
                )
            )
        else:
            run.seen[digest] = batch.row_numbers[position]
    candidates = batch.select([i for i in range(len(batch)) if i not in bad])
    ok, errors = run.kind.validate_batch(candidates, actor=run.actor)
    issues.extend(_row_errors(run, errors, chunk))
    return _Prepared(index, chunk, ok, issues)


def _finish(run: _Run, prepared: _Prepared, *, dry_run: bool) -> None:
    """Writes a prepared batch with its issues and the progress in one transaction."""
    chunk, issues = prepared.chunk, prepared.issues
    if prepared.stored is not None:
        _report(run, chunk, prepared.stored)
        if run.on_progress is not None:
            run.on_progress(run.progress)
        return
    assert prepared.ok is not None
    rejected_rows = {i.row for i in issues if i.severity == Severity.ERROR}
    with transaction.atomic():
        result, late_rejects, late_issues = _write(run, prepared.ok, dry_run=dry_run)
        rejected_rows |= late_rejects
        issues.extend(late_issues)
        run.progress.apply_write(result)
        run.progress.rows_read += len(chunk)
        run.progress.rejected += len(rejected_rows)
        run.progress.warnings += len(
            {i.row for i in issues if i.severity == Severity.WARNING} - rejected_rows
        )
        run.progress.batches = prepared.index + 1
        run.ledger.commit(batch_index=prepared.index, progress=run.progress, issues=issues)
    _report(run, chunk, issues)
    if run.on_progress is not None:
        run.on_progress(run.progress)


def _run_pass(
    run: _Run,
    rows: Iterable[SheetRow],
    tables: dict[str, CodeTable],
    *,
    dry_run: bool,
    resume_after: int,
) -> None:
    chunks = enumerate(_estimating(run, _batches(_non_empty(rows), run.batch_size)))
    if not _validates_ahead(run.kind, dry_run=dry_run):
        for index, chunk in chunks:
            _finish(run, _prepare(run, index, chunk, tables, resume_after), dry_run=dry_run)
        return
    # While the database writes batch N, a second thread (with a connection of its own) reads,
    # cleans and validates batch N+1: the database releases the interpreter while it works,
    # so the two halves of the import overlap instead of taking turns. Batches are still
    # prepared one after the other and written in order, each in its own transaction.
    language = translation.get_language()

    def prepare_next() -> _Prepared | None:
        item = next(chunks, None)
        if item is None:
            return None
        with translation.override(language):
            return _prepare(run, item[0], item[1], tables, resume_after)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-validate") as ahead:
        try:
            upcoming = ahead.submit(prepare_next)
            while (prepared := upcoming.result()) is not None:
                upcoming = ahead.submit(prepare_next)
                _finish(run, prepared, dry_run=dry_run)
        finally:
            ahead.submit(connections.close_all).result()


def _estimating(run: _Run, chunks: Iterable[list[SheetRow]]) -> Iterator[list[SheetRow]]:
    """The batches as they are read, each first bringing the estimated total up to date (a
    CSV's is projected from how far into the file the reader has got)."""
    for chunk in chunks:
        last = run.table.estimate_rows(chunk[-1].number)
        if last is not None:
            run.progress.total_estimate = last - run.mapping.header_row
        yield chunk


def _validates_ahead(kind: ImportKind, *, dry_run: bool) -> bool:
    """Whether the next batch may be validated while the current one is written: only for a
    kind that says its checks of a batch never depend on the batch before it being stored,
    only when writing, only outside a transaction (one the second connection could not see
    into, such as a test's), and not on an in-memory SQLite database, whose connections share
    one cache with table locks, so that a read waits for the writer's commit."""
    return (
        kind.validates_ahead
        and not dry_run
        and not connection.in_atomic_block
        and not (
            connection.vendor == "sqlite"
            and SQLiteCreation.is_in_memory_db(connection.settings_dict["NAME"])
        )
    )


def _write(run: _Run, ok: Batch, *, dry_run: bool) -> tuple[WriteResult, set[int], list[Issue]]:
    """Writes a batch; if the database changed since validation (a concurrent edit), validates
    once more and writes what still passes, so one late conflict does not sink the batch."""
    if not len(ok):
        return WriteResult(), set(), []
    try:
        with transaction.atomic():
            return run.kind.write_batch(ok, actor=run.actor, dry_run=dry_run), set(), []
    except (ValidationError, IntegrityError):
        again, errors = run.kind.validate_batch(ok, actor=run.actor)
        issues = _row_errors(run, errors, [])
        result = (
            run.kind.write_batch(again, actor=run.actor, dry_run=dry_run)
            if len(again)
            else WriteResult()
        )
        return result, {i.row for i in issues}, issues


def _row_errors(run: _Run, errors: Sequence[RowError], chunk: Sequence[SheetRow]) -> list[Issue]:
    positions = run.mapping.positions()
    by_number = {r.number: r for r in chunk}
    by_field = run.kind.spec.by_field
    found: list[Issue] = []
    for error in errors:
        column = positions.get(error.field)
        raw = by_number.get(error.row)
        value = ""
        if raw is not None and column is not None and column < len(raw.values):
            value = str(raw.values[column] or "")
        header = ""
        if error.field:
            header = (
                run.mapping.headers[column]
                if column is not None
                else str(by_field[error.field].header if error.field in by_field else error.field)
            )
        found.append(
            Issue(
                row=error.row,
                header=header,
                value=value,
                message=error.message,
                field=error.field,
                suggestion=error.suggestion,
            )
        )
    return found


def _replayed(run: _Run, chunk: Sequence[SheetRow], batch: Batch) -> list[Issue]:
    """A batch an earlier run committed: its stored issues, for the report, and its keys, for
    the duplicate check."""
    stored = run.ledger.stored_issues(chunk[0].number, chunk[-1].number)
    rejected = {i.row for i in stored if i.severity == Severity.ERROR}
    for position, number in enumerate(batch.row_numbers):
        if number in rejected:
            continue
        digest = _key_hash(batch, position, run.kind.spec.key)
        if digest is not None:
            run.seen.setdefault(digest, number)
    return stored


def _report(run: _Run, chunk: Sequence[SheetRow], issues: Sequence[Issue]) -> None:
    if not issues:
        return
    writer = run.report_writer()
    if writer is None:
        return
    by_row: dict[int, list[Issue]] = {}
    for issue in issues:
        by_row.setdefault(issue.row, []).append(issue)
    for row in chunk:
        found = by_row.get(row.number)
        if found:
            writer.add_row(row, found)
    writer.add_repairs(sorted(issues, key=lambda i: i.row))


def _write_strict(
    run: _Run, path: str | Path, sheet: str | None, tables: dict[str, CodeTable]
) -> None:
    """Strict mode's second pass: every row passed, so write them all in one transaction."""
    spec = run.kind.spec
    counts = WriteResult()
    with transaction.atomic(), open_table(path, sheet=sheet) as table:
        _mapping, rows = _mapped_rows(run.kind, table, run.mapping)
        for index, chunk in enumerate(_batches(_non_empty(rows), run.batch_size)):
            cleaned = clean_rows(spec, run.mapping, chunk, index=index, tables=tables)
            ok, errors = run.kind.validate_batch(cleaned.batch, actor=run.actor)
            if errors or cleaned.bad:
                raise ValidationError(
                    _("数据在校验之后发生了变化，严格模式下没有导入任何数据，请重新导入。")
                )
            counts.add(run.kind.write_batch(ok, actor=run.actor, dry_run=False))
    run.progress.apply_write(counts)
    if run.on_progress is not None:
        run.on_progress(run.progress)


def _summary(progress: Progress, *, dry_run: bool, refused: bool) -> list[tuple[str, Any]]:
    return [
        (_("读取行数"), progress.rows_read),
        (_("新增"), progress.created),
        (_("更新"), progress.updated),
        (_("未变化"), progress.unchanged),
        (_("拒绝行数"), progress.rejected),
        (_("有自动修正的行数"), progress.warnings),
        (_("试运行"), _("是") if dry_run else _("否")),
        (_("严格模式拒绝导入"), _("是") if refused else _("否")),
    ]
