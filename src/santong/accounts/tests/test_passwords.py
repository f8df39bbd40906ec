"""Password rules are Django's; every message they give is the project's own, in Chinese under
zh-hans and in English under en, on every page and endpoint where a password is chosen."""

import pytest
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from santong.accounts import passwords, services
from santong.accounts.models import Role, User
from santong.testing.world import PASSWORD

ZH_SHORT = "密码太短，至少需要 10 个字符。"
EN_SHORT = "This password is too short. It must contain at least 10 characters."
ZH_COMMON = "该密码过于常见。"
EN_COMMON = "This password is too common."
ZH_NUMERIC = "密码不能全为数字。"
EN_NUMERIC = "The password can’t be entirely numeric."
NEW_PASSWORD = "Qing-Shui-Jiang-2026"


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def refusal(password: str, user: User | None = None) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        validate_password(password, user)
    return caught.value.messages


def test_every_configured_validator_speaks_the_interface_language():
    ours = (
        passwords.UserAttributeSimilarityValidator,
        passwords.MinimumLengthValidator,
        passwords.CommonPasswordValidator,
        passwords.NumericPasswordValidator,
    )
    validators = get_default_password_validators()
    assert len(validators) == len(ours)
    for validator in validators:
        assert isinstance(validator, ours), validator
        with translation.override("zh-hans"):
            chinese = (validator.get_error_message(), validator.get_help_text())
        with translation.override("en"):
            english = (validator.get_error_message(), validator.get_help_text())
        assert all(has_chinese(text) for text in chinese), chinese
        assert not any(has_chinese(text) for text in english), english


@pytest.mark.parametrize(
    ("password", "chinese", "english"),
    [
        ("Ab3-xyz", [ZH_SHORT], [EN_SHORT]),
        ("1234567890", [ZH_COMMON, ZH_NUMERIC], [EN_COMMON, EN_NUMERIC]),
        ("31415926535897", [ZH_NUMERIC], [EN_NUMERIC]),
        ("12345", [ZH_SHORT, ZH_COMMON, ZH_NUMERIC], [EN_SHORT, EN_COMMON, EN_NUMERIC]),
    ],
)
def test_refusals_in_both_languages(password, chinese, english):
    with translation.override("zh-hans"):
        assert refusal(password) == chinese
    with translation.override("en"):
        assert refusal(password) == english


def test_a_password_like_the_username_or_phone_is_refused_naming_which(db):
    user = User(username="zhangxiaoyu", phone="13912345678")
    with translation.override("zh-hans"):
        assert refusal("zhangxiaoyu!", user) == ["密码与用户名过于相近。"]
        assert refusal("13912345678x", user) == ["密码与手机号过于相近。"]
    with translation.override("en"):
        assert refusal("zhangxiaoyu!", user) == ["The password is too similar to the Username."]
    validate_password(NEW_PASSWORD, user)


# --------------------------------------------------------------------------- the real flows


@pytest.fixture
def code(world):
    """An activation code for the world's student, as if her account had been opened in bulk."""
    User.objects.filter(pk=world.users["student"].pk).update(password="!")
    issued = services.issue_activation_codes(
        actor=world.actor("school_admin"), path=world.school_class.path, kinds=[Role.Kind.STUDENT]
    )
    assert [c.username for c in issued] == ["student"]
    return issued[0].code


def activate(code: str, password: str, language: str = "zh-hans"):
    return Client(HTTP_ACCEPT_LANGUAGE=language).post(
        reverse("accounts:activate"),
        {"username": "student", "code": code, "new_password": password, "new_password2": password},
    )


def test_activation_refuses_a_short_password_in_chinese_without_spending_the_code(world, code):
    response = activate(code, "Ab3-xyz")
    assert response.status_code == 200
    html = response.content.decode()
    assert ZH_SHORT in html
    assert "too short" not in html
    assert activate(code, NEW_PASSWORD).status_code == 302
    assert User.objects.get(username="student").check_password(NEW_PASSWORD)


def test_activation_refuses_in_english_under_en(world, code):
    html = activate(code, "12345", language="en").content.decode()
    assert EN_SHORT in html
    assert EN_NUMERIC in html
    assert "密码太短" not in html


def change_password(client: Client, new: str, language: str = "zh-hans"):
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password": new, "new_password2": new},
        HTTP_ACCEPT_LANGUAGE=language,
    )


@pytest.fixture
def teacher(world) -> Client:
    client = Client()
    client.force_login(world.users["head_teacher"])
    return client


def test_password_change_page_refuses_in_chinese(world, teacher):
    html = change_password(teacher, "1234567890").content.decode()
    assert ZH_COMMON in html
    assert ZH_NUMERIC in html
    assert User.objects.get(pk=world.users["head_teacher"].pk).check_password(PASSWORD)


def test_password_change_page_refuses_in_english_under_en(world, teacher):
    html = change_password(teacher, "Ab3-xyz", language="en").content.decode()
    assert EN_SHORT in html
    assert "密码太短" not in html


def account_payload(world, password: str) -> dict[str, str | int]:
    return {
        "name": "新同学",
        "id_type": "9",
        "id_number": "",
        "gender": "2",
        "username": "xin_tongxue",
        "password": password,
        "kind": Role.Kind.STUDENT,
        "school_class": world.school_class.pk,
    }


def test_the_account_api_refuses_in_the_requested_language(world, api):
    client = api("school_admin")
    chinese = client.post("/api/v1/accounts/", account_payload(world, "12345"), format="json")
    assert chinese.status_code == 400
    assert chinese.data["password"] == [ZH_SHORT, ZH_COMMON, ZH_NUMERIC]
    english = client.post(
        "/api/v1/accounts/",
        account_payload(world, "12345"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert english.data["password"] == [EN_SHORT, EN_COMMON, EN_NUMERIC]
    assert not User.objects.filter(username="xin_tongxue").exists()
