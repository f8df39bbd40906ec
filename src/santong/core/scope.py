"""The data-scope rule in one place: a unit's subtree is a range on an indexed path column.

Every scoped row carries `path`, the path of the org unit it belongs to: a region's GB/T 2260
code ("51", "5101", "510104"), a school's county code and school code ("510104/5101040001"),
a class under its school ("510104/5101040001/20251302"). A unit contains exactly the rows whose
path starts with its own, so a subtree is `path >= prefix AND path < prefix || '~'`: one
B-tree range on both SQLite and PostgreSQL (a LIKE with ESCAPE cannot use SQLite's index),
no recursive query and no lookup per node. Paths use only digits and '/', which sort below '~'.
"""

from django.db.models import Q

PATH_END = "~"


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
