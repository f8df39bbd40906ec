"""学校库: a school's registered facts with their history, and merging or closing a school.

The org tree's own facts (name, 办学类型, urban/rural, address) stay in `orgs` and are edited
through its service; the registry adds the profile (principal, contact, founding date, status)
and keeps one `SchoolChange` row per changed field, whichever app holds the field.
"""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts.models import Role
from santong.audit.services import changes, record_event
from santong.core.actors import Actor
from santong.orgs import services as org_services
from santong.orgs.models import School
from santong.orgs.services import EDITABLE_SCHOOL_FIELDS
from santong.registry.models import SchoolChange, SchoolProfile, StudentRecord, TeacherRecord
from santong.registry.services import students as student_services
from santong.registry.services import teachers as teacher_services
from santong.registry.services.common import (
    AUDIT,
    actor_name,
    closed_school_ids,
    require_admin_within,
    require_open,
    require_rank_at_least,
)
from santong.registry.services.workflow import require_reason

PROFILE_FIELDS = ("principal", "phone", "founded_on")
PHONE_CHARACTERS = set("0123456789-+ ")


def _profile_for_update(school: School) -> SchoolProfile:
    SchoolProfile.objects.get_or_create(school=school, defaults={"path": school.path})
    return SchoolProfile.objects.select_for_update().select_related("school").get(pk=school.pk)


def _history(actor: Actor, school: School, diff: dict[str, list[Any]], reason: str = "") -> None:
    SchoolChange.objects.bulk_create(
        [
            SchoolChange(
                school=school,
                path=school.path,
                actor=actor.user,
                actor_name=actor_name(actor),
                field=name,
                old_value=(old or "")[:200],
                new_value=(new or "")[:200],
                reason=reason,
            )
            for name, (old, new) in diff.items()
        ]
    )


def _validate_profile(data: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if len(data.get("principal", "")) > 64:
        errors["principal"] = _("校长姓名不能超过64个字符。")
    phone = data.get("phone", "")
    if phone and (len(phone) < 7 or len(phone) > 20 or not set(phone) <= PHONE_CHARACTERS):
        errors["phone"] = _("联系电话应为7到20位数字，可含“-”。")
    founded_on = data.get("founded_on")
    if founded_on is not None and founded_on > timezone.localdate():
        errors["founded_on"] = _("建校日期不能晚于今天。")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def update_school_profile(
    *, actor: Actor, school: School, reason: str = "", **data: Any
) -> SchoolProfile:
    """Edits a school's registered facts, by the school itself or an administrator above it;
    each changed field is kept as history (who, when, old → new)."""
    allowed = set(EDITABLE_SCHOOL_FIELDS) | set(PROFILE_FIELDS)
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({name: _("该字段不可修改。") for name in sorted(unknown)})
    require_admin_within(actor, school.path)
    require_open(school, "school")
    data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
    profile_data = {k: v for k, v in data.items() if k in PROFILE_FIELDS}
    school_data = {k: v for k, v in data.items() if k in EDITABLE_SCHOOL_FIELDS}
    _validate_profile(profile_data)
    profile = _profile_for_update(school)
    diff = changes(profile.school, school_data)
    if diff:
        org_services.update_school(actor=actor, school=profile.school, **school_data)
    profile_diff = changes(profile, profile_data)
    if profile_diff:
        for name, value in profile_data.items():
            setattr(profile, name, value)
        profile.save()
        record_event(
            actor=actor, action=AUDIT.UPDATE, obj=profile, path=school.path, detail=profile_diff
        )
    _history(actor, profile.school, {**diff, **profile_diff}, reason.strip()[:200])
    return profile


def _require_no_open_teaching_points(school: School) -> None:
    points = set(School.objects.filter(host_school=school).values_list("pk", flat=True))
    if points - closed_school_ids(points):
        raise ValidationError({"school": _("该校仍有在办的教学点，请先合并或撤销其教学点。")})


@transaction.atomic
def merge_school(
    *, actor: Actor, school: School, into: School, reason: str, on: date | None = None
) -> SchoolProfile:
    """Merges `school` into `into` (a county's decision, or the city's across counties): its
    enrolled and suspended students and its teachers move through the registry's set-based
    moves, its classes continue in `into`, and the school stays on record as merged."""
    reason = require_reason(reason)
    if school.pk == into.pk:
        raise ValidationError({"into": _("不能将学校并入其自身。")})
    require_admin_within(actor, school.path)
    require_admin_within(actor, into.path)
    require_rank_at_least(actor, Role.Kind.COUNTY_ADMIN)
    require_open(school, "school")
    require_open(into, "into")
    if into.host_school_id == school.pk:
        raise ValidationError({"into": _("不能并入本校的教学点。")})
    _require_no_open_teaching_points(school)
    profile = _profile_for_update(school)
    students = student_services.move_students_for_merge(
        actor=actor, school=school, into=into, reason=reason
    )
    teachers = teacher_services.move_teachers_for_merge(
        actor=actor, school=school, into=into, reason=reason
    )
    profile.status = SchoolProfile.Status.MERGED
    profile.merged_into = into
    profile.closed_on = on or timezone.localdate()
    profile.save()
    _history(
        actor,
        school,
        {
            "status": [
                str(SchoolProfile.Status.OPEN.label),
                str(SchoolProfile.Status.MERGED.label),
            ],
            "merged_into": ["", into.name],
        },
        reason,
    )
    record_event(
        actor=actor,
        action=AUDIT.UPDATE,
        obj=profile,
        path=school.path,
        detail={"merged_into": into.path, "students": students, "teachers": teachers},
    )
    return profile


@transaction.atomic
def close_school(
    *, actor: Actor, school: School, reason: str, on: date | None = None
) -> SchoolProfile:
    """Closes (撤销) a school that no longer has students or teachers at work: its records,
    classes and history stay, archived, and nothing new can be registered there."""
    reason = require_reason(reason)
    require_admin_within(actor, school.path)
    require_rank_at_least(actor, Role.Kind.COUNTY_ADMIN)
    require_open(school, "school")
    _require_no_open_teaching_points(school)
    students = StudentRecord.objects.filter(school=school, status__in=student_services.ACTIVE)
    teachers = TeacherRecord.objects.filter(school=school).exclude(
        status=TeacherRecord.Status.RETIRED
    )
    student_count, teacher_count = students.count(), teachers.count()
    if student_count or teacher_count:
        raise ValidationError(
            {
                "school": _(
                    "该校仍有 %(students)s 名在读或休学学生、%(teachers)s 名在职教师，"
                    "请先办理转学、调动或学校合并。"
                )
                % {"students": student_count, "teachers": teacher_count}
            }
        )
    profile = _profile_for_update(school)
    profile.status = SchoolProfile.Status.CLOSED
    profile.closed_on = on or timezone.localdate()
    profile.save()
    _history(
        actor,
        school,
        {"status": [str(SchoolProfile.Status.OPEN.label), str(SchoolProfile.Status.CLOSED.label)]},
        reason,
    )
    record_event(
        actor=actor, action=AUDIT.UPDATE, obj=profile, path=school.path, detail={"closed": True}
    )
    return profile
