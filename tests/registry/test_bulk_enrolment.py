"""bulk_enrol_students: the single enrolment's rules, a batch at a time, no query per row."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from santong.accounts.models import Person
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM, ScopeError
from santong.registry import services
from santong.registry.models import StudentEvent, StudentRecord

from .conftest import new_id_number

pytestmark = pytest.mark.django_db


def row(school_class, **fields):
    fields.setdefault("name", "批量学生")
    fields.setdefault("id_type", "1")
    if fields["id_type"] == "1":
        fields.setdefault("id_number", new_id_number())
    fields.setdefault("ethnicity", "01")
    return services.StudentRow(school_class=school_class, **fields)


def test_valid_rows_are_written_and_refused_rows_reported_by_position(reg):
    world = reg.world
    taken = new_id_number()
    holder = reg.enrol(world.other_class, by="other_school_admin", id_number=taken, name="已注册")
    duplicate = new_id_number()
    rows = [
        row(world.school_class, name="甲"),
        row(world.school_class, name="乙", id_number="510104900101001"),
        row(world.school_class, name="已注册", id_number=taken),
        row(world.school_class, name="丙", id_number=duplicate),
        row(world.school_class, name="丙", id_number=duplicate),
        row(world.school_class, name="丁", id_type="9", gender="2"),
        row(world.school_class, name="戊", ethnicity="77"),
    ]
    result = services.bulk_enrol_students(actor=reg.actor("county_admin"), rows=rows)
    assert (result.created, result.updated) == (3, 0)
    assert sorted(result.errors) == [1, 2, 4, 6]
    assert result.errors[2].error_dict["id_number"][0].params["record"] == holder.pk
    assert "第 4 行" in result.errors[4].message_dict["id_number"][0]
    assert "ethnicity" in result.errors[6].message_dict
    assert sorted(r.person.name for r in result.records) == ["丁", "丙", "甲"]
    assert StudentRecord.objects.count() == 4
    assert StudentEvent.objects.filter(kind=StudentEvent.Kind.ENROLLED).count() == 4
    # One audit row for the school's three new records, naming each of them.
    audit = AuditEvent.objects.filter(object_type="studentrecord").latest("id")
    assert sorted(audit.detail["ids"]) == sorted(r.pk for r in result.records)
    assert audit.path == world.school.path


def test_dry_run_checks_everything_and_writes_nothing(reg):
    people = Person.objects.count()
    result = services.bulk_enrol_students(
        actor=SYSTEM,
        rows=[row(reg.world.school_class), row(reg.world.school_class, ethnicity="")],
        dry_run=True,
    )
    assert list(result.errors) == [1]
    assert result.records == []
    assert Person.objects.count() == people
    assert StudentRecord.objects.count() == 0


def test_a_class_outside_the_scope_refuses_the_whole_call(reg):
    with pytest.raises(ScopeError):
        services.bulk_enrol_students(
            actor=reg.actor("school_admin"),
            rows=[row(reg.world.school_class), row(reg.world.other_class)],
        )
    assert StudentRecord.objects.count() == 0


def test_readmission_in_bulk(reg):
    numbers = [new_id_number() for _ in range(3)]
    first = services.bulk_enrol_students(
        actor=SYSTEM,
        rows=[
            row(reg.world.school_class, name=f"升学{i}", id_number=n) for i, n in enumerate(numbers)
        ],
    ).records
    StudentRecord.objects.filter(pk__in=[r.pk for r in first]).update(
        status=StudentRecord.Status.GRADUATED, graduating=True, left_on=date(2026, 7, 1)
    )
    junior = reg.school_class(reg.world.other_school, grade="16", number=3)
    result = services.bulk_enrol_students(
        actor=SYSTEM,
        rows=[row(junior, name=f"升学{i}", id_number=n) for i, n in enumerate(numbers)],
    )
    assert (result.created, result.updated) == (0, 3)
    for record in StudentRecord.objects.all():
        assert (record.status, record.school, record.graduating, record.left_on) == (
            StudentRecord.Status.ENROLLED,
            reg.world.other_school,
            False,
            None,
        )


def test_temporary_numbers_are_reserved_per_county_and_year_in_one_go(reg):
    result = services.bulk_enrol_students(
        actor=SYSTEM,
        rows=[row(reg.world.school_class, id_type="9", gender="1") for _ in range(3)]
        + [row(reg.world.far_class, id_type="9", gender="2")],
    )
    assert sorted(r.temporary_number for r in result.records) == [
        "L510104202500000001",
        "L510104202500000002",
        "L510104202500000003",
        "L510703202500000001",
    ]


def test_queries_per_batch_stay_flat(reg):
    school_class = reg.world.school_class
    services.bulk_enrol_students(actor=SYSTEM, rows=[row(school_class) for _ in range(2)])
    with CaptureQueriesContext(connection) as few:
        services.bulk_enrol_students(actor=SYSTEM, rows=[row(school_class) for _ in range(5)])
    with CaptureQueriesContext(connection) as many:
        services.bulk_enrol_students(actor=SYSTEM, rows=[row(school_class) for _ in range(300)])
    assert StudentRecord.objects.count() == 307
    assert len(many.captured_queries) <= len(few.captured_queries) + 12
    assert len(many.captured_queries) < 300 / 10


def test_more_rows_than_a_batch(reg):
    school_class = reg.world.school_class
    rows = [row(school_class, name=f"学生{i}") for i in range(10)]
    rows[6] = row(school_class, name="坏", ethnicity="00")
    rows[9] = row(school_class, name="学生9", id_number=rows[1].id_number)
    result = services.bulk_enrol_students(actor=SYSTEM, rows=rows, batch_size=4)
    assert result.created == 8
    assert sorted(result.errors) == [6, 9]
    assert "第 2 行" in result.errors[9].message_dict["id_number"][0]
    assert AuditEvent.objects.filter(object_type="studentrecord").count() == 3


def test_new_records_come_back_as_written_with_their_enrolment_events(reg):
    world = reg.world
    rows = [row(world.school_class, name=f"新生{i}") for i in range(3)]
    rows.append(row(world.far_class, name="远方", id_type="9", gender="1"))
    result = services.bulk_enrol_students(actor=reg.actor("province_admin"), rows=rows)
    assert result.created == 4
    for record in result.records:
        stored = StudentRecord.objects.get(pk=record.pk)
        assert (stored.person_id, stored.school_class_id, stored.path, stored.status) == (
            record.person.pk,
            record.school_class.pk,
            record.school_class.path,
            StudentRecord.Status.ENROLLED,
        )
        assert stored.created_at == stored.updated_at == record.created_at
        event = stored.events.get()
        assert (event.kind, event.path, event.actor) == (
            StudentEvent.Kind.ENROLLED,
            record.path,
            reg.world.users["province_admin"],
        )
        assert event.detail == {"school": record.school.name, "class": record.school_class.name}
    # The records returned are saved ones: saving one again updates it in place.
    first = result.records[0]
    first.health = "2"
    first.save()
    assert StudentRecord.objects.get(pk=first.pk).health == "2"
    assert StudentRecord.objects.count() == 4


def test_people_are_looked_up_through_the_digest_index(reg):
    """Each batch finds its people through the unique index on their ID digest; scanning
    every person instead cost the demo a minute. The lookup must repeat the index's
    condition for either database to use it (PostgreSQL proves it for 100 values at most)."""
    rows = [row(reg.world.school_class) for _ in range(150)]
    with CaptureQueriesContext(connection) as queries:
        services.bulk_enrol_students(actor=SYSTEM, rows=rows)
    lookup = next(
        query["sql"]
        for query in queries.captured_queries
        if 'FROM "accounts_person"' in query["sql"] and '"id_digest" IN' in query["sql"]
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {lookup}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {lookup}")
        plan = " ".join(str(line) for line in cursor.fetchall())
    assert "one_person_per_id_document" in plan
