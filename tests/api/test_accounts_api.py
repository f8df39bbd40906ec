"""People, accounts, roles, the signed-in account and tokens over the API."""

import pytest
from api_scope_world import fresh_id_number, result_keys
from rest_framework.test import APIClient

from santong.accounts.identity import get_vault
from santong.accounts.models import Person, Role, User
from santong.accounts.services import LOCK_AFTER_FAILURES
from santong.audit.models import AuditEvent
from santong.testing.world import PASSWORD, make_account

ACCOUNTS = "/api/v1/accounts/"
PEOPLE = "/api/v1/people/"
ROLES = "/api/v1/roles/"
# The acting role, the page's count, the page itself: however many rows the page holds.
LIST_QUERIES = 3


def add_students(world, count: int) -> list[User]:
    return [
        make_account(
            world,
            f"extra_student_{n}",
            f"学生{n}",
            Role.Kind.STUDENT,
            school_class=world.school_class,
        )
        for n in range(count)
    ]


def row_counts() -> tuple[int, int, int, int]:
    return (
        Person.objects.count(),
        User.objects.count(),
        Role.objects.count(),
        AuditEvent.objects.count(),
    )


# --------------------------------------------------------------------------- people


def test_people_show_masked_id_numbers_only(world, api):
    response = api("head_teacher").get(PEOPLE, {"search": "王小雨"})
    [row] = response.data["results"]
    person = world.users["student"].person
    clear = get_vault().decrypt(bytes(person.id_cipher))
    assert row["id_masked"] == f"{clear[:6]}********{clear[-4:]}"
    assert clear not in response.content.decode()
    assert row["gender_display"] == "女"
    assert row["id_type_display"] == "居民身份证"


def test_reveal_returns_the_number_and_audits_it_where_the_person_is(world, api):
    person = world.users["student"].person
    response = api("county_admin").post(f"{PEOPLE}{person.pk}/reveal/")
    assert response.status_code == 200
    assert response.data == {"id_number": get_vault().decrypt(bytes(person.id_cipher))}
    event = AuditEvent.objects.get(action=AuditEvent.Action.REVEAL)
    assert event.object_id == str(person.pk)
    assert event.path == world.school_class.path
    assert event.actor == world.users["county_admin"]


def test_teacher_may_see_but_not_reveal(world, api):
    person = world.users["student"].person
    client = api("head_teacher")
    assert client.get(f"{PEOPLE}{person.pk}/").status_code == 200
    response = client.post(f"{PEOPLE}{person.pk}/reveal/")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.REVEAL).exists()


def test_parent_sees_itself_and_its_child_only(world, api):
    response = api("parent").get(PEOPLE)
    expected = {str(world.users["parent"].person.pk), str(world.users["student"].person.pk)}
    assert result_keys(response) == expected


# --------------------------------------------------------------------------- accounts


def account_payload(**overrides):
    payload = {
        "name": "新同学",
        "id_type": "1",
        "id_number": fresh_id_number(male=False),
        "username": "xin_tongxue",
        "password": "Qingshan-2026-long",
        "kind": Role.Kind.STUDENT,
    }
    payload.update(overrides)
    return payload


def test_school_admin_opens_an_account_for_a_new_student(world, api):
    payload = account_payload(school_class=world.school_class.pk, phone="13800138000")
    response = api("school_admin").post(ACCOUNTS, payload, format="json")
    assert response.status_code == 201, response.data
    user = User.objects.get(username="xin_tongxue")
    assert response.data["name"] == "新同学"
    assert response.data["id_masked"].startswith("510104********")
    assert "password" not in response.data
    assert user.check_password("Qingshan-2026-long")
    assert user.person.gender == Person.Gender.FEMALE
    assert user.roles.get().school_class == world.school_class
    actions = set(
        AuditEvent.objects.filter(path=world.school_class.path).values_list("action", "object_type")
    )
    assert {("create", "person"), ("create", "user"), ("grant", "role")} <= actions


def test_account_errors_are_reported_together_and_nothing_is_written(world, api):
    before = row_counts()
    payload = account_payload(
        id_number="510104201502030011",
        username="student",
        password="123",
        school_class=world.school_class.pk,
    )
    response = api("school_admin").post(ACCOUNTS, payload, format="json")
    assert response.status_code == 400
    assert set(response.data) == {"id_number", "username", "password"}
    assert response.data["username"] == ["用户名 student 已被使用。"]
    assert row_counts() == before


def test_a_late_failure_rolls_the_whole_account_back(world, api):
    # The child check runs only once the person and the account exist; it must undo both.
    before = row_counts()
    payload = account_payload(
        kind=Role.Kind.PARENT,
        school_class=world.school_class.pk,
        child=world.users["head_teacher"].person.pk,
    )
    response = api("school_admin").post(ACCOUNTS, payload, format="json")
    assert response.status_code == 400
    assert response.data == {"child": ["该子女不是所选班级的学生。"]}
    assert row_counts() == before


def test_an_account_whose_role_lacks_its_unit_is_refused(world, api):
    response = api("county_admin").post(ACCOUNTS, account_payload(), format="json")
    assert response.status_code == 400
    assert response.data == {"school_class": ["该角色必须绑定到此类单位。"]}


def test_a_person_is_registered_once(world, api):
    person = world.users["student"].person
    clear = get_vault().decrypt(bytes(person.id_cipher))
    payload = account_payload(id_number=clear, school_class=world.school_class.pk)
    response = api("school_admin").post(ACCOUNTS, payload, format="json")
    assert response.status_code == 400
    assert response.data == {"id_number": ["该证件号码已登记在其他人员名下。"]}


def test_deactivate_and_activate_an_account(world, api):
    client = api("school_admin")
    student = world.users["student"]
    response = client.post(f"{ACCOUNTS}{student.pk}/deactivate/")
    assert response.status_code == 200
    assert response.data["is_active"] is False
    assert (
        APIClient()
        .post("/api/v1/auth/token/", {"username": "student", "password": PASSWORD}, format="json")
        .status_code
        == 400
    )
    assert client.post(f"{ACCOUNTS}{student.pk}/activate/").data["is_active"] is True


def test_an_administrator_cannot_deactivate_itself(world, api):
    me = world.users["county_admin"]
    response = api("county_admin").post(f"{ACCOUNTS}{me.pk}/deactivate/")
    assert response.status_code == 400
    assert response.data == {"is_active": ["不能停用自己的账号。"]}
    me.refresh_from_db()
    assert me.is_active


def test_reset_password_hands_out_a_working_password(world, api):
    student = world.users["student"]
    response = api("school_admin").post(f"{ACCOUNTS}{student.pk}/reset-password/")
    assert response.status_code == 200
    token = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "student", "password": response.data["password"]},
        format="json",
    )
    assert token.status_code == 200


def test_accounts_search_by_name(world, api):
    response = api("county_admin").get(ACCOUNTS, {"search": "王小雨"})
    assert result_keys(response) == {str(world.users["student"].pk)}


# --------------------------------------------------------------------------- roles


def test_roles_filter_by_user_and_kind(world, api):
    client = api("school_admin")
    by_user = client.get(ROLES, {"user": world.users["parent"].pk})
    assert result_keys(by_user) == {str(world.roles["parent"].pk)}
    [row] = by_user.data["results"]
    assert row["kind_display"] == "家长"
    assert row["child_name"] == "王小雨"
    assert row["unit_name"] == "成都市锦江区实验小学 三年级（1）班"
    teachers = client.get(ROLES, {"kind": "subject_teacher"})
    assert result_keys(teachers) == {str(world.roles["subject_teacher"].pk)}
    assert teachers.data["results"][0]["subject_name"] == "数学"


def test_grant_and_revoke_a_role(world, api):
    client = api("school_admin")
    payload = {
        "user": world.users["head_teacher"].pk,
        "kind": Role.Kind.SUBJECT_TEACHER,
        "school_class": world.school_class.pk,
        "subject": "01",
    }
    granted = client.post(ROLES, payload, format="json")
    assert granted.status_code == 201, granted.data
    assert client.post(ROLES, payload, format="json").data == {"kind": ["该账号已拥有此角色。"]}
    revoked = client.delete(f"{ROLES}{granted.data['id']}/")
    assert revoked.status_code == 204
    assert not Role.objects.filter(pk=granted.data["id"]).exists()


def test_a_role_for_an_account_outside_scope_cannot_be_granted(world, api):
    payload = {
        "user": world.users["far_student"].pk,
        "kind": Role.Kind.STUDENT,
        "school_class": world.school_class.pk,
    }
    response = api("school_admin").post(ROLES, payload, format="json")
    assert response.status_code == 400
    assert response.data == {"user": ["对象不存在。"]}


def test_the_role_in_use_cannot_be_revoked(world, api):
    role = world.roles["county_admin"]
    response = api("county_admin").delete(f"{ROLES}{role.pk}/")
    assert response.status_code == 400
    assert Role.objects.filter(pk=role.pk).exists()


# --------------------------------------------------------------------------- me and login


def test_me_names_the_active_role(world, api):
    response = api("parent").get("/api/v1/me/")
    assert response.status_code == 200
    assert response.data["name"] == "王大军"
    assert response.data["active_role"]["kind_display"] == "家长"


def test_switching_role_moves_the_session_to_it(world, api):
    user = world.users["head_teacher"]
    second = Role.objects.create(
        user=user,
        kind=Role.Kind.SUBJECT_TEACHER,
        school_class=world.school_class,
        subject_id="01",
        path=world.school_class.path,
    )
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/v1/me/").data["active_role"]["id"] == world.roles["head_teacher"].pk
    response = client.post("/api/v1/me/switch-role/", {"role": second.pk}, format="json")
    assert response.status_code == 200
    assert response.data["active_role"]["id"] == second.pk
    assert client.get("/api/v1/me/").data["active_role"]["id"] == second.pk
    event = AuditEvent.objects.get(action=AuditEvent.Action.SWITCH_ROLE)
    assert event.object_id == str(second.pk)


def test_anonymous_requests_are_refused_in_chinese(world):
    response = APIClient().get("/api/v1/schools/")
    assert response.status_code == 403
    assert response.data == {"detail": "身份认证信息未提供。"}


def test_a_role_header_naming_someone_elses_role_is_refused(world):
    client = APIClient()
    client.force_authenticate(world.users["student"])
    client.credentials(HTTP_X_SANTONG_ROLE=str(world.roles["county_admin"].pk))
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.data == {"detail": "请先登录，并选择一个角色。"}


def test_token_login_accepts_a_phone_number(world):
    User.objects.filter(pk=world.users["student"].pk).update(phone="13912345678")
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "13912345678", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.LOGIN, actor=world.users["student"]
    ).exists()


def test_repeated_token_failures_lock_the_account(world):
    client = APIClient()
    for _ in range(LOCK_AFTER_FAILURES):
        failed = client.post(
            "/api/v1/auth/token/", {"username": "student", "password": "wrong"}, format="json"
        )
        assert failed.status_code == 400
    assert failed.data == {"non_field_errors": ["用户名或密码不正确，或账号已停用或暂时锁定。"]}
    locked = client.post(
        "/api/v1/auth/token/", {"username": "student", "password": PASSWORD}, format="json"
    )
    assert locked.status_code == 400
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() == 6


def test_token_login_for_an_unknown_name_is_audited(world):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "nobody", "password": "x"}, format="json"
    )
    assert response.status_code == 400
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert event.object_repr == "nobody"


# --------------------------------------------------------------------------- query counts


@pytest.mark.parametrize("route", [PEOPLE, ACCOUNTS, ROLES])
def test_list_query_count_does_not_grow(world, api, django_assert_num_queries, route):
    client = api("school_admin")
    with django_assert_num_queries(LIST_QUERIES):
        few = client.get(route, {"page_size": 100}).data["count"]
    add_students(world, 20)
    with django_assert_num_queries(LIST_QUERIES):
        many = client.get(route, {"page_size": 100}).data["count"]
    assert many == few + 20
