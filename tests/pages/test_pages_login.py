"""Logging in by username or phone, the messages for wrong, locked and disabled accounts, logout."""

from django.test import Client
from django.urls import reverse

from santong.accounts.models import User
from santong.accounts.services import LOCK_AFTER_FAILURES
from santong.audit.models import AuditEvent
from santong.testing.world import PASSWORD


def login(client, username, password):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_login_page_renders_in_chinese(world):
    html = Client().get(reverse("accounts:login")).content.decode()
    assert "账号登录" in html
    assert "用户名或手机号" in html


def test_login_by_username_lands_on_home(world):
    client = Client()
    response = login(client, "county_admin", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert client.get(reverse("core:home")).status_code == 200
    assert AuditEvent.objects.filter(action="login", actor=world.users["county_admin"]).exists()


def test_login_by_phone(world):
    User.objects.filter(pk=world.users["school_admin"].pk).update(phone="13912345678")
    response = login(Client(), "13912345678", PASSWORD)
    assert response.status_code == 302


def test_wrong_password_says_so(world):
    response = login(Client(), "county_admin", "wrong-password")
    assert response.status_code == 200
    assert "用户名（或手机号）或密码不正确。" in response.content.decode()


def test_too_many_failures_lock_the_account_with_a_clear_message(world):
    client = Client()
    for _ in range(LOCK_AFTER_FAILURES - 1):
        response = login(client, "student", "wrong-password")
        assert "账号已临时锁定" not in response.content.decode()
    response = login(client, "student", "wrong-password")
    assert "账号已临时锁定，请 15 分钟后再试" in response.content.decode()
    response = login(client, "student", PASSWORD)
    assert response.status_code == 200
    assert "账号已临时锁定" in response.content.decode()
    assert client.get(reverse("core:home")).status_code == 302


def test_disabled_account_with_the_right_password_is_told_so(world):
    User.objects.filter(pk=world.users["parent"].pk).update(is_active=False)
    response = login(Client(), "parent", PASSWORD)
    assert "该账号已停用，请联系管理员。" in response.content.decode()
    wrong = login(Client(), "parent", "wrong-password")
    assert "该账号已停用" not in wrong.content.decode()


def test_logged_in_users_skip_the_login_page(world, browse):
    response = browse("county_admin").get(reverse("accounts:login"))
    assert response.status_code == 302


def test_logout_is_a_post(world, browse):
    client = browse("county_admin")
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert client.get(reverse("core:home")).status_code == 302
