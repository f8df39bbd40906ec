"""`.xlsx` export of any list page, in constant memory however many rows the list has.

Rows come from `values_list(...).iterator()` in chunks, so no model instance is built and the
whole result is never held; xlsxwriter's `constant_memory` mode writes each row out as soon as
it is complete, into an anonymous temporary file that the response streams and the operating
system removes when it is closed. Personal data leaves only in masked form (the columns name
`id_masked`; only an exporter granted `accounts.export_id_numbers` who asks for them with
`id_numbers=full` gets them decrypted, and the audit row says so), every text cell that a
spreadsheet would take for a formula is neutralised, and each export is written to the audit
log with its filters and row count.
"""

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import FileResponse, HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from santong.accounts.identity import get_vault
from santong.accounts.models import Role
from santong.accounts.services import may_export_id_numbers
from santong.audit.models import AuditEvent
from santong.audit.services import record_event
from santong.core.actors import Actor, client_ip

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK_SIZE = 2000
# A spreadsheet treats text starting with these as a formula (or DDE payload).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ID_MASKED, ID_CIPHER = "id_masked", "id_cipher"


@dataclass(frozen=True)
class Column:
    header: str | Promise
    field: str
    choices: Sequence[tuple[Any, Any]] = ()
    width: int = 16

    def value(self, raw: Any) -> Any:
        if self.choices and raw is not None:
            return dict(self.choices).get(raw, raw)
        return raw


@dataclass(frozen=True)
class Export:
    """What a list exports: a file name and its columns, each a field path of the queryset."""

    name: str | Promise
    columns: Sequence[Column]


def neutralise(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


class _Sheet:
    def __init__(self, workbook: Any, title: str) -> None:
        self.sheet = workbook.add_worksheet(title[:31])
        self.header = workbook.add_format({"bold": True, "bg_color": "#E8EEF6", "border": 1})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})

    def write(self, row: int, col: int, value: Any) -> None:
        if value is None or value == "":
            return
        if isinstance(value, Promise):
            value = str(value)
        if isinstance(value, bool):
            self.sheet.write_string(row, col, _("是") if value else _("否"))
        elif isinstance(value, int | float | Decimal):
            self.sheet.write_number(row, col, value)
        elif isinstance(value, datetime):
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            self.sheet.write_datetime(row, col, local.replace(tzinfo=None), self.datetime)
        elif isinstance(value, date):
            self.sheet.write_datetime(row, col, value, self.date)
        elif isinstance(value, dict | list):
            self.sheet.write_string(row, col, neutralise(json.dumps(value, ensure_ascii=False)))
        else:
            self.sheet.write_string(row, col, neutralise(str(value)))


def rows(queryset: QuerySet[Any], fields: Sequence[str]) -> Any:
    """Plain tuples in chunks; prefetches are dropped, they cannot apply to tuples."""
    return queryset.prefetch_related(None).values_list(*fields).iterator(chunk_size=CHUNK_SIZE)


def full_id_field(field: str) -> str:
    """The encrypted column behind a masked ID number column (`person__id_masked` →
    `person__id_cipher`), for an export with ID numbers in full."""
    if field == ID_MASKED or field.endswith(f"__{ID_MASKED}"):
        return field.removesuffix(ID_MASKED) + ID_CIPHER
    return field


def export_filters(query: Mapping[str, Any]) -> dict[str, Any]:
    """The list filters in effect, as recorded in the audit row."""
    ignored = {"format", "page"}
    lists = query.lists() if hasattr(query, "lists") else ((k, [v]) for k, v in query.items())
    return {
        key: values[0] if len(values) == 1 else values
        for key, values in lists
        if key not in ignored and any(values)
    }


def export_xlsx(
    *, request: HttpRequest, role: Role, queryset: QuerySet[Any], export: Export
) -> FileResponse:
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    workbook = xlsxwriter.Workbook(
        handle,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = _Sheet(workbook, str(export.name))
    for col, column in enumerate(export.columns):
        sheet.sheet.set_column(col, col, column.width)
        sheet.sheet.write_string(0, col, str(column.header), sheet.header)
    sheet.sheet.freeze_panes(1, 0)
    full_ids = request.GET.get("id_numbers") == "full"
    if full_ids and not may_export_id_numbers(request.user):
        raise PermissionDenied(_("您没有导出完整证件号码的权限。"))
    fields = [
        full_id_field(column.field) if full_ids else column.field for column in export.columns
    ]
    revealed = {i for i, name in enumerate(fields) if name.endswith(ID_CIPHER)}
    decrypt = get_vault().decrypt
    count = 0
    for count, row in enumerate(rows(queryset, fields), start=1):
        for col, (column, raw) in enumerate(zip(export.columns, row, strict=True)):
            if col in revealed:
                sheet.write(count, col, decrypt(raw) if raw else "")
            else:
                sheet.write(count, col, column.value(raw))
    workbook.close()
    handle.seek(0)
    model: type[Model] = queryset.model
    record_event(
        actor=Actor(user=request.user, role=role, ip=client_ip(request)),  # type: ignore[arg-type]
        action=AuditEvent.Action.EXPORT,
        object_type=model._meta.model_name or "",
        object_repr=str(export.name),
        path=role.path,
        detail={
            "filters": export_filters(request.GET),
            "rows": count,
            **({"id_numbers": "full"} if full_ids else {}),
        },
    )
    filename = f"{export.name}-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )
