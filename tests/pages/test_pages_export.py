"""`.xlsx` export of the list pages: headers, scope, filters, masked IDs, neutralised formulas,
audit."""

import io

import openpyxl
import pytest
from django.urls import reverse

from santong.accounts.identity import get_vault
from santong.accounts.models import Person
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM
from santong.core.export import neutralise
from santong.orgs import services
from santong.orgs.models import School


def workbook_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()], sheet


def test_school_export_has_chinese_headers_and_only_the_scope(world, browse):
    response = browse("county_admin").get(reverse("orgs:school_list"), {"format": "xlsx"})
    assert "attachment" in response["Content-Disposition"]
    rows, _sheet = workbook_rows(response)
    assert rows[0] == [
        "学校标识码",
        "学校名称",
        "学校类型",
        "办学类型",
        "城乡类型",
        "所属地市",
        "所属区县",
        "主校",
        "地址",
    ]
    assert rows[1][:7] == [
        "1510104001",
        "成都市锦江区实验小学",
        "小学",
        "公办",
        "城区",
        "成都市",
        "锦江区",
    ]
    assert rows[2][1:3] == ["锦江区实验小学三圣教学点", "教学点"]
    assert rows[2][7] == "成都市锦江区实验小学"
    assert len(rows) == 3


def test_export_keeps_the_list_filters_and_is_audited(world, browse):
    response = browse("province_admin").get(
        reverse("orgs:school_list"), {"format": "xlsx", "kind": "teaching_point", "page": "3"}
    )
    rows, _sheet = workbook_rows(response)
    assert [row[1] for row in rows[1:]] == ["锦江区实验小学三圣教学点"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.object_type == "school"
    assert event.detail == {"filters": {"kind": "teaching_point"}, "rows": 1}
    assert event.actor == world.users["province_admin"]
    assert event.path == "51"


def test_people_export_shows_only_masked_id_numbers(world, browse):
    rows, _sheet = workbook_rows(
        browse("county_admin").get(reverse("accounts:person_list"), {"format": "xlsx"})
    )
    assert rows[0] == ["姓名", "性别", "出生日期", "证件类型", "证件号码", "账号"]
    visible = {row[0]: row for row in rows[1:]}
    student = world.users["student"].person
    assert visible["王小雨"][4] == student.id_masked
    assert "*" in student.id_masked
    assert visible["王小雨"][1] == "女"
    clear = {
        get_vault().decrypt(bytes(p.id_cipher)) for p in Person.objects.exclude(id_cipher=None)
    }
    cells = {str(value) for row in rows for value in row if value is not None}
    assert not any(number in cell for number in clear for cell in cells)
    assert "吴天宇" not in visible


def test_formula_like_text_is_neutralised(world, browse):
    payloads = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)"]
    for number, payload in enumerate(payloads):
        services.create_school(
            actor=SYSTEM,
            code=f"151010408{number}",
            name=payload,
            kind=School.Kind.PRIMARY,
            operator=School.Operator.PUBLIC,
            locale=School.Locale.URBAN,
            county=world.county,
            address=payload,
        )
    rows, sheet = workbook_rows(
        browse("county_admin").get(reverse("orgs:school_list"), {"format": "xlsx"})
    )
    names = [row[1] for row in rows[1:]]
    for payload in payloads:
        assert f"'{payload}" in names
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"


def test_neutralise_leaves_ordinary_text_alone():
    assert neutralise("成都市锦江区实验小学") == "成都市锦江区实验小学"
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("\t=cmd") == "'\t=cmd"


@pytest.mark.parametrize(
    ("key", "name", "header"),
    [
        ("school_admin", "orgs:class_list", "班级名称"),
        ("county_admin", "accounts:person_list", "证件号码"),
        ("county_admin", "accounts:account_list", "用户名"),
        ("county_admin", "accounts:role_list", "角色"),
        ("county_admin", "audit:event_list", "操作"),
        ("head_teacher", "orgs:class_list", "班级名称"),
    ],
)
def test_every_list_exports(world, browse, key, name, header):
    rows, _sheet = workbook_rows(browse(key).get(reverse(name), {"format": "xlsx"}))
    assert header in rows[0]
    assert len(rows) >= 2
    assert AuditEvent.objects.filter(action="export", actor=world.users[key]).count() == 1


def test_account_export_masks_the_id_number(world, browse):
    rows, _sheet = workbook_rows(
        browse("school_admin").get(reverse("accounts:account_list"), {"format": "xlsx"})
    )
    column = rows[0].index("证件号码")
    assert all("*" in row[column] for row in rows[1:])


def test_export_headers_follow_the_language(world, browse):
    client = browse("county_admin")
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    rows, _sheet = workbook_rows(client.get(reverse("orgs:school_list"), {"format": "xlsx"}))
    assert rows[0][:3] == ["School code", "School name", "School type"]
    assert rows[1][2] == "Primary school"


def test_the_export_link_keeps_the_filters(world, browse):
    html = browse("county_admin").get(reverse("orgs:school_list"), {"kind": "primary", "page": "1"})
    assert "?kind=primary&amp;format=xlsx" in html.content.decode()
