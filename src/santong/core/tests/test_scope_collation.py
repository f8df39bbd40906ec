"""The scope range holds in every collation a deployment's database may have."""

import locale

import pytest
from django.core.checks import Error
from django.db import connection

from santong.core import checks
from santong.core.scope import PATH_END, collation_breaks_scope, subtree_q
from santong.orgs.models import Region, School
from santong.testing.world import World

# Collations PostgreSQL may be created with; ICU ones ship with Debian's server, glibc ones
# exist only where the machine generated those locales, and are tried when present.
POSTGRES_COLLATIONS = (
    "C",
    "POSIX",
    "und-x-icu",
    "en-US-x-icu",
    "zh-Hans-CN-x-icu",
    "zh-x-icu",
    "en_US.utf8",
    "zh_CN.utf8",
)


def test_byte_order_keeps_the_rule() -> None:
    assert collation_breaks_scope(lambda a, b: a < b) == []


def test_a_collation_sorting_the_end_below_digits_is_caught() -> None:
    """ICU sorts symbols such as '~' before digits; with '~' as the end, '510104' would fall
    outside '5101~' and a city would lose its counties."""

    def icu_like(a: str, b: str) -> bool:
        rank = {"~": 0, "/": 1}
        return [rank.get(c, ord(c)) for c in a] < [rank.get(c, ord(c)) for c in b]

    assert ("5101", "510104") in collation_breaks_scope(icu_like, end="~")
    assert collation_breaks_scope(icu_like, end=PATH_END) == []


@pytest.mark.parametrize("name", ["en_US.UTF-8", "zh_CN.UTF-8"])
def test_glibc_collations_keep_the_rule(name: str) -> None:
    """What PostgreSQL does with a libc locale, seen through the same C library: '/' is
    ignored at the first level and '~' sorts below the digits."""
    saved = locale.setlocale(locale.LC_COLLATE)
    try:
        locale.setlocale(locale.LC_COLLATE, name)
    except locale.Error:
        pytest.skip(f"the locale {name} is not generated on this machine")
    try:

        def less(a: str, b: str) -> bool:
            return locale.strcoll(a, b) < 0

        assert collation_breaks_scope(less) == []
        assert ("51", "510104") in collation_breaks_scope(less, end="~")
    finally:
        locale.setlocale(locale.LC_COLLATE, saved)


@pytest.mark.django_db
def test_the_database_default_collation_keeps_the_rule() -> None:
    assert collation_breaks_scope(checks.collation_less()) == []
    assert checks.check_path_collation(databases=["default"]) == []


@pytest.mark.django_db
def test_the_check_refuses_a_collation_that_breaks_the_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checks, "collation_less", lambda using: lambda a, b: b < a)
    [error] = checks.check_path_collation(databases=["default"])
    assert isinstance(error, Error)
    assert error.id == "santong.E001"
    assert "LC_COLLATE" in (error.hint or "")


@pytest.mark.django_db
def test_every_postgresql_collation_keeps_the_rule() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite compares text by bytes only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT collname FROM pg_collation WHERE collname = ANY(%s)",
            [list(POSTGRES_COLLATIONS)],
        )
        present = {name for (name,) in cursor.fetchall()}
    assert {"C", "en-US-x-icu", "zh-Hans-CN-x-icu"} <= present
    for name in sorted(present):
        assert collation_breaks_scope(checks.collation_less(collation=name)) == [], name
    # The end this module used before: ICU breaks it, which is what the probes must show.
    icu = checks.collation_less(collation="en-US-x-icu", end="~")
    assert ("5101", "510104") in collation_breaks_scope(icu, end="~")


@pytest.mark.django_db
def test_subtree_queries_in_the_world_stay_exact(world: World) -> None:
    for school in School.objects.all():
        inside = set(
            School.objects.filter(subtree_q(school.county_id)).values_list("pk", flat=True)
        )
        expected = set(
            School.objects.filter(county_id=school.county_id).values_list("pk", flat=True)
        )
        assert inside == expected
    city = Region.objects.filter(code__regex=r"^[0-9]{4}$").first()
    assert city is not None
    counties = Region.objects.filter(subtree_q(city.code, "code")).exclude(code=city.code)
    assert counties.exists()
    assert all(region.code.startswith(city.code) for region in counties)
