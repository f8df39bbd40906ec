"""新生注册, one record per person, national student numbers, and the ID-number edge cases."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from santong.accounts.identity import get_vault
from santong.accounts.models import Person
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM, ScopeError
from santong.registry import selectors, services
from santong.registry.models import StudentEvent, StudentNumberAlias, StudentRecord

from .conftest import new_id_number

pytestmark = pytest.mark.django_db


WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def with_check(body: str) -> str:
    """`body` (17 digits) completed with its ISO 7064 MOD 11-2 check character (own oracle)."""
    value = (12 - sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return body + ("X" if value == 10 else str(value))


def nothing_written(before_people: int) -> bool:
    return StudentRecord.objects.count() == 0 and Person.objects.count() == before_people


def test_enrol_with_a_resident_id(reg):
    number = new_id_number(male=False)
    record = reg.enrol(name="张小花", id_number=number, hukou="3", health="1")
    assert record.status == StudentRecord.Status.ENROLLED
    assert record.school == reg.world.school
    assert record.path == reg.world.school_class.path
    assert record.number_masked == f"G{number[:6]}********{number[-4:]}"
    assert number not in record.number_masked
    assert record.temporary_number is None
    assert record.id_digest == record.person.id_digest != ""
    assert record.person.gender == "2"
    assert record.person.birth_date.year == 2016
    event = record.events.get()
    assert event.kind == StudentEvent.Kind.ENROLLED
    assert event.actor == reg.world.users["school_admin"]
    assert event.actor_name == "刘芳"
    assert AuditEvent.objects.filter(object_type="studentrecord", object_id=str(record.pk)).exists()


def test_the_national_number_is_found_through_the_digest(reg):
    number = new_id_number()
    record = reg.enrol(id_number=number)
    role = reg.world.roles["school_admin"]
    assert selectors.find_student(role=role, number=f"G{number}") == record
    assert selectors.find_student(role=role, number=f"g{number.lower()}") == record
    assert (
        selectors.find_student(role=reg.world.roles["other_school_admin"], number=f"G{number}")
        is None
    )


def test_lower_case_x_is_accepted_and_stored_normalized(reg):
    number = new_id_number()
    while not number.endswith("X"):
        number = new_id_number()
    record = reg.enrol(id_number=number.lower())
    assert record.number_masked.endswith("X")
    assert record.id_digest == get_vault().digest("1", number)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("510104900101001", "15-digit"),  # a first-generation number
        ("51010420230229001", "does not exist"),  # 29 February 2023
    ],
)
def test_refused_numbers_write_nothing(reg, raw, fragment):
    if len(raw) == 17:
        raw = with_check(raw)
    people = Person.objects.count()
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        reg.enrol(id_number=raw)
    assert fragment in caught.value.message_dict["id_number"][0]
    assert nothing_written(people)


def test_check_character_off_by_one_is_refused_naming_the_right_one(reg):
    good = with_check("51010720150601123")
    chars = "0123456789X"
    wrong = good[:-1] + chars[(chars.index(good[-1]) + 1) % 11]
    people = Person.objects.count()
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        reg.enrol(id_number=wrong)
    assert f"expected {good[-1]}" in caught.value.message_dict["id_number"][0]
    assert nothing_written(people)
    assert reg.enrol(id_number=good).number_masked.endswith(good[-4:])


def test_29_february_of_a_leap_year_is_a_real_birth_date(reg):
    record = reg.enrol(id_number=with_check("51010720160229003"))
    assert record.person.birth_date == date(2016, 2, 29)


def test_birth_date_and_gender_must_agree_with_the_number(reg):
    number = new_id_number(male=True)
    with pytest.raises(ValidationError) as caught:
        reg.enrol(id_number=number, gender="2")
    assert "id_number" in caught.value.message_dict
    with pytest.raises(ValidationError):
        reg.enrol(id_number=new_id_number(), birth_date=date(2010, 1, 1))


def test_codes_are_checked_against_their_tables(reg):
    with pytest.raises(ValidationError) as caught:
        reg.enrol(ethnicity="57", hukou="7", health="")
    assert set(caught.value.message_dict) == {"ethnicity", "hukou"}
    with pytest.raises(ValidationError) as caught:
        reg.enrol(ethnicity="")
    assert "ethnicity" in caught.value.message_dict


def test_without_an_id_the_student_gets_a_temporary_number(reg):
    first = reg.enrol(id_type="9", gender="1", birth_date=date(2016, 3, 1))
    second = reg.enrol(id_type="9", gender="2", name="无证二")
    assert first.temporary_number == "L510104202500000001"
    assert second.temporary_number == "L510104202500000002"
    assert first.number_masked == first.temporary_number
    assert len(first.temporary_number) == 19
    with pytest.raises(ValidationError) as caught:
        reg.enrol(id_type="9")
    assert "gender" in caught.value.message_dict


def test_recording_the_id_later_gives_the_g_number_and_keeps_the_l_number_findable(reg):
    number = new_id_number(birth=date(2016, 9, 1))
    # The helper moves the birth date on after every 499 numbers: read it from the number.
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    record = reg.enrol(id_type="9", gender="1", birth_date=born)
    temporary = record.temporary_number
    record = services.record_student_id(
        actor=reg.actor("school_admin"), record=record, id_type="1", id_number=number
    )
    assert record.temporary_number is None
    assert record.number_masked.startswith("G")
    assert record.number_masked.endswith(number[-4:])
    assert StudentNumberAlias.objects.get(record=record).number == temporary
    role = reg.world.roles["school_admin"]
    assert selectors.find_student(role=role, number=temporary) == record
    assert selectors.find_student(role=role, number=f"G{number}") == record
    assert record.events.filter(kind=StudentEvent.Kind.NUMBER_REPLACED).get().detail == {
        "old": temporary,
        "new": record.number_masked,
    }
    assert record.person.id_type == "1"


def test_recording_an_id_that_already_has_a_record_is_refused(reg):
    taken = new_id_number()
    holder = reg.enrol(id_number=taken)
    record = reg.enrol(id_type="9", gender="1")
    with pytest.raises(ValidationError) as caught:
        services.record_student_id(
            actor=reg.actor("school_admin"), record=record, id_type="1", id_number=taken
        )
    assert holder.school.name in caught.value.message_dict["id_number"][0]


def test_a_second_registration_is_refused_naming_the_school_and_offering_a_transfer(reg):
    number = new_id_number()
    first = reg.enrol(id_number=number, name="王芳")
    other_class = reg.school_class(reg.world.other_school)
    with pytest.raises(ValidationError) as caught:
        reg.enrol(other_class, by="other_school_admin", id_number=number, name="王芳")
    error = caught.value.error_dict["id_number"][0]
    assert error.code == "registered_elsewhere"
    assert error.params["record"] == first.pk
    assert "成都市锦江区实验小学" in caught.value.message_dict["id_number"][0]
    assert "转学" in caught.value.message_dict["id_number"][0]
    assert StudentRecord.objects.count() == 1


def test_a_different_name_on_the_same_id_is_refused_without_revealing_it(reg):
    number = new_id_number()
    reg.enrol(id_number=number, name="王芳")
    with pytest.raises(ValidationError) as caught:
        reg.enrol(id_number=number, name="王方")
    assert "王芳" not in caught.value.message_dict["name"][0]


def test_the_database_itself_refuses_a_second_record_for_an_id(reg):
    record = reg.enrol()
    other = Person.objects.create(name="另一人", gender="1", id_type="9")
    with pytest.raises(IntegrityError), transaction.atomic():
        StudentRecord.objects.create(
            person=other,
            id_digest=record.id_digest,
            number_masked="G1",
            school=record.school,
            school_class=record.school_class,
            path=record.path,
            ethnicity="01",
            enrolled_on=date(2025, 9, 1),
        )


def test_a_graduate_is_admitted_again_on_the_same_record(reg):
    number = new_id_number()
    record = reg.enrol(id_number=number)
    StudentRecord.objects.filter(pk=record.pk).update(status=StudentRecord.Status.GRADUATED)
    other_class = reg.school_class(reg.world.other_school)
    again = reg.enrol(
        other_class, by="other_school_admin", id_number=number, name=record.person.name
    )
    assert again.pk == record.pk
    assert again.status == StudentRecord.Status.ENROLLED
    assert again.school == reg.world.other_school
    readmitted = again.events.get(kind=StudentEvent.Kind.READMITTED)
    assert readmitted.detail["previous_status"] == "毕业"


def test_a_deregistered_student_cannot_be_enrolled(reg):
    number = new_id_number()
    record = reg.enrol(id_number=number)
    StudentRecord.objects.filter(pk=record.pk).update(status=StudentRecord.Status.DEREGISTERED)
    with pytest.raises(ValidationError):
        reg.enrol(id_number=number, name=record.person.name)


def test_enrolment_is_for_administrators_inside_their_scope(reg):
    with pytest.raises(ScopeError):
        reg.enrol(by="head_teacher")
    with pytest.raises(ScopeError):
        reg.enrol(by="other_school_admin")
    assert reg.enrol(by="county_admin").school == reg.world.school
    assert StudentRecord.objects.count() == 1


def test_a_closed_school_takes_no_students(reg):
    point_class = reg.school_class(reg.world.teaching_point, grade="11", number=1)
    services.close_school(
        actor=reg.actor("county_admin"), school=reg.world.teaching_point, reason="生源不足"
    )
    with pytest.raises(ValidationError) as caught:
        reg.enrol(point_class)
    assert "已合并或撤销" in caught.value.message_dict["school_class"][0]


def test_revealing_the_full_number_is_audited(reg):
    number = new_id_number()
    record = reg.enrol(id_number=number)
    assert services.reveal_student_number(actor=reg.actor("school_admin"), record=record) == (
        f"G{number}"
    )
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REVEAL).count() == 1
    with pytest.raises(ScopeError):
        services.reveal_student_number(actor=reg.actor("head_teacher"), record=record)
    temporary = reg.enrol(id_type="9", gender="1")
    assert (
        services.reveal_student_number(actor=SYSTEM, record=temporary) == temporary.temporary_number
    )


def test_update_student_changes_codes_with_history(reg):
    record = reg.enrol()
    services.update_student(actor=reg.actor("school_admin"), record=record, health="6")
    record.refresh_from_db()
    assert record.health == "6"
    assert record.events.get(kind=StudentEvent.Kind.UPDATED).detail == {
        "changes": {"health": ["", "6"]}
    }
    with pytest.raises(ValidationError):
        services.update_student(actor=reg.actor("school_admin"), record=record, school="x")
