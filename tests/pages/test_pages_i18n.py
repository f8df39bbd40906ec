"""Chinese by default; the language switch turns the whole interface into English."""

import ast
import gettext
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

import santong
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


def test_identity_messages_are_chinese_with_english_translations():
    from santong.accounts.identity import IdNumberError, validate_id_number

    with pytest.raises(IdNumberError) as caught:
        validate_id_number("1", "12345")
    with translation.override("zh-hans"):
        assert str(caught.value) == "身份证号码应为18位，当前输入了 5 位。"
    with translation.override("en"):
        assert str(caught.value) == "An ID number has 18 characters; 5 were entered."


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


PACKAGE = Path(santong.__file__).parent
PO_FIELD = re.compile(
    r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) ((?:"(?:[^"\\]|\\.)*"\n?)+)', re.M
)


def po_entries(po: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(raw entry, {keyword: joined text}) for each live entry; msgmerge wraps long strings
    over several quoted lines, so a msgstr can be `""` on its first line and still be full."""
    for entry in po.read_text(encoding="utf-8").split("\n\n")[1:]:
        if entry.lstrip().startswith("#~"):
            continue
        fields = {
            match[1]: "".join(ast.literal_eval(part) for part in re.findall(r'".*"', match[2]))
            for match in PO_FIELD.finditer(entry)
        }
        yield entry, fields


def test_every_english_message_is_translated():
    """Every msgid with Chinese in it has an English msgstr that is not fuzzy (msgfmt leaves
    fuzzy entries out, so they would show in Chinese): the catalogue ships complete."""
    po = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"
    untranslated = [
        entry
        for entry, fields in po_entries(po)
        if has_chinese(fields["msgid"])
        and (
            "#, fuzzy" in entry
            or any(value == "" for key, value in fields.items() if key.startswith("msgstr"))
        )
    ]
    assert untranslated == []


GETTEXT_ARGS = {
    # function name: (index of the context, indexes of the msgids)
    "_": (None, (0,)),
    "gettext": (None, (0,)),
    "gettext_lazy": (None, (0,)),
    "gettext_noop": (None, (0,)),
    "pgettext": (0, (1,)),
    "pgettext_lazy": (0, (1,)),
    "ngettext": (None, (0, 1)),
    "ngettext_lazy": (None, (0, 1)),
    "npgettext": (0, (1, 2)),
    "npgettext_lazy": (0, (1, 2)),
}
TRANSLATE_TAG = re.compile(r'{%\s*(?:translate|trans)\s+"([^"]*)"(?:\s+context\s+"([^"]*)")?')


def source_messages(package: Path) -> Iterator[tuple[str, str | None, str, bool]]:
    """(where, context, msgid, plural) for every Chinese string marked for translation in the
    package's Python code and `{% translate "…" %}` tags, as makemessages would collect them."""
    for path in sorted(package.rglob("*.py")):
        where = str(path.relative_to(package))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name not in GETTEXT_ARGS:
                continue
            context_at, msgid_at = GETTEXT_ARGS[name]
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            if len(args) <= max(msgid_at) or not isinstance(args[msgid_at[0]], str):
                continue
            context = args[context_at] if context_at is not None else None
            msgid = args[msgid_at[0]]
            if has_chinese(msgid):
                yield f"{where}:{node.lineno}", context, msgid, len(msgid_at) == 2
    for path in sorted(package.rglob("templates/**/*.html")):
        where = str(path.relative_to(package))
        for match in TRANSLATE_TAG.finditer(path.read_text(encoding="utf-8")):
            if has_chinese(match[1]):
                yield where, match[2], match[1], False


@pytest.mark.parametrize(
    "app", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
)
def test_every_chinese_source_string_is_in_the_compiled_english_catalogue(app):
    """Catches what the .po check cannot: a string added to the code after the catalogue was
    last regenerated, or a catalogue not compiled. Fix by regenerating as the .po header says."""
    mo = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as file:
        catalogue = gettext.GNUTranslations(file)._catalog  # type: ignore[attr-defined]
    missing = []
    for where, context, msgid, plural in source_messages(PACKAGE / app):
        key = f"{context}\x04{msgid}" if context is not None else msgid
        if not (catalogue.get((key, 0)) if plural else catalogue.get(key)):
            missing.append(f"{app}/{where}: {msgid}")
    assert missing == []
