"""Headless Chromium logs in as a county and a school administrator and walks the main pages.

Runs against pytest-django's live server (static files served from the apps) with Debian's
Chromium driven by Playwright; skipped when Chromium is not installed.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from santong.testing.world import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ERROR_MARKS = ("Traceback", "Server Error", "服务暂时不可用", "未找到该页面或记录", "无权访问")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls
    # (fixtures, assertions) are ordinary blocking code and safe here.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()


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
