"""Every write to the registries. One function per change; each takes the acting `Actor`,
checks its scope, runs in one transaction and writes its audit row in it.

The functions live in one module per registry (`schools`, `teachers`, `students`, `rollover`)
and the code tables in `codes`; they are all importable from here.
"""

from santong.registry.services.codes import sync_code_tables
from santong.registry.services.common import BulkResult
from santong.registry.services.rollover import (
    RolloverPlan,
    RolloverResult,
    grade_steps,
    preview_rollover,
    rollover_year,
)
from santong.registry.services.schools import close_school, merge_school, update_school_profile
from santong.registry.services.students import (
    StudentRow,
    approve_request,
    bulk_enrol_students,
    enrol_student,
    graduate_students,
    record_student_id,
    reject_request,
    request_deregistration,
    request_drop_out,
    request_suspension,
    request_transfer,
    request_transfer_out,
    resume_student,
    reveal_student_number,
    update_student,
    withdraw_request,
)
from santong.registry.services.teachers import (
    TeacherRow,
    approve_teacher_transfer,
    bulk_upsert_teachers,
    end_teacher_leave,
    register_teacher,
    reject_teacher_transfer,
    request_teacher_transfer,
    retire_teacher,
    start_teacher_leave,
    update_teacher,
    withdraw_teacher_transfer,
)

__all__ = [
    "BulkResult",
    "RolloverPlan",
    "RolloverResult",
    "StudentRow",
    "TeacherRow",
    "approve_request",
    "approve_teacher_transfer",
    "bulk_enrol_students",
    "bulk_upsert_teachers",
    "close_school",
    "end_teacher_leave",
    "enrol_student",
    "grade_steps",
    "graduate_students",
    "merge_school",
    "preview_rollover",
    "record_student_id",
    "register_teacher",
    "reject_request",
    "reject_teacher_transfer",
    "request_deregistration",
    "request_drop_out",
    "request_suspension",
    "request_teacher_transfer",
    "request_transfer",
    "request_transfer_out",
    "resume_student",
    "retire_teacher",
    "reveal_student_number",
    "rollover_year",
    "start_teacher_leave",
    "sync_code_tables",
    "update_school_profile",
    "update_student",
    "update_teacher",
    "withdraw_request",
    "withdraw_teacher_transfer",
]
