"""`santong demo` at a tiny scale, on whichever database the suite runs on.

The population is built once for the module (committed, like the real command does) and
flushed afterwards, so the other tests see an empty database again.
"""

import hashlib
import io
import json
import stat
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test.utils import override_settings

from santong.accounts.identity import get_vault, validate_id_number
from santong.accounts.models import Person, Role, User
from santong.demo.credentials import ROLE_KINDS, credentials_path
from santong.demo.generator import (
    DEFAULT_SEED,
    PROVINCE,
    SHOWCASE_COUNTY,
    STAGE_ENTRY_AGE,
    START_YEAR,
    Options,
    build_population,
    counties,
    grade_table,
    plan_county,
    population_complete,
)
from santong.orgs import services as org_services
from santong.orgs.models import Region, School, SchoolClass
from santong.orgs.services import SCHOOL_KIND_STAGES
from santong.registry.models import (
    StudentEvent,
    StudentRecord,
    StudentRequest,
    TeacherRecord,
    TeacherTransfer,
)

TINY = ["--no-serve", "--scale", "0.01"]


class LoadInterruptedError(Exception):
    pass


def population_digest() -> str:
    """A digest of everything the seed decides (names, codes, numbers, who holds which role),
    leaving out what differs between runs by design: database ids, timestamps, nonces."""
    digest = hashlib.sha256()
    for row in School.objects.order_by("code").values_list(
        "code", "name", "kind", "operator", "locale", "address", "county_id", "path"
    ):
        digest.update(repr(row).encode())
    for row in SchoolClass.objects.order_by("path").values_list("path", "name", "grade_id"):
        digest.update(repr(row).encode())
    for row in User.objects.order_by("username").values_list(
        "username", "person__name", "person__gender", "person__birth_date", "person__id_digest"
    ):
        digest.update(repr(row).encode())
    for row in Role.objects.order_by("user__username", "kind", "path", "subject_id").values_list(
        "user__username", "kind", "path", "subject_id", "child__account__username"
    ):
        digest.update(repr(row).encode())
    for row in StudentRecord.objects.order_by("person__account__username").values_list(
        "person__account__username",
        "path",
        "status",
        "number_masked",
        "ethnicity",
        "hukou",
        "health",
        "enrolled_on",
    ):
        digest.update(repr(row).encode())
    for row in TeacherRecord.objects.order_by("person__account__username").values_list(
        "person__account__username", "path", "title", "hired_on", "education", "employment"
    ):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *TINY, *args, stdout=out, verbosity=1)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(
    django_db_setup: None, django_db_blocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    """Builds the tiny population twice from empty (to compare), then reruns it once."""
    var = tmp_path_factory.mktemp("var")
    with override_settings(VAR_DIR=var, STATIC_ROOT=var / "static"), django_db_blocker.unblock():
        try:
            run_demo()
            first_digest = population_digest()
            call_command("flush", interactive=False, verbosity=0)
            first_output = run_demo()
            first_credentials = json.loads(credentials_path().read_text(encoding="utf-8"))
            counts = {model: model.objects.count() for model in (School, SchoolClass, Person, Role)}
            second_digest = population_digest()
            rerun_output = run_demo()
            yield {
                "var": var,
                "first_digest": first_digest,
                "second_digest": second_digest,
                "first_output": first_output,
                "first_credentials": first_credentials,
                "counts": counts,
                "rerun_output": rerun_output,
            }
        finally:
            call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def test_every_kind_of_school_public_and_private_in_city_town_and_village(demo):
    kinds = set(School.objects.values_list("kind", flat=True))
    assert kinds == set(School.Kind.values)
    assert set(School.objects.values_list("operator", flat=True)) == set(School.Operator.values)
    assert set(School.objects.values_list("locale", flat=True)) == set(School.Locale.values)
    showcase = School.objects.filter(county_id=SHOWCASE_COUNTY)
    assert set(showcase.values_list("kind", flat=True)) == set(School.Kind.values)


def test_school_codes_are_real_format_under_their_county(demo):
    for code, county, path, host_path in School.objects.values_list(
        "code", "county_id", "path", "host_school__path"
    ):
        assert len(code) == 10
        assert code.isdigit()
        assert code[1:7] == county
        assert code.startswith("1")
        assert path == (f"{host_path}/{code}" if host_path else f"{county}/{code}")


def test_teaching_points_have_a_host_school_in_the_same_county(demo):
    points = School.objects.filter(kind=School.Kind.TEACHING_POINT).select_related("host_school")
    assert points.exists()
    for point in points:
        assert point.host_school is not None
        assert point.host_school.county_id == point.county_id
        assert point.host_school.kind in (School.Kind.PRIMARY, School.Kind.NINE_YEAR)
        assert point.path.startswith(point.host_school.path + "/")
    assert not School.objects.exclude(kind=School.Kind.TEACHING_POINT).filter(
        host_school__isnull=False
    )


def test_classes_teach_only_the_grades_of_their_school_kind(demo):
    for kind, stage, path, school_path in SchoolClass.objects.values_list(
        "school__kind", "grade__stage_id", "path", "school__path"
    ):
        assert stage in SCHOOL_KIND_STAGES[kind]
        assert path.startswith(f"{school_path}/{START_YEAR}")
    for school in School.objects.all():
        assert school.classes.exists(), school.name


def test_every_id_number_is_valid_and_matches_gender_birth_date_and_region(demo):
    vault = get_vault()
    region_of = {}
    for person_id, path in Role.objects.values_list("user__person_id", "path"):
        region_of[person_id] = path[:6].ljust(6, "0")
    people = Person.objects.all()
    assert people.count() == User.objects.count()
    for person in people:
        number = vault.decrypt(person.id_cipher)
        parsed = validate_id_number(Person.IdType.RESIDENT, number)
        assert parsed.gender == person.gender
        assert parsed.birth_date == person.birth_date
        assert number[:6] == region_of[person.pk]
        assert person.id_digest == vault.digest(Person.IdType.RESIDENT, number)
        assert person.id_masked == f"{number[:6]}********{number[-4:]}"
    digests = list(people.values_list("id_digest", flat=True))
    assert len(set(digests)) == len(digests)


def test_students_are_the_age_of_their_grade_and_genders_are_balanced(demo):
    grades = grade_table()
    positions = {code: i for codes in grades.values() for i, code in enumerate(codes)}
    students = Role.objects.filter(kind=Role.Kind.STUDENT).values_list(
        "user__person__birth_date",
        "user__person__gender",
        "school_class__grade_id",
        "school_class__grade__stage_id",
        "school_class__school__kind",
    )
    genders: Counter[str] = Counter()
    for birth, gender, grade, stage, kind in students:
        age = STAGE_ENTRY_AGE[stage] + positions[grade]
        youngest = date(START_YEAR - age, 8, 31)
        oldest = date(START_YEAR - age - (4 if kind == School.Kind.SPECIAL else 2), 9, 1)
        assert oldest <= birth <= youngest, (birth, grade)
        genders[gender] += 1
    assert abs(genders["1"] - genders["2"]) <= SchoolClass.objects.count()


def test_every_student_has_one_class_role_and_a_parent_in_that_class(demo):
    students = Role.objects.filter(kind=Role.Kind.STUDENT)
    assert students.exists()
    parents = {
        (child, path)
        for child, path in Role.objects.filter(kind=Role.Kind.PARENT).values_list(
            "child_id", "path"
        )
    }
    per_user = Counter(students.values_list("user_id", flat=True))
    assert set(per_user.values()) == {1}
    for person_id, path, class_id in students.values_list(
        "user__person_id", "path", "school_class_id"
    ):
        assert class_id is not None
        assert (person_id, path) in parents


def test_every_class_has_a_head_teacher_and_subject_teachers(demo):
    heads = Counter(
        Role.objects.filter(kind=Role.Kind.HEAD_TEACHER).values_list("school_class_id", flat=True)
    )
    assert set(heads) == set(SchoolClass.objects.values_list("pk", flat=True))
    assert set(heads.values()) == {1}
    taught = set(
        Role.objects.filter(kind=Role.Kind.SUBJECT_TEACHER).values_list(
            "school_class_id", flat=True
        )
    )
    assert taught == set(SchoolClass.objects.values_list("pk", flat=True))
    admins = Role.objects.filter(kind=Role.Kind.SCHOOL_ADMIN)
    assert set(admins.values_list("school_id", flat=True)) == set(
        School.objects.values_list("pk", flat=True)
    )


def test_regional_administrators_for_province_every_city_and_county(demo):
    levels = Counter(
        Role.objects.filter(
            kind__in=[Role.Kind.PROVINCE_ADMIN, Role.Kind.CITY_ADMIN, Role.Kind.COUNTY_ADMIN]
        ).values_list("kind", flat=True)
    )
    regions = Counter(
        Region.objects.filter(code__startswith=PROVINCE).values_list("level", flat=True)
    )
    assert levels[Role.Kind.PROVINCE_ADMIN] == 1
    assert levels[Role.Kind.CITY_ADMIN] == regions["city"] == 21
    assert levels[Role.Kind.COUNTY_ADMIN] == regions["county"] == 183


def test_only_the_demo_accounts_have_usable_passwords(demo):
    usable = [user.username for user in User.objects.all() if user.has_usable_password()]
    assert sorted(usable) == sorted(v["username"] for v in demo["first_credentials"].values())


def test_every_student_and_teacher_is_registered_and_work_queues_are_not_empty(demo):
    placed = dict(
        Role.objects.filter(kind=Role.Kind.STUDENT).values_list(
            "user__person_id", "school_class_id"
        )
    )
    assert placed
    assert dict(StudentRecord.objects.values_list("person_id", "school_class_id")) == placed
    assert StudentEvent.objects.filter(kind=StudentEvent.Kind.ENROLLED).count() == len(placed)
    teachers = set(
        Role.objects.filter(
            kind__in=[Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER]
        ).values_list("user__person_id", flat=True)
    )
    assert set(TeacherRecord.objects.values_list("person_id", flat=True)) == teachers
    pending = StudentRequest.objects.filter(status=StudentRequest.Status.PENDING)
    assert {"school", "county"} <= set(pending.values_list("waiting_level", flat=True))
    moves = TeacherTransfer.objects.filter(status=TeacherTransfer.Status.PENDING)
    assert {"school", "county"} <= set(moves.values_list("waiting_level", flat=True))
    assert "项待审批" in demo["first_output"]


def test_same_seed_builds_the_same_population(demo):
    assert demo["first_digest"] == demo["second_digest"]


def test_another_seed_plans_another_population(demo):
    grades = grade_table()
    county = next(c for c in counties() if c.code == SHOWCASE_COUNTY)

    def names(seed: int) -> list[str]:
        return [p.name for p in plan_county(county, seed=seed, scale=1, grades=grades)]

    assert names(DEFAULT_SEED) == names(DEFAULT_SEED)
    assert names(DEFAULT_SEED) != names(DEFAULT_SEED + 1)


def test_rerun_reuses_the_population(demo):
    assert {model: model.objects.count() for model in demo["counts"]} == demo["counts"]
    assert population_digest() == demo["second_digest"]
    assert "演示人口已存在" in demo["rerun_output"]


def test_rerun_prints_working_credentials_and_rewrites_the_file(demo):
    credentials = json.loads(credentials_path().read_text(encoding="utf-8"))
    assert list(credentials) == list(ROLE_KINDS)
    for kind, account in credentials.items():
        assert account["username"] in demo["rerun_output"]
        assert account["password"] in demo["rerun_output"]
        assert account["password"] != demo["first_credentials"][kind]["password"]
        user = authenticate(username=account["username"], password=account["password"])
        assert user is not None, kind
        assert user.roles.filter(kind=kind).exists()
        assert user.display_name == account["name"]
        assert account["unit"]
    stale = demo["first_credentials"]["student"]
    assert authenticate(username=stale["username"], password=stale["password"]) is None


def test_printed_table_names_every_role_in_chinese(demo):
    for label in ("省级管理员", "市级管理员", "区县管理员", "学校管理员", "班主任", "任课教师"):
        assert label in demo["first_output"]
    assert "学生" in demo["first_output"]
    assert "家长" in demo["first_output"]


def test_credentials_file_is_readable_by_its_owner_only(demo):
    path = credentials_path()
    assert path == Path(demo["var"]) / "demo-credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_interrupted_run_resumes_to_the_same_population(demo, django_db_blocker):
    expected = demo["second_digest"]
    with (
        override_settings(VAR_DIR=demo["var"], STATIC_ROOT=Path(demo["var"]) / "static"),
        django_db_blocker.unblock(),
    ):
        call_command("flush", interactive=False, verbosity=0)
        org_services.load_regions(provinces=[PROVINCE])
        year = org_services.ensure_school_year(start_year=START_YEAR, make_current=True)
        calls = []

        def stop_after_first_chunk(count: int) -> None:
            calls.append(count)
            raise LoadInterruptedError

        with pytest.raises(LoadInterruptedError):
            build_population(
                Options(scale=0.01, chunk_size=50),
                school_year=year,
                progress=stop_after_first_chunk,
            )
        assert School.objects.exists()
        assert not population_complete()
        written = User.objects.count()
        assert 0 < written < demo["counts"][Person]
        run_demo("--chunk-size", "50")
        assert population_digest() == expected
