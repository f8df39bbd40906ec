"""Headless Chromium logs in as a county and a school administrator and walks the main pages,
the registry's included (approving a transfer, enrolling a student, requesting and withdrawing a
transfer).

Runs against pytest-django's live server (static files served from the apps) with Debian's
Chromium driven by Playwright (the `browser` fixture, in conftest); skipped when Chromium is
not installed.
"""

from datetime import date
from typing import Any

import pytest

from santong.accounts.identity import get_vault, make_resident_id
from santong.core.actors import SYSTEM
from santong.orgs import services as org_services
from santong.orgs.models import Grade
from santong.registry import services as registry_services
from santong.testing.world import PASSWORD

pytestmark = pytest.mark.browser

ERROR_MARKS = ("Traceback", "Server Error", "服务暂时不可用", "未找到该页面或记录", "无权访问")


class Walker:
    def __init__(self, browser: Any, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.base = base
        self.console_errors: list[str] = []
        self.page.on(
            "console",
            lambda message: (
                self.console_errors.append(message.text) if message.type == "error" else None
            ),
        )

    def open(self, path: str, *expected: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None
        assert response.status == 200, f"{path} answered {response.status}"
        self.check(*expected)

    def check(self, *expected: str) -> None:
        text = self.page.inner_text("body")
        for mark in ERROR_MARKS:
            assert mark not in text, f"{self.page.url}: {mark}"
        for words in expected:
            assert words in text, f"{self.page.url}: missing {words!r}"

    def follow(self, selector: str, *expected: str) -> None:
        self.page.locator(selector).first.click()
        self.page.wait_for_load_state()
        self.check(*expected)

    def login(self, username: str) -> None:
        self.open("/accounts/login/", "账号登录")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("main form button[type=submit]")
        self.page.wait_for_url(self.base + "/")
        self.check("首页")


def test_county_admin_walks_the_pages(world, live_server, browser):
    walker = Walker(browser, live_server.url)
    walker.login("county_admin")
    walker.check("区县管理员", "锦江区", "学校", "班级", "教师", "学生", "账号", "最近操作")
    walker.open("/orgs/tree/", "锦江区", "成都市锦江区实验小学", "教学点")
    walker.follow("main table a[href^='/orgs/tree/']", "成都市锦江区实验小学", "三年级（1）班")
    walker.open("/orgs/schools/", "学校", "成都市锦江区实验小学", "导出 Excel")
    assert "成都市武侯区第一小学" not in walker.page.inner_text("main")
    walker.follow("main table a[href^='/orgs/schools/']", "基本信息", "东大街100号")
    walker.follow("main table a[href^='/orgs/classes/']", "三年级（1）班", "王小雨", "陈静")
    walker.follow("main table a[href^='/accounts/people/']", "证件号码", "显示完整证件号")
    walker.page.click("text=显示完整证件号")
    walker.page.wait_for_load_state()
    walker.check("完整证件号仅显示这一次")
    walker.open("/accounts/people/", "人员", "王小雨")
    walker.open("/accounts/users/", "账号", "county_admin", "新建账号")
    walker.open("/accounts/roles/", "角色", "班主任")
    walker.open("/audit/", "审计日志", "查看完整证件号")
    walker.open("/orgs/schools/new/", "新建学校", "学校标识码")
    walker.page.fill("#id_code", "123")
    walker.page.fill("#id_name", "测试学校")
    walker.page.click("main form button[type=submit]")
    walker.page.wait_for_load_state()
    walker.check("学校标识码应为10位数字。")

    walker.open("/")
    walker.page.click("#st-language")
    walker.page.click("button[value=en]")
    walker.page.wait_for_load_state()
    walker.check("Home", "Schools", "Recent activity")
    walker.page.click("#st-language")
    walker.page.click("button[value=zh-hans]")
    walker.page.wait_for_load_state()
    walker.check("首页", "最近操作")
    assert walker.console_errors == []


def test_school_admin_walks_the_pages(world, live_server, browser):
    walker = Walker(browser, live_server.url)
    walker.login("school_admin")
    walker.check("学校管理员", "成都市锦江区实验小学", "教学点")
    walker.open("/orgs/tree/", "成都市锦江区实验小学", "锦江区实验小学三圣教学点")
    walker.open("/orgs/classes/", "班级", "三年级（1）班")
    walker.follow("main table a[href^='/orgs/classes/']", "王小雨", "王大军")
    walker.open("/accounts/people/", "王小雨")
    assert "张伟" not in walker.page.inner_text("main")
    walker.open("/accounts/users/", "student")
    walker.follow(f"main table a[href='/accounts/users/{world.users['student'].pk}/']", "授予角色")
    walker.page.click("text=重置密码")
    walker.page.wait_for_load_state()
    walker.check("新密码（仅显示这一次")
    walker.open(f"/orgs/schools/{world.school.pk}/classes/new/", "新建班级", "班号")
    walker.open("/audit/", "审计日志", "修改")
    assert walker.console_errors == []


def test_phone_width_collapses_the_navigation(world, live_server, browser):
    walker = Walker(browser, live_server.url)
    walker.login("county_admin")
    walker.page.set_viewport_size({"width": 390, "height": 844})
    walker.open("/orgs/schools/", "学校")
    link = walker.page.locator("#st-nav a[href='/audit/']")
    assert not link.is_visible()
    walker.page.click(".navbar-toggler")
    link.wait_for(state="visible")
    table = walker.page.locator(".table-responsive").first
    assert table.evaluate("element => getComputedStyle(element).overflowX") == "auto"
    width = walker.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


def registry_world(world: Any) -> Any:
    """王小雨 and 陈静 on record; a transfer of a second student to the teaching point,
    accepted by the school and waiting for the county."""
    actor = world.actor("school_admin")
    person = world.users["student"].person
    record = registry_services.enrol_student(
        actor=actor,
        school_class=world.school_class,
        name=person.name,
        id_type="1",
        id_number=get_vault().decrypt(bytes(person.id_cipher)),
        ethnicity="01",
    )
    teacher = world.users["head_teacher"].person
    registry_services.register_teacher(
        actor=actor,
        school=world.school,
        name=teacher.name,
        id_type="1",
        id_number=get_vault().decrypt(bytes(teacher.id_cipher)),
        ethnicity="01",
        education="21",
        title="3",
        position="07",
        hired_on=date(2006, 9, 1),
        employment="1",
    )
    moving = registry_services.enrol_student(
        actor=actor,
        school_class=world.school_class,
        name="李明",
        id_type="1",
        id_number=make_resident_id("510105", date(2016, 4, 1), 88, True),
        ethnicity="01",
    )
    point_class = org_services.create_class(
        actor=SYSTEM,
        school=world.teaching_point,
        school_year=world.year,
        grade=Grade.objects.get(code="13"),
        number=1,
    )
    flow = registry_services.request_transfer(
        actor=actor, record=moving, to_school=world.teaching_point, reason="就近入学"
    )
    registry_services.approve_request(actor=actor, request=flow, school_class=point_class)
    return record


def test_county_admin_walks_the_registry(world, live_server, browser):
    registry_world(world)
    walker = Walker(browser, live_server.url)
    walker.login("county_admin")
    walker.check("待办事项")
    walker.page.click("#st-registry")
    walker.follow("#st-nav a[href='/registry/queue/']", "待我审批的学籍申请", "李明", "就近入学")
    walker.follow("main table a[href^='/registry/requests/']", "审批环节", "已通过", "待处理")
    walker.page.click("form[data-decide] button[type=submit]")
    walker.page.wait_for_load_state()
    walker.check("审批已全部通过，变更已生效。", "锦江区实验小学三圣教学点 三年级（1）班")
    walker.open("/registry/students/", "学籍", "王小雨", "导出 Excel")
    walker.page.fill("#id_q", "王小雨")
    walker.page.click("form[role=search] button[type=submit]")
    walker.page.wait_for_load_state()
    walker.follow("main table a[href^='/registry/students/']", "学籍变动记录", "新生注册")
    walker.open("/registry/teachers/", "陈静")
    walker.follow("main table a[href^='/registry/teachers/']", "职称记录", "一级教师")
    walker.open("/registry/schools/", "学校档案", "正常办学")
    walker.follow("main table a[href^='/registry/schools/']", "登记信息", "变更记录")
    walker.page.click("text=修改档案")
    walker.page.wait_for_load_state()
    walker.page.fill("#id_phone", "abc")
    walker.page.click("main form button[type=submit]")
    walker.page.wait_for_load_state()
    walker.check("联系电话应为7到20位数字")
    walker.open("/registry/rollover/", "学年升级", "第一步：选择范围")
    walker.page.click("main button[name=preview]")
    walker.page.wait_for_load_state()
    walker.check("将升级学生", "执行升级")
    walker.open("/registry/codes/ethnicity/", "代码表", "汉族", "彝族")
    assert walker.console_errors == []


def test_school_admin_enrols_and_requests_a_transfer(world, live_server, browser):
    registry_world(world)
    walker = Walker(browser, live_server.url)
    walker.login("school_admin")
    walker.open("/registry/students/new/", "新生注册", "证件号码")
    walker.page.select_option(
        "#id_school_class", label="成都市锦江区实验小学 三年级（1）班（2025-2026）"
    )
    walker.page.fill("#id_name", "赵子涵")
    walker.page.fill("#id_id_number", make_resident_id("510105", date(2016, 6, 6), 11, False))
    walker.page.click("main form button[type=submit]")
    walker.page.wait_for_load_state()
    walker.check("已为 赵子涵 注册学籍", "学籍变动记录", "新生注册")
    walker.page.click("text=申请转学")
    walker.page.wait_for_load_state()
    walker.page.fill("#id_to_school", "小学")
    walker.page.fill("#id_reason", "随父母工作调动")
    walker.page.click("main form button[type=submit].btn-primary")
    walker.page.wait_for_load_state()
    walker.check("找到多所学校，请在下面选择一所。")
    walker.page.click("[data-matches] button[value='1510107001']")
    walker.page.wait_for_load_state()
    walker.check("转学申请已提交，等待审批。", "成都市武侯区第一小学", "待处理")
    walker.page.click("form[data-withdraw] button[type=submit]")
    walker.page.wait_for_load_state()
    walker.check("申请状态：已撤回。")
    walker.open("/registry/queue/", "待办", "没有等待您审批的学籍申请")
    assert walker.console_errors == []


def test_a_transfer_across_counties_walked_from_every_side(world, live_server, browser):
    """王小雨's transfer to 武侯区第一小学 in four browsers: the sending school asks from her
    page, the receiving school accepts her into a class, the sending county approves, the
    receiving county is told a refusal needs its reason and then approves; only then does her
    page show the new school, with every step in her history, and leave the sending school's
    reach."""
    record = registry_world(world)
    detail = f"/registry/students/{record.pk}/"

    sending = Walker(browser, live_server.url)
    sending.login("school_admin")
    sending.open(detail, "学籍变动记录", "锦江区实验小学")
    sending.page.click("text=申请转学")
    sending.page.wait_for_load_state()
    sending.page.fill("#id_to_school", world.other_school.code)
    sending.page.fill("#id_reason", "随父母工作调动")
    sending.page.click("main form button[type=submit].btn-primary")
    sending.page.wait_for_load_state()
    sending.check("转学申请已提交，等待审批。", "成都市武侯区第一小学", "待处理")
    flow = sending.page.url.removeprefix(live_server.url)

    receiving = Walker(browser, live_server.url)
    receiving.login("other_school_admin")
    receiving.open("/registry/queue/", "待我审批的学籍申请", record.person.name)
    receiving.follow("main table a[href^='/registry/requests/']", "同意接收")
    receiving.page.select_option("#id_decide-school_class", value=str(world.other_class.pk))
    receiving.page.click("form[data-decide] button[type=submit]")
    receiving.page.wait_for_load_state()
    receiving.check("已通过")

    county = Walker(browser, live_server.url)
    county.login("county_admin")
    county.open(flow, "审批通过", "锦江区")
    county.page.click("form[data-decide] button[type=submit]")
    county.page.wait_for_load_state()
    county.check("已通过")
    county.open(detail, "锦江区实验小学")

    other_county = Walker(browser, live_server.url)
    other_county.login("other_county_admin")
    other_county.open("/", "待办事项")
    other_county.open("/registry/queue/", record.person.name, "随父母工作调动")
    other_county.follow("main table a[href^='/registry/requests/']", "驳回理由")
    other_county.page.click("form[data-reject] button[type=submit]")
    other_county.page.wait_for_load_state()
    other_county.check("该字段是必填项。", "审批中")
    other_county.page.click("form[data-decide] button[type=submit]")
    other_county.page.wait_for_load_state()
    other_county.check("审批已全部通过，变更已生效。", "成都市武侯区第一小学")

    receiving.open(detail, "成都市武侯区第一小学", "转学", "随父母工作调动")
    # The student has left the sending school's scope with the move.
    assert sending.page.goto(live_server.url + detail).status == 404
    sending.console_errors.remove(
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    )
    sending.open("/registry/queue/", "没有等待您审批的学籍申请")
    for walker in (sending, receiving, county, other_county):
        assert walker.console_errors == []
        walker.context.close()
