"""Synthetic names and ID numbers: deterministic, plausible, and never the same number twice."""

import random
from datetime import date

import pytest

from santong.accounts.identity import validate_id_number
from santong.demo.generator import REGION_SEQUENCES, IdNumbers, PopulationError, _chinese_number
from santong.demo.names import full_name, given_name, place_name, surname


def is_chinese(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_names_follow_the_seed():
    first, second = random.Random(7), random.Random(7)
    assert [full_name(first, male=i % 2 == 0) for i in range(200)] == [
        full_name(second, male=i % 2 == 0) for i in range(200)
    ]


def test_names_look_like_chinese_names():
    rng = random.Random(1)
    names = [full_name(rng, male=bool(i % 2)) for i in range(2000)]
    assert all(is_chinese(name) and 2 <= len(name) <= 4 for name in names)
    assert len(set(names)) > 1500
    surnames = [surname(rng) for _ in range(5000)]
    assert surnames.count("李") > surnames.count("敬") * 10
    assert all(len(given_name(rng, male=False)) in (1, 2) for _ in range(100))
    assert all(is_chinese(place_name(rng)) and len(place_name(rng)) == 2 for _ in range(100))


def test_a_family_name_is_kept():
    assert full_name(random.Random(3), male=True, family_name="欧阳").startswith("欧阳")


def test_id_numbers_are_valid_distinct_and_inside_their_cohort():
    numbers = IdNumbers("510121")
    seen = set()
    for i in range(3000):
        male = i % 2 == 0
        number = numbers.child(2018, male)
        parsed = validate_id_number("1", number)
        assert number[:6] == "510121"
        assert date(2018, 9, 1) <= parsed.birth_date <= date(2019, 8, 31)
        assert parsed.gender == ("1" if male else "2")
        seen.add(number)
    for _ in range(1000):
        number = numbers.adult(1985, False)
        assert validate_id_number("1", number).birth_date.year == 1985
        seen.add(number)
    assert len(seen) == 4000


def test_administrators_never_share_a_number_with_school_people():
    people = IdNumbers("510121")
    administrators = IdNumbers("510121", administrators=True)
    school = {people.adult(1980, True) for _ in range(2000)}
    top = {administrators.adult(1980, True) for _ in range(2000)}
    assert not school & top
    assert all(int(number[14:17]) // 2 >= 500 - REGION_SEQUENCES for number in top)


def test_running_out_of_numbers_is_reported():
    numbers = IdNumbers("510121", administrators=True)
    for _ in range(REGION_SEQUENCES * 365):
        numbers.adult(1970, False)
    with pytest.raises(PopulationError):
        numbers.adult(1970, False)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "一"),
        (10, "十"),
        (12, "十二"),
        (45, "四十五"),
        (100, "一百"),
        (105, "一百零五"),
        (110, "一百一十"),
        (119, "一百一十九"),
        (120, "一百二十"),
        (999, "九百九十九"),
    ],
)
def test_school_ordinals_are_written_in_chinese(n, text):
    assert _chinese_number(n) == text
