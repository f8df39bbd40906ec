"""教师库: teacher records, professional titles, moves between schools (调动) with approvals,
leave and retirement.

`register_teacher`, `update_teacher` and the set-based `bulk_upsert_teachers` share the same
field rules; the bulk entry point checks a batch with a fixed number of queries and writes it
with bulk statements.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts import services as account_services
from santong.accounts.identity import digest_in
from santong.accounts.models import Person, Role
from santong.audit.services import record_event
from santong.core.actors import Actor
from santong.core.scope import subtree_q
from santong.orgs.models import School, Subject
from santong.registry.models import TeacherEvent, TeacherRecord, TeacherTransfer, TitleHistory
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
)
from santong.registry.services.workflow import (
    advance,
    approval_steps,
    close,
    open_flow,
    require_decider,
    require_reason,
    require_withdrawer,
    step_label,
)

Status = TeacherRecord.Status
Kind = TeacherEvent.Kind
# The roles a teacher holds because of where they work; they end when the work there ends.
WORKPLACE_ROLE_KINDS = (Role.Kind.SCHOOL_ADMIN, Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER)
CODED_FIELDS = {
    "ethnicity": ("ethnicity", True),
    "political_status": ("political_status", False),
    "education": ("education", True),
    "title": ("teacher_title", True),
    "position": ("teacher_position", True),
    "employment": ("employment", True),
}
EDITABLE_FIELDS = (*CODED_FIELDS, "title_since", "subjects", "hired_on")


def _event(
    teacher: TeacherRecord,
    *,
    actor: Actor,
    kind: str,
    step: str = "",
    reason: str = "",
    transfer: TeacherTransfer | None = None,
    detail: dict[str, Any] | None = None,
) -> TeacherEvent:
    return TeacherEvent(
        teacher=teacher,
        kind=kind,
        at=now(),
        actor=actor.user,
        actor_name=actor_name(actor),
        step=step,
        reason=reason,
        path=teacher.path,
        transfer=transfer,
        detail=detail or {},
    )


@dataclass(frozen=True)
class TeacherRow:
    """One teacher to register or update, keyed by the ID document."""

    school: School
    name: str
    id_type: str
    id_number: str
    gender: str | None = None
    birth_date: date | None = None
    ethnicity: str = ""
    political_status: str = ""
    education: str = ""
    title: str = ""
    title_since: date | None = None
    position: str = ""
    subjects: tuple[str, ...] = ()
    hired_on: date | None = None
    employment: str = ""


def _check_fields(
    data: dict[str, Any], codes: CodeChecker, subjects: dict[str, Subject]
) -> dict[str, str]:
    """Field errors of a teacher's record facts (all of them, or the edited ones)."""
    errors: dict[str, str] = {}
    for name, (table, required) in CODED_FIELDS.items():
        if name in data:
            codes.check(errors, name, table, data[name] or "", required=required)
    today = timezone.localdate()
    if "hired_on" in data:
        if data["hired_on"] is None:
            errors["hired_on"] = _("请填写参加工作日期。")
        elif data["hired_on"] > today:
            errors["hired_on"] = _("参加工作日期不能晚于今天。")
    if data.get("title_since") is not None and data["title_since"] > today:
        errors["title_since"] = _("取得职称日期不能晚于今天。")
    unknown = [code for code in data.get("subjects", ()) if code not in subjects]
    if unknown:
        errors["subjects"] = _("未知的学科代码：%(codes)s。") % {"codes": "、".join(unknown)}
    return errors


RECORD_FIELDS = (
    "ethnicity",
    "political_status",
    "education",
    "title",
    "position",
    "hired_on",
    "employment",
)


def _record_fields(row: TeacherRow) -> dict[str, Any]:
    return {
        "ethnicity": row.ethnicity,
        "political_status": row.political_status,
        "education": row.education,
        "title": row.title,
        "position": row.position,
        "hired_on": row.hired_on,
        "employment": row.employment,
    }


@dataclass
class _Pending:
    index: int
    row: TeacherRow
    school: School
    identity: dict[str, Any]
    person: Person | None = None
    record: TeacherRecord | None = None


def _validate_batch(
    actor: Actor,
    batch: list[tuple[int, TeacherRow]],
    *,
    codes: CodeChecker,
    subjects: dict[str, Subject],
    seen: dict[str, int],
    allow_update: bool,
    result: BulkResult[TeacherRecord],
) -> list[_Pending]:
    schools = School.objects.in_bulk({row.school.pk for _index, row in batch})
    for each in schools.values():
        require_admin_within(actor, each.path)
    closed = closed_school_ids(set(schools))
    pending: list[_Pending] = []
    for index, row in batch:
        errors = _check_fields(
            {**_record_fields(row), "title_since": row.title_since, "subjects": row.subjects},
            codes,
            subjects,
        )
        name = row.name.strip()
        if not name or len(name) > 64:
            errors["name"] = _("姓名应为1到64个字符。")
        identity: dict[str, Any] = {}
        if row.id_type not in Person.IdType.values or row.id_type == Person.IdType.NONE:
            errors["id_type"] = _("教师须登记有效身份证件。")
        else:
            try:
                identity = account_services.identity_fields(
                    id_type=row.id_type,
                    id_number=row.id_number,
                    birth_date=row.birth_date,
                    gender=row.gender,
                )
            except ValidationError as exc:
                errors.update(first_errors(exc))
        found = schools.get(row.school.pk)
        if found is None:
            errors["school"] = _("学校不存在。")
        elif found.pk in closed:
            errors["school"] = closed_message(found)
        digest = identity.get("id_digest", "")
        if digest:
            if digest in seen:
                errors["id_number"] = _("与第 %(row)s 行的证件号码重复。") % {
                    "row": seen[digest] + 1
                }
            else:
                seen[digest] = index
        if errors:
            result.errors[index] = ValidationError(errors)
            continue
        assert found is not None
        pending.append(_Pending(index, row, found, identity))

    people = {
        p.id_digest: p
        for p in Person.objects.filter(digest_in(item.identity["id_digest"] for item in pending))
    }
    records = {
        r.person_id: r
        for r in TeacherRecord.objects.filter(person__in=people.values()).select_related("school")
    }
    writable: list[_Pending] = []
    for item in pending:
        person = people.get(item.identity["id_digest"])
        record = records.get(person.pk) if person is not None else None
        error: dict[str, str] = {}
        if person is not None and person.name != item.row.name.strip():
            error["name"] = _("该证件号码已登记在另一姓名下，请核对姓名和证件号码。")
        elif record is not None and not allow_update:
            error["id_number"] = _("该教师已在 %(school)s 建立档案。") % {
                "school": record.school.name
            }
        elif record is not None and record.school_id != item.school.pk:
            error["school"] = _("该教师档案在 %(school)s，调动请办理调动手续。") % {
                "school": record.school.name
            }
        elif record is not None and record.status == Status.RETIRED:
            error["id_number"] = _("该教师已退休，档案不能再修改。")
        if error:
            result.errors[item.index] = ValidationError(error)
            continue
        item.person, item.record = person, record
        writable.append(item)
    return writable


def _write_batch(
    actor: Actor,
    pending: list[_Pending],
    subjects: dict[str, Subject],
    result: BulkResult[TeacherRecord],
) -> None:
    new_people = [item for item in pending if item.person is None]
    created_people = account_services.create_people(
        rows=[
            {"name": item.row.name.strip(), "id_type": item.row.id_type, **item.identity}
            for item in new_people
        ]
    )
    for item, person in zip(new_people, created_people, strict=True):
        item.person = person

    stamp = now()
    today = timezone.localdate()
    fresh: list[TeacherRecord] = []
    changed: list[tuple[TeacherRecord, dict[str, list[Any]]]] = []
    titles: list[TitleHistory] = []
    written: list[tuple[_Pending, TeacherRecord]] = []
    known = [item.record for item in pending if item.record is not None]
    taught: dict[int, list[str]] = {}
    for record_id, code in (
        TeacherRecord.subjects.through.objects.filter(teacherrecord__in=known)
        .order_by("subject_id")
        .values_list("teacherrecord_id", "subject_id")
    ):
        taught.setdefault(record_id, []).append(code)
    for item in pending:
        fields = _record_fields(item.row)
        title = TitleHistory(
            title=item.row.title, since=item.row.title_since or today, actor_name=actor_name(actor)
        )
        if item.record is None:
            assert item.person is not None
            record = TeacherRecord(
                person=item.person, school=item.school, path=item.school.path, **fields
            )
            fresh.append(record)
            title.teacher = record
            titles.append(title)
            written.append((item, record))
            continue
        record = item.record
        diff = {
            name: [str(getattr(record, name)), str(value)]
            for name, value in fields.items()
            if getattr(record, name) != value
        }
        before = taught.get(record.pk, [])
        after = sorted(dict.fromkeys(item.row.subjects))
        if before != after:
            diff["subjects"] = ["、".join(before), "、".join(after)]
        if not diff:
            # The same facts again (a re-imported file): nothing to write, nothing to record.
            continue
        if "title" in diff:
            title.teacher = record
            titles.append(title)
        for name, value in fields.items():
            setattr(record, name, value)
        record.updated_at = stamp
        changed.append((record, diff))
        written.append((item, record))

    TeacherRecord.objects.bulk_create(fresh)
    TeacherRecord.objects.bulk_update(
        [record for record, _diff in changed], [*RECORD_FIELDS, "updated_at"]
    )
    TitleHistory.objects.bulk_create(titles)
    through = TeacherRecord.subjects.through
    through.objects.filter(teacherrecord__in=[record for record, _diff in changed]).delete()
    through.objects.bulk_create(
        [
            through(teacherrecord_id=record.pk, subject_id=subjects[code].pk)
            for item, record in written
            for code in dict.fromkeys(item.row.subjects)
        ]
    )
    events = [
        _event(record, actor=actor, kind=Kind.REGISTERED, detail={"school": record.school.name})
        for record in fresh
    ]
    events += [
        _event(record, actor=actor, kind=Kind.UPDATED, detail={"changes": diff})
        for record, diff in changed
        if diff
    ]
    TeacherEvent.objects.bulk_create(events)
    audit_many(actor=actor, action=AUDIT.CREATE, records=fresh, school_of=lambda r: r.school)
    audit_many(
        actor=actor,
        action=AUDIT.UPDATE,
        records=[record for record, _diff in changed],
        school_of=lambda r: r.school,
    )
    result.records += [record for _item, record in written]
    result.created += len(fresh)
    result.updated += len(changed)


def _upsert(
    actor: Actor,
    rows: Iterable[TeacherRow],
    *,
    dry_run: bool,
    allow_update: bool,
    batch_size: int = BATCH_SIZE,
) -> BulkResult[TeacherRecord]:
    actor.require_admin()
    result: BulkResult[TeacherRecord] = BulkResult()
    codes = CodeChecker()
    subjects = {subject.code: subject for subject in Subject.objects.all()}
    seen: dict[str, int] = {}
    for batch in batched(enumerate(rows), batch_size):
        pending = _validate_batch(
            actor,
            batch,
            codes=codes,
            subjects=subjects,
            seen=seen,
            allow_update=allow_update,
            result=result,
        )
        if dry_run or not pending:
            continue
        try:
            with transaction.atomic():
                _write_batch(actor, pending, subjects, result)
        except IntegrityError as exc:
            raise ValidationError(
                {"id_number": _("其他操作正在同时登记这些教师，请稍后重试。")}
            ) from exc
    return result


@transaction.atomic
def bulk_upsert_teachers(
    *,
    actor: Actor,
    rows: Iterable[TeacherRow],
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> BulkResult[TeacherRecord]:
    """Registers new teachers and updates existing ones (found by ID document) in batches.

    A teacher whose record is at another school is refused (that is a 调动); a changed title
    adds a title-history row. Refused rows are reported by position, the others written.
    """
    return _upsert(actor, rows, dry_run=dry_run, allow_update=True, batch_size=batch_size)


@transaction.atomic
def register_teacher(
    *,
    actor: Actor,
    school: School,
    name: str,
    id_type: str,
    id_number: str,
    gender: str | None = None,
    birth_date: date | None = None,
    ethnicity: str,
    political_status: str = "",
    education: str,
    title: str,
    title_since: date | None = None,
    position: str,
    subjects: tuple[str, ...] = (),
    hired_on: date,
    employment: str,
) -> TeacherRecord:
    """Creates a teacher's record at `school`; refuses a person who already has one."""
    row = TeacherRow(
        school=school,
        name=name,
        id_type=id_type,
        id_number=id_number,
        gender=gender,
        birth_date=birth_date,
        ethnicity=ethnicity,
        political_status=political_status,
        education=education,
        title=title,
        title_since=title_since,
        position=position,
        subjects=tuple(subjects),
        hired_on=hired_on,
        employment=employment,
    )
    result = _upsert(actor, [row], dry_run=False, allow_update=False)
    if result.errors:
        raise result.errors[0]
    return result.records[0]


def _lock(teacher: TeacherRecord) -> TeacherRecord:
    return (
        TeacherRecord.objects.select_for_update(of=("self",))
        .select_related("person", "school__county__parent")
        .get(pk=teacher.pk)
    )


@transaction.atomic
def update_teacher(*, actor: Actor, teacher: TeacherRecord, **data: Any) -> TeacherRecord:
    """Edits a teacher's record facts. A new title adds a title-history row (from
    `title_since`, default today)."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("该字段不可修改。") for name in sorted(unknown)})
    require_admin_within(actor, teacher.path)
    teacher = _lock(teacher)
    if teacher.status == Status.RETIRED:
        raise ValidationError({"status": _("该教师已退休，档案不能再修改。")})
    subjects = {subject.code: subject for subject in Subject.objects.all()}
    errors = _check_fields(data, CodeChecker(), subjects)
    if errors:
        raise ValidationError(errors)
    title_since = data.pop("title_since", None)
    subject_codes = data.pop("subjects", None)
    diff = {
        name: [str(getattr(teacher, name)), str(value)]
        for name, value in data.items()
        if getattr(teacher, name) != value
    }
    for name, value in data.items():
        setattr(teacher, name, value)
    teacher.save()
    if subject_codes is not None:
        before = sorted(teacher.subjects.values_list("code", flat=True))
        after = sorted(dict.fromkeys(subject_codes))
        if before != after:
            teacher.subjects.set([subjects[code] for code in after])
            diff["subjects"] = ["、".join(before), "、".join(after)]
    if "title" in diff:
        TitleHistory.objects.create(
            teacher=teacher,
            title=teacher.title,
            since=title_since or timezone.localdate(),
            actor_name=actor_name(actor),
        )
    if diff:
        kind = Kind.TITLE_CHANGED if set(diff) == {"title"} else Kind.UPDATED
        _event(teacher, actor=actor, kind=kind, detail={"changes": diff}).save()
        record_event(actor=actor, action=AUDIT.UPDATE, obj=teacher, path=teacher.path, detail=diff)
    return teacher


# --------------------------------------------------------------------------- 调动


def _lock_transfer(transfer: TeacherTransfer) -> TeacherTransfer:
    return (
        TeacherTransfer.objects.select_for_update(of=("self",))
        .select_related("to_school", "from_school")
        .get(pk=transfer.pk)
    )


@transaction.atomic
def request_teacher_transfer(
    *, actor: Actor, teacher: TeacherRecord, to_school: School, reason: str
) -> TeacherTransfer:
    """调动, asked by the sending school: the receiving school accepts, then the sending county
    and (when it differs) the receiving county approve."""
    reason = require_reason(reason)
    require_admin_within(actor, teacher.path)
    teacher = _lock(teacher)
    if teacher.status != Status.ACTIVE:
        raise ValidationError(
            {
                "teacher": _("该教师状态为“%(status)s”，不能调动。")
                % {"status": teacher.get_status_display()}
            }
        )
    if to_school.pk == teacher.school_id:
        raise ValidationError({"to_school": _("调入学校不能是教师当前所在学校。")})
    require_open(to_school, "to_school")
    to_school = School.objects.select_related("county__parent").get(pk=to_school.pk)
    transfer = open_flow(
        TeacherTransfer(
            teacher=teacher,
            reason=reason,
            from_school=teacher.school,
            from_path=teacher.school.path,
            to_school=to_school,
            to_path=to_school.path,
        ),
        actor=actor,
        steps=approval_steps(from_school=teacher.school, to_school=to_school, with_cities=False),
    )
    try:
        with transaction.atomic():
            transfer.save()
    except IntegrityError as exc:
        raise ValidationError({"teacher": _("该教师已有审批中的调动申请。")}) from exc
    _event(
        teacher,
        actor=actor,
        kind=Kind.REQUESTED,
        step=_("%(school)s 申请调动") % {"school": teacher.school.name},
        reason=reason,
        transfer=transfer,
        detail={"to_school": to_school.name},
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.CREATE,
        obj=transfer,
        path=teacher.path,
        detail={"to": to_school.path},
    )
    return transfer


@transaction.atomic
def approve_teacher_transfer(
    *, actor: Actor, transfer: TeacherTransfer, note: str = ""
) -> TeacherTransfer:
    """The waiting unit says yes; on the last approval the teacher moves, and the roles they
    held at the old school (administration, classes) end."""
    transfer = _lock_transfer(transfer)
    step = require_decider(actor, transfer)
    teacher = _lock(transfer.teacher)
    _event(
        teacher,
        actor=actor,
        kind=Kind.STEP_APPROVED,
        step=step_label(step),
        reason=note.strip()[:200],
        transfer=transfer,
    ).save()
    if advance(transfer):
        _apply_transfer(on_behalf_of_approvals(actor), transfer, teacher)
    transfer.save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=transfer,
        path=step["path"],
        detail={"approved": step["path"], "status": transfer.status},
    )
    return transfer


def _end_workplace_roles(actor: Actor, teacher: TeacherRecord, school: School) -> None:
    user = getattr(teacher.person, "account", None)
    if user is None:
        return
    roles = Role.objects.filter(
        subtree_q(school.path), user=user, kind__in=WORKPLACE_ROLE_KINDS
    ).exclude(Q(pk=actor.role.pk) if actor.role is not None else Q(pk__in=[]))
    for role in roles:
        account_services.revoke_role(actor=actor, role=role)


def _apply_transfer(actor: Actor, transfer: TeacherTransfer, teacher: TeacherRecord) -> None:
    if teacher.status != Status.ACTIVE:
        raise ValidationError({"teacher": _("该教师已不在职，不能调动。")})
    assert transfer.to_school is not None
    require_open(transfer.to_school, "to_school")
    old_school = teacher.school
    _end_workplace_roles(actor, teacher, old_school)
    teacher.school = transfer.to_school
    teacher.path = transfer.to_school.path
    teacher.save()
    _event(
        teacher,
        actor=actor,
        kind=Kind.TRANSFERRED,
        reason=transfer.reason,
        transfer=transfer,
        detail={"from_school": old_school.name, "to_school": transfer.to_school.name},
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=teacher,
        path=teacher.path,
        detail={"school": [old_school.path, teacher.path], "transfer": transfer.pk},
    )


@transaction.atomic
def reject_teacher_transfer(
    *, actor: Actor, transfer: TeacherTransfer, reason: str
) -> TeacherTransfer:
    reason = require_reason(reason)
    transfer = _lock_transfer(transfer)
    step = require_decider(actor, transfer)
    close(transfer, TeacherTransfer.Status.REJECTED, reason)
    transfer.save()
    _event(
        transfer.teacher,
        actor=actor,
        kind=Kind.REJECTED,
        step=step_label(step),
        reason=reason,
        transfer=transfer,
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=transfer,
        path=step["path"],
        detail={"rejected": step["path"], "reason": reason},
    )
    return transfer


@transaction.atomic
def withdraw_teacher_transfer(
    *, actor: Actor, transfer: TeacherTransfer, reason: str = ""
) -> TeacherTransfer:
    transfer = _lock_transfer(transfer)
    require_withdrawer(actor, transfer)
    close(transfer, TeacherTransfer.Status.WITHDRAWN, reason.strip()[:200])
    transfer.save()
    _event(
        transfer.teacher,
        actor=actor,
        kind=Kind.WITHDRAWN,
        reason=reason.strip()[:200],
        transfer=transfer,
    ).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=transfer,
        path=transfer.from_path,
        detail={"withdrawn": True},
    )
    return transfer


# --------------------------------------------------------------------------- leave, retirement


def _change_status(
    actor: Actor,
    teacher: TeacherRecord,
    *,
    allowed: tuple[str, ...],
    status: str,
    kind: str,
    on: date | None,
    reason: str,
) -> TeacherRecord:
    require_admin_within(actor, teacher.path)
    teacher = _lock(teacher)
    if teacher.status not in allowed:
        raise ValidationError(
            {
                "status": _("该教师状态为“%(status)s”，不能办理此业务。")
                % {"status": teacher.get_status_display()}
            }
        )
    if TeacherTransfer.objects.filter(
        teacher=teacher, status=TeacherTransfer.Status.PENDING
    ).exists():
        raise ValidationError({"status": _("该教师有审批中的调动申请，请先撤回或办结。")})
    day = on or timezone.localdate()
    before = teacher.status
    teacher.status = status
    teacher.left_on = day if status != Status.ACTIVE else None
    teacher.save()
    _event(teacher, actor=actor, kind=kind, reason=reason, detail={"on": day.isoformat()}).save()
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=teacher,
        path=teacher.path,
        detail={"status": [before, status]},
    )
    return teacher


@transaction.atomic
def retire_teacher(
    *, actor: Actor, teacher: TeacherRecord, on: date | None = None, reason: str = ""
) -> TeacherRecord:
    """退休: the record is kept, closed; the roles held at the school end."""
    teacher = _change_status(
        actor,
        teacher,
        allowed=(Status.ACTIVE, Status.ON_LEAVE),
        status=Status.RETIRED,
        kind=Kind.RETIRED,
        on=on,
        reason=reason.strip()[:200],
    )
    _end_workplace_roles(actor, teacher, teacher.school)
    return teacher


@transaction.atomic
def start_teacher_leave(
    *, actor: Actor, teacher: TeacherRecord, reason: str, on: date | None = None
) -> TeacherRecord:
    """离岗休假 (study, sick or maternity leave, secondment): an absent teacher is not moved."""
    return _change_status(
        actor,
        teacher,
        allowed=(Status.ACTIVE,),
        status=Status.ON_LEAVE,
        kind=Kind.LEAVE_STARTED,
        on=on,
        reason=require_reason(reason),
    )


@transaction.atomic
def end_teacher_leave(
    *, actor: Actor, teacher: TeacherRecord, on: date | None = None
) -> TeacherRecord:
    return _change_status(
        actor,
        teacher,
        allowed=(Status.ON_LEAVE,),
        status=Status.ACTIVE,
        kind=Kind.LEAVE_ENDED,
        on=on,
        reason="",
    )


# --------------------------------------------------------------------------- school merges


def move_teachers_for_merge(*, actor: Actor, school: School, into: School, reason: str) -> int:
    """Moves every teacher of `school` still at work or on leave into `into`, set-based;
    retired teachers stay with the merged school's archive."""
    staying = TeacherRecord.objects.filter(school=school).exclude(status=Status.RETIRED)
    count = insert_events(
        TeacherEvent,
        "teacher",
        staying,
        actor=actor,
        kind=Kind.MOVED_BY_MERGE,
        at=now(),
        reason=reason,
        detail={"from_school": school.name, "to_school": into.name},
    )
    staying.update(school=into, path=into.path, updated_at=now())
    return count
