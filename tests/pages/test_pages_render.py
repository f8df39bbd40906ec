"""Every page renders for the roles that may see it, and hides what lies outside their scope."""

import pytest
from django.test import Client
from django.urls import reverse

from santong.accounts.models import User
from santong.testing.world import ROLE_KEYS

ADMINS = ("province_admin", "city_admin", "county_admin", "school_admin")
REGIONAL = ("province_admin", "city_admin", "county_admin")
CLASS_ROLES = ("head_teacher", "subject_teacher", "student", "parent")


def page_urls(world):
    """(url, roles that may open it) for every GET page."""
    student = world.users["student"]
    return [
        (reverse("core:home"), ROLE_KEYS),
        (reverse("orgs:tree"), ADMINS),
        (reverse("orgs:tree_node", args=[world.school.path]), ADMINS),
        (reverse("orgs:tree_node", args=[world.county.code]), REGIONAL),
        (reverse("orgs:tree_node", args=[world.city.code]), ("province_admin", "city_admin")),
        (reverse("orgs:tree_node", args=[world.province.code]), ("province_admin",)),
        (reverse("orgs:school_list"), ADMINS),
        (reverse("orgs:school_detail", args=[world.school.pk]), ADMINS),
        (reverse("orgs:school_detail", args=[world.teaching_point.pk]), ADMINS),
        (reverse("orgs:school_create"), REGIONAL),
        (reverse("orgs:class_list"), ROLE_KEYS),
        (reverse("orgs:class_detail", args=[world.school_class.pk]), ROLE_KEYS),
        (reverse("orgs:class_create", args=[world.school.pk]), ADMINS),
        (reverse("accounts:person_list"), ROLE_KEYS),
        (reverse("accounts:person_detail", args=[student.person.pk]), ROLE_KEYS),
        (reverse("accounts:account_list"), ADMINS),
        (reverse("accounts:account_detail", args=[student.pk]), ADMINS),
        (reverse("accounts:account_create"), ADMINS),
        (reverse("accounts:role_list"), ROLE_KEYS),
        (reverse("audit:event_list"), ADMINS),
        (reverse("accounts:password_change"), ROLE_KEYS),
    ]


@pytest.mark.parametrize("key", ROLE_KEYS)
def test_every_page_answers_each_role_as_allowed(world, browse, key):
    client = browse(key)
    for url, allowed in page_urls(world):
        response = client.get(url)
        if key in allowed:
            assert response.status_code == 200, url
            assert "三通两平台" in response.content.decode()
        else:
            assert response.status_code in (403, 404), url


def test_class_roles_are_refused_admin_pages_with_a_message(world, browse):
    response = browse("head_teacher").get(reverse("orgs:school_list"))
    assert response.status_code == 403
    assert "当前角色无权访问此页面" in response.content.decode()


@pytest.mark.parametrize(
    ("key", "name", "target"),
    [
        ("county_admin", "orgs:school_detail", "other_school"),
        ("county_admin", "orgs:class_detail", "other_class"),
        ("county_admin", "orgs:class_create", "other_school"),
        ("city_admin", "orgs:school_detail", "far_school"),
        ("city_admin", "orgs:class_detail", "far_class"),
        ("school_admin", "orgs:school_detail", "other_school"),
        ("school_admin", "orgs:class_detail", "other_class"),
        ("head_teacher", "orgs:class_detail", "other_class"),
        ("student", "orgs:class_detail", "far_class"),
    ],
)
def test_objects_outside_the_scope_answer_404(world, browse, key, name, target):
    response = browse(key).get(reverse(name, args=[getattr(world, target).pk]))
    assert response.status_code == 404
    assert "不在您当前角色的管理范围内" in response.content.decode()


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("county_admin", "510107"),
        ("county_admin", "5101"),
        ("county_admin", "510107/1510107001"),
        ("city_admin", "5107"),
        ("school_admin", "510104"),
        ("school_admin", "510107/1510107001"),
    ],
)
def test_tree_nodes_outside_the_scope_answer_404(world, browse, key, path):
    assert browse(key).get(reverse("orgs:tree_node", args=[path])).status_code == 404


@pytest.mark.parametrize(
    ("key", "other"),
    [("county_admin", "other_school_admin"), ("school_admin", "far_student")],
)
def test_people_and_accounts_outside_the_scope_answer_404(world, browse, key, other):
    client = browse(key)
    user = world.users[other]
    assert client.get(reverse("accounts:person_detail", args=[user.person.pk])).status_code == 404
    assert client.get(reverse("accounts:account_detail", args=[user.pk])).status_code == 404
    reveal = client.post(reverse("accounts:person_reveal", args=[user.person.pk]))
    assert reveal.status_code == 404
    revoke = client.post(reverse("accounts:role_revoke", args=[world.roles[other].pk]))
    assert revoke.status_code == 404
    assert user.roles.count() == 1


def test_lists_leave_out_what_lies_outside_the_scope(world, browse):
    client = browse("county_admin")
    schools = client.get(reverse("orgs:school_list")).content.decode()
    assert world.school.name in schools
    assert world.teaching_point.name in schools
    assert world.other_school.name not in schools
    people = client.get(reverse("accounts:person_list")).content.decode()
    assert "王小雨" in people
    assert "周强" not in people
    assert "吴天宇" not in people


def test_anonymous_visitors_are_sent_to_login(world):
    response = Client().get(reverse("orgs:school_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_account_without_roles_sees_a_message(world):
    user = User(username="nobody")
    user.set_password("x-Long-Password-1")
    user.save()
    client = Client()
    client.force_login(user)
    response = client.get(reverse("core:home"))
    assert response.status_code == 403
    assert "您的账号尚未分配角色" in response.content.decode()


def test_home_shows_each_admin_level_its_counts(world, browse):
    county = browse("county_admin").get(reverse("core:home"))
    assert county.context["counts"] == {
        "schools": 2,
        "classes": 1,
        "teachers": 2,
        "students": 1,
        "accounts": 6,
    }
    school = browse("school_admin").get(reverse("core:home"))
    assert school.context["counts"]["teaching_points"] == 1
    assert school.context["counts"]["students"] == 1
    province = browse("province_admin").get(reverse("core:home"))
    assert province.context["counts"]["schools"] == 4
    assert province.context["counts"]["students"] == 2


def test_home_of_a_teacher_lists_the_class_students(world, browse):
    response = browse("head_teacher").get(reverse("core:home"))
    html = response.content.decode()
    assert "三年级（1）班" in html
    assert "王小雨" in html


def test_home_of_a_parent_names_the_child(world, browse):
    html = browse("parent").get(reverse("core:home")).content.decode()
    assert "三年级（1）班" in html
    assert "王小雨" in html


def test_class_detail_groups_teachers_students_and_parents(world, browse):
    response = browse("school_admin").get(
        reverse("orgs:class_detail", args=[world.school_class.pk])
    )
    assert [m.user.username for m in response.context["teachers"]] == [
        "head_teacher",
        "subject_teacher",
    ]
    assert [m.user.username for m in response.context["students"]] == ["student"]
    assert [m.user.username for m in response.context["parents"]] == ["parent"]


def test_tree_counts_children_of_the_province(world, browse):
    response = browse("province_admin").get(reverse("orgs:tree"))
    table = response.context["tables"][0]
    rows = {row["unit"].code: row["counts"] for row in table["rows"]}
    # schools, classes, teachers, students
    assert rows["5101"] == [3, 2, 2, 1]
    assert rows["5107"] == [1, 1, 0, 1]
    assert rows["5103"] == [0, 0, 0, 0]


def test_tree_counts_schools_of_a_county_and_classes_of_a_school(world, browse):
    client = browse("county_admin")
    county = client.get(reverse("orgs:tree"))
    rows = {row["unit"].code: row["counts"] for row in county.context["tables"][0]["rows"]}
    # teaching points, classes, teachers, students; the teaching point sits under its host
    assert rows == {"1510104001": [1, 1, 2, 1]}
    school = client.get(reverse("orgs:tree_node", args=[world.school.path]))
    points, classes = school.context["tables"]
    assert [row["counts"] for row in points["rows"]] == [[0, 0, 0]]
    assert [row["counts"] for row in classes["rows"]] == [[2, 1]]


def test_breadcrumbs_start_at_the_role_unit(world, browse):
    response = browse("county_admin").get(
        reverse("orgs:class_detail", args=[world.school_class.pk])
    )
    assert [crumb["name"] for crumb in response.context["crumbs"]] == [
        "锦江区",
        "成都市锦江区实验小学",
        "三年级（1）班",
    ]


def test_list_filters_and_empty_state(world, browse):
    client = browse("province_admin")
    response = client.get(reverse("orgs:school_list"), {"kind": "teaching_point"})
    assert [school.name for school in response.context["page"].object_list] == [
        world.teaching_point.name
    ]
    response = client.get(reverse("orgs:school_list"), {"q": "不存在的学校"})
    assert "暂无符合条件的学校" in response.content.decode()
    response = client.get(reverse("orgs:school_list"), {"county": world.far_county.code})
    assert [school.name for school in response.context["page"].object_list] == [
        world.far_school.name
    ]


def test_bad_filter_values_are_ignored_not_errors(world, browse):
    client = browse("province_admin")
    for query in ({"county": "abc"}, {"kind": "nonsense"}, {"page": "x"}, {"page": "999"}):
        assert client.get(reverse("orgs:school_list"), query).status_code == 200
    audit = client.get(reverse("audit:event_list"), {"date_from": "2025-13-45", "action": "?"})
    assert audit.status_code == 200


def test_pagination_keeps_filters_in_page_links(world, browse, django_user_model):
    from santong.core.actors import SYSTEM
    from santong.orgs import services
    from santong.orgs.models import School

    for number in range(55):
        services.create_school(
            actor=SYSTEM,
            code=f"15101049{number:02d}",
            name=f"锦江区测试小学{number:02d}",
            kind=School.Kind.PRIMARY,
            operator=School.Operator.PUBLIC,
            locale=School.Locale.URBAN,
            county=world.county,
        )
    response = browse("county_admin").get(reverse("orgs:school_list"), {"q": "测试"})
    page = response.context["page"]
    assert page.paginator.count == 55
    assert len(page.object_list) == 50
    assert "?q=%E6%B5%8B%E8%AF%95&amp;page=2" in response.content.decode()
    second = browse("county_admin").get(reverse("orgs:school_list"), {"q": "测试", "page": 2})
    assert len(second.context["page"].object_list) == 5


def test_audit_list_filters_by_action_and_date(world, browse):
    client = browse("county_admin")
    response = client.get(reverse("audit:event_list"), {"action": "grant"})
    actions = {event.action for event in response.context["page"].object_list}
    assert actions == {"grant"}
    response = client.get(reverse("audit:event_list"), {"date_to": "2000-01-01"})
    assert response.context["page"].paginator.count == 0
    assert "暂无符合条件的审计记录" in response.content.decode()
