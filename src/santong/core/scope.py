"""The data-scope rule in one place: a unit's subtree is a range on an indexed path column.

Every scoped row carries `path`, the path of the org unit it belongs to: a region's GB/T 2260
code ("51", "5101", "510104"), a school's county code and school code ("510104/5101040001"),
a class under its school ("510104/5101040001/20251302"). A unit contains exactly the rows whose
path starts with its own, so a subtree is `path >= prefix AND path < prefix || 'z'`: one
B-tree range on both SQLite and PostgreSQL (a LIKE with ESCAPE cannot use SQLite's index),
no recursive query and no lookup per node.

The range compares text in the database's collation, which a deployment does not choose for
us. Paths hold only digits and '/', and every collation in use sorts a Latin letter after
both: byte order (C, SQLite), ICU (symbols and punctuation, then digits, then letters) and
glibc (digits before letters; '/' ignored at the first level, which is harmless because each
path segment has a fixed length). An ASCII end such as '~' is not safe: ICU sorts '~' below
the digits, so `'510104' < '5101~'` is false there and a city would not contain its counties.
`check_path_collation` refuses to run on a database whose collation breaks the rule anyway.
"""

from collections.abc import Callable

from django.db.models import Q

PATH_END = "z"


def subtree_q(prefix: str, field: str = "path") -> Q:
    """Rows whose `field` lies in the subtree rooted at `prefix` (the unit itself included)."""
    if not prefix:
        return Q()
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + PATH_END})


def contains(prefix: str, path: str) -> bool:
    """Whether the unit at `prefix` contains the unit (or row) at `path`."""
    return path.startswith(prefix)


def ancestors(path: str) -> list[str]:
    """The paths of every unit above and including `path`, from the top down."""
    result: list[str] = []
    head, _, rest = path.partition("/")
    for length in (2, 4, 6):
        if len(head) >= length:
            result.append(head[:length])
    if rest:
        current = head
        for part in rest.split("/"):
            current = f"{current}/{part}"
            result.append(current)
    return result


# Prefixes and paths whose ranges must select exactly the paths that start with the prefix:
# every level, and the digits at both ends of the range.
PROBE_PATHS = (
    "51",
    "5101",
    "510104",
    "510109",
    "5109",
    "510990",
    "5110",
    "52",
    "510104/1510104001",
    "510104/1510104009",
    "510104/1510104001/20251302",
    "510104/1510104001/20251399",
    "510104/1510104010",
    "510109/1510109999",
    "510109/1510109999/20259999",
)


def collation_breaks_scope(
    less: Callable[[str, str], bool], *, end: str = PATH_END
) -> list[tuple[str, str]]:
    """The (prefix, path) pairs that a collation, given as `less(a, b)` (does a sort before b?),
    puts on the wrong side of the prefix's subtree range; empty when it keeps the rule."""
    return [
        (prefix, path)
        for prefix in PROBE_PATHS
        for path in PROBE_PATHS
        if (not less(path, prefix) and less(path, prefix + end)) != path.startswith(prefix)
    ]
