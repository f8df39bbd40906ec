"""学籍库: enrolment (one record per person region-wide), student numbers, and the lifecycle:
transfers and status changes through approvals, resume, graduation.

Single-record services and the set-based `bulk_enrol_students` share one pipeline: rows are
validated in Python, then each batch is checked with a fixed number of queries and written
with bulk statements, so an import of a million rows and one page edit obey the same rules.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from santong.accounts import services as account_services
from santong.accounts.identity import IdType, digest_in
from santong.accounts.models import Person, Role
from santong.audit.services import record_event
from santong.core.actors import Actor
from santong.core.bulk import insert_rows, reserve_ids
from santong.core.scope import subtree_q
from santong.orgs import services as org_services
from santong.orgs.models import School, SchoolClass
from santong.registry.models import (
    ClassSuccession,
    StudentEvent,
    StudentNumberAlias,
    StudentRecord,
    StudentRequest,
    TemporaryNumberCounter,
)
from santong.registry.services.codes import CodeChecker
from santong.registry.services.common import (
    AUDIT,
    BATCH_SIZE,
    BulkResult,
    actor_name,
    audit_many,
    batched,
    closed_message,
    closed_school_ids,
    first_errors,
    insert_events,
    now,
    on_behalf_of_approvals,
    require_admin_within,
    require_open,
    require_rank_at_least,
)
from santong.registry.services.workflow import (
    advance,
    approval_steps,
    close,
    open_flow,
    region_step,
    require_decider,
    require_reason,
    require_withdrawer,
    step_label,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

Status = StudentRecord.Status
Kind = StudentEvent.Kind
ACTIVE = (Status.ENROLLED, Status.SUSPENDED)
MAX_TEMPORARY_SEQUENCE = 99_999_999
# Choices' `values` builds a new list on every call: too slow to ask once per row.
GENDERS = frozenset(Person.Gender.values)
ID_TYPES = frozenset(Person.IdType.values)
# What differs from one new record to the next; the rest is the same for a whole batch.
RECORD_COLUMNS = (
    "id",
    "person_id",
    "id_digest",
    "number_masked",
    "temporary_number",
    "school_id",
    "school_class_id",
    "path",
    "ethnicity",
    "hukou",
    "health",
    "enrolled_on",
)


def _event(
    record: StudentRecord,
    *,
    actor: Actor,
    kind: str,
    step: str = "",
    reason: str = "",
    request: StudentRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> StudentEvent:
    return StudentEvent(
        record=record,
        kind=kind,
        at=now(),
        actor=actor.user,
        actor_name=actor_name(actor),
        step=step,
        reason=reason,
        path=record.path,
        request=request,
        detail=detail or {},
    )


def registered_elsewhere(record: StudentRecord) -> ValidationError:
    """The refusal of a second record, naming where the first is and offering a transfer."""
    return ValidationError(
        _(
            "该学生已在 %(school)s 注册学籍（学籍号 %(number)s，状态：%(status)s），不能重复注册；"
            "如需转入，请由该校发起转学。"
        ),
        code="registered_elsewhere",
        params={
            "school": record.school.name,
            "number": record.number_masked,
            "status": record.get_status_display(),
            "record": record.pk,
        },
    )


# --------------------------------------------------------------------------- enrolment


@dataclass(frozen=True)
class StudentRow:
    """One student to enrol: the class, the person, and the record's coded facts."""

    school_class: SchoolClass
    name: str
    id_type: str
    id_number: str = ""
    gender: str | None = None
    birth_date: date | None = None
    ethnicity: str = ""
    hukou: str = ""
    health: str = ""
    enrolled_on: date | None = None


@dataclass
class _Pending:
    index: int
    row: StudentRow
    school_class: SchoolClass
    identity: dict[str, Any]
    person: Person | None = None
    record: StudentRecord | None = None


def _check_row(row: StudentRow, codes: CodeChecker) -> tuple[dict[str, Any], dict[str, str]]:
    """The person's stored identity columns and the row's field errors, without queries."""
    errors: dict[str, str] = {}
    name = row.name.strip()
    if not name:
        errors["name"] = _("姓名不能为空。")
    elif len(name) > 64:
        errors["name"] = _("姓名不能超过64个字符。")
    if row.gender is not None and row.gender not in GENDERS:
        errors["gender"] = _("性别应为 1（男）或 2（女）。")
    codes.check(errors, "ethnicity", "ethnicity", row.ethnicity, required=True)
    codes.check(errors, "hukou", "hukou", row.hukou, required=False)
    codes.check(errors, "health", "health", row.health, required=False)
    identity: dict[str, Any] = {}
    if row.id_type not in ID_TYPES:
        errors["id_type"] = _("未知的证件类型。")
    elif "gender" not in errors:
        try:
            identity = account_services.identity_fields(
                id_type=row.id_type,
                id_number=row.id_number,
                birth_date=row.birth_date,
                gender=row.gender,
            )
        except ValidationError as exc:
            errors.update(first_errors(exc))
        else:
            if identity["gender"] is None:
                errors["gender"] = _("无证件号码时必须填写性别。")
    if row.enrolled_on is not None and row.enrolled_on > timezone.localdate():
        errors["enrolled_on"] = _("入学日期不能晚于今天。")
    return identity, errors


def _classes_for(actor: Actor, rows: list[StudentRow]) -> tuple[dict[int, SchoolClass], set[int]]:
    """The rows' classes with school and year loaded (one query), scope-checked; and which of
    their schools no longer run."""
    ids = {row.school_class.pk for row in rows}
    classes = SchoolClass.objects.select_related("school", "school_year", "grade").in_bulk(ids)
    for school_class in classes.values():
        require_admin_within(actor, school_class.path)
    closed = closed_school_ids({c.school_id for c in classes.values()})
    return classes, closed


def _validate_enrolment(
    actor: Actor,
    batch: list[tuple[int, StudentRow]],
    codes: CodeChecker,
    seen: dict[str, int],
    result: BulkResult[StudentRecord],
) -> list[_Pending]:
    """The rows of `batch` that can be written, with their person and any record to readmit;
    the others go to `result.errors`. Three queries, whatever the batch size."""
    classes, closed = _classes_for(actor, [row for _index, row in batch])
    pending: list[_Pending] = []
    for index, row in batch:
        identity, errors = _check_row(row, codes)
        school_class = classes.get(row.school_class.pk)
        if school_class is None:
            errors["school_class"] = _("班级不存在。")
        elif school_class.school_id in closed:
            errors["school_class"] = closed_message(school_class.school)
        digest = identity.get("id_digest", "")
        if digest and "id_number" not in errors:
            if digest in seen:
                errors["id_number"] = _("与第 %(row)s 行的证件号码重复。") % {
                    "row": seen[digest] + 1
                }
            else:
                seen[digest] = index
        if errors:
            result.errors[index] = ValidationError(errors)
            continue
        assert school_class is not None
        pending.append(_Pending(index, row, school_class, identity))

    people = {
        p.id_digest: p
        for p in Person.objects.filter(digest_in(item.identity["id_digest"] for item in pending))
    }
    records = {
        r.person_id: r
        for r in StudentRecord.objects.filter(person__in=people.values()).select_related("school")
    }
    writable: list[_Pending] = []
    for item in pending:
        person = people.get(item.identity["id_digest"]) if item.identity["id_digest"] else None
        if person is not None:
            error = _existing_person_error(item, person, records.get(person.pk))
            if error is not None:
                result.errors[item.index] = error
                continue
            item.person = person
            item.record = records.get(person.pk)
        writable.append(item)
    return writable


def _existing_person_error(
    item: _Pending, person: Person, record: StudentRecord | None
) -> ValidationError | None:
    if person.name != item.row.name.strip():
        return ValidationError({"name": _("该证件号码已登记在另一姓名下，请核对姓名和证件号码。")})
    if record is None:
        return None
    if record.status in ACTIVE:
        return ValidationError({"id_number": registered_elsewhere(record)})
    if record.status == Status.DEREGISTERED:
        return ValidationError({"id_number": _("该学生学籍已死亡注销，不能注册。")})
    return None


def reserve_temporary_numbers(*, county: str, year: int, count: int) -> list[str]:
    """`count` new temporary numbers: `L` + county code + entry year + 8-digit sequence."""
    TemporaryNumberCounter.objects.get_or_create(county=county, year=year)
    counter = TemporaryNumberCounter.objects.select_for_update().get(county=county, year=year)
    start = counter.last + 1
    counter.last += count
    if counter.last > MAX_TEMPORARY_SEQUENCE:
        raise ValidationError({NON_FIELD_ERRORS: _("本区县本年度的临时学籍号已用完。")})
    counter.save(update_fields=["last"])
    return [f"L{county}{year}{n:08d}" for n in range(start, start + count)]


def _national_number(identity: dict[str, Any], id_type: str) -> str | None:
    """The masked `G` number for a resident ID; None when a temporary number is needed."""
    if id_type == IdType.RESIDENT:
        return f"G{identity['id_masked']}"
    return None


def _write_enrolment(
    actor: Actor, pending: list[_Pending], result: BulkResult[StudentRecord]
) -> None:
    new_people = [item for item in pending if item.person is None]
    created = account_services.create_people(
        rows=[
            {"name": item.row.name.strip(), "id_type": item.row.id_type, **item.identity}
            for item in new_people
        ]
    )
    for item, person in zip(new_people, created, strict=True):
        item.person = person

    needs_number: dict[tuple[str, int], list[_Pending]] = {}
    for item in pending:
        if item.record is None and _national_number(item.identity, item.row.id_type) is None:
            key = (item.school_class.school.county_id, item.school_class.school_year.start_year)
            needs_number.setdefault(key, []).append(item)
    temporary: dict[int, str] = {}
    for (county, year), items in needs_number.items():
        numbers = reserve_temporary_numbers(county=county, year=year, count=len(items))
        for item, number in zip(items, numbers, strict=True):
            temporary[item.index] = number

    today = timezone.localdate()
    stamp = now()
    fresh: list[StudentRecord] = []
    readmitted: list[tuple[StudentRecord, dict[str, str]]] = []
    for item in pending:
        assert item.person is not None
        placement = {
            "school": item.school_class.school,
            "school_class": item.school_class,
            "path": item.school_class.path,
            "ethnicity": item.row.ethnicity,
            "hukou": item.row.hukou,
            "health": item.row.health,
            "enrolled_on": item.row.enrolled_on or today,
        }
        if item.record is None:
            number = _national_number(item.identity, item.row.id_type) or temporary[item.index]
            fresh.append(
                StudentRecord(
                    person=item.person,
                    id_digest=item.person.id_digest,
                    number_masked=number,
                    temporary_number=temporary.get(item.index),
                    status=Status.ENROLLED,
                    **placement,
                )
            )
            continue
        record = item.record
        before = {"status": record.get_status_display(), "school": record.school.name}
        for name, value in placement.items():
            setattr(record, name, value)
        record.status = Status.ENROLLED
        record.graduating = False
        record.left_on = None
        record.destination = ""
        record.updated_at = stamp
        readmitted.append((record, before))

    _insert_fresh(actor, fresh, stamp)
    StudentRecord.objects.bulk_update(
        [record for record, _before in readmitted],
        [
            "school",
            "school_class",
            "path",
            "status",
            "graduating",
            "left_on",
            "destination",
            "ethnicity",
            "hukou",
            "health",
            "enrolled_on",
            "updated_at",
        ],
    )
    events = [
        _event(
            record,
            actor=actor,
            kind=Kind.READMITTED,
            step=_("入学注册"),
            detail={
                "previous_status": before["status"],
                "previous_school": before["school"],
                "school": record.school.name,
            },
        )
        for record, before in readmitted
    ]
    StudentEvent.objects.bulk_create(events)
    audit_many(actor=actor, action=AUDIT.CREATE, records=fresh, school_of=lambda r: r.school)
    audit_many(
        actor=actor,
        action=AUDIT.UPDATE,
        records=[record for record, _before in readmitted],
        school_of=lambda r: r.school,
        detail={"readmitted": True},
    )
    result.records += fresh + [record for record, _before in readmitted]
    result.created += len(fresh)
    result.updated += len(readmitted)


def _insert_fresh(actor: Actor, fresh: list[StudentRecord], stamp: datetime) -> None:
    """Writes the new records and their enrolment events as two streams of rows (COPY or one
    executemany each), the records' ids reserved first so the events can name them."""
    if not fresh:
        return
    for record, pk in zip(fresh, reserve_ids(StudentRecord, len(fresh)), strict=True):
        record.pk = pk
        record.created_at = record.updated_at = stamp
        record._state.adding = False
        record._state.db = connection.alias
    insert_rows(
        StudentRecord,
        RECORD_COLUMNS,
        (tuple([getattr(record, name) for name in RECORD_COLUMNS]) for record in fresh),
        constants={
            "status": Status.ENROLLED,
            "graduating": False,
            "left_on": None,
            "destination": "",
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    details: dict[int, str] = {}  # the same for every new student of a class
    events: list[tuple[int, str, str]] = []
    for record in fresh:
        school_class = record.school_class
        assert school_class is not None
        detail = details.get(school_class.pk)
        if detail is None:
            detail = details[school_class.pk] = json.dumps(
                {"school": record.school.name, "class": school_class.name}
            )
        events.append((record.pk, record.path, detail))
    insert_rows(
        StudentEvent,
        ("record_id", "path", "detail"),
        events,
        constants={
            "kind": Kind.ENROLLED,
            "at": stamp,
            "actor_id": actor.user.pk if actor.user is not None else None,
            "actor_name": actor_name(actor),
            "step": _("新生注册"),
            "reason": "",
            "request_id": None,
        },
    )


@transaction.atomic
def bulk_enrol_students(
    *,
    actor: Actor,
    rows: Iterable[StudentRow],
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> BulkResult[StudentRecord]:
    """Enrols many students with the rules of `enrol_student`, a batch at a time.

    Each batch costs a fixed number of queries. Refused rows are reported in `errors` by their
    position; the others are written. With `dry_run` nothing is written (an import preview).
    A student already registered elsewhere is refused, naming the school; one who graduated,
    dropped out or moved out of the region is admitted again on the same record.
    """
    actor.require_admin()
    result: BulkResult[StudentRecord] = BulkResult()
    codes = CodeChecker()
    seen: dict[str, int] = {}
    for batch in batched(enumerate(rows), batch_size):
        batch_seen = dict(seen)
        pending = _validate_enrolment(actor, batch, codes, seen, result)
        if dry_run or not pending:
            continue
        try:
            with transaction.atomic():
                _write_enrolment(actor, pending, result)
        except IntegrityError:
            # Another school registered one of these people since the batch was checked:
            # check again (the committed record is now visible and named), then write the rest.
            for item in pending:
                result.errors.pop(item.index, None)
            seen = batch_seen
            pending = _validate_enrolment(actor, batch, codes, seen, result)
            if not pending:
                continue
            try:
                with transaction.atomic():
                    _write_enrolment(actor, pending, result)
            except IntegrityError as exc:
                raise ValidationError(
                    {NON_FIELD_ERRORS: _("其他学校正在同时注册这些学生，请稍后重试。")}
                ) from exc
    return result


@transaction.atomic
def enrol_student(
    *,
    actor: Actor,
    school_class: SchoolClass,
    name: str,
    id_type: str,
    id_number: str = "",
    gender: str | None = None,
    birth_date: date | None = None,
    ethnicity: str,
    hukou: str = "",
    health: str = "",
    enrolled_on: date | None = None,
) -> StudentRecord:
    """新生注册: registers a student into a class. Refuses a person who already holds an active
    record anywhere in the region, naming that school (code `registered_elsewhere`)."""
    row = StudentRow(
        school_class=school_class,
        name=name,
        id_type=id_type,
        id_number=id_number,
        gender=gender,
        birth_date=birth_date,
        ethnicity=ethnicity,
        hukou=hukou,
        health=health,
        enrolled_on=enrolled_on,
    )
    result = bulk_enrol_students(actor=actor, rows=[row])
    if result.errors:
        raise result.errors[0]
    return result.records[0]


# --------------------------------------------------------------------------- record edits


def _lock(record: StudentRecord) -> StudentRecord:
    return (
        StudentRecord.objects.select_for_update(of=("self",))
        .select_related("person", "school__county__parent", "school_class__school_year")
        .get(pk=record.pk)
    )


EDITABLE_FIELDS = {"ethnicity": "ethnicity", "hukou": "hukou", "health": "health"}


@transaction.atomic
def update_student(*, actor: Actor, record: StudentRecord, **data: str) -> StudentRecord:
    """Edits the record's coded facts (民族, 户口性质, 健康状况)."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("该字段不可修改。") for name in sorted(unknown)})
    require_admin_within(actor, record.path)
    record = _lock(record)
    errors: dict[str, str] = {}
    codes = CodeChecker()
    for name, value in data.items():
        codes.check(errors, name, EDITABLE_FIELDS[name], value, required=name == "ethnicity")
    if errors:
        raise ValidationError(errors)
    diff = {
        name: [getattr(record, name), value]
        for name, value in data.items()
        if getattr(record, name) != value
    }
    if not diff:
        return record
    for name, value in data.items():
        setattr(record, name, value)
    record.save(update_fields=[*data, "updated_at"])
    _event(record, actor=actor, kind=Kind.UPDATED, detail={"changes": diff}).save()
    record_event(actor=actor, action=AUDIT.UPDATE, obj=record, path=record.path, detail=diff)
    return record


# --------------------------------------------------------------------------- student numbers


@transaction.atomic
def record_student_id(
    *, actor: Actor, record: StudentRecord, id_type: str, id_number: str
) -> StudentRecord:
    """Records the ID document of a student registered without one. A resident ID gives the
    student the `G` number; the temporary `L` number stays findable as an alias."""
    require_admin_within(actor, record.path)
    record = _lock(record)
    if record.id_digest:
        raise ValidationError({"id_number": _("该学生已登记证件号码。")})
    if id_type == Person.IdType.NONE:
        raise ValidationError({"id_type": _("请选择证件类型。")})
    identity = account_services.identity_fields(
        id_type=id_type,
        id_number=id_number,
        birth_date=record.person.birth_date,
        gender=record.person.gender,
    )
    holder = (
        StudentRecord.objects.filter(person__id_digest=identity["id_digest"])
        .select_related("school")
        .first()
    )
    if holder is not None:
        raise ValidationError({"id_number": registered_elsewhere(holder)})
    person = account_services.update_person_identity(
        actor=actor, person=record.person, id_type=id_type, id_number=id_number, path=record.path
    )
    old_number = record.number_masked
    record.person = person
    record.id_digest = person.id_digest
    if id_type == IdType.RESIDENT and record.temporary_number:
        StudentNumberAlias.objects.create(record=record, number=record.temporary_number)
        record.temporary_number = None
        record.number_masked = f"G{person.id_masked}"
    try:
        with transaction.atomic():
            record.save(update_fields=["id_digest", "temporary_number", "number_masked"])
    except IntegrityError as exc:
        raise ValidationError({"id_number": _("该证件号码已有学籍。")}) from exc
    _event(
        record,
        actor=actor,
        kind=Kind.NUMBER_REPLACED,
        detail={"old": old_number, "new": record.number_masked},
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=record,
        path=record.path,
        detail={"number": [old_number, record.number_masked]},
    )
    return record


def reveal_student_number(*, actor: Actor, record: StudentRecord) -> str:
    """The full national student number. A `G` number holds the ID number, so reading it is a
    deliberate, audited action (through `accounts.services.reveal_id_number`)."""
    require_admin_within(actor, record.path)
    if record.temporary_number:
        return record.temporary_number
    if record.person.id_type != IdType.RESIDENT:
        return record.number_masked
    return "G" + account_services.reveal_id_number(
        actor=actor, person=record.person, path=record.path
    )


# --------------------------------------------------------------------------- requests


def _require_status(record: StudentRecord, allowed: tuple[str, ...], action: str) -> None:
    if record.status == Status.SUSPENDED and Status.SUSPENDED not in allowed:
        raise ValidationError({"record": _("休学学生不能%(action)s。") % {"action": action}})
    if record.status not in allowed:
        raise ValidationError(
            {
                "record": _("该学生学籍状态为“%(status)s”，不能%(action)s。")
                % {"status": record.get_status_display(), "action": action}
            }
        )


def _require_movable(record: StudentRecord) -> None:
    _require_status(record, (Status.ENROLLED,), _("转学"))
    if record.graduating:
        raise ValidationError({"record": _("待毕业学生不能转学，请先办理毕业。")})


def _open_request(
    *,
    actor: Actor,
    record: StudentRecord,
    kind: str,
    reason: str,
    steps: list[dict[str, str]],
    to_school: School | None = None,
    destination: str = "",
) -> StudentRequest:
    request = open_flow(
        StudentRequest(
            kind=kind,
            record=record,
            reason=reason,
            from_school=record.school,
            from_class=record.school_class,
            from_path=record.school.path,
            to_school=to_school,
            to_path=to_school.path if to_school is not None else "",
            destination=destination,
        ),
        actor=actor,
        steps=steps,
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:
        raise ValidationError({"record": _("该学生已有审批中的申请，请先办结或撤回。")}) from exc
    _event(
        record,
        actor=actor,
        kind=Kind.REQUESTED,
        step=_("%(school)s 申请%(kind)s")
        % {"school": record.school.name, "kind": request.get_kind_display()},
        reason=reason,
        request=request,
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.CREATE,
        obj=request,
        path=record.path,
        detail={"kind": kind, "steps": [step["path"] for step in steps]},
    )
    return request


def _with_cities() -> bool:
    return bool(settings.SANTONG_TRANSFER_CITY_APPROVAL)


@transaction.atomic
def request_transfer(
    *, actor: Actor, record: StudentRecord, to_school: School, reason: str
) -> StudentRequest:
    """转学, asked by the sending school: the receiving school accepts (choosing the class),
    then the sending county, the receiving county if it differs, and both cities when the
    deployment sets `SANTONG_TRANSFER_CITY_APPROVAL` and the move crosses cities."""
    reason = require_reason(reason)
    require_admin_within(actor, record.path)
    record = _lock(record)
    _require_movable(record)
    if to_school.pk == record.school_id:
        raise ValidationError({"to_school": _("转入学校不能是学生当前所在学校。")})
    require_open(to_school, "to_school")
    to_school = School.objects.select_related("county__parent").get(pk=to_school.pk)
    steps = approval_steps(
        from_school=record.school, to_school=to_school, with_cities=_with_cities()
    )
    return _open_request(
        actor=actor,
        record=record,
        kind=StudentRequest.Kind.TRANSFER,
        reason=reason,
        steps=steps,
        to_school=to_school,
    )


@transaction.atomic
def request_transfer_out(
    *, actor: Actor, record: StudentRecord, destination: str, reason: str
) -> StudentRequest:
    """A transfer to a school outside the region: the receiving school is recorded by name and
    only this side approves (the sending county, and its city when so configured)."""
    reason = require_reason(reason)
    destination = destination.strip()
    if not destination:
        raise ValidationError({"destination": _("请填写转入学校名称。")})
    if len(destination) > 100:
        raise ValidationError({"destination": _("学校名称不能超过100个字符。")})
    require_admin_within(actor, record.path)
    record = _lock(record)
    _require_movable(record)
    steps = approval_steps(from_school=record.school, to_school=None, with_cities=_with_cities())
    return _open_request(
        actor=actor,
        record=record,
        kind=StudentRequest.Kind.TRANSFER_OUT,
        reason=reason,
        steps=steps,
        destination=destination,
    )


STATUS_REQUESTS: dict[str, tuple[tuple[str, ...], "_StrPromise"]] = {
    StudentRequest.Kind.SUSPEND: ((Status.ENROLLED,), gettext_lazy("休学")),
    StudentRequest.Kind.DROP_OUT: (ACTIVE, gettext_lazy("辍学")),
    StudentRequest.Kind.DEREGISTER: (ACTIVE, gettext_lazy("死亡注销")),
}


def _request_status_change(
    *, actor: Actor, record: StudentRecord, kind: str, reason: str
) -> StudentRequest:
    reason = require_reason(reason)
    require_admin_within(actor, record.path)
    record = _lock(record)
    allowed, action = STATUS_REQUESTS[kind]
    _require_status(record, allowed, str(action))
    steps = [region_step(record.school.county)]
    return _open_request(actor=actor, record=record, kind=kind, reason=reason, steps=steps)


@transaction.atomic
def request_suspension(*, actor: Actor, record: StudentRecord, reason: str) -> StudentRequest:
    """休学, approved by the county. A suspended student keeps the record and the class but is
    neither promoted, transferred nor graduated until resumed."""
    return _request_status_change(
        actor=actor, record=record, kind=StudentRequest.Kind.SUSPEND, reason=reason
    )


@transaction.atomic
def request_drop_out(*, actor: Actor, record: StudentRecord, reason: str) -> StudentRequest:
    """辍学, approved by the county (控辍保学: each case is the bureau's decision)."""
    return _request_status_change(
        actor=actor, record=record, kind=StudentRequest.Kind.DROP_OUT, reason=reason
    )


@transaction.atomic
def request_deregistration(*, actor: Actor, record: StudentRecord, reason: str) -> StudentRequest:
    """死亡注销, approved by the county; the record is kept, closed."""
    return _request_status_change(
        actor=actor, record=record, kind=StudentRequest.Kind.DEREGISTER, reason=reason
    )


def _lock_request(request: StudentRequest) -> StudentRequest:
    return (
        StudentRequest.objects.select_for_update(of=("self",))
        .select_related("to_school", "from_school", "to_class")
        .get(pk=request.pk)
    )


@transaction.atomic
def approve_request(
    *,
    actor: Actor,
    request: StudentRequest,
    school_class: SchoolClass | None = None,
    note: str = "",
) -> StudentRequest:
    """The waiting unit says yes. The receiving school of a transfer names the class the
    student will join. On the last approval the change is applied, all of it or nothing."""
    request = _lock_request(request)
    step = require_decider(actor, request)
    record = _lock(request.record)
    receiving = request.kind == StudentRequest.Kind.TRANSFER and step["level"] == "school"
    if receiving:
        request.to_class = _receiving_class(request, record, school_class)
    elif school_class is not None:
        raise ValidationError({"school_class": _("只有接收学校在接收时指定班级。")})
    _event(
        record,
        actor=actor,
        kind=Kind.STEP_APPROVED,
        step=step_label(step),
        reason=note.strip()[:200],
        request=request,
    ).save()
    if advance(request):
        _apply(on_behalf_of_approvals(actor), request, record)
    request.save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=request,
        path=step["path"],
        detail={"approved": step["path"], "status": request.status},
    )
    return request


def _receiving_class(
    request: StudentRequest, record: StudentRecord, school_class: SchoolClass | None
) -> SchoolClass:
    if school_class is None:
        raise ValidationError({"school_class": _("请选择学生转入的班级。")})
    if school_class.school_id != request.to_school_id:
        raise ValidationError({"school_class": _("所选班级不属于转入学校。")})
    current_year = record.school_class.school_year_id if record.school_class else None
    if current_year is not None and school_class.school_year_id != current_year:
        raise ValidationError({"school_class": _("所选班级不在学生当前学年。")})
    return school_class


def _class_in_year(school_class: SchoolClass, year_id: int) -> SchoolClass | None:
    """`school_class`, or the class its students continued in by `year_id` (a rollover may
    run while a transfer waits)."""
    current = school_class
    while current.school_year_id != year_id:
        link = ClassSuccession.objects.filter(old_class=current).select_related("new_class")
        found = link.first()
        if found is None:
            return None
        current = found.new_class
    return current


def _apply(actor: Actor, request: StudentRequest, record: StudentRecord) -> None:
    today = timezone.localdate()
    kind = request.kind
    if kind == StudentRequest.Kind.TRANSFER:
        _apply_transfer(actor, request, record)
        return
    event_kind: str
    if kind == StudentRequest.Kind.TRANSFER_OUT:
        _require_movable(record)
        record.status = Status.TRANSFERRED_OUT
        record.destination = request.destination
        record.left_on = today
        event_kind = Kind.TRANSFERRED_OUT
    else:
        allowed, action = STATUS_REQUESTS[kind]
        _require_status(record, allowed, str(action))
        new_status: dict[str, str] = {
            StudentRequest.Kind.SUSPEND: Status.SUSPENDED,
            StudentRequest.Kind.DROP_OUT: Status.DROPPED_OUT,
            StudentRequest.Kind.DEREGISTER: Status.DEREGISTERED,
        }
        record.status = new_status[kind]
        if record.status != Status.SUSPENDED:
            record.left_on = today
            record.graduating = False
        event_kinds: dict[str, str] = {
            Status.SUSPENDED: Kind.SUSPENDED,
            Status.DROPPED_OUT: Kind.DROPPED_OUT,
            Status.DEREGISTERED: Kind.DEREGISTERED,
        }
        event_kind = event_kinds[record.status]
    record.save()
    if record.status != Status.SUSPENDED:
        account_services.end_student_roles(actor=actor, person=record.person, path=record.path)
    _event(
        record,
        actor=actor,
        kind=event_kind,
        reason=request.reason,
        request=request,
        detail={"destination": request.destination} if request.destination else {},
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=record,
        path=record.path,
        detail={"status": record.status, "request": request.pk},
    )


def _apply_transfer(actor: Actor, request: StudentRequest, record: StudentRecord) -> None:
    _require_movable(record)
    assert request.to_class is not None
    assert request.to_school is not None
    year_id = record.school_class.school_year_id if record.school_class else None
    to_class = (
        _class_in_year(request.to_class, year_id) if year_id is not None else request.to_class
    )
    if to_class is None:
        raise ValidationError({"school_class": _("接收班级与学生当前学年不符，请驳回后重新申请。")})
    require_open(request.to_school, "to_school")
    before = {
        "school": record.school.name,
        "class": record.school_class.name if record.school_class else "",
    }
    record.school = request.to_school
    record.school_class = to_class
    record.path = to_class.path
    record.save()
    account_services.move_student_roles(actor=actor, person=record.person, school_class=to_class)
    _event(
        record,
        actor=actor,
        kind=Kind.TRANSFERRED,
        reason=request.reason,
        request=request,
        detail={
            "from_school": before["school"],
            "from_class": before["class"],
            "to_school": request.to_school.name,
            "to_class": to_class.name,
        },
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=record,
        path=record.path,
        detail={"school": [request.from_path, request.to_path], "request": request.pk},
    )


@transaction.atomic
def reject_request(*, actor: Actor, request: StudentRequest, reason: str) -> StudentRequest:
    """The waiting unit says no, with a reason; nothing about the student changes."""
    reason = require_reason(reason)
    request = _lock_request(request)
    step = require_decider(actor, request)
    close(request, StudentRequest.Status.REJECTED, reason)
    request.save()
    record = request.record
    _event(
        record,
        actor=actor,
        kind=Kind.REJECTED,
        step=step_label(step),
        reason=reason,
        request=request,
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=request,
        path=step["path"],
        detail={"rejected": step["path"], "reason": reason},
    )
    return request


@transaction.atomic
def withdraw_request(*, actor: Actor, request: StudentRequest, reason: str = "") -> StudentRequest:
    """The requester takes the request back; possible until the last approval is given."""
    request = _lock_request(request)
    require_withdrawer(actor, request)
    close(request, StudentRequest.Status.WITHDRAWN, reason.strip()[:200])
    request.save()
    _event(
        request.record,
        actor=actor,
        kind=Kind.WITHDRAWN,
        reason=reason.strip()[:200],
        request=request,
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=request,
        path=request.from_path,
        detail={"withdrawn": True},
    )
    return request


# --------------------------------------------------------------------------- resume, graduate


@transaction.atomic
def resume_student(
    *, actor: Actor, record: StudentRecord, school_class: SchoolClass, reason: str = ""
) -> StudentRecord:
    """复学: the school takes a suspended student back, into a class of its own (usually one
    of the current year, since the class left behind has moved on)."""
    require_admin_within(actor, record.path)
    record = _lock(record)
    if record.status != Status.SUSPENDED:
        raise ValidationError({"record": _("只有休学学生可以复学。")})
    if school_class.school_id != record.school_id:
        raise ValidationError({"school_class": _("复学班级须属于学生所在学校。")})
    before = record.school_class.name if record.school_class else ""
    record.status = Status.ENROLLED
    record.school_class = school_class
    record.path = school_class.path
    record.save()
    account_services.move_student_roles(
        actor=actor, person=record.person, school_class=school_class
    )
    _event(
        record,
        actor=actor,
        kind=Kind.RESUMED,
        reason=reason.strip()[:200],
        detail={"from_class": before, "to_class": school_class.name},
    ).save()
    record_event(
        actor=actor, action=AUDIT.UPDATE, obj=record, path=record.path, detail={"status": "resumed"}
    )
    return record


@transaction.atomic
def graduate_students(*, actor: Actor, path: str, on: date | None = None) -> int:
    """毕业: the county (or a bureau above it) confirms the graduation of every student the
    rollover marked graduating inside `path`, in one statement. Returns how many graduated."""
    require_admin_within(actor, path)
    require_rank_at_least(actor, Role.Kind.COUNTY_ADMIN)
    graduating = StudentRecord.objects.filter(
        subtree_q(path), status=Status.ENROLLED, graduating=True
    )
    stamp = now()
    count = insert_events(
        StudentEvent, "record", graduating, actor=actor, kind=Kind.GRADUATED, at=stamp
    )
    if not count:
        return 0
    graduating.update(
        status=Status.GRADUATED,
        graduating=False,
        left_on=on or timezone.localdate(),
        updated_at=stamp,
    )
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        object_type="studentrecord",
        object_repr=_("%(count)s 名学生毕业") % {"count": count},
        path=path,
        detail={"graduated": count},
    )
    return count


# --------------------------------------------------------------------------- school merges


def move_students_for_merge(*, actor: Actor, school: School, into: School, reason: str) -> int:
    """Moves every enrolled or suspended student of `school` into `into`, set-based: each of
    their classes gets a counterpart in `into` (same year and grade, numbered after its own),
    records and class roles follow. Called inside the merge's transaction."""
    active = StudentRecord.objects.filter(school=school, status__in=ACTIVE)
    classes = list(
        SchoolClass.objects.filter(pk__in=active.values("school_class_id"))
        .select_related("school_year", "grade")
        .order_by("school_year__start_year", "grade__order", "number")
    )
    taken: dict[tuple[int, str], int] = {}
    for year_id, grade_id, number in SchoolClass.objects.filter(school=into).values_list(
        "school_year_id", "grade_id", "number"
    ):
        taken[(year_id, grade_id)] = max(taken.get((year_id, grade_id), 0), number)
    links = []
    for old in classes:
        key = (old.school_year_id, old.grade_id)
        taken[key] = taken.get(key, 0) + 1
        new = org_services.create_class(
            actor=actor,
            school=into,
            school_year=old.school_year,
            grade=old.grade,
            number=taken[key],
        )
        links.append(
            ClassSuccession(
                old_class=old,
                new_class=new,
                old_path=old.path,
                new_path=new.path,
                kind=ClassSuccession.Kind.MERGE,
            )
        )
    ClassSuccession.objects.bulk_create(links)
    moves = ClassSuccession.objects.filter(old_class__in=classes)
    # A school with no student placed in a class (an emptied teaching point) has no class to
    # carry over, and an empty IN list cannot be compiled into the statements that follow.
    if classes:
        account_services.move_class_roles(
            actor=actor, path=school.path, moves=moves, people=None, kinds=None
        )
    count = insert_events(
        StudentEvent,
        "record",
        active,
        actor=actor,
        kind=Kind.MOVED_BY_MERGE,
        at=now(),
        reason=reason,
        detail={"from_school": school.name, "to_school": into.name},
    )
    if classes:
        successor = moves.filter(old_class_id=OuterRef("school_class_id"))
        active.filter(school_class__isnull=False).update(
            school=into,
            school_class_id=Subquery(successor.values("new_class_id")[:1]),
            path=Subquery(successor.values("new_path")[:1]),
            updated_at=now(),
        )
    active.filter(school_class__isnull=True).update(school=into, path=into.path, updated_at=now())
    return count
