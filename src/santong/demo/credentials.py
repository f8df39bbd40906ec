"""One demo account per role kind, found in the population and given a fresh password.

Only these accounts get usable passwords; they are reset on every run (the passwords are
generated with `secrets`, never stored in the repository), printed as a table and written to
`var/demo-credentials.json` (mode 0600), where `santong screenshots` finds them.
"""

import json
import os
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from santong.accounts import services as account_services
from santong.accounts.models import Role
from santong.core.actors import SYSTEM
from santong.demo.generator import (
    PROVINCE,
    SHOWCASE_CITY,
    SHOWCASE_COUNTY,
    SHOWCASE_GRADE,
    PopulationError,
)
from santong.orgs.models import School, SchoolClass

ROLE_KINDS = (
    Role.Kind.PROVINCE_ADMIN,
    Role.Kind.CITY_ADMIN,
    Role.Kind.COUNTY_ADMIN,
    Role.Kind.SCHOOL_ADMIN,
    Role.Kind.HEAD_TEACHER,
    Role.Kind.SUBJECT_TEACHER,
    Role.Kind.STUDENT,
    Role.Kind.PARENT,
)


@dataclass(frozen=True)
class DemoAccount:
    kind: str
    username: str
    password: str
    name: str
    unit: str


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.json"


def demo_roles() -> dict[str, Role]:
    """The role each demo account acts in: the showcase county's first primary school, its
    三年级（1）班, and the administrators above it."""
    school = (
        School.objects.filter(county_id=SHOWCASE_COUNTY, kind=School.Kind.PRIMARY)
        .order_by("code")
        .first()
    )
    school_class = (
        SchoolClass.objects.filter(
            school=school, grade_id=SHOWCASE_GRADE, number=1, school_year__is_current=True
        ).first()
        if school is not None
        else None
    )
    if school is None or school_class is None:
        raise PopulationError("the demo population has no showcase school; run `santong demo`")
    roles = Role.objects.select_related(
        "user__person", "region", "school", "school_class__school"
    ).order_by("user__username", "subject_id")
    head_teacher = roles.filter(kind=Role.Kind.HEAD_TEACHER, path=school_class.path).first()
    student = roles.filter(kind=Role.Kind.STUDENT, path=school_class.path).first()
    found = {
        Role.Kind.PROVINCE_ADMIN: roles.filter(
            kind=Role.Kind.PROVINCE_ADMIN, path=PROVINCE
        ).first(),
        Role.Kind.CITY_ADMIN: roles.filter(kind=Role.Kind.CITY_ADMIN, path=SHOWCASE_CITY).first(),
        Role.Kind.COUNTY_ADMIN: roles.filter(
            kind=Role.Kind.COUNTY_ADMIN, path=SHOWCASE_COUNTY
        ).first(),
        Role.Kind.SCHOOL_ADMIN: roles.filter(kind=Role.Kind.SCHOOL_ADMIN, path=school.path).first(),
        Role.Kind.HEAD_TEACHER: head_teacher,
        Role.Kind.SUBJECT_TEACHER: roles.filter(
            kind=Role.Kind.SUBJECT_TEACHER, path=school_class.path
        )
        .exclude(user_id=head_teacher.user_id if head_teacher else 0)
        .first(),
        Role.Kind.STUDENT: student,
        Role.Kind.PARENT: roles.filter(
            kind=Role.Kind.PARENT, child_id=student.user.person_id if student else None
        ).first(),
    }
    missing = [kind for kind, role in found.items() if role is None]
    if missing:
        raise PopulationError(f"the demo population lacks accounts for: {', '.join(missing)}")
    return {kind: role for kind, role in found.items() if role is not None}


def issue_credentials() -> list[DemoAccount]:
    """Resets the demo accounts' passwords (audited, like any reset) and returns them."""
    roles = demo_roles()
    return [
        DemoAccount(
            kind=kind,
            username=roles[kind].user.username,
            password=account_services.reset_password(actor=SYSTEM, user=roles[kind].user),
            name=roles[kind].user.display_name,
            unit=roles[kind].unit_name,
        )
        for kind in ROLE_KINDS
    ]


def write_credentials(accounts: list[DemoAccount], path: Path) -> None:
    """Writes {role kind: {username, password, name, unit}}, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        account.kind: {k: v for k, v in asdict(account).items() if k != "kind"}
        for account in accounts
    }
    temporary = path.with_suffix(".json.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    os.replace(temporary, path)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(accounts: list[DemoAccount]) -> str:
    """A plain-text table, aligned for terminals that show Chinese characters double-wide."""
    header = (_("角色"), _("用户名"), _("密码"), _("姓名"), _("单位"))
    rows = [header] + [
        (str(Role.Kind(a.kind).label), a.username, a.password, a.name, a.unit) for a in accounts
    ]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
