"""What can be imported: each import kind declares its columns and code tables, and is the
sink for validated rows, handing them to the owning app's bulk services.

The pipeline (`santong.imports.pipeline`) does everything that does not depend on the domain:
streaming, header mapping, repairs, in-file duplicates, the report, batching and transactions.
A kind does the rest for one batch of already-cleaned columns: `validate_batch` checks it
against the database in a few set-based queries and returns the rows that pass and an error
per rejected row; `write_batch` upserts those rows by their natural key, so the same batch
written twice changes nothing. A kind instance lives for one run and may keep state across
its batches (for example the records a dry run would have created).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from santong.core.actors import Actor
from santong.imports.cleaning import Batch
from santong.imports.codes import CodeTable
from santong.imports.headers import ColumnSpec

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


@dataclass(slots=True)
class RowError:
    """A row `validate_batch` rejects: its row number, the field at fault ("" for the row)."""

    row: int
    field: str
    message: str
    suggestion: str = ""


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: WriteResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass(frozen=True)
class ImportContext:
    """Options of a run that a kind may use: the school the rows belong to (`--school`)."""

    school_code: str | None = None


class ImportKind(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> _StrOrPromise:
        """What is imported, in Chinese: 学校, 学生 …"""
        ...

    @property
    def spec(self) -> ColumnSpec: ...

    @property
    def validates_ahead(self) -> bool:
        """Whether a batch's checks never depend on the batch before it being stored, so the
        pipeline may validate the next batch while this one is written."""
        ...

    def code_tables(self, *, actor: Actor, for_template: bool = False) -> dict[str, CodeTable]:
        """The code tables of the spec's CODE columns; for a template, only the entries
        `actor` may use (its own counties), so the drop-downs stay short."""
        ...

    def instructions(self) -> list[_StrOrPromise]:
        """Lines for the template's instructions sheet beyond the per-column ones."""
        ...

    def validate_batch(self, batch: Batch, *, actor: Actor) -> tuple[Batch, list[RowError]]: ...

    def write_batch(self, ok_rows: Batch, *, actor: Actor, dry_run: bool) -> WriteResult: ...


KindFactory = Callable[[ImportContext], ImportKind]
_KINDS: dict[str, tuple[_StrOrPromise, KindFactory]] = {}


def register_kind(name: str, label: _StrOrPromise, factory: KindFactory) -> None:
    _KINDS[name] = (label, factory)


def kind_names() -> dict[str, str]:
    """Registered kinds: name → label."""
    _load_builtin_kinds()
    return {name: str(label) for name, (label, _factory) in sorted(_KINDS.items())}


def get_kind(name: str, context: ImportContext | None = None) -> ImportKind:
    """A fresh kind for one run; KeyError when no kind has that name."""
    _load_builtin_kinds()
    return _KINDS[name][1](context or ImportContext())


def _load_builtin_kinds() -> None:
    from santong.imports import parents, schools, students, teachers  # noqa: F401  register
