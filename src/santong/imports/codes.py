"""Code tables as the importer sees them: a value may be given by code, by name, or by the
"名称（代码）" label the template's drop-downs offer, and an unknown value gets a suggestion."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def normalize_code_text(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).translate(_INVISIBLE).split()).lower()


@dataclass(frozen=True)
class CodeEntry:
    code: str
    name: str


class AmbiguousCodeError(LookupError):
    """A name shared by several entries (two counties called 市中区): only the code will do."""

    def __init__(self, candidates: list[CodeEntry]) -> None:
        super().__init__(candidates)
        self.candidates = candidates


@dataclass
class CodeTable:
    """A code set (学校类型, 民族, 区县 …) with lookups by code, name and drop-down label."""

    name: str
    title: str
    entries: tuple[CodeEntry, ...]
    _index: dict[str, list[CodeEntry]] = field(default_factory=dict, init=False, repr=False)
    _code_widths: frozenset[int] = field(default=frozenset(), init=False, repr=False)

    def __post_init__(self) -> None:
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.name] = counts.get(entry.name, 0) + 1
        for entry in self.entries:
            keys = {entry.code, entry.name, self.label(entry, counts)}
            for key in keys:
                bucket = self._index.setdefault(normalize_code_text(key), [])
                if entry not in bucket:
                    bucket.append(entry)
        self._code_widths = frozenset(len(e.code) for e in self.entries if e.code.isdigit())
        self._name_counts = counts

    @classmethod
    def of(cls, name: str, title: str, pairs: Iterable[tuple[object, object]]) -> CodeTable:
        return cls(name, title, tuple(CodeEntry(str(c), str(n)) for c, n in pairs))

    @staticmethod
    def label(entry: CodeEntry, counts: dict[str, int]) -> str:
        """What a drop-down shows: the name, or "名称（代码）" when the name is not unique."""
        return f"{entry.name}（{entry.code}）" if counts.get(entry.name, 0) > 1 else entry.name

    def labels(self) -> list[str]:
        return [self.label(entry, self._name_counts) for entry in self.entries]

    def resolve(self, value: str) -> CodeEntry | None:
        """The entry `value` names; None if none; AmbiguousCodeError if the name is shared."""
        found = self._index.get(normalize_code_text(value))
        if not found:
            return None
        if len(found) > 1:
            exact = [e for e in found if e.code == value.strip()]
            if len(exact) == 1:
                return exact[0]
            raise AmbiguousCodeError(found)
        return found[0]

    def padded(self, value: str) -> CodeEntry | None:
        """The one entry a number that lost its leading zeros must have been ("1" → "01")."""
        text = normalize_code_text(value)
        if not text.isdigit():
            return None
        hits = [
            entry
            for width in self._code_widths
            if width > len(text)
            for entry in self._index.get(text.zfill(width), [])
            if entry.code == text.zfill(width)
        ]
        return hits[0] if len(hits) == 1 else None

    def candidates(self) -> list[str]:
        """Every spelling a suggestion may point to."""
        return [*(e.name for e in self.entries), *(e.code for e in self.entries)]
