"""Accounts opened in bulk: one-time activation codes, the printed class list, and the page
where a person exchanges the code for their own password."""

from datetime import timedelta

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from santong.accounts import services
from santong.accounts.models import User
from santong.audit.models import AuditEvent
from santong.core.actors import ScopeError
from santong.imports.class_list import write_pdf, write_xlsx

from .test_students_import import import_file, roster, write_csv

NEW_PASSWORD = "Qing-Shui-Jiang-2026"


@pytest.fixture
def imported(world, county_actor, tmp_path):
    import_file(county_actor, write_csv(tmp_path / "r.csv", roster(4)))
    return world


def issue(world, key="school_admin"):
    return services.issue_activation_codes(actor=world.actor(key), path=world.school.path)


def test_codes_are_issued_for_accounts_without_a_password_and_stored_only_hashed(imported):
    codes = issue(imported)

    names = {c.name for c in codes}
    assert {"学生0", "学生1", "学生2", "学生3"} <= names
    # The world's own accounts already have passwords: they get no code.
    assert "王小雨" not in names
    issued = codes[0]
    assert len(issued.code) == services.ACTIVATION_LENGTH
    user = User.objects.get(pk=issued.user_id)
    assert user.password.startswith(services.ACTIVATION_MARK)
    assert issued.code not in user.password
    assert not user.has_usable_password()
    audit = AuditEvent.objects.filter(detail__activation_codes__gte=1).get()
    assert audit.path == imported.school.path
    assert audit.actor == imported.users["school_admin"]


def test_only_an_administrator_of_the_unit_issues_codes(imported):
    with pytest.raises(ScopeError):
        issue(imported, "other_school_admin")
    with pytest.raises(ScopeError):
        issue(imported, "head_teacher")


def test_the_class_list_names_each_person_with_username_and_code(imported, tmp_path):
    codes = issue(imported)
    expires = timezone.now() + timedelta(days=30)

    xlsx = write_xlsx(codes, tmp_path / "名单.xlsx", school="锦江区实验小学", expires=expires)
    pdf = write_pdf(codes, tmp_path / "名单.pdf", school="锦江区实验小学", expires=expires)

    book = openpyxl.load_workbook(xlsx)
    rows = [
        list(row)
        for sheet in book.worksheets
        for row in sheet.iter_rows(min_row=5, values_only=True)
    ]
    by_user = {row[3]: row for row in rows}
    for issued in codes:
        row = by_user[issued.username]
        assert row[1] == issued.name
        assert row[2] == "学生"
        assert row[4].replace("-", "") == issued.code
    assert {sheet.title for sheet in book.worksheets} == {"三年级（1）班", "三年级（2）班"}
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"STSong-Light" in data


def test_command_line_writes_the_list(imported, tmp_path, capsys):
    out = tmp_path / "list.pdf"
    call_command(
        "activation-codes", "--school", "1510104001", "--class", "三年级（2）班",
        "--out", str(out), "--as", "school_admin",
    )  # fmt: skip
    assert out.read_bytes().startswith(b"%PDF")
    assert "已为 2 个账号发放激活码" in capsys.readouterr().out


def activate(client, username, code, password=NEW_PASSWORD):
    return client.post(
        reverse("accounts:activate"),
        {"username": username, "code": code, "new_password": password, "new_password2": password},
    )


def test_the_code_buys_a_password_once_and_logs_the_person_in(imported, client):
    issued = issue(imported)[0]
    page = client.get(reverse("accounts:login"))
    assert reverse("accounts:activate") in page.content.decode()

    response = activate(client, issued.username, issued.code.lower()[:5] + "-" + issued.code[5:])

    assert response.status_code == 302
    assert response.url == reverse("core:home")
    user = User.objects.get(pk=issued.user_id)
    assert user.check_password(NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.UPDATE, object_id=str(user.pk), detail={"password": "activated"}
    ).exists()

    client.logout()
    again = activate(client, issued.username, issued.code, "Another-Pass-2026x")
    assert again.status_code == 200
    assert "用户名或激活码不正确" in again.content.decode()
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def test_wrong_codes_are_counted_audited_and_lock_the_account(imported, client):
    issued = issue(imported)[0]

    for _attempt in range(services.LOCK_AFTER_FAILURES):
        response = activate(client, issued.username, "WRONGCODE1")
        assert "用户名或激活码不正确" in response.content.decode()

    user = User.objects.get(pk=issued.user_id)
    assert user.failed_logins == services.LOCK_AFTER_FAILURES
    assert services.is_locked(user)
    failures = AuditEvent.objects.filter(
        action=AuditEvent.Action.LOGIN_FAILED, object_id=str(user.pk)
    )
    assert failures.count() == services.LOCK_AFTER_FAILURES
    locked = activate(client, issued.username, issued.code)
    assert "锁定" in locked.content.decode()
    assert not User.objects.get(pk=user.pk).has_usable_password()


def test_an_expired_code_or_an_unknown_user_is_refused_alike(imported, client):
    issued = services.issue_activation_codes(
        actor=imported.actor("school_admin"), path=imported.school.path, days=-1
    )[0]
    expired = activate(client, issued.username, issued.code)
    unknown = activate(client, "nobody", issued.code)

    for response in (expired, unknown):
        assert "用户名或激活码不正确，或激活码已过期。" in response.content.decode()
    assert not User.objects.get(pk=issued.user_id).has_usable_password()


def test_a_weak_password_is_refused_without_spending_the_code(imported, client):
    issued = issue(imported)[0]

    weak = activate(client, issued.username, issued.code, "12345678901")
    assert weak.status_code == 200
    assert User.objects.get(pk=issued.user_id).failed_logins == 0

    assert activate(client, issued.username, issued.code).status_code == 302


def test_reissuing_makes_the_earlier_code_useless(imported, client):
    first = {c.username: c.code for c in issue(imported)}
    second = {c.username: c.code for c in issue(imported)}
    username = next(iter(first))

    assert "用户名或激活码不正确" in activate(client, username, first[username]).content.decode()
    assert activate(client, username, second[username]).status_code == 302


def test_codes_are_unique_enough(imported):
    codes = [c.code for c in issue(imported)]
    assert len(set(codes)) == len(codes)
    assert all(set(code) <= set(services.ACTIVATION_ALPHABET) for code in codes)


def test_template_page_renders(client, db):
    page = client.get(reverse("accounts:activate"))
    assert page.status_code == 200
    assert "激活码" in page.content.decode()
