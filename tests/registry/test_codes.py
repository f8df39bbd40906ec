"""Code tables are data: loaded after migrate, idempotent, browsable in the admin."""

import pytest

from santong.accounts.models import Person
from santong.registry import selectors
from santong.registry.models import CodeTable, CodeValue
from santong.registry.services.codes import DATA_DIR, sync_code_tables

pytestmark = pytest.mark.django_db

TABLES = {
    "gender",
    "ethnicity",
    "id_type",
    "education",
    "political_status",
    "teacher_title",
    "teacher_position",
    "health",
    "hukou",
    "employment",
}


def test_every_table_is_loaded_after_migrate_with_its_standard():
    assert set(CodeTable.objects.values_list("name", flat=True)) == TABLES
    assert CodeTable.objects.get(name="ethnicity").standard.startswith("GB/T 3304")
    assert CodeTable.objects.get(name="education").standard.startswith("GB/T 4658")
    assert (DATA_DIR / "README.md").exists()


def test_the_56_ethnic_groups_in_gb_3304_order():
    codes = selectors.active_codes("ethnicity")
    groups = {code: name for code, name in codes.items() if int(code) <= 56}
    assert len(groups) == 56
    assert groups["01"] == "汉族"
    assert groups["04"] == "藏族"
    assert groups["07"] == "彝族"  # Sichuan's largest minority
    assert groups["56"] == "基诺族"
    assert list(groups) == [f"{n:02d}" for n in range(1, 57)]
    assert codes["97"] == "其他"


def test_id_types_and_genders_agree_with_the_person_model():
    assert set(selectors.active_codes("id_type")) == set(Person.IdType.values)
    assert dict(selectors.code_choices("id_type"))["1"] == "居民身份证"
    assert set(Person.Gender.values) <= set(selectors.active_codes("gender"))


def test_teacher_titles_in_rank_order():
    assert [name for _code, name in selectors.code_choices("teacher_title")] == [
        "正高级教师",
        "高级教师",
        "一级教师",
        "二级教师",
        "三级教师",
        "未定职级",
    ]
    assert list(selectors.active_codes("employment").values()) == ["在编", "非在编"]
    assert set(selectors.active_codes("hukou").values()) == {"农业户口", "非农业户口", "居民户口"}


def test_sync_is_idempotent_and_retires_codes_missing_from_the_files():
    before = CodeValue.objects.count()
    CodeValue.objects.create(table_id="ethnicity", code="99", name="已废止")
    CodeValue.objects.filter(table_id="gender", code="1").update(name="改过", active=False)
    sync_code_tables()
    sync_code_tables()
    assert CodeValue.objects.count() == before + 1
    retired = CodeValue.objects.get(table_id="ethnicity", code="99")
    assert retired.active is False
    assert "99" not in selectors.active_codes("ethnicity")
    assert "99" in {v.code for v in selectors.code_values("ethnicity", include_inactive=True)}
    assert CodeValue.objects.get(table_id="gender", code="1").name == "男"
    assert CodeValue.objects.get(table_id="gender", code="1").active is True


def test_code_tables_are_browsable_but_not_editable_in_the_admin(client, django_user_model):
    admin = django_user_model.objects.create_superuser("ops", password="Ops-Password-2026")
    client.force_login(admin)
    listing = client.get("/admin/registry/codetable/")
    assert listing.status_code == 200
    assert "民族" in listing.content.decode()
    detail = client.get("/admin/registry/codetable/ethnicity/change/")
    assert detail.status_code == 200
    assert "基诺族" in detail.content.decode()
    assert client.get("/admin/registry/codetable/add/").status_code == 403
    values = client.get("/admin/registry/codevalue/?table__name__exact=hukou")
    assert "居民户口" in values.content.decode()
