"""升级: a school, county or region promoted to the next school year in one set-based run.

For every class of the year with students to promote, the next grade's class of the new year
is created (orgs), linked to it (`ClassSuccession`), and its enrolled students, their history
rows and their (and their parents') class roles follow in a handful of statements, whatever
the number of students. Students in a final grade are marked graduating instead; suspended
students stay where they are. The preview runs the same predicates as counts and writes
nothing; a second run finds nothing left to do and writes nothing.
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from santong.accounts import services as account_services
from santong.accounts.models import Role
from santong.audit.services import record_event
from santong.core.actors import Actor
from santong.core.scope import PATH_END, subtree_q
from santong.orgs import services as org_services
from santong.orgs.models import Grade, School, SchoolClass, SchoolYear
from santong.orgs.services import SCHOOL_KIND_STAGES
from santong.registry.models import ClassSuccession, Rollover, StudentEvent, StudentRecord
from santong.registry.services.common import (
    AUDIT,
    actor_name,
    insert_events,
    now,
    require_admin_within,
)

ENROLLED = StudentRecord.Status.ENROLLED
SUSPENDED = StudentRecord.Status.SUSPENDED

# Where a school teaches two stages without an entrance examination between them, the last
# grade of the first continues into the first grade of the second instead of graduating.
CONTINUING_STAGES: dict[tuple[str, str], str] = {
    (School.Kind.NINE_YEAR, "1"): "2",
    (School.Kind.TWELVE_YEAR, "1"): "2",
    (School.Kind.SPECIAL, "1"): "2",
    (School.Kind.TEACHING_POINT, "0"): "1",
}

GradeStep = tuple[str, str, str | None]


def grade_steps() -> list[GradeStep]:
    """(school kind, grade, next grade) for every grade each kind of school teaches; the next
    grade is None where students graduate."""
    by_stage: dict[str, list[Grade]] = {}
    for grade in Grade.objects.order_by("order"):
        by_stage.setdefault(grade.stage_id, []).append(grade)
    steps: list[GradeStep] = []
    for kind, stages in SCHOOL_KIND_STAGES.items():
        for stage in sorted(stages):
            grades = by_stage.get(stage, [])
            for position, grade in enumerate(grades):
                following: str | None = None
                if not grade.is_final and position + 1 < len(grades):
                    following = grades[position + 1].code
                else:
                    continuing = CONTINUING_STAGES.get((kind, stage))
                    if continuing in stages and by_stage.get(continuing or ""):
                        following = by_stage[continuing or ""][0].code
                steps.append((str(kind), grade.code, following))
    return steps


def _step_cte(steps: list[GradeStep]) -> tuple[str, list[Any]]:
    rows = ", ".join(["(%s, %s, %s)"] * len(steps))
    return (
        f"WITH step (kind, grade, next_grade) AS (VALUES {rows}) ",
        [value for step in steps for value in step],
    )


@dataclass(frozen=True)
class RolloverPlan:
    """What a rollover would do (or did): counts only."""

    path: str
    from_year: int
    to_year: int
    classes_to_create: int
    to_promote: int
    to_mark_graduating: int
    staying_suspended: int

    @property
    def has_work(self) -> bool:
        return bool(self.to_promote or self.to_mark_graduating)


@dataclass(frozen=True)
class RolloverResult:
    plan: RolloverPlan
    rollover: Rollover | None
    classes_created: int
    promoted: int
    marked_graduating: int


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "record": quote(StudentRecord._meta.db_table),
        "class": quote(SchoolClass._meta.db_table),
        "school": quote(School._meta.db_table),
        "succession": quote(ClassSuccession._meta.db_table),
    }


def preview_rollover(*, actor: Actor, path: str, from_year: SchoolYear) -> RolloverPlan:
    """The rollover's counts, from the same predicates it runs, without writing anything."""
    require_admin_within(actor, path)
    steps = grade_steps()
    cte, step_params = _step_cte(steps)
    t = _tables()
    scope: list[Any] = [from_year.pk, path, path + PATH_END]
    to_year = SchoolYear.objects.filter(start_year=from_year.start_year + 1).first()
    joined = (
        f"FROM {t['class']} c JOIN {t['school']} s ON s.id = c.school_id "
        "JOIN step ON step.kind = s.kind AND step.grade = c.grade_id "
        "WHERE c.school_year_id = %s AND c.path >= %s AND c.path < %s"
    )
    students_sql = (
        cte + "SELECT "
        "COALESCE(SUM(CASE WHEN step.next_grade IS NOT NULL AND r.status = %s "
        "AND NOT r.graduating THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN step.next_grade IS NULL AND r.status = %s "
        "AND NOT r.graduating THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN r.status = %s THEN 1 ELSE 0 END), 0) "
        f"FROM {t['record']} r JOIN {t['class']} c ON c.id = r.school_class_id "
        f"JOIN {t['school']} s ON s.id = c.school_id "
        "JOIN step ON step.kind = s.kind AND step.grade = c.grade_id "
        "WHERE c.school_year_id = %s AND c.path >= %s AND c.path < %s AND r.status IN (%s, %s)"
    )
    classes_sql = (
        cte
        + "SELECT COUNT(*) FROM (SELECT c.id "
        + joined
        + " AND step.next_grade IS NOT NULL AND EXISTS (SELECT 1 FROM "
        f"{t['record']} r WHERE r.school_class_id = c.id AND r.status = %s AND NOT r.graduating) "
        f"AND NOT EXISTS (SELECT 1 FROM {t['class']} n WHERE n.school_id = c.school_id "
        "AND n.school_year_id = %s AND n.grade_id = step.next_grade AND n.number = c.number)"
        ") AS missing"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            students_sql, [*step_params, ENROLLED, ENROLLED, SUSPENDED, *scope, ENROLLED, SUSPENDED]
        )
        to_promote, to_graduate, suspended = cursor.fetchone()
        cursor.execute(
            classes_sql, [*step_params, *scope, ENROLLED, to_year.pk if to_year else None]
        )
        (classes,) = cursor.fetchone()
    return RolloverPlan(
        path=path,
        from_year=from_year.start_year,
        to_year=from_year.start_year + 1,
        classes_to_create=int(classes),
        to_promote=int(to_promote),
        to_mark_graduating=int(to_graduate),
        staying_suspended=int(suspended),
    )


def _link_successors(
    rollover: Rollover, source: Any, to_year: SchoolYear, steps: list[GradeStep]
) -> None:
    """Links each source class to its next-grade class of the new year (INSERT ... SELECT)."""
    cte, step_params = _step_cte(steps)
    t = _tables()
    selection, source_params = source.order_by().values("pk").query.sql_with_params()
    sql = (
        f"INSERT INTO {t['succession']} "
        "(old_class_id, new_class_id, old_path, new_path, kind, rollover_id) "
        + cte
        + "SELECT c.id, n.id, c.path, n.path, %s, %s "
        f"FROM {t['class']} c JOIN {t['school']} s ON s.id = c.school_id "
        "JOIN step ON step.kind = s.kind AND step.grade = c.grade_id "
        f"JOIN {t['class']} n ON n.school_id = c.school_id AND n.school_year_id = %s "
        "AND n.grade_id = step.next_grade AND n.number = c.number "
        f"WHERE c.id IN ({selection}) "
        f"AND NOT EXISTS (SELECT 1 FROM {t['succession']} x WHERE x.old_class_id = c.id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [*step_params, ClassSuccession.Kind.ROLLOVER, rollover.pk, to_year.pk, *source_params],
        )


def _promote(moves: Any) -> int:
    """Moves every promotable student along the class links in one UPDATE ... FROM."""
    t = _tables()
    selection, params = moves.order_by().values("pk").query.sql_with_params()
    sql = (
        f"UPDATE {t['record']} SET school_class_id = x.new_class_id, path = x.new_path, "
        f"updated_at = %s FROM {t['succession']} x "
        f"WHERE x.old_class_id = {t['record']}.school_class_id AND x.id IN ({selection}) "
        f"AND {t['record']}.status = %s AND NOT {t['record']}.graduating"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now(), *params, ENROLLED])
        return int(cursor.rowcount)


def _final_classes_q(steps: list[GradeStep]) -> Q:
    finals: dict[str, list[str]] = {}
    for kind, grade, following in steps:
        if following is None:
            finals.setdefault(kind, []).append(grade)
    q = Q(pk__in=[])
    for kind, grades in finals.items():
        q |= Q(school__kind=kind, grade_id__in=grades)
    return q


@transaction.atomic
def rollover_year(*, actor: Actor, path: str, from_year: SchoolYear) -> RolloverResult:
    """Promotes every enrolled student inside `path` from `from_year` to the next school year.

    Idempotent: students already promoted or marked graduating are not touched again, classes
    that exist are reused, and a run with nothing to do writes nothing.
    """
    plan = preview_rollover(actor=actor, path=path, from_year=from_year)
    if not plan.has_work:
        return RolloverResult(plan, None, 0, 0, 0)
    stamp = now()
    to_year = org_services.ensure_school_year(start_year=from_year.start_year + 1)
    rollover = Rollover.objects.create(
        path=path,
        from_year=from_year,
        to_year=to_year,
        at=stamp,
        actor=actor.user,
        actor_name=actor_name(actor),
    )
    steps = grade_steps()
    promotable = StudentRecord.objects.filter(
        status=ENROLLED, graduating=False, school_class=OuterRef("pk")
    )
    source = SchoolClass.objects.filter(subtree_q(path), school_year=from_year).filter(
        Exists(promotable)
    )
    classes_created = org_services.roll_classes_forward(
        actor=actor,
        path=path,
        source=source,
        to_year=to_year,
        next_grades={(kind, grade): following for kind, grade, following in steps if following},
    )
    _link_successors(rollover, source, to_year, steps)

    moves = ClassSuccession.objects.filter(
        subtree_q(path, "old_path"),
        kind=ClassSuccession.Kind.ROLLOVER,
        old_class__school_year=from_year,
    )
    moving = StudentRecord.objects.filter(
        status=ENROLLED, graduating=False, school_class_id__in=moves.values("old_class_id")
    )
    detail = {"rollover": rollover.pk, "to_year": str(to_year)}
    insert_events(
        StudentEvent,
        "record",
        moving,
        actor=actor,
        kind=StudentEvent.Kind.PROMOTED,
        at=stamp,
        step=_("学年升级"),
        detail=detail,
    )
    account_services.move_class_roles(
        actor=actor,
        path=path,
        moves=moves,
        people=moving.values("person_id"),
        kinds=(Role.Kind.STUDENT, Role.Kind.PARENT),
    )
    promoted = _promote(moves)

    final_classes = SchoolClass.objects.filter(subtree_q(path), school_year=from_year).filter(
        _final_classes_q(steps)
    )
    finishing = StudentRecord.objects.filter(
        status=ENROLLED, graduating=False, school_class__in=final_classes
    )
    insert_events(
        StudentEvent,
        "record",
        finishing,
        actor=actor,
        kind=StudentEvent.Kind.GRADUATING,
        at=stamp,
        step=_("学年升级"),
        detail=detail,
    )
    marked = finishing.update(graduating=True, updated_at=stamp)

    rollover.classes_created = classes_created
    rollover.promoted = promoted
    rollover.graduating = marked
    rollover.save(update_fields=["classes_created", "promoted", "graduating"])
    record_event(
        actor=actor,
        action=AUDIT.CREATE,
        obj=rollover,
        path=path,
        detail={"classes_created": classes_created, "promoted": promoted, "graduating": marked},
    )
    return RolloverResult(plan, rollover, classes_created, promoted, marked)
