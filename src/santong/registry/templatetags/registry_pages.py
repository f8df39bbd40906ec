"""Template helpers of the registry pages: status badges, readable event details, and the
work-queue card of the home page."""

from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from santong.accounts.models import Role
from santong.registry import selectors
from santong.registry.services.common import SYSTEM_NAME

register = template.Library()

BADGES = {
    "enrolled": "text-bg-success",
    "active": "text-bg-success",
    "open": "text-bg-success",
    "approved": "text-bg-success",
    "suspended": "text-bg-warning",
    "on_leave": "text-bg-warning",
    "pending": "text-bg-primary",
    "rejected": "text-bg-danger",
    "deregistered": "text-bg-dark",
}

# The code table a changed field's values come from, for field changes kept in event details.
FIELD_TABLES = {
    "ethnicity": "ethnicity",
    "hukou": "hukou",
    "health": "health",
    "political_status": "political_status",
    "education": "education",
    "title": "teacher_title",
    "position": "teacher_position",
    "employment": "employment",
}
FIELD_LABELS = {
    "ethnicity": gettext_lazy("民族"),
    "hukou": gettext_lazy("户口性质"),
    "health": gettext_lazy("健康状况"),
    "political_status": gettext_lazy("政治面貌"),
    "education": gettext_lazy("最高学历"),
    "title": gettext_lazy("职称"),
    "position": gettext_lazy("岗位职务"),
    "employment": gettext_lazy("用人形式"),
    "hired_on": gettext_lazy("参加工作日期"),
    "subjects": gettext_lazy("任教学科"),
}


@register.filter
def acted_by(name: str) -> str:
    """The stored name of whoever acted; work done by the system itself (the demo, an import
    run from the command line) is stored as "system" and named in the page's language."""
    return _("系统") if name == SYSTEM_NAME else name


@register.filter
def status_badge(status: str) -> str:
    return BADGES.get(status, "text-bg-secondary")


def _place(school: Any, school_class: Any) -> str:
    return " ".join(part for part in (school, school_class) if part)


@register.filter
def event_detail(event: Any, codes: dict[str, dict[str, str]] | None = None) -> str:
    """An event's recorded facts in words: where a student moved, what changed, and so on."""
    detail: dict[str, Any] = event.detail or {}
    codes = codes or {}
    parts: list[str] = []
    if "from_school" in detail or "to_school" in detail:
        parts.append(
            f"{_place(detail.get('from_school'), detail.get('from_class'))} → "
            f"{_place(detail.get('to_school'), detail.get('to_class'))}".strip()
        )
    elif "from_class" in detail and "to_class" in detail:
        parts.append(f"{detail['from_class']} → {detail['to_class']}")
    elif "school" in detail:
        parts.append(_place(detail.get("school"), detail.get("class")))
    if "previous_status" in detail:
        parts.append(
            _("原状态：%(status)s（%(school)s）")
            % {"status": detail["previous_status"], "school": detail.get("previous_school", "")}
        )
    for field, change in (detail.get("changes") or {}).items():
        names = codes.get(FIELD_TABLES.get(field, ""), {})
        old, new = change
        parts.append(
            f"{FIELD_LABELS.get(field, field)}：{names.get(old, old) or '—'} → "
            f"{names.get(new, new) or '—'}"
        )
    if detail.get("destination"):
        parts.append(_("转往：%(school)s") % {"school": detail["destination"]})
    if "old" in detail and "new" in detail:
        parts.append(f"{detail['old']} → {detail['new']}")
    if detail.get("to_year"):
        parts.append(_("升入 %(year)s 学年") % {"year": detail["to_year"]})
    if detail.get("on"):
        parts.append(_("日期：%(day)s") % {"day": detail["on"]})
    return "；".join(part for part in parts if part)


@register.inclusion_tag("registry/_queue_card.html")
def work_queue_card(role: Role) -> dict[str, Any]:
    """What waits for the role's decision, with counts (three queries)."""
    items = selectors.work_queue(role=role)
    return {"items": items, "total": sum(item.count for item in items)}
