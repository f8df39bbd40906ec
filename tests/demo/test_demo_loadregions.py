"""`santong loadregions`: the real GB/T 2260 tree, for one province or the whole country."""

import csv
import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from santong.orgs.models import Region
from santong.orgs.services import DATA_DIR

pytestmark = pytest.mark.django_db


def levels() -> Counter[str]:
    return Counter(Region.objects.values_list("level", flat=True))


def rows(name: str) -> int:
    with (DATA_DIR / "divisions" / name).open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def test_all_loads_31_provinces_342_cities_2978_counties():
    out = io.StringIO()
    call_command("loadregions", "--all", stdout=out)
    assert (rows("provinces.csv"), rows("cities.csv"), rows("areas.csv")) == (31, 342, 2978)
    assert levels() == {"province": 31, "city": 342, "county": 2978}
    assert "省级 31 个，地市级 342 个，区县级 2978 个" in out.getvalue()
    assert Region.objects.get(code="510104").parent_id == "5101"
    assert Region.objects.get(code="5101").parent_id == "51"


def test_loading_again_changes_nothing():
    call_command("loadregions", "--all", stdout=io.StringIO())
    call_command("loadregions", "--all", stdout=io.StringIO())
    assert sum(levels().values()) == 31 + 342 + 2978


def test_default_is_the_configured_province(settings):
    settings.SANTONG_PROVINCE = "51"
    call_command("loadregions", stdout=io.StringIO())
    assert levels() == {"province": 1, "city": 21, "county": 183}
    assert Region.objects.get(code="51").name == "四川省"


def test_empty_setting_means_the_whole_country(settings):
    settings.SANTONG_PROVINCE = ""
    call_command("loadregions", stdout=io.StringIO())
    assert levels()["province"] == 31


def test_several_provinces():
    out = io.StringIO()
    call_command("loadregions", "--province", "51", "50", stdout=out)
    assert set(Region.objects.filter(level="province").values_list("code", flat=True)) == {
        "50",
        "51",
    }
    assert "省级 2 个" in out.getvalue()


@pytest.mark.parametrize("code", ["5", "510", "xx"])
def test_malformed_province_codes_are_refused(code):
    with pytest.raises(CommandError, match="2位数字"):
        call_command("loadregions", "--province", code, stdout=io.StringIO())
    assert not Region.objects.exists()


def test_unknown_province_code_is_refused():
    with pytest.raises(CommandError, match="没有找到"):
        call_command("loadregions", "--province", "99", stdout=io.StringIO())
