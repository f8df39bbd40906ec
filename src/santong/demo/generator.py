"""The demo population: a deterministic, synthetic but realistic school system for one province.

Everything follows from a seed. Each county is planned from its own `random.Random`, so a
county's schools, classes, teachers, students and parents (names, ID numbers, usernames) are
the same in every run with the same seed and scale, whichever counties were already loaded.

The population is streamed: schools and classes are written county by county, people in
chunks of whole schools, each chunk one transaction through the owning apps' bulk services.
Memory holds one county's plan and one chunk of people, never the whole population, so a
province-sized load runs in the same memory as the default one.

An interrupted load resumes: a school's people are written in the same transaction as its
school administrator, so a school whose administrator account exists is complete and skipped;
the regional administrators are written last, so the province administrator's account marks a
complete population.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction

from santong.accounts import services as account_services
from santong.accounts.identity import make_resident_id
from santong.accounts.models import Role, User
from santong.accounts.services import NewAccount, NewRole
from santong.core.actors import SYSTEM
from santong.core.scope import subtree_q
from santong.demo.names import full_name, given_name, place_name, surname
from santong.orgs import services as org_services
from santong.orgs.models import Grade, Region, School, SchoolClass, SchoolYear
from santong.orgs.services import SCHOOL_KIND_STAGES, NewClass, NewSchool

PROVINCE = "51"  # 四川省
SHOWCASE_CITY = "5101"  # 成都市
SHOWCASE_COUNTY = "510121"  # 金堂县: city, towns and villages, so every kind of school fits
SHOWCASE_GRADE = "13"  # 三年级
START_YEAR = 2025
DEFAULT_SEED = 20250901
DEFAULT_CHUNK = 20_000

Kind = School.Kind
Operator = School.Operator
Locale = School.Locale

# Schools per county at scale 1; districts are denser than county-level cities and counties.
SCHOOLS_PER_COUNTY = {"区": 1.8, "市": 1.6, "县": 1.4}

# How often each kind of school is drawn, after the showcase county's one of each.
KIND_WEIGHTS: tuple[tuple[str, int], ...] = (
    (Kind.KINDERGARTEN, 34),
    (Kind.PRIMARY, 24),
    (Kind.TEACHING_POINT, 10),
    (Kind.JUNIOR, 9),
    (Kind.NINE_YEAR, 7),
    (Kind.SENIOR, 4),
    (Kind.COMPLETE, 4),
    (Kind.TWELVE_YEAR, 1),
    (Kind.VOCATIONAL, 5),
    (Kind.SPECIAL, 2),
)
HOST_KINDS = (Kind.PRIMARY, Kind.NINE_YEAR)
PRIVATE_SHARE: dict[str, float] = {
    Kind.KINDERGARTEN: 0.45,
    Kind.PRIMARY: 0.05,
    Kind.JUNIOR: 0.10,
    Kind.NINE_YEAR: 0.10,
    Kind.SENIOR: 0.15,
    Kind.COMPLETE: 0.10,
    Kind.TWELVE_YEAR: 0.60,
    Kind.VOCATIONAL: 0.30,
}
# (urban, town, rural) shares by the county's kind: districts are mostly city.
LOCALE_SHARES = {"区": (0.75, 0.20, 0.05), "市": (0.40, 0.40, 0.20), "县": (0.25, 0.45, 0.30)}
LOCALES: tuple[str, ...] = (Locale.URBAN, Locale.TOWN, Locale.RURAL)
CITY_ONLY_KINDS = (Kind.SENIOR, Kind.VOCATIONAL, Kind.SPECIAL, Kind.TWELVE_YEAR)

# The showcase county holds one school of every kind, public and private, in city, town and
# village; its first school (a public city primary school) hosts the demo accounts.
SHOWCASE_SCHOOLS: tuple[tuple[str, str, str], ...] = (
    (Kind.PRIMARY, Operator.PUBLIC, Locale.URBAN),
    (Kind.KINDERGARTEN, Operator.PRIVATE, Locale.URBAN),
    (Kind.JUNIOR, Operator.PUBLIC, Locale.TOWN),
    (Kind.NINE_YEAR, Operator.PUBLIC, Locale.RURAL),
    (Kind.SENIOR, Operator.PUBLIC, Locale.URBAN),
    (Kind.COMPLETE, Operator.PUBLIC, Locale.TOWN),
    (Kind.TWELVE_YEAR, Operator.PRIVATE, Locale.URBAN),
    (Kind.VOCATIONAL, Operator.PUBLIC, Locale.URBAN),
    (Kind.SPECIAL, Operator.PUBLIC, Locale.URBAN),
    (Kind.TEACHING_POINT, Operator.PUBLIC, Locale.RURAL),
)

# Classes per grade in a city school; town schools have about half, village schools one.
CLASSES_PER_GRADE: dict[str, tuple[int, int]] = {
    Kind.KINDERGARTEN: (1, 3),
    Kind.PRIMARY: (2, 5),
    Kind.JUNIOR: (3, 8),
    Kind.NINE_YEAR: (1, 3),
    Kind.SENIOR: (4, 10),
    Kind.COMPLETE: (2, 5),
    Kind.TWELVE_YEAR: (1, 3),
    Kind.VOCATIONAL: (2, 5),
    Kind.SPECIAL: (1, 1),
    Kind.TEACHING_POINT: (1, 1),
}
# Students per class by stage and locale (urban, town, rural).
CLASS_SIZES: dict[str, tuple[tuple[int, int], tuple[int, int], tuple[int, int]]] = {
    "0": ((25, 35), (20, 32), (10, 25)),
    "1": ((40, 50), (30, 45), (10, 35)),
    "2": ((45, 55), (40, 52), (20, 45)),
    "3": ((45, 56), (42, 52), (30, 45)),
    "4": ((35, 45), (30, 45), (25, 40)),
}
SPECIAL_CLASS_SIZE = (6, 12)
TEACHING_POINT_CLASS_SIZE = (3, 12)
# Age on 1 September of the first grade of each stage.
STAGE_ENTRY_AGE = {"0": 3, "1": 6, "2": 12, "3": 15, "4": 15}

# What each stage teaches: subject code → from which grade of the stage on (0 = the first).
CURRICULUM: dict[str, dict[str, int]] = {
    "0": {"12": 0, "11": 0},
    "1": {
        **dict.fromkeys(("01", "02", "04", "05", "11", "12", "13", "15"), 0),
        **dict.fromkeys(("03", "14", "16"), 2),
    },
    "2": {
        **dict.fromkeys(("01", "02", "03", "04", "08", "09", "10", "11", "12", "13", "14"), 0),
        "06": 1,
        "07": 2,
    },
    "3": dict.fromkeys(("01", "02", "03", "17", "06", "07", "08", "09", "10", "11", "14", "18"), 0),
    "4": dict.fromkeys(("01", "02", "03", "17", "11", "14", "19"), 0),
}
SPECIAL_CURRICULUM: tuple[str, ...] = ("01", "02", "11", "12", "13", "15")
FEMALE_TEACHER_SHARE: dict[str, float] = {
    Kind.KINDERGARTEN: 0.95,
    Kind.PRIMARY: 0.75,
    Kind.TEACHING_POINT: 0.6,
}
# Classes one teacher takes in a subject; head teachers teach their own class a main subject.
TEACHING_LOAD = {"01": 2, "02": 2, "03": 3, "19": 2}
DEFAULT_LOAD = 5
MAIN_SUBJECTS = {"0": (), "1": ("01", "02"), "2": ("01", "02", "03"), "3": ("01", "02", "03")}
MAIN_SUBJECTS_VOCATIONAL = ("19", "01")

# ID-number order codes 0..489 go to school people, 490..499 to regional administrators.
SCHOOL_SEQUENCES = 490
REGION_SEQUENCES = 10
DAY_STEP = 149  # coprime to 365: consecutive people get birthdays spread over the year


class PopulationError(Exception):
    """The requested population cannot be built (too large, or a different one is stored)."""


@dataclass(frozen=True, slots=True)
class ClassPlan:
    grade: str
    stage: str
    position: int  # 0 for the first grade of the stage
    number: int
    size: int
    subjects: tuple[str, ...]
    main_subject: str | None


@dataclass(frozen=True, slots=True)
class Duty:
    """One class a teacher serves: as its head teacher (`subject` None) or teaching a subject."""

    class_index: int
    subject: str | None


@dataclass(frozen=True)
class SchoolPlan:
    code: str
    name: str
    kind: str
    operator: str
    locale: str
    address: str
    host_code: str | None
    classes: tuple[ClassPlan, ...]
    teachers: tuple[tuple[Duty, ...], ...]

    @property
    def students(self) -> int:
        return sum(c.size for c in self.classes)

    @property
    def people(self) -> int:
        """Everyone written for this school: its administrator, teachers, students, parents."""
        return 1 + len(self.teachers) + 2 * self.students

    @property
    def admin_username(self) -> str:
        return f"admin{self.code}"


@dataclass(frozen=True)
class County:
    code: str
    name: str
    city_name: str
    province_name: str

    @property
    def kind(self) -> str:
        """区 (district), 市 (county-level city) or 县 (county, including 自治县)."""
        return self.name[-1] if self.name[-1] in SCHOOLS_PER_COUNTY else "县"


GradeTable = dict[str, tuple[str, ...]]


def grade_table() -> GradeTable:
    """The grades of each stage from the code table, in order."""
    table: dict[str, list[str]] = {}
    for code, stage in Grade.objects.order_by("order").values_list("code", "stage_id"):
        table.setdefault(stage, []).append(code)
    return {stage: tuple(codes) for stage, codes in table.items()}


def counties(province: str = PROVINCE) -> list[County]:
    names = dict(Region.objects.filter(subtree_q(province, "code")).values_list("code", "name"))
    return [
        County(code, names[code], names[code[:4]], names[code[:2]])
        for code in sorted(names)
        if len(code) == 6
    ]


# --------------------------------------------------------------------------- planning


def _chinese_number(n: int) -> str:
    """1 → 一, 12 → 十二, 40 → 四十, 105 → 一百零五 (up to 999, enough for a county)."""
    digits = "零一二三四五六七八九"
    if n >= 100:
        hundreds, rest = divmod(n, 100)
        if not rest:
            return digits[hundreds] + "百"
        middle = "零" if rest < 10 else ("一" if rest < 20 else "")
        return digits[hundreds] + "百" + middle + _chinese_number(rest)
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


class _Namer:
    """Names a county's schools the way real ones read: 金堂县第二小学, 金堂县赵家镇中心小学."""

    def __init__(self, county: County, rng: random.Random) -> None:
        self.county = county
        self.rng = rng
        self.ordinals: dict[str, int] = {}
        self.used: set[str] = set()

    def _ordinal(self, series: str) -> str:
        self.ordinals[series] = self.ordinals.get(series, 0) + 1
        return "第" + _chinese_number(self.ordinals[series])

    def _candidate(self, kind: str, operator: str, locale: str, host_name: str) -> str:
        rng, place = self.rng, place_name(self.rng)
        county = self.county.name
        private = operator == Operator.PRIVATE
        if kind == Kind.TEACHING_POINT:
            return f"{host_name}{place}村教学点"
        if kind == Kind.KINDERGARTEN:
            if private:
                return f"{county}{place}{rng.choice(('双语', '艺术', '蒙特梭利', ''))}幼儿园"
            if locale == Locale.URBAN:
                return f"{county}{self._ordinal('幼儿园')}幼儿园"
            return f"{county}{place}{'镇中心' if locale == Locale.TOWN else '乡'}幼儿园"
        if kind == Kind.PRIMARY:
            if private:
                return f"{county}{place}外国语小学"
            if locale == Locale.URBAN:
                return f"{county}{self._ordinal('小学')}小学"
            return f"{county}{place}{'镇中心' if locale == Locale.TOWN else '乡'}小学"
        if kind == Kind.JUNIOR:
            if private:
                return f"{county}{place}外国语学校"
            if locale == Locale.URBAN:
                return f"{county}{self._ordinal('初级中学')}初级中学"
            return f"{county}{place}镇初级中学"
        if kind == Kind.NINE_YEAR:
            return f"{county}{place}{'实验' if private else ''}学校"
        if kind == Kind.SENIOR:
            if private:
                return f"{county}{place}高级中学"
            return f"{county}{self._ordinal('高级中学')}高级中学"
        if kind == Kind.COMPLETE:
            if locale == Locale.URBAN and not private:
                return f"{county}{self._ordinal('中学')}中学"
            return f"{county}{place}中学"
        if kind == Kind.TWELVE_YEAR:
            return f"{county}{place}{rng.choice(('外国语', '实验'))}学校"
        if kind == Kind.VOCATIONAL:
            return f"{county}{rng.choice(('职业高级中学', '职业技术学校', place + '职业中学'))}"
        first = f"{county}特殊教育学校"
        return f"{county}{place}特殊教育学校" if first in self.used else first

    def name(self, kind: str, operator: str, locale: str, host_name: str = "") -> str:
        for _attempt in range(20):
            candidate = self._candidate(kind, operator, locale, host_name)
            if candidate not in self.used:
                break
        else:
            candidate = f"{candidate}（{len(self.used)}）"
        self.used.add(candidate)
        return candidate

    def address(self, locale: str) -> str:
        rng, county = self.rng, self.county
        head = f"{county.province_name}{county.city_name}{county.name}"
        if locale == Locale.RURAL:
            return f"{head}{place_name(rng)}镇{place_name(rng)}村{rng.randint(1, 12)}组"
        road = rng.choice(("路", "街", "大道", "巷"))
        return f"{head}{place_name(rng)}{road}{rng.randint(1, 399)}号"


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def _scaled_count(rng: random.Random, expected: float) -> int:
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def _school_kinds(county: County, rng: random.Random, scale: float) -> list[tuple[str, str, str]]:
    """(kind, operator, locale) of each school to found in the county, hosts before points."""
    drawn: list[tuple[str, str, str]] = []
    if county.code == SHOWCASE_COUNTY:
        drawn.extend(SHOWCASE_SCHOOLS)
    shares = LOCALE_SHARES[county.kind]
    for _ in range(_scaled_count(rng, SCHOOLS_PER_COUNTY[county.kind] * scale)):
        kind = _pick(rng, KIND_WEIGHTS)
        locale = rng.choices(LOCALES, weights=shares)[0]
        if kind == Kind.TEACHING_POINT:
            locale = Locale.RURAL
        elif kind in CITY_ONLY_KINDS and locale == Locale.RURAL:
            locale = Locale.TOWN
        private = kind != Kind.TEACHING_POINT and rng.random() < PRIVATE_SHARE.get(kind, 0.0)
        drawn.append((kind, Operator.PRIVATE if private else Operator.PUBLIC, locale))
    hosts = [entry for entry in drawn if entry[0] in HOST_KINDS and entry[1] == Operator.PUBLIC]
    founded = [entry for entry in drawn if entry[0] != Kind.TEACHING_POINT]
    points = [entry for entry in drawn if entry[0] == Kind.TEACHING_POINT]
    if points and not hosts:
        # A teaching point needs a public primary or nine-year host in its county.
        founded.append((Kind.PRIMARY, Operator.PUBLIC, Locale.TOWN))
    return founded + points


def _classes(
    kind: str, locale: str, rng: random.Random, scale: float, grades: GradeTable
) -> tuple[ClassPlan, ...]:
    locale_index = LOCALES.index(locale)
    stages = sorted(SCHOOL_KIND_STAGES[kind])
    if kind == Kind.TEACHING_POINT:
        # Teaching points keep the youngest children near home: grades 1–3, often 大班 or 四年级.
        wanted = {"11", "12", "13"} | {g for g, p in (("03", 0.5), ("14", 0.3)) if rng.random() < p}
        plan = [(stage, g) for stage in stages for g in grades[stage] if g in wanted]
    else:
        plan = [(stage, g) for stage in stages for g in grades[stage]]
    low, high = CLASSES_PER_GRADE[kind]
    per_stage = {
        stage: rng.randint(low, high) if locale_index == 0 else max(1, rng.randint(low, high) // 2)
        for stage in stages
    }
    if locale_index == 2:
        per_stage = dict.fromkeys(stages, 1)
    elif scale < 1:
        # Below scale 1 schools shrink too (fewer and smaller classes, down to two students a
        # class): small enough for tests, and continuous up to scale 1.
        per_stage = {stage: max(1, round(count * scale)) for stage, count in per_stage.items()}
    classes: list[ClassPlan] = []
    for stage, grade in plan:
        position = grades[stage].index(grade)
        if kind == Kind.SPECIAL:
            size_range, subjects = SPECIAL_CLASS_SIZE, SPECIAL_CURRICULUM
            mains: tuple[str, ...] = ("01", "02")
        else:
            size_range = (
                TEACHING_POINT_CLASS_SIZE
                if kind == Kind.TEACHING_POINT
                else CLASS_SIZES[stage][locale_index]
            )
            subjects = tuple(code for code, start in CURRICULUM[stage].items() if position >= start)
            mains = MAIN_SUBJECTS_VOCATIONAL if stage == "4" else MAIN_SUBJECTS[stage]
        count = max(1, per_stage[stage] + rng.choice((-1, 0, 0, 0, 1)))
        for number in range(1, count + 1):
            size = rng.randint(*size_range)
            if scale < 1:
                size = max(2, round(size * scale))
            main = mains[(number - 1) % len(mains)] if mains else None
            classes.append(ClassPlan(grade, stage, position, number, size, subjects, main))
    return tuple(classes)


def _teachers(classes: tuple[ClassPlan, ...]) -> tuple[tuple[Duty, ...], ...]:
    """A head teacher per class (also teaching it a main subject), then subject teachers who
    each take up to their subject's load of classes."""
    teachers: list[list[Duty]] = []
    for index, plan in enumerate(classes):
        duties = [Duty(index, None)]
        if plan.main_subject is not None:
            duties.append(Duty(index, plan.main_subject))
        teachers.append(duties)
    subjects = sorted({code for plan in classes for code in plan.subjects})
    for code in subjects:
        load = TEACHING_LOAD.get(code, DEFAULT_LOAD)
        current: list[Duty] | None = None
        for index, plan in enumerate(classes):
            if code not in plan.subjects or code == plan.main_subject:
                continue
            if current is None or len(current) >= load:
                current = []
                teachers.append(current)
            current.append(Duty(index, code))
    return tuple(tuple(duties) for duties in teachers)


def plan_county(county: County, *, seed: int, scale: float, grades: GradeTable) -> list[SchoolPlan]:
    """The county's schools with their classes and teachers, in the order they are written."""
    rng = random.Random(f"{seed}/schools/{county.code}")
    namer = _Namer(county, rng)
    plans: list[SchoolPlan] = []
    hosts: list[SchoolPlan] = []
    for sequence, (kind, operator, locale) in enumerate(_school_kinds(county, rng, scale), 1):
        if sequence > 999:
            raise PopulationError(
                f"{county.name} would need more than 999 schools: the 10-digit school code "
                "has a 3-digit sequence; use a smaller scale"
            )
        host = rng.choice(hosts) if kind == Kind.TEACHING_POINT else None
        classes = _classes(kind, locale, rng, scale, grades)
        plan = SchoolPlan(
            code=f"1{county.code}{sequence:03d}",
            name=namer.name(kind, operator, locale, host.name if host else ""),
            kind=kind,
            operator=operator,
            locale=locale,
            address=namer.address(locale),
            host_code=host.code if host else None,
            classes=classes,
            teachers=_teachers(classes),
        )
        plans.append(plan)
        if kind in HOST_KINDS and operator == Operator.PUBLIC:
            hosts.append(plan)
    return plans


# --------------------------------------------------------------------------- people


class IdNumbers:
    """Distinct synthetic resident ID numbers for the people registered in one region.

    The n-th person asked for with a given birth year (or school cohort) and gender gets day
    `(n * 149 + offset) mod 365` of that year and order code block `n // 365`, so no two
    people share a number and nothing needs to be remembered but one counter per year and
    gender. School people take order codes from the bottom, regional administrators from the
    top, so both can share a county's code.
    """

    def __init__(self, region_code: str, *, administrators: bool = False) -> None:
        self.region_code = region_code
        self.administrators = administrators
        self._offset = int(region_code) % 365
        self._next: dict[tuple[date, bool], int] = {}

    def _number(self, first_day: date, male: bool) -> str:
        key = (first_day, male)
        n = self._next.get(key, 0)
        self._next[key] = n + 1
        block = n // 365
        if block >= (REGION_SEQUENCES if self.administrators else SCHOOL_SEQUENCES):
            raise PopulationError(
                f"more people born in {first_day.year} in {self.region_code} than ID numbers "
                "can tell apart; use a smaller scale"
            )
        birth = first_day + timedelta(days=(n * DAY_STEP + self._offset) % 365)
        sequence = 499 - block if self.administrators else block
        return make_resident_id(self.region_code, birth, sequence, male)

    def child(self, cohort: int, male: bool) -> str:
        """Born in the school year starting 1 September of `cohort`."""
        return self._number(date(cohort, 9, 1), male)

    def adult(self, year: int, male: bool) -> str:
        return self._number(date(year, 1, 1), male)


def school_people(
    plan: SchoolPlan,
    *,
    seed: int,
    ids: IdNumbers,
    school_id: int,
    class_ids: Sequence[int],
) -> list[NewAccount]:
    """The school's administrator, teachers, students and one parent per student."""
    rng = random.Random(f"{seed}/people/{plan.code}")
    code = plan.code
    female_share = FEMALE_TEACHER_SHARE.get(plan.kind, 0.55)
    male = rng.random() < 0.5
    accounts = [
        NewAccount(
            plan.admin_username,
            full_name(rng, male=male),
            ids.adult(rng.randint(1968, 1990), male),
            (NewRole(Role.Kind.SCHOOL_ADMIN, school_id=school_id),),
        )
    ]
    for number, duties in enumerate(plan.teachers, 1):
        male = rng.random() >= female_share
        roles = tuple(
            NewRole(Role.Kind.HEAD_TEACHER, school_class_id=class_ids[duty.class_index])
            if duty.subject is None
            else NewRole(
                Role.Kind.SUBJECT_TEACHER,
                school_class_id=class_ids[duty.class_index],
                subject_code=duty.subject,
            )
            for duty in duties
        )
        accounts.append(
            NewAccount(
                f"t{code}{number:04d}",
                full_name(rng, male=male),
                ids.adult(rng.randint(1966, 2001), male),
                roles,
            )
        )
    student_number = 0
    for index, school_class in enumerate(plan.classes):
        class_id = class_ids[index]
        age = STAGE_ENTRY_AGE[school_class.stage] + school_class.position
        if plan.kind == Kind.SPECIAL:
            age += rng.randint(0, 2)
        first_is_boy = rng.random() < 0.5
        for k in range(school_class.size):
            student_number += 1
            boy = (k % 2 == 0) == first_is_boy
            cohort = START_YEAR - age - 1 - (1 if rng.random() < 0.08 else 0)
            family = surname(rng)
            student_username = f"s{code}{student_number:05d}"
            accounts.append(
                NewAccount(
                    student_username,
                    family + given_name(rng, male=boy),
                    ids.child(cohort, boy),
                    (NewRole(Role.Kind.STUDENT, school_class_id=class_id),),
                )
            )
            father = rng.random() < 0.45
            accounts.append(
                NewAccount(
                    f"p{code}{student_number:05d}",
                    family + given_name(rng, male=True) if father else full_name(rng, male=False),
                    ids.adult(cohort - rng.randint(23, 38), father),
                    (
                        NewRole(
                            Role.Kind.PARENT,
                            school_class_id=class_id,
                            child_username=student_username,
                        ),
                    ),
                )
            )
    return accounts


def region_administrators(province: str, *, seed: int) -> list[NewAccount]:
    """One administrator for the province, each city and each county, written last."""
    rng = random.Random(f"{seed}/administrators/{province}")
    regions = Region.objects.filter(subtree_q(province, "code")).order_by("code")
    kinds: dict[str, str] = {
        Region.Level.PROVINCE: Role.Kind.PROVINCE_ADMIN,
        Region.Level.CITY: Role.Kind.CITY_ADMIN,
        Region.Level.COUNTY: Role.Kind.COUNTY_ADMIN,
    }
    accounts: list[NewAccount] = []
    for code, level in regions.values_list("code", "level"):
        male = rng.random() < 0.6
        numbers = IdNumbers(code.ljust(6, "0"), administrators=True)
        accounts.append(
            NewAccount(
                f"admin{code}",
                full_name(rng, male=male),
                numbers.adult(rng.randint(1966, 1990), male),
                (NewRole(kinds[level], region_code=code),),
            )
        )
    return accounts


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Options:
    seed: int = DEFAULT_SEED
    scale: float = 1.0
    chunk_size: int = DEFAULT_CHUNK
    province: str = PROVINCE


def population_complete(province: str = PROVINCE) -> bool:
    return User.objects.filter(username=f"admin{province}").exists()


def planned_people(options: Options) -> tuple[int, int]:
    """(students, people) the options would produce, from the plans alone (nothing stored)."""
    grades = grade_table()
    students = people = 0
    for county in counties(options.province):
        for plan in plan_county(county, seed=options.seed, scale=options.scale, grades=grades):
            students += plan.students
            people += plan.people
    regions = Region.objects.filter(subtree_q(options.province, "code")).count()
    return students, people + regions


def scale_for_students(students: int, *, seed: int = DEFAULT_SEED) -> float:
    """The scale whose population has about `students` students (only plans are computed).

    Above scale 1 the count grows in proportion (more schools of the same sizes), so a few
    proportional corrections converge; below 1 classes shrink too, so it is bisected.
    """

    def planned(scale: float) -> int:
        return planned_people(Options(seed=seed, scale=scale))[0]

    at_one = planned(1.0)
    if students >= at_one:
        scale = students / at_one
        for _step in range(3):
            scale *= students / planned(scale)
        return scale
    low, high = 0.0, 1.0
    for _step in range(16):
        middle = (low + high) / 2
        if planned(middle) < students:
            low = middle
        else:
            high = middle
    return high


def build_population(
    options: Options, *, school_year: SchoolYear, progress: Callable[[int], object]
) -> None:
    """Writes the population county by county, resuming after an interrupted run.

    `progress` is called with the number of people each chunk wrote (or found written).
    """
    grades = grade_table()
    pending: list[NewAccount] = []

    def flush() -> None:
        if pending:
            account_services.bulk_create_people_with_accounts(actor=SYSTEM, accounts=pending)
            progress(len(pending))
            pending.clear()

    for county in counties(options.province):
        plans = plan_county(county, seed=options.seed, scale=options.scale, grades=grades)
        if not plans:
            continue
        school_ids, class_ids = _stored_units(county, plans, school_year)
        done = set(
            User.objects.filter(username__in=[plan.admin_username for plan in plans]).values_list(
                "username", flat=True
            )
        )
        if len(done) == len(plans):
            progress(sum(plan.people for plan in plans))
            continue
        ids = IdNumbers(county.code)
        for plan in plans:
            # Schools already written are generated again, unwritten, so that the ID numbers
            # of the schools after them come out the same as in an uninterrupted run.
            people = school_people(
                plan,
                seed=options.seed,
                ids=ids,
                school_id=school_ids[plan.code],
                class_ids=class_ids[plan.code],
            )
            if plan.admin_username in done:
                progress(len(people))
                continue
            pending.extend(people)
            if len(pending) >= options.chunk_size:
                flush()
    flush()
    if not population_complete(options.province):
        administrators = region_administrators(options.province, seed=options.seed)
        account_services.bulk_create_people_with_accounts(actor=SYSTEM, accounts=administrators)
        progress(len(administrators))


def _stored_units(
    county: County, plans: list[SchoolPlan], school_year: SchoolYear
) -> tuple[dict[str, int], dict[str, list[int]]]:
    """The county's schools and classes, written now in one transaction if not stored yet."""
    stored = dict(School.objects.filter(county_id=county.code).values_list("code", "id"))
    planned = {plan.code for plan in plans}
    if stored and set(stored) != planned:
        raise PopulationError(
            f"{county.name} already holds other schools than this seed and scale would build; "
            "start from an empty database (remove var/) or use the options of the first run"
        )
    if not stored:
        with transaction.atomic():
            stored = org_services.bulk_create_schools(
                actor=SYSTEM,
                schools=[
                    NewSchool(
                        code=plan.code,
                        name=plan.name,
                        kind=plan.kind,
                        operator=plan.operator,
                        locale=plan.locale,
                        county_code=county.code,
                        address=plan.address,
                        host_code=plan.host_code,
                    )
                    for plan in plans
                ],
            )
            org_services.bulk_create_classes(
                actor=SYSTEM,
                school_year=school_year,
                classes=[
                    NewClass(stored[plan.code], c.grade, c.number)
                    for plan in plans
                    for c in plan.classes
                ],
            )
    by_key = {
        (code, grade, number): pk
        for code, grade, number, pk in SchoolClass.objects.filter(
            school__county_id=county.code, school_year=school_year
        ).values_list("school__code", "grade_id", "number", "id")
    }
    class_ids = {
        plan.code: [by_key[(plan.code, c.grade, c.number)] for c in plan.classes] for plan in plans
    }
    return stored, class_ids
