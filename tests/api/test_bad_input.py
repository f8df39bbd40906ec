"""The nastiest inputs, by hand: the ones a schema-driven fuzzer (test_fuzz.py) rarely produces.

Each is answered with a 4xx whose body says which field is wrong and why, in the user's
language (`{field: [reasons]}` for 400, `{"detail": reason}` otherwise), never a 500, and a
refused write leaves every row as it was. Several of these failed before the fix next to
them: NUL characters reached PostgreSQL (which refuses them with an error), a lone surrogate
quoted in an error could not be encoded, deep nesting escaped the JSON parser, unknown
ordering fields and silly page sizes were silently replaced.
"""

import json

import pytest
from api_scope_world import database_state, fresh_id_number, result_keys
from django.conf import settings
from rest_framework.test import APIClient

from santong.accounts.models import User
from santong.core.actors import SYSTEM
from santong.orgs import services as org_services
from santong.orgs.models import School

SCHOOLS = "/api/v1/schools/"
CLASSES = "/api/v1/classes/"
ACCOUNTS = "/api/v1/accounts/"
TOKEN = "/api/v1/auth/token/"
NOT_FOUND = {"detail": "对象不存在。"}
HUGE = 10**30
INT64_OVERFLOW = 2**63


def school_body(**overrides):
    body = {
        "code": "1510104060",
        "name": "锦江区第六十小学",
        "kind": School.Kind.PRIMARY,
        "operator": School.Operator.PUBLIC,
        "locale": School.Locale.URBAN,
        "county": "510104",
    }
    body.update(overrides)
    return body


def raw_post(client: APIClient, url: str, body: bytes | str, content_type: str):
    return client.generic("POST", url, body, content_type=content_type)


def assert_field_errors(response, *fields: str) -> None:
    """A 400 naming exactly `fields`, each with at least one reason."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == set(fields), body
    assert all(isinstance(reasons, list) and reasons for reasons in body.values()), body


@pytest.fixture
def admin(world, api):
    return api("county_admin")


# --------------------------------------------------------------------------- huge integers


@pytest.mark.parametrize("key", [HUGE, INT64_OVERFLOW, -(2**63) - 1])
@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("get", "/api/v1/schools/{}/"),
        ("patch", "/api/v1/classes/{}/"),
        ("post", "/api/v1/people/{}/reveal/"),
        ("post", "/api/v1/accounts/{}/deactivate/"),
        ("delete", "/api/v1/roles/{}/"),
        ("get", "/api/v1/audit-events/{}/"),
    ],
)
def test_huge_ids_in_the_path_answer_404(admin, method, route, key):
    before = database_state()
    response = getattr(admin, method)(route.format(key), {"name": "x"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert database_state() == before


@pytest.mark.parametrize("value", [str(HUGE), str(INT64_OVERFLOW), "0", "-1", "1e3", "1.5", "x"])
@pytest.mark.parametrize(
    ("route", "name"),
    [
        (SCHOOLS, "host_school"),
        (CLASSES, "school"),
        (CLASSES, "school_year"),
        ("/api/v1/roles/", "user"),
        ("/api/v1/audit-events/", "actor"),
    ],
)
def test_huge_or_odd_ids_in_filters_answer_400_naming_the_filter(admin, route, name, value):
    assert_field_errors(admin.get(route, {name: value}), name)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("school", HUGE),
        ("school_year", HUGE),
        ("school", 1e308),
        ("number", HUGE),
        ("school", True),
    ],
)
def test_huge_numbers_in_a_body_answer_400(world, api, field, value):
    body = {"school": world.school.pk, "school_year": world.year.pk, "grade": "13", "number": 5}
    body[field] = value
    before = database_state()
    assert_field_errors(api("school_admin").post(CLASSES, body), field)
    assert database_state() == before


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0001-01-01T00:00:00+14:00", "日期时间超出可用范围。"),
        ("0001-01-01", "日期时间超出可用范围。"),
        ("9999-12-31T23:59:59-12:00", "日期时间超出可用范围。"),
        ("0208-09-05T13:26:18-19:27", None),
        ("2026-02-30T08:00:00+08:00", "输入一个有效的日期/时间。"),
        ("2026-01-01T25:00:00Z", "输入一个有效的日期/时间。"),
    ],
)
@pytest.mark.parametrize("name", ["at__gte", "at__lte"])
def test_dates_the_database_cannot_compare_answer_400_or_are_normalized(admin, name, value, reason):
    response = admin.get("/api/v1/audit-events/", {name: value})
    if reason is None:
        assert response.status_code == 200, response.json()
    else:
        assert response.status_code == 400
        assert response.json() == {name: [reason]}


def test_a_huge_role_header_is_refused(world):
    client = APIClient()
    client.force_authenticate(world.users["county_admin"])
    response = client.get(SCHOOLS, HTTP_X_SANTONG_ROLE=str(HUGE))
    assert response.status_code == 403
    assert response.json() == {"detail": "请先登录，并选择一个角色。"}


# --------------------------------------------------------------------------- NUL characters


@pytest.mark.parametrize(
    ("route", "name"),
    [
        (SCHOOLS, "search"),
        (SCHOOLS, "county"),
        ("/api/v1/regions/", "parent"),
        ("/api/v1/grades/", "stage"),
        ("/api/v1/audit-events/", "object_type"),
        (SCHOOLS, "ordering"),
    ],
)
def test_a_nul_in_a_query_parameter_answers_400(admin, route, name):
    response = admin.get(route, {name: "51\x0004"})
    assert_field_errors(response, name)
    assert response.json()[name] == ["不能包含空字符（NUL）。"]


@pytest.mark.parametrize(
    "route",
    [
        "/api/v1/regions/51%00/",
        "/api/v1/grades/%00/",
        "/api/v1/subjects/0%001/",
        "/api/v1/stages/%0A/",
    ],
)
def test_a_nul_or_line_break_in_the_path_answers_json_404(admin, route):
    response = admin.get(route)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"detail": "接口不存在。"}


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        (SCHOOLS, school_body(name="锦江\x00小学"), "name"),
        (SCHOOLS, school_body(county="510104\x00"), "county"),
        (CLASSES, {"school": 1, "school_year": 1, "grade": "1\x003", "number": 2}, "grade"),
        (TOKEN, {"username": "county_admin\x00", "password": "x"}, "username"),
        (
            ACCOUNTS,
            {
                "name": "新老师",
                "id_type": "1",
                "id_number": fresh_id_number(),
                "username": "new_teacher",
                "kind": "subject_teacher",
                "school_class": 1,
                "subject": "02\x00",
            },
            "subject",
        ),
    ],
)
def test_a_nul_in_a_body_answers_400_naming_the_field(admin, route, body, field):
    before = database_state()
    response = admin.post(route, body)
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert database_state() == before


# --------------------------------------------------------------------------- lone surrogates


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('"name": "\\ud800锦江小学"', "name"),
        ('"kind": "\\udfff"', "kind"),
        ('"county": "\\ud800"', "county"),
        ('"\\ud800": 1', "\\ud800"),
    ],
)
def test_lone_surrogates_answer_400_and_can_be_read(admin, text, field):
    body = json.dumps(school_body())[:-1] + ", " + text + "}"
    before = database_state()
    response = raw_post(admin, SCHOOLS, body.encode(), "application/json")
    assert response.status_code == 400
    decoded = json.loads(response.content.decode("utf-8"))
    assert field in decoded, decoded
    assert database_state() == before


# --------------------------------------------------------------------------- body size and shape


def test_a_10_mb_body_answers_413_and_writes_nothing(admin):
    body = json.dumps(school_body(name="大" * (10 * 1024 * 1024 // 3)))
    before = database_state()
    response = raw_post(admin, SCHOOLS, body, "application/json")
    assert response.status_code == 413
    limit = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}"
    assert response.json() == {"detail": f"请求内容不能超过{limit}字节。"}
    assert database_state() == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "请求内容不是有效的JSON：第1行第2列有误。"),
        ('{"name": "锦江"}\n{', "请求内容不是有效的JSON：第2行第1列有误。"),
        ("[" * 100_000 + "]" * 100_000, "请求内容不是有效的JSON。"),
        ('{"number": NaN}', "请求内容不是有效的JSON。"),
        ("1" * 5000, "请求内容不是有效的JSON。"),
        ("null", "请求内容应为一个JSON对象。"),
        ("[1, 2]", "无效数据。期待为字典类型，得到的是 list 。"),
        ('"锦江"', "无效数据。期待为字典类型，得到的是 str 。"),
    ],
)
def test_malformed_json_answers_400_with_the_reason(admin, body, reason):
    before = database_state()
    response = raw_post(admin, SCHOOLS, body, "application/json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [reason]}
    assert database_state() == before


def test_a_body_in_another_encoding_than_declared_answers_400(admin):
    odd_length = raw_post(admin, SCHOOLS, b'{"a":1}', "application/json; charset=utf-16")
    assert odd_length.status_code == 400
    assert odd_length.json() == {"non_field_errors": ["请求内容不是有效的utf-16文本。"]}
    broken = raw_post(admin, SCHOOLS, b'{"name": "\xff\xfe"}', "application/json")
    assert broken.json() == {"non_field_errors": ["请求内容不是有效的utf-8文本。"]}


def test_an_empty_body_lists_the_required_fields(admin):
    response = raw_post(admin, SCHOOLS, b"", "application/json")
    assert_field_errors(response, "code", "name", "kind", "operator", "locale", "county")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "code=1510104060"),
        ("application/xml", "<school><code>1510104060</code></school>"),
        ("application/x-www-form-urlencoded", "code=1510104060&name=x"),
        (
            "multipart/form-data; boundary=xyz",
            '--xyz\r\nContent-Disposition: form-data; name="code"',
        ),
        ("application/json-patch+json", "[]"),
    ],
)
def test_other_content_types_answer_415(admin, content_type, body):
    before = database_state()
    response = raw_post(admin, SCHOOLS, body, content_type)
    assert response.status_code == 415
    assert response.json() == {"detail": f"不支持请求中的媒体类型 “{content_type}”。"}
    assert database_state() == before


# --------------------------------------------------------------------------- unicode


def test_names_are_stored_in_one_unicode_form_and_found_by_either(admin):
    decomposed = "锦江区Cafe\u0301小学"
    response = admin.post(SCHOOLS, school_body(name=decomposed, code="１５１０１０４０６１"))
    assert response.status_code == 201, response.json()
    school = School.objects.get(pk=response.json()["id"])
    assert school.name == "锦江区Café小学"
    assert school.code == "1510104061"
    assert result_keys(admin.get(SCHOOLS, {"search": "Cafe\u0301"})) == {str(school.pk)}
    assert result_keys(admin.get(SCHOOLS, {"search": "Café"})) == {str(school.pk)}


def test_a_username_in_full_width_letters_is_the_same_username(world, api):
    body = {
        "name": "张伟",
        "id_type": "1",
        "id_number": fresh_id_number(),
        "username": "ｃｏｕｎｔｙ＿ａｄｍｉｎ",
        "kind": "student",
        "school_class": world.school_class.pk,
    }
    before = database_state()
    response = api("school_admin").post(ACCOUNTS, body)
    assert response.status_code == 400
    assert response.json() == {"username": ["用户名 county_admin 已被使用。"]}
    assert database_state() == before


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("１３８００１３８０００", None),
        ("1٣٨٠٠١٣٨٠٠٠", ["手机号应为以1开头的11位数字。"]),
        ("1३८००१३८०००", ["手机号应为以1开头的11位数字。"]),
    ],
)
def test_phone_numbers_take_ascii_digits_after_folding_full_width_ones(world, api, phone, expected):
    body = {
        "name": "李老师",
        "id_type": "1",
        "id_number": fresh_id_number(),
        "username": "teacher_li",
        "phone": phone,
        "kind": "head_teacher",
        "school_class": world.school_class.pk,
    }
    response = api("school_admin").post(ACCOUNTS, body)
    if expected is None:
        assert response.status_code == 201, response.json()
        assert User.objects.get(username="teacher_li").phone == "13800138000"
    else:
        assert response.status_code == 400
        assert response.json() == {"phone": expected}


def test_logging_in_with_a_full_width_username_finds_the_account(world):
    response = APIClient().post(
        TOKEN, {"username": "ｓｔｕｄｅｎｔ", "password": "Santong-Test-2026"}
    )
    assert response.status_code == 200, response.json()
    assert User.objects.get(auth_token__key=response.json()["token"]).username == "student"


# --------------------------------------------------------------------------- pagination


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"page": "-1"}, "page", "页码应为从1开始的整数。"),
        ({"page": "0"}, "page", "页码应为从1开始的整数。"),
        ({"page": "1.5"}, "page", "页码应为从1开始的整数。"),
        ({"page": "last"}, "page", "页码应为从1开始的整数。"),
        ({"page_size": "0"}, "page_size", "每页条数应为1到500之间的整数。"),
        ({"page_size": "100000"}, "page_size", "每页条数应为1到500之间的整数。"),
        ({"page_size": "-5"}, "page_size", "每页条数应为1到500之间的整数。"),
        ({"page_size": "ten"}, "page_size", "每页条数应为1到500之间的整数。"),
    ],
)
def test_bad_pages_answer_400_naming_the_parameter(admin, query, field, reason):
    response = admin.get(SCHOOLS, query)
    assert response.status_code == 400
    assert response.json() == {field: [reason]}


def test_a_page_past_the_end_is_404_and_the_edges_are_accepted(admin):
    response = admin.get(SCHOOLS, {"page": str(HUGE)})
    assert response.status_code == 404
    assert response.json() == {"detail": "无效页面。"}
    assert admin.get(SCHOOLS, {"page_size": "500"}).status_code == 200
    assert admin.get(SCHOOLS, {"page_size": "1"}).json()["next"] is not None
    assert admin.get(SCHOOLS, {"page": "", "page_size": ""}).status_code == 200


# --------------------------------------------------------------------------- ordering


@pytest.mark.parametrize(
    ("route", "ordering"),
    [
        ("/api/v1/people/", "id_cipher"),
        ("/api/v1/people/", "-id_digest"),
        (ACCOUNTS, "password"),
        (ACCOUNTS, "person__id_cipher"),
        (SCHOOLS, "path"),
        (SCHOOLS, "name,-"),
        (SCHOOLS, ","),
        ("/api/v1/roles/", "user__password"),
    ],
)
def test_ordering_by_an_unknown_or_private_field_answers_400(admin, route, ordering):
    response = admin.get(route, {"ordering": ordering})
    assert response.status_code == 400
    [reason] = response.json()["ordering"]
    assert reason.startswith("不能按“")
    assert "id_cipher" not in reason.split("可选：")[1]
    assert "password" not in reason.split("可选：")[1]


def test_ordering_by_offered_fields_works_in_both_directions(world, admin):
    names = [row["name"] for row in admin.get(SCHOOLS, {"ordering": "-name"}).json()["results"]]
    assert names == sorted(names, reverse=True)
    combined = admin.get("/api/v1/roles/", {"ordering": "kind,-created_at"})
    assert combined.status_code == 200


# --------------------------------------------------------------------------- search


def test_percent_and_underscore_in_a_search_match_only_themselves(world, admin):
    org_services.create_school(
        actor=SYSTEM,
        code="1510104070",
        name="锦江区达标率100%小学",
        kind=School.Kind.PRIMARY,
        operator=School.Operator.PUBLIC,
        locale=School.Locale.URBAN,
        county=world.county,
    )
    assert {row["name"] for row in admin.get(SCHOOLS, {"search": "100%"}).json()["results"]} == {
        "锦江区达标率100%小学"
    }
    assert admin.get(SCHOOLS, {"search": "锦江%实验"}).json()["count"] == 0
    assert admin.get(SCHOOLS, {"search": "锦_区"}).json()["count"] == 0
    assert admin.get(SCHOOLS, {"search": "%"}).json()["count"] == 1
    assert admin.get(SCHOOLS, {"search": "_"}).json()["count"] == 0
    usernames = admin.get(ACCOUNTS, {"search": "county_"}).json()["results"]
    assert [row["username"] for row in usernames] == ["county_admin"]


def test_a_search_longer_than_100_characters_answers_400(admin):
    assert_field_errors(admin.get(SCHOOLS, {"search": "锦 " * 51}), "search")
    assert admin.get(SCHOOLS, {"search": "锦 " * 50}).status_code == 200


# --------------------------------------------------------------------------- routes and methods


def test_unknown_api_paths_answer_json_404(admin):
    response = admin.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "接口不存在。"}
    slashless = admin.post("/api/v1/schools", school_body())
    assert slashless.status_code == 404
    assert slashless.json() == {"detail": "接口地址应以“/”结尾：/api/v1/schools/"}


def test_an_unsupported_method_answers_405(admin):
    response = admin.put(f"{SCHOOLS}1/", school_body())
    assert response.status_code == 405
    assert response.json() == {"detail": "方法 “PUT” 不被允许。"}


def test_errors_come_in_english_when_asked(admin):
    response = admin.post(SCHOOLS, school_body(name="锦江\x00小学"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {"name": ["Null characters are not allowed."]}
