"""Chinese by default; the language switch turns the whole interface into English."""

import pytest
from django.urls import reverse
from django.utils import translation

from santong.orgs.models import School


def test_pages_are_chinese_by_default(world, browse):
    html = browse("county_admin").get(reverse("core:home")).content.decode()
    assert "首页" in html
    assert "审计日志" in html
    assert 'lang="zh-CN"' in html


def test_switching_to_english_shows_an_english_interface(world, browse):
    client = browse("county_admin")
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("orgs:school_list")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("orgs:school_list")
    html = client.get(reverse("orgs:school_list")).content.decode()
    for english in (
        "Home",
        "Schools",
        "Audit log",
        "School type",
        "Export to Excel",
        "Primary school",
    ):
        assert english in html, english
    for chinese in ("首页", "审计日志", "学校类型", "导出 Excel"):
        assert chinese not in html, chinese
    home = client.get(reverse("core:home")).content.decode()
    assert "Hello, 张伟. Here is an overview of your unit." in home
    assert "County administrator" in home
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "首页" in client.get(reverse("core:home")).content.decode()


def test_service_errors_follow_the_language(world, browse):
    client = browse("county_admin")
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.post(
        reverse("orgs:school_create"),
        {
            "code": "123",
            "name": "x",
            "kind": School.Kind.PRIMARY,
            "operator": School.Operator.PUBLIC,
            "locale": School.Locale.URBAN,
            "county": world.county.code,
        },
    )
    assert "A school code has 10 digits." in response.content.decode()


def test_identity_messages_written_in_english_read_in_chinese():
    from santong.accounts.identity import IdNumberError, validate_id_number

    with translation.override("zh-hans"), pytest.raises(IdNumberError) as caught:
        validate_id_number("1", "12345")
    with translation.override("zh-hans"):
        assert str(caught.value) == "身份证号码应为18位，当前输入了 5 位。"


def test_every_english_message_is_translated():
    """Every msgid with Chinese in it has an English msgstr (the catalogue ships complete)."""
    from pathlib import Path

    import santong

    po = Path(santong.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po"
    entries = po.read_text(encoding="utf-8").split("\n\n")[1:]
    untranslated = [
        entry
        for entry in entries
        if not entry.startswith("#~")
        and any("\u4e00" <= char <= "\u9fff" for char in entry.split("msgstr")[0])
        and (('msgstr ""' in entry and 'msgstr ""\n"' not in entry) or 'msgstr[0] ""' in entry)
    ]
    assert untranslated == []
