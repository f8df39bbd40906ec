"""`santong screenshots OUT_DIR`: PNGs of the key pages, as each kind of user sees them.

Serves the current database (the demo's by default) on a free loopback port from a thread and
drives Debian's Chromium through Playwright: the login page, then for a county administrator,
a school administrator, a teacher and a parent their home page and the pages they work with
(the administrators' include the registries: students, work queue, transfers, rollover),
following the first link of each list so no object has to be named in advance. Who logs in
comes from `--login KIND=USERNAME:PASSWORD` or from the credentials file `santong demo` writes.
"""

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# The people photographed, in this order; a teacher is whichever teacher role has a login.
PEOPLE = (
    ("county_admin",),
    ("school_admin",),
    ("head_teacher", "subject_teacher"),
    ("parent",),
)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def live_server() -> Iterator[str]:
    """The site on 127.0.0.1 at a free port, static files served from the app directories."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.daemon_threads = True
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def has_chinese_font() -> bool:
    """Without a CJK font (Debian: fonts-noto-cjk) Chinese text renders as empty boxes."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return True
    found = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def chromium_path() -> str:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        raise CommandError("Chromium not found: apt-get install -y chromium")
    return found


class Shooter:
    """One logged-in browser context writing numbered PNGs into `out`."""

    def __init__(self, browser: Any, base: str, out: Path, label: str) -> None:
        self.context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        self.page = self.context.new_page()
        self.base = base
        self.out = out
        self.label = label
        self.written: list[Path] = []
        self.problems: list[str] = []

    def visit(self, path: str) -> bool:
        response = self.page.goto(self.base + path if path.startswith("/") else path)
        self.page.wait_for_load_state("networkidle")
        status = response.status if response is not None else 0
        if status >= 400:
            self.problems.append(f"{self.label}: {path} answered {status}")
            return False
        return True

    def shot(self, name: str) -> None:
        target = self.out / (f"{name}-{self.label}.png" if self.label else f"{name}.png")
        self.page.screenshot(path=str(target), full_page=True)
        self.written.append(target)

    def first_link(self, selector: str) -> str | None:
        link = self.page.locator(selector).first
        if link.count() == 0:
            return None
        href: str | None = link.get_attribute("href")
        return href

    def last_link(self, selector: str) -> str | None:
        links = self.page.locator(selector)
        if links.count() == 0:
            return None
        href: str | None = links.last.get_attribute("href")
        return href

    def login(self, username: str, password: str) -> bool:
        self.visit("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("main form button[type=submit]")
        self.page.wait_for_load_state("networkidle")
        if "/accounts/login/" in self.page.url:
            self.problems.append(f"{self.label}: login as {username} failed")
            return False
        return True

    def close(self) -> None:
        self.context.close()


def walk_admin(shooter: Shooter, *, county: bool) -> None:
    shooter.shot("home")
    if shooter.visit("/orgs/tree/"):
        shooter.shot("region-tree")
        child = shooter.first_link("main table a[href^='/orgs/tree/']")
        if child and shooter.visit(child):
            shooter.shot("region-tree-child")
    if shooter.visit("/orgs/schools/"):
        shooter.shot("school-list")
    school = shooter.first_link("main table a[href^='/orgs/schools/']")
    if school and shooter.visit(school):
        shooter.shot("school-detail")
    if not county and shooter.visit("/orgs/classes/"):
        shooter.shot("class-list")
    school_class = shooter.first_link("main table a[href^='/orgs/classes/']")
    if school_class and shooter.visit(school_class):
        shooter.shot("class-detail")
        person = shooter.first_link("main table a[href^='/accounts/people/']")
        if person and shooter.visit(person):
            shooter.shot("person-detail")
    if shooter.visit("/accounts/people/"):
        shooter.shot("people")
    if shooter.visit("/accounts/users/"):
        shooter.shot("accounts")
        account = shooter.last_link("main table a[href^='/accounts/users/']")
        if county and account and shooter.visit(account):
            shooter.shot("account-detail")
    if shooter.visit("/audit/"):
        shooter.shot("audit-log")
    walk_registry(shooter)
    if county:
        if shooter.visit("/orgs/schools/new/"):
            shooter.shot("school-form")
        shooter.page.set_viewport_size(PHONE)
        if shooter.visit("/"):
            shooter.shot("home-phone")
        if shooter.visit("/orgs/schools/"):
            shooter.shot("school-list-phone")
        shooter.page.set_viewport_size(DESKTOP)
        if shooter.visit("/"):
            shooter.page.click("#st-language")
            shooter.page.click("button[value=en]")
            shooter.page.wait_for_load_state("networkidle")
            shooter.shot("home-english")
            shooter.page.click("#st-language")
            shooter.page.click("button[value=zh-hans]")
            shooter.page.wait_for_load_state("networkidle")


def walk_registry(shooter: Shooter) -> None:
    """The registries: the student list, the work queue and a request waiting in it (with the
    student's history), a teacher with a move, a school profile and the rollover preview."""
    student: str | None = None
    if shooter.visit("/registry/students/"):
        shooter.shot("student-list")
        student = shooter.first_link("main table a[href^='/registry/students/']")
    if shooter.visit("/registry/queue/"):
        shooter.shot("work-queue")
        flow = shooter.first_link("main table a[href^='/registry/requests/']")
        if flow is None and shooter.visit("/registry/requests/"):
            flow = shooter.first_link("main table a[href^='/registry/requests/']")
        if flow and shooter.visit(flow):
            shooter.shot("transfer-detail")
            # The student of a request waiting at the receiving school is not yet its own.
            if shooter.page.locator("main a[href^='/registry/students/']").count():
                student = shooter.first_link("main a[href^='/registry/students/']")
    if student and shooter.visit(student):
        shooter.shot("student-detail")
    teacher: str | None = None
    if shooter.visit("/registry/teachers/"):
        teacher = shooter.first_link("main table a[href^='/registry/teachers/']")
    if shooter.visit("/registry/teacher-transfers/"):
        move = shooter.first_link("main table a[href^='/registry/teacher-transfers/']")
        if move and shooter.visit(move):
            teacher = shooter.first_link("main a[href^='/registry/teachers/']") or teacher
    if teacher and shooter.visit(teacher):
        shooter.shot("teacher-detail")
    if shooter.visit("/registry/schools/"):
        school = shooter.first_link("main table a[href^='/registry/schools/']")
        if school and shooter.visit(school):
            shooter.shot("school-profile")
    if shooter.visit("/registry/rollover/"):
        shooter.page.click("main button[name=preview]")
        shooter.page.wait_for_load_state("networkidle")
        shooter.shot("rollover-preview")


SAMPLE_IMPORT = (
    "姓名,性别,身份证件号,民族,年级,班级\n"
    "王小明,男,510104201603011234,汉族,三年级,1班\n"
    "李小红,女,5101042016-03-01,汉族,三年级,1班\n"
    "赵小刚,男,,汉族,三年级,9班\n"
).encode()


def walk_imports(shooter: Shooter) -> None:
    """Imports: the job list, the upload form, and the result of a dry run of a small file
    with bad rows (a dry run writes nothing but its job)."""
    if shooter.visit("/imports/"):
        shooter.shot("imports")
    if shooter.visit("/imports/students/upload/"):
        shooter.shot("import-upload")
        shooter.page.set_input_files(
            "#id_file",
            files=[{"name": "名单.csv", "mimeType": "text/csv", "buffer": SAMPLE_IMPORT}],
        )
        shooter.page.check("#id_dry_run")
        shooter.page.click("main form button[type=submit]")
        shooter.page.wait_for_url("**/imports/jobs/*/", timeout=60_000)
        shooter.page.wait_for_selector("#st-rejected, .alert-danger", timeout=60_000)
        shooter.shot("import-result")


def walk_class_role(shooter: Shooter) -> None:
    shooter.shot("home")
    school_class = shooter.first_link("main a[href^='/orgs/classes/']")
    if school_class and shooter.visit(school_class):
        shooter.shot("class-detail")


def read_credentials(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CommandError(f"{path} must hold a JSON object of role kind -> login")
    return data


class Command(BaseCommand):
    help = "Writes PNG screenshots of the key pages, logged in as each kind of user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "out_dir",
            type=Path,
            help="where the PNGs go, named PAGE-ROLE.png (e.g. home-county-admin.png)",
        )
        parser.add_argument(
            "--login",
            action="append",
            default=[],
            metavar="KIND=USERNAME:PASSWORD",
            help="who logs in for a role kind (county_admin, school_admin, head_teacher, "
            "subject_teacher, parent); repeatable. Defaults come from --credentials.",
        )
        parser.add_argument(
            "--credentials",
            type=Path,
            default=settings.VAR_DIR / "demo-credentials.json",
            help="JSON object: role kind -> {username, password} (written by `santong demo`).",
        )

    def logins(self, options: dict[str, Any]) -> dict[str, dict[str, str]]:
        logins = read_credentials(options["credentials"])
        for item in options["login"]:
            kind, _, rest = item.partition("=")
            username, _, password = rest.partition(":")
            if not (kind and username and password):
                raise CommandError(f"--login {item!r}: expected KIND=USERNAME:PASSWORD")
            logins[kind] = {"username": username, "password": password}
        return logins

    def handle(self, *args: Any, **options: Any) -> None:
        from playwright.sync_api import sync_playwright

        logins = self.logins(options)
        if not has_chinese_font():
            self.stderr.write("no Chinese font found: apt-get install -y fonts-noto-cjk")
        out: Path = options["out_dir"]
        out.mkdir(parents=True, exist_ok=True)
        problems: list[str] = []
        written: list[Path] = []
        with live_server() as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS
            )
            try:
                anonymous = Shooter(browser, base, out, "")
                anonymous.visit("/accounts/login/")
                anonymous.shot("login")
                written += anonymous.written
                anonymous.close()
                for kinds in PEOPLE:
                    kind = next((k for k in kinds if k in logins), None)
                    if kind is None:
                        problems.append(f"no login given for {' / '.join(kinds)}")
                        continue
                    shooter = Shooter(browser, base, out, kind.replace("_", "-"))
                    if shooter.login(logins[kind]["username"], logins[kind]["password"]):
                        if kind.endswith("_admin"):
                            walk_admin(shooter, county=kind == "county_admin")
                            if kind == "school_admin":
                                walk_imports(shooter)
                        else:
                            walk_class_role(shooter)
                    written += shooter.written
                    problems += shooter.problems
                    shooter.close()
            finally:
                browser.close()
        for path in written:
            self.stdout.write(str(path))
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) while taking screenshots")
