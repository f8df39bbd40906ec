"""Code tables as data: loaded from `registry/data/` after every migrate, checked on every write."""

import csv
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from santong.registry.models import CodeTable, CodeValue
from santong.registry.selectors import active_codes

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sync_code_tables() -> None:
    """Upserts every table listed in `tables.csv` (idempotent).

    A code missing from its file is kept but made inactive: records may still carry it.
    """
    tables = _read_csv(DATA_DIR / "tables.csv")
    CodeTable.objects.bulk_create(
        [
            CodeTable(name=row["name"], title=row["title"], standard=row["standard"], order=i)
            for i, row in enumerate(tables)
        ],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["title", "standard", "order"],
    )
    for table in tables:
        rows = _read_csv(DATA_DIR / f"{table['name']}.csv")
        CodeValue.objects.bulk_create(
            [
                CodeValue(
                    table_id=table["name"], code=row["code"], name=row["name"], order=i, active=True
                )
                for i, row in enumerate(rows)
            ],
            update_conflicts=True,
            unique_fields=["table", "code"],
            update_fields=["name", "order", "active"],
        )
        CodeValue.objects.filter(table_id=table["name"]).exclude(
            code__in=[row["code"] for row in rows]
        ).update(active=False)


def sync_code_tables_after_migrate(**kwargs: Any) -> None:
    sync_code_tables()


class CodeChecker:
    """Checks codes against their tables, reading each table once however many rows it checks."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, str]] = {}

    def codes(self, table: str) -> dict[str, str]:
        if table not in self._tables:
            self._tables[table] = active_codes(table)
        return self._tables[table]

    def check(
        self, errors: dict[str, str], field: str, table: str, value: str, *, required: bool
    ) -> None:
        """Adds an error for `field` to `errors` when `value` is missing or not in `table`."""
        if not value:
            if required:
                errors[field] = _("请填写此项。")
            return
        if value not in self.codes(table):
            errors[field] = _("代码 %(code)s 不在代码表“%(table)s”中。") % {
                "code": value,
                "table": table,
            }
