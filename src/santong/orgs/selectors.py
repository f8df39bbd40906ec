"""Scoped reads of the org tree: every query starts from what the acting role may read."""

from django.db.models import Count, Q, QuerySet

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
