"""System checks that guard what the code assumes of the database it is given."""

from collections.abc import Callable
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections

from santong.core.scope import PATH_END, PROBE_PATHS, collation_breaks_scope


def collation_less(
    *, using: str = "default", collation: str | None = None, end: str = PATH_END
) -> Callable[[str, str], bool]:
    """`less(a, b)` over the scope probes (and each with `end` appended) as the database sorts
    them: in its default collation, or in `collation` when named."""
    connection = connections[using]
    strings = sorted({*PROBE_PATHS, *(prefix + end for prefix in PROBE_PATHS)})
    probes = " UNION ALL ".join(["SELECT %s AS s"] * len(strings))
    collate = f" COLLATE {connection.ops.quote_name(collation)}" if collation else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s FROM ({probes}) AS probe ORDER BY s{collate}", strings)
        order = {value: position for position, (value,) in enumerate(cursor.fetchall())}
    return lambda a, b: order[a] < order[b]


@register(Tags.database)
def check_path_collation(databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Refuses a database whose collation would put rows outside or inside a unit's scope
    wrongly (see `santong.core.scope`); Django runs it with `migrate` and `check --database`."""
    errors: list[CheckMessage] = []
    for alias in databases or ():
        wrong = collation_breaks_scope(collation_less(using=alias))
        if wrong:
            prefix, path = wrong[0]
            errors.append(
                Error(
                    f"The collation of database '{alias}' sorts org-unit paths so that "
                    f"the scope of {prefix} would {'not ' if path.startswith(prefix) else ''}"
                    f"contain {path} ({len(wrong)} such pairs).",
                    hint="Create the database with LC_COLLATE 'C' (or an ICU locale), e.g. "
                    "CREATE DATABASE santong TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'.",
                    id="santong.E001",
                )
            )
    return errors
