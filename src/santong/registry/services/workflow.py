"""The approval chain shared by student requests and teacher transfers.

A request lists the units that must say yes, in order (the receiving school, then the county
bureaus, then the city bureaus when configured). Each decision is made by an administrator of
exactly the waiting unit's level inside that unit: a city administrator can watch a county's
queue but cannot decide for it, and a school cannot approve for its county.
"""

from typing import TypeVar

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts.models import Role
from santong.core.actors import Actor, ScopeError
from santong.orgs.models import Region, School
from santong.registry.models import LEVEL_OF_KIND, ApprovalFlow
from santong.registry.services.common import actor_name

Flow = TypeVar("Flow", bound=ApprovalFlow)

SCHOOL = ApprovalFlow.Level.SCHOOL
COUNTY = ApprovalFlow.Level.COUNTY
CITY = ApprovalFlow.Level.CITY


def school_step(school: School) -> dict[str, str]:
    return {"level": SCHOOL, "path": school.path, "name": school.name}


def region_step(region: Region) -> dict[str, str]:
    level = COUNTY if region.level == Region.Level.COUNTY else CITY
    return {"level": level, "path": region.code, "name": region.name}


def approval_steps(
    *, from_school: School, to_school: School | None, with_cities: bool
) -> list[dict[str, str]]:
    """The receiving school (when inside the region), the sending county, the receiving county
    when it differs, and with `with_cities` both cities when the move crosses cities."""
    steps = [school_step(to_school)] if to_school is not None else []
    from_county = from_school.county
    steps.append(region_step(from_county))
    to_county = to_school.county if to_school is not None else None
    if to_county is not None and to_county.code != from_county.code:
        steps.append(region_step(to_county))
    if with_cities:
        assert from_county.parent is not None
        from_city = from_county.parent
        if to_county is None:
            steps.append(region_step(from_city))
        else:
            assert to_county.parent is not None
            if to_county.parent.code != from_city.code:
                steps += [region_step(from_city), region_step(to_county.parent)]
    return steps


def step_label(step: dict[str, str]) -> str:
    if step["level"] == SCHOOL:
        return _("%(name)s 接收") % {"name": step["name"]}
    return _("%(name)s 审批") % {"name": step["name"]}


def open_flow(flow: Flow, *, actor: Actor, steps: list[dict[str, str]]) -> Flow:
    """Fills in the request's chain and who asked; the caller saves it."""
    flow.status = ApprovalFlow.Status.PENDING
    flow.steps = steps
    flow.step = 0
    flow.waiting_path = steps[0]["path"]
    flow.waiting_level = steps[0]["level"]
    flow.requested_by = actor.user
    flow.requested_by_name = actor_name(actor)
    flow.requested_at = timezone.now()
    return flow


def require_pending(flow: ApprovalFlow) -> dict[str, str]:
    step = flow.waiting_step
    if step is None:
        raise ValidationError(
            {
                "status": _("该申请已%(status)s，不能再处理。")
                % {"status": flow.get_status_display()}
            }
        )
    return step


def require_decider(actor: Actor, flow: ApprovalFlow) -> dict[str, str]:
    """The waiting step, if `actor` may decide it; ScopeError otherwise."""
    step = require_pending(flow)
    actor.require_within(step["path"])
    if actor.role is None:
        if actor.is_system or (actor.user is not None and actor.user.is_superuser):
            return step
        raise ScopeError(_("当前角色无权执行此操作。"))
    if LEVEL_OF_KIND.get(actor.role.kind) != step["level"]:
        raise ScopeError(_("当前环节须由 %(name)s 处理。") % {"name": step["name"]})
    return step


def require_withdrawer(actor: Actor, flow: ApprovalFlow) -> None:
    """The requester, or an administrator of the sending school, may withdraw."""
    require_pending(flow)
    if actor.user is not None and flow.requested_by_id == actor.user.pk:
        return
    actor.require_within(flow.from_path)
    if actor.role is not None and actor.role.kind != Role.Kind.SCHOOL_ADMIN:
        raise ScopeError(_("只有申请人或转出学校可以撤回申请。"))


def advance(flow: ApprovalFlow) -> bool:
    """Moves past the waiting step; True when that was the last one (the request is approved)."""
    if flow.step + 1 >= len(flow.steps):
        close(flow, ApprovalFlow.Status.APPROVED)
        return True
    flow.step += 1
    flow.waiting_path = flow.steps[flow.step]["path"]
    flow.waiting_level = flow.steps[flow.step]["level"]
    return False


def close(flow: ApprovalFlow, status: str, note: str = "") -> None:
    flow.status = status
    flow.closed_at = timezone.now()
    flow.waiting_path = ""
    flow.waiting_level = ""
    flow.decision_note = note


def require_reason(reason: str, field: str = "reason") -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({field: _("请填写理由。")})
    if len(reason) > 200:
        raise ValidationError({field: _("理由不能超过200个字符。")})
    return reason
