"""Scoped reads of the org tree: every query starts from what the acting role may read."""

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from santong.accounts.models import Role
from santong.accounts.roles import ADMIN_KINDS
from santong.core.scope import subtree_q
from santong.orgs.models import Region, School, SchoolClass

NOTHING = Q(pk__in=[])


def readable_regions_q(role: Role) -> Q:
    if role.kind in (Role.Kind.PROVINCE_ADMIN, Role.Kind.CITY_ADMIN, Role.Kind.COUNTY_ADMIN):
        return subtree_q(role.path, field="code")
    return NOTHING


def readable_schools_q(role: Role) -> Q:
    if role.kind in ADMIN_KINDS:
        return subtree_q(role.path)
    return NOTHING


def readable_classes_q(role: Role) -> Q:
    """Administrators see every class below them; class roles see their own class."""
    return subtree_q(role.path)


def regions(*, role: Role) -> QuerySet[Region]:
    return Region.objects.filter(readable_regions_q(role)).select_related("parent")


def schools(*, role: Role) -> QuerySet[School]:
    return School.objects.filter(readable_schools_q(role)).select_related(
        "county__parent", "host_school"
    )


def classes(*, role: Role) -> QuerySet[SchoolClass]:
    return SchoolClass.objects.filter(readable_classes_q(role)).select_related(
        "school", "school_year", "grade"
    )


def region_children_with_counts(*, role: Role, parent: Region | None) -> QuerySet[Region]:
    """The regions one level below `parent` (or the role's top regions) with school counts."""
    qs = regions(role=role)
    if parent is None:
        top = Region.objects.filter(code=role.path).first() if role.region_id else None
        qs = qs.filter(code=top.code) if top else qs.filter(parent__isnull=True)
    else:
        qs = qs.filter(parent=parent)
    return qs.annotate(school_count=Count("schools", distinct=True)).order_by("code")


# Counts for the web pages. Each measure is one query over the scoped range; per-child
# counts group that same range by the children's path prefix, so a page costs a fixed number
# of queries however many children it lists.

TEACHER_KINDS = (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER)
REGION_MEASURES = ("schools", "classes", "teachers", "students")
SCHOOL_MEASURES = ("teaching_points", "classes", "teachers", "students")
CLASS_MEASURES = ("teachers", "students")


def _measure(role: Role, name: str) -> tuple[QuerySet[Any], Count]:
    from santong.accounts.selectors import readable_roles_q

    if name == "schools":
        return School.objects.filter(readable_schools_q(role)), Count("pk")
    if name == "teaching_points":
        return (
            School.objects.filter(readable_schools_q(role), kind=School.Kind.TEACHING_POINT),
            Count("pk"),
        )
    if name == "classes":
        return SchoolClass.objects.filter(readable_classes_q(role)), Count("pk")
    if name == "teachers":
        return (
            Role.objects.filter(readable_roles_q(role), kind__in=TEACHER_KINDS),
            Count("user", distinct=True),
        )
    if name == "students":
        return Role.objects.filter(readable_roles_q(role), kind=Role.Kind.STUDENT), Count("pk")
    raise ValueError(name)


def unit_counts(*, role: Role, path: str, measures: Iterable[str]) -> dict[str, int]:
    """Totals under the unit at `path` (inside the role's scope), one query per measure."""
    result: dict[str, int] = {}
    for name in measures:
        queryset, count = _measure(role, name)
        result[name] = queryset.filter(subtree_q(path)).aggregate(n=count)["n"]
    return result


def child_counts(
    *, role: Role, parent_path: str, child_paths: Iterable[str], measures: Iterable[str]
) -> dict[str, dict[str, int]]:
    """Totals under each child of `parent_path`: per measure, one query grouped by the path
    prefix as long as the children's paths (one query per distinct child path length)."""
    children = list(child_paths)
    names = list(measures)
    result = {path: dict.fromkeys(names, 0) for path in children}
    for length in sorted({len(path) for path in children}):
        for name in names:
            queryset, count = _measure(role, name)
            rows = (
                queryset.filter(subtree_q(parent_path))
                .annotate(unit=Substr("path", 1, length))
                .order_by()
                .values("unit")
                .annotate(n=count)
                .values_list("unit", "n")
            )
            for unit, n in rows:
                if unit in result:
                    result[unit][name] = n
    return result


def unit_names(*, role: Role, paths: Iterable[str]) -> dict[str, str]:
    """Display names of the units at `paths` that the role may read (for breadcrumbs)."""
    wanted = list(paths)
    region_codes = [path for path in wanted if "/" not in path]
    unit_paths = [path for path in wanted if "/" in path]
    names: dict[str, str] = {}
    if region_codes:
        names.update(regions(role=role).filter(code__in=region_codes).values_list("code", "name"))
    if unit_paths:
        names.update(schools(role=role).filter(path__in=unit_paths).values_list("path", "name"))
        found = set(names)
        if any(path not in found for path in unit_paths):
            names.update(
                SchoolClass.objects.filter(readable_classes_q(role), path__in=unit_paths)
                .order_by()
                .values_list("path", "name")
            )
    return names
