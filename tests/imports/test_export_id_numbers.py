"""Exports: ID numbers in full only for administrator accounts granted the right, audited as
such; and a list of 200,000 rows exported in constant memory."""

import io
import threading
import time
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from santong.accounts import services
from santong.accounts.identity import get_vault
from santong.accounts.middleware import SESSION_KEY
from santong.accounts.models import Person
from santong.accounts.views import PERSON_EXPORT
from santong.audit.models import AuditEvent
from santong.core.actors import ScopeError
from santong.core.bulk import insert_rows
from santong.core.export import export_xlsx


def browse(world, key: str) -> Client:
    client = Client()
    client.force_login(world.users[key])
    session = client.session
    session[SESSION_KEY] = world.roles[key].pk
    session.save()
    return client


def exported(response) -> dict[str, list[object]]:
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return {row[0]: list(row) for row in sheet.iter_rows(min_row=2, values_only=True)}


def test_full_id_numbers_need_the_granted_right_and_are_audited(world):
    url = reverse("accounts:person_list")
    student = world.users["student"].person
    full = get_vault().decrypt(bytes(student.id_cipher))

    refused = browse(world, "county_admin").get(url, {"format": "xlsx", "id_numbers": "full"})
    assert refused.status_code == 403
    masked = exported(browse(world, "county_admin").get(url, {"format": "xlsx"}))
    assert masked["王小雨"][4] == student.id_masked

    services.grant_id_number_export(
        actor=world.actor("province_admin"), user=world.users["county_admin"]
    )
    grant = AuditEvent.objects.get(
        action=AuditEvent.Action.GRANT, detail__permission="export_id_numbers"
    )
    assert (grant.object_id, grant.actor) == (
        str(world.users["county_admin"].pk),
        world.users["province_admin"],
    )

    rows = exported(
        browse(world, "county_admin").get(url, {"format": "xlsx", "id_numbers": "full"})
    )
    assert rows["王小雨"][4] == full
    event = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).latest("id")
    assert event.detail["id_numbers"] == "full"
    assert event.actor == world.users["county_admin"]

    services.revoke_id_number_export(
        actor=world.actor("province_admin"), user=world.users["county_admin"]
    )
    again = browse(world, "county_admin").get(url, {"format": "xlsx", "id_numbers": "full"})
    assert again.status_code == 403


def test_only_province_administrators_grant_and_only_to_administrators(world):
    with pytest.raises(ScopeError):
        services.grant_id_number_export(
            actor=world.actor("county_admin"), user=world.users["school_admin"]
        )
    with pytest.raises(services.ValidationError):
        services.grant_id_number_export(
            actor=world.actor("province_admin"), user=world.users["head_teacher"]
        )
    assert not services.may_export_id_numbers(world.users["school_admin"])


class PeakRss:
    """The process's resident set size sampled every few milliseconds while a block runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._running = False

    @staticmethod
    def now() -> int:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * 4096

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self.now())
            time.sleep(0.002)

    def __enter__(self) -> "PeakRss":
        self.start = self.now()
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._running = False
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def export_people(world, count: int) -> float:
    request = RequestFactory().get("/accounts/people/", {"format": "xlsx"})
    request.user = world.users["province_admin"]
    queryset = Person.objects.filter(name__startswith="导出").order_by("pk")
    with PeakRss() as rss:
        response = export_xlsx(
            request=request,
            role=world.roles["province_admin"],
            queryset=queryset,
            export=PERSON_EXPORT,
        )
        size = sum(len(chunk) for chunk in response.streaming_content)
        # Not response.close(): that signals the end of a request, which closes the test's
        # database connection.
        response.file_to_stream.close()
    assert size > count * 20
    return rss.growth_mb


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc")
def test_exporting_200000_rows_takes_constant_memory(world):
    now = timezone.now()

    def people(first: int, last: int):
        for n in range(first, last):
            yield (
                f"导出{n}",
                "1",
                date(2010, 1, 1),
                "1",
                f"{n:064d}",
                f"510104********{n % 10000:04d}",
            )

    fields = ("name", "gender", "birth_date", "id_type", "id_digest", "id_masked")
    constants = {"id_cipher": None, "created_at": now, "updated_at": now}
    insert_rows(Person, fields, people(0, 20_000), constants=constants)
    small = export_people(world, 20_000)
    insert_rows(Person, fields, people(20_000, 200_000), constants=constants)
    large = export_people(world, 200_000)

    # Ten times the rows, about the same memory: rows stream from the database in chunks
    # and xlsxwriter writes each row out as soon as it is complete.
    assert large < 60, f"{large:.0f} MB for 200,000 rows"
    assert large < small + 25, (small, large)
