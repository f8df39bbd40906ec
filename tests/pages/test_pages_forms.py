"""The create and manage forms: happy paths, and bad input answered in Chinese with nothing
written."""

from django.urls import reverse

from santong.accounts.middleware import SESSION_KEY
from santong.accounts.models import Person, Role, User
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM
from santong.orgs.models import School, SchoolClass, Subject
from santong.testing.world import make_person


def school_data(world, **changes):
    data = {
        "code": "1510104099",
        "name": "成都市锦江区新城小学",
        "kind": School.Kind.PRIMARY,
        "operator": School.Operator.PUBLIC,
        "locale": School.Locale.URBAN,
        "county": world.county.code,
        "address": "四川省成都市锦江区新城路1号",
        "host_school": "",
    }
    return {**data, **changes}


def test_county_admin_creates_a_school(world, browse):
    response = browse("county_admin").post(reverse("orgs:school_create"), school_data(world))
    school = School.objects.get(code="1510104099")
    assert response.status_code == 302
    assert response["Location"] == reverse("orgs:school_detail", args=[school.pk])
    assert school.path == "510104/1510104099"
    assert AuditEvent.objects.filter(action="create", object_type="school", object_id=school.pk)


def test_create_school_bad_code_shows_a_chinese_field_error(world, browse):
    before = School.objects.count()
    response = browse("county_admin").post(
        reverse("orgs:school_create"), school_data(world, code="12345")
    )
    assert response.status_code == 200
    assert "学校标识码应为10位数字。" in response.context["form"].errors["code"]
    assert School.objects.count() == before


def test_create_school_in_a_county_outside_the_scope_is_refused(world, browse):
    before = School.objects.count()
    response = browse("county_admin").post(
        reverse("orgs:school_create"), school_data(world, county=world.other_county.code)
    )
    assert response.status_code == 200
    assert "county" in response.context["form"].errors
    assert "选择一个有效的选项" in str(response.context["form"].errors["county"])
    assert School.objects.count() == before


def test_teaching_point_needs_its_host_school(world, browse):
    client = browse("county_admin")
    response = client.post(
        reverse("orgs:school_create"), school_data(world, kind=School.Kind.TEACHING_POINT)
    )
    assert "教学点必须指定主校。" in response.context["form"].errors["host_school"]
    response = client.post(
        reverse("orgs:school_create"),
        school_data(world, kind=School.Kind.TEACHING_POINT, host_school=world.other_school.code),
    )
    assert "不在您的管理范围内" in str(response.context["form"].errors["host_school"])
    response = client.post(
        reverse("orgs:school_create"),
        school_data(world, kind=School.Kind.TEACHING_POINT, host_school=world.school.code),
    )
    assert response.status_code == 302
    assert School.objects.get(code="1510104099").host_school == world.school


def test_school_admins_may_not_create_schools(world, browse):
    response = browse("school_admin").post(reverse("orgs:school_create"), school_data(world))
    assert response.status_code == 403
    assert not School.objects.filter(code="1510104099").exists()


def test_school_admin_creates_a_class_and_a_duplicate_is_refused(world, browse):
    client = browse("school_admin")
    url = reverse("orgs:class_create", args=[world.school.pk])
    data = {"school_year": world.year.pk, "grade": "14", "number": 2}
    response = client.post(url, data)
    created = SchoolClass.objects.get(school=world.school, grade="14", number=2)
    assert response.status_code == 302
    assert created.name == "四年级（2）班"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "四年级（2）班 在该学年已存在。" in response.context["form"].errors["number"]
    assert SchoolClass.objects.filter(school=world.school, grade="14").count() == 1


def test_class_form_offers_only_the_school_grades_and_checks_the_number(world, browse):
    client = browse("school_admin")
    url = reverse("orgs:class_create", args=[world.school.pk])
    form = client.get(url).context["form"]
    assert set(form.fields["grade"].queryset.values_list("stage", flat=True)) == {"1"}
    response = client.post(url, {"school_year": world.year.pk, "grade": "31", "number": 1})
    assert "grade" in response.context["form"].errors
    response = client.post(url, {"school_year": world.year.pk, "grade": "13", "number": 120})
    assert "number" in response.context["form"].errors
    assert SchoolClass.objects.filter(school=world.school).count() == 1


def account_data(**changes):
    data = {
        "name": "黄晓明",
        "gender": "",
        "id_type": Person.IdType.RESIDENT,
        "id_number": "",
        "birth_date": "",
        "username": "huang_xm",
        "phone": "13800000001",
        "password": "",
        "kind": Role.Kind.SUBJECT_TEACHER,
        "school": "",
        "school_class": "",
        "subject": "",
        "child_account": "",
    }
    return {**data, **changes}


def fresh_id_number():
    from datetime import date

    from santong.accounts.identity import make_resident_id

    return make_resident_id("510104", date(1990, 6, 1), 321, True)


def test_school_admin_creates_an_account_with_its_first_role(world, browse):
    client = browse("school_admin")
    response = client.post(
        reverse("accounts:account_create"),
        account_data(
            id_number=fresh_id_number(),
            school_class=world.school_class.pk,
            subject=Subject.objects.get(code="01").pk,
        ),
    )
    assert response.status_code == 200
    user = User.objects.get(username="huang_xm")
    password = response.context["new_password"]
    assert password
    assert password in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert user.check_password(password)
    role = user.roles.get()
    assert (role.kind, role.school_class, role.subject.code) == (
        "subject_teacher",
        world.school_class,
        "01",
    )
    assert user.person.id_masked.startswith("510104")
    assert AuditEvent.objects.filter(action="grant", object_id=role.pk).exists()


def test_create_account_with_a_bad_id_number_writes_nothing(world, browse):
    people, users = Person.objects.count(), User.objects.count()
    number = fresh_id_number()
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    response = browse("school_admin").post(
        reverse("accounts:account_create"),
        account_data(id_number=wrong_check, school_class=world.school_class.pk, subject="01"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "校验码不正确" in str(errors["id_number"])
    assert (Person.objects.count(), User.objects.count()) == (people, users)


def test_create_account_with_a_taken_username_writes_nothing(world, browse):
    people = Person.objects.count()
    response = browse("school_admin").post(
        reverse("accounts:account_create"),
        account_data(
            username="student",
            id_number=fresh_id_number(),
            school_class=world.school_class.pk,
            subject="01",
        ),
    )
    assert "用户名 student 已被使用。" in response.context["form"].errors["username"]
    assert Person.objects.count() == people


def test_create_account_refuses_a_class_outside_the_scope(world, browse):
    response = browse("county_admin").post(
        reverse("accounts:account_create"),
        account_data(
            id_number=fresh_id_number(),
            kind=Role.Kind.STUDENT,
            school_class=world.other_class.path,
        ),
    )
    assert "未找到该班级编码" in str(response.context["form"].errors["school_class"])
    assert not User.objects.filter(username="huang_xm").exists()


def test_grant_form_offers_only_kinds_at_or_below_the_acting_role(world, browse):
    form = (
        browse("county_admin")
        .get(reverse("accounts:account_detail", args=[world.users["student"].pk]))
        .context["grant_form"]
    )
    kinds = [value for value, _label in form.fields["kind"].choices if value]
    assert "province_admin" not in kinds
    assert "city_admin" not in kinds
    assert {"county_admin", "school_admin", "head_teacher", "parent"} <= set(kinds)
    assert list(form.fields["region"].queryset) == [world.county]


def test_grant_and_revoke_a_role(world, browse):
    client = browse("county_admin")
    teacher = world.users["head_teacher"]
    response = client.post(
        reverse("accounts:account_grant_role", args=[teacher.pk]),
        {"kind": "school_admin", "school": world.teaching_point.code},
    )
    assert response.status_code == 302
    granted = teacher.roles.get(kind="school_admin")
    assert granted.school == world.teaching_point
    response = client.post(reverse("accounts:role_revoke", args=[granted.pk]))
    assert response.status_code == 302
    assert not teacher.roles.filter(kind="school_admin").exists()
    assert AuditEvent.objects.filter(action="revoke", object_id=granted.pk).exists()


def test_grant_refuses_a_higher_kind_and_a_unit_outside_the_scope(world, browse):
    client = browse("county_admin")
    teacher = world.users["head_teacher"]
    url = reverse("accounts:account_grant_role", args=[teacher.pk])
    response = client.post(url, {"kind": "city_admin", "region": world.city.code})
    assert response.status_code == 200
    assert "kind" in response.context["grant_form"].errors
    response = client.post(url, {"kind": "school_admin", "school": world.other_school.code})
    assert "未找到该学校标识码" in str(response.context["grant_form"].errors["school"])
    response = client.post(url, {"kind": "school_admin"})
    assert "该角色必须绑定到此类单位。" in str(response.context["grant_form"].errors["school"])
    assert teacher.roles.count() == 1


def test_grant_parent_role_by_the_child_account(world, browse):
    parent = make_person("王妈妈", male=False)
    from santong.accounts import services

    user = services.create_account(
        actor=SYSTEM,
        username="mum",
        person=parent,
        kind=Role.Kind.STUDENT,
        school_class=world.school_class,
    )
    response = browse("school_admin").post(
        reverse("accounts:account_grant_role", args=[user.pk]),
        {"kind": "parent", "school_class": world.school_class.pk, "child_account": "student"},
    )
    assert response.status_code == 302
    assert user.roles.get(kind="parent").child == world.users["student"].person


def test_deactivate_activate_and_reset_password(world, browse):
    client = browse("county_admin")
    student = world.users["student"]
    client.post(reverse("accounts:account_set_active", args=[student.pk]), {"active": "0"})
    student.refresh_from_db()
    assert not student.is_active
    client.post(reverse("accounts:account_set_active", args=[student.pk]), {"active": "1"})
    student.refresh_from_db()
    assert student.is_active
    response = client.post(reverse("accounts:account_reset_password", args=[student.pk]))
    password = response.context["new_password"]
    student.refresh_from_db()
    assert student.check_password(password)
    assert password in response.content.decode()
    assert AuditEvent.objects.filter(
        action="update", object_id=student.pk, detail__password="reset"
    ).exists()


def test_an_admin_may_not_deactivate_itself(world, browse):
    me = world.users["county_admin"]
    response = browse("county_admin").post(
        reverse("accounts:account_set_active", args=[me.pk]), {"active": "0"}, follow=True
    )
    assert "不能停用自己的账号。" in response.content.decode()
    me.refresh_from_db()
    assert me.is_active


def test_reveal_shows_the_full_number_once_and_audits_it(world, browse):
    from santong.accounts.identity import get_vault

    person = world.users["student"].person
    full = get_vault().decrypt(bytes(person.id_cipher))
    client = browse("school_admin")
    detail = client.get(reverse("accounts:person_detail", args=[person.pk])).content.decode()
    assert full not in detail
    assert person.id_masked in detail
    response = client.post(reverse("accounts:person_reveal", args=[person.pk]))
    assert response.status_code == 200
    assert full in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="reveal", object_id=person.pk)
    assert event.path == world.school_class.path
    again = client.get(reverse("accounts:person_detail", args=[person.pk])).content.decode()
    assert full not in again


def test_teachers_may_not_reveal(world, browse):
    person = world.users["student"].person
    response = browse("head_teacher").post(reverse("accounts:person_reveal", args=[person.pk]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="reveal").exists()


def test_change_own_password(world, browse):
    from santong.testing.world import PASSWORD

    client = browse("student")
    url = reverse("accounts:password_change")
    response = client.post(
        url,
        {
            "old_password": "wrong",
            "new_password": "Qx7-rain-fall",
            "new_password2": "Qx7-rain-fall",
        },
    )
    assert "原密码不正确。" in response.context["form"].errors["old_password"]
    response = client.post(
        url,
        {"old_password": PASSWORD, "new_password": "12345678901", "new_password2": "12345678901"},
    )
    assert "new_password" in response.context["form"].errors
    response = client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password": "Qx7-rain-fall",
            "new_password2": "Qx7-rain-fal",
        },
    )
    assert "两次输入的新密码不一致。" in response.context["form"].errors["new_password2"]
    response = client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password": "Qx7-rain-fall",
            "new_password2": "Qx7-rain-fall",
        },
    )
    assert response.status_code == 302
    world.users["student"].refresh_from_db()
    assert world.users["student"].check_password("Qx7-rain-fall")
    assert client.get(reverse("core:home")).status_code == 200


def test_switch_role_stores_the_role_and_audits_it(world, browse):
    from santong.accounts import services

    user = world.users["head_teacher"]
    second = services.grant_role(
        actor=SYSTEM, user=user, kind=Role.Kind.SCHOOL_ADMIN, school=world.school
    )
    client = browse("head_teacher")
    response = client.post(reverse("accounts:switch_role"), {"role": second.pk})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == second.pk
    assert AuditEvent.objects.filter(action="switch_role", object_id=second.pk).exists()
    assert client.get(reverse("orgs:school_list")).status_code == 200
    foreign = world.roles["county_admin"]
    response = client.post(reverse("accounts:switch_role"), {"role": foreign.pk}, follow=True)
    assert "无法切换到该角色。" in response.content.decode()
    assert client.session[SESSION_KEY] == second.pk


def test_role_switcher_lists_the_user_roles(world, browse):
    html = browse("county_admin").get(reverse("core:home")).content.decode()
    assert "切换角色" in html
    assert f'name="role" value="{world.roles["county_admin"].pk}"' in html
