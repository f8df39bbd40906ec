"""Two schools register the same person at the same moment, each on its own database
connection: exactly one succeeds, the other is told which school holds the record."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection

from santong.accounts import services as account_services
from santong.accounts.models import Person
from santong.registry import services
from santong.registry.models import StudentRecord

from .conftest import new_id_number

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent writers; SQLite serializes them (IMMEDIATE transactions)",
    ),
]


def write_together(monkeypatch) -> list[IntegrityError]:
    """Holds each thread's first write until both have passed their checks; returns the
    unique-constraint conflicts the database raised, so a test can prove the race happened."""
    barrier = threading.Barrier(2, timeout=20)
    waited = threading.local()
    conflicts: list[IntegrityError] = []
    create_people = account_services.create_people

    def create_people_together(**kwargs):
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()
        try:
            return create_people(**kwargs)
        except IntegrityError as exc:
            conflicts.append(exc)
            raise

    monkeypatch.setattr(account_services, "create_people", create_people_together)
    return conflicts


def race(reg, monkeypatch, rows_for):
    """Runs two enrolments in two threads, both past their checks before either writes."""
    conflicts = write_together(monkeypatch)
    outcomes: dict[str, object] = {}

    def run(key: str, school_class) -> None:
        try:
            outcomes[key] = services.bulk_enrol_students(
                actor=reg.actor(key), rows=rows_for(school_class)
            )
        except Exception as exc:
            outcomes[key] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("school_admin", reg.world.school_class)),
        threading.Thread(target=run, args=("other_school_admin", reg.world.other_class)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(conflicts) == 1, "both threads should have reached the database together"
    return outcomes


@pytest.mark.parametrize("attempt", range(3))
def test_exactly_one_of_two_simultaneous_registrations_succeeds(reg, monkeypatch, attempt):
    number = new_id_number()

    def rows_for(school_class):
        return [
            services.StudentRow(
                school_class=school_class,
                name="同时注册",
                id_type="1",
                id_number=number,
                ethnicity="01",
            )
        ]

    outcomes = race(reg, monkeypatch, rows_for)
    assert set(outcomes) == {"school_admin", "other_school_admin"}
    results = list(outcomes.values())
    assert not [r for r in results if isinstance(r, Exception)], results
    created = [r for r in results if r.created == 1]
    refused = [r for r in results if r.errors]
    assert len(created) == 1
    assert len(refused) == 1
    error = refused[0].errors[0].error_dict["id_number"][0]
    assert error.code == "registered_elsewhere"
    winner = StudentRecord.objects.get()
    assert error.params["school"] == winner.school.name
    assert error.params["record"] == winner.pk
    assert Person.objects.filter(name="同时注册").count() == 1


def test_the_single_enrolment_service_raises_for_the_loser(reg, monkeypatch):
    number = new_id_number()
    errors: list[ValidationError] = []
    conflicts = write_together(monkeypatch)

    def run(key, school_class):
        try:
            services.enrol_student(
                actor=reg.actor(key),
                school_class=school_class,
                name="同时注册",
                id_type="1",
                id_number=number,
                ethnicity="01",
            )
        except ValidationError as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("school_admin", reg.world.school_class)),
        threading.Thread(target=run, args=("other_school_admin", reg.world.other_class)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(conflicts) == 1
    assert len(errors) == 1
    assert errors[0].error_dict["id_number"][0].code == "registered_elsewhere"
    assert StudentRecord.objects.count() == 1
