"""The scope matrix: every API route × every HTTP method × every role, inside and outside.

DESIGN.md's rule — a role sees and changes only what lies in its unit's subtree — is checked
here for the whole API at once:

* `api_routes()` walks Django's URL resolver and lists every (route, method) under `/api/v1/`,
  reading a viewset's methods from its `actions` and a plain view's from its handlers.
* `MATRIX` says how each (route, method) is tested. `test_every_api_route_is_in_the_matrix`
  fails when a route has no row (a new endpoint nobody thought about) or a row has no route.
* `test_scope_cell` runs every row for each of the 8 roles of `santong.testing.world`, against
  the role's own place and every place outside it (`conftest.OUTSIDE_PLACES`, nearest first):
  - reads: the inside object answers 200 to a role allowed to read its kind and 404 to others;
    outside objects answer 404 and are absent from lists;
  - writes: outside targets answer 404 (400 naming the field, for a create whose parent is
    outside) and change no row; inside, the roles allowed succeed, write an audit row inside
    their own scope, and every other role gets 403 with no row changed;
  - the few unscoped routes (code tables, the signed-in account, token login) say why, and
    are still run for every role.

HEAD and OPTIONS are not rows: HEAD runs the GET handler, and OPTIONS only describes an
endpoint (`test_options_describes_without_revealing_objects` checks it shows no object).
"""

import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from api_scope_world import (
    ADMINS,
    CLASS_ROLES,
    REGIONAL_ADMINS,
    REPORT_BYTES,
    Place,
    ScopeWorld,
    build_imports,
    build_registry,
    database_state,
    fresh_adult_id_number,
    fresh_id_number,
    result_keys,
)
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path
from django.urls.resolvers import RegexPattern
from rest_framework.authtoken.models import Token
from rest_framework.routers import SimpleRouter
from rest_framework.test import APIClient

from santong.accounts import services as account_services
from santong.accounts.identity import get_vault
from santong.accounts.middleware import SESSION_KEY
from santong.accounts.models import Role, User
from santong.audit.models import AuditEvent
from santong.core.actors import SYSTEM
from santong.core.permissions import ScopedViewSetMixin
from santong.core.scope import contains
from santong.imports.models import ImportJob
from santong.orgs.models import Grade, School, SchoolClass, SchoolYear, Stage, Subject
from santong.registry import services as registry_services
from santong.registry.models import (
    CodeTable,
    SchoolChange,
    SchoolProfile,
    StudentEvent,
    StudentNumberAlias,
    StudentRecord,
    StudentRequest,
    TeacherEvent,
    TeacherRecord,
    TeacherTransfer,
    TitleHistory,
)
from santong.testing.world import PASSWORD, ROLE_KEYS

API_PREFIX = "api/v1/"
EVERY_ROLE = frozenset(ROLE_KEYS)
NOT_FOUND = "对象不存在。"
# HEAD runs the GET handler; OPTIONS describes an endpoint without reading any object.
UNLISTED_METHODS = ("head", "options")

Client = Callable[[str], APIClient]

# --------------------------------------------------------------------------- route discovery

_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _route_text(pattern: Any) -> str:
    text = str(pattern).removeprefix("^").removesuffix("$").removesuffix("\\Z")
    return _CONVERTER.sub(r"{\1}", _NAMED_GROUP.sub(r"{\1}", text))


def _methods(callback: Any) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        methods = list(actions)
    else:
        view_class = getattr(callback, "cls", None) or callback.view_class
        methods = [name for name in view_class.http_method_names if hasattr(view_class, name)]
    return [name.upper() for name in methods if name not in UNLISTED_METHODS]


def api_routes(resolver: URLResolver | None = None) -> list[tuple[str, str]]:
    """Every (route, HTTP method) the URL conf serves under /api/v1/, e.g.
    ("api/v1/schools/{pk}/", "PATCH")."""
    found: set[tuple[str, str]] = set()

    def walk(patterns: Iterable[URLPattern | URLResolver], prefix: str) -> None:
        for entry in patterns:
            route = prefix + _route_text(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif route.startswith(API_PREFIX):
                found.update((route, method) for method in _methods(entry.callback))

    walk((resolver or get_resolver()).url_patterns, "")
    return sorted(found)


def coverage_gaps(
    routes: Iterable[tuple[str, str]], matrix: dict[tuple[str, str], Any]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(routes with no matrix row, matrix rows with no route)."""
    served = set(routes)
    return sorted(served - set(matrix)), sorted(set(matrix) - served)


def _view_class(route: str, method: str, resolver: URLResolver | None = None) -> type:
    sample = re.sub(r"\{\w+\}", "1", route)
    match = (resolver or get_resolver()).resolve("/" + sample)
    callback: Any = match.func
    view_class: type = getattr(callback, "cls", None) or callback.view_class
    return view_class


# --------------------------------------------------------------------------- what is tested


def url(route: str, key: object = None) -> str:
    return "/" + re.sub(r"\{\w+\}", str(key), route)


def call(client: APIClient, method: str, target: str, body: dict[str, Any] | None = None) -> Any:
    return getattr(client, method.lower())(target, body, format="json")


def new_audit_rows(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("id")[before:])


@dataclass(frozen=True)
class Resource:
    """A kind of object: who may read it, and which one stands for a place."""

    readers: frozenset[str]
    pick: Callable[[Place], Any]
    key_field: str = "id"
    # The object a role reads as "inside", when its place's object is not readable to it.
    own: Callable[[ScopeWorld, str], Any] | None = None

    def inside(self, sw: ScopeWorld, key: str) -> Any:
        own = self.own(sw, key) if self.own is not None else None
        return own if own is not None else self.pick(sw.home)

    def outside(self, sw: ScopeWorld, key: str) -> list[Any]:
        return [self.pick(place) for place in sw.outside(key)]


def _parent_own_role(sw: ScopeWorld, key: str) -> Role | None:
    # A parent reads only its own roles, not its child's.
    return sw.world.roles["parent"] if key == "parent" else None


RESOURCES = {
    "regions": Resource(REGIONAL_ADMINS, lambda place: place.county, key_field="code"),
    "schools": Resource(ADMINS, lambda place: place.school),
    "classes": Resource(EVERY_ROLE, lambda place: place.school_class),
    "people": Resource(EVERY_ROLE, lambda place: place.person),
    "accounts": Resource(ADMINS, lambda place: place.student),
    "roles": Resource(EVERY_ROLE, lambda place: place.student_role, own=_parent_own_role),
    "audit-events": Resource(ADMINS, lambda place: place.class_created_event),
    "school-profiles": Resource(ADMINS, lambda place: place.school),
    "students": Resource(EVERY_ROLE, lambda place: place.records.student),
    "teachers": Resource(
        ADMINS | {"head_teacher", "subject_teacher"},
        lambda place: place.records.teacher,
        own=lambda sw, key: _own_teacher(sw, key),
    ),
    "teacher-transfers": Resource(ADMINS, lambda place: place.records.teacher_transfer),
    "student-requests": Resource(ADMINS, lambda place: place.records.student_request),
    "import-jobs": Resource(ADMINS, lambda place: place.records.import_job),
}


class Case:
    scoped = True

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class ListRead(Case):
    resource: str

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        resource = RESOURCES[self.resource]
        before = database_state()
        response = api(key).get(url(route), {"page_size": 500})
        assert response.status_code == 200, response.data
        listed = result_keys(response, resource.key_field)
        inside = str(resource.inside(sw, key).pk)
        assert (inside in listed) == (key in resource.readers), (inside, listed)
        for obj in resource.outside(sw, key):
            assert str(obj.pk) not in listed, f"{obj} is outside {key}'s scope but listed"
        assert database_state() == before


@dataclass(frozen=True)
class DetailRead(Case):
    resource: str

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        resource = RESOURCES[self.resource]
        client = api(key)
        before = database_state()
        inside = resource.inside(sw, key)
        response = client.get(url(route, inside.pk))
        if key in resource.readers:
            assert response.status_code == 200, response.data
            assert str(response.data[resource.key_field]) == str(inside.pk)
        else:
            assert response.status_code == 404, response.data
        for obj in resource.outside(sw, key):
            response = client.get(url(route, obj.pk))
            assert response.status_code == 404, (obj, response.data)
        assert database_state() == before


Verify = Callable[[ScopeWorld, Any, Any], None]


def _assert_audited_inside(key: str, sw: ScopeWorld, audit_before: int) -> None:
    rows = new_audit_rows(audit_before)
    assert rows, "a successful write must be audited"
    role_path = sw.world.roles[key].path
    for row in rows:
        assert contains(role_path, row.path), f"audit row at {row.path!r} is outside {key}"


@dataclass(frozen=True)
class Create(Case):
    """A POST creating an object under a parent; outside parents are invisible, so 400."""

    writers: frozenset[str]
    body: Callable[[ScopeWorld, Place, str], dict[str, Any]]
    parent_field: str
    verify: Verify

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        client = api(key)
        allowed = key in self.writers
        for place in sw.outside(key):
            before = database_state()
            response = call(client, method, url(route), self.body(sw, place, key))
            if allowed:
                assert response.status_code == 400, (place.name, response.data)
                assert response.data == {self.parent_field: [NOT_FOUND]}, response.data
            else:
                assert response.status_code == 403, (place.name, response.data)
            assert database_state() == before, f"a refused create changed rows ({place.name})"
        before = database_state()
        audit_before = AuditEvent.objects.count()
        response = call(client, method, url(route), self.body(sw, sw.home, key))
        if allowed:
            assert response.status_code == 201, response.data
            self.verify(sw, key, response)
            _assert_audited_inside(key, sw, audit_before)
        else:
            assert response.status_code == 403, response.data
            assert database_state() == before


@dataclass(frozen=True)
class Change(Case):
    """A write to one object (PATCH, DELETE or a POST action on it)."""

    resource: str
    writers: frozenset[str]
    success: int
    verify: Verify
    body: dict[str, Any] | None = None
    prepare: Callable[[Any], None] | None = None

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        resource = RESOURCES[self.resource]
        client = api(key)
        allowed = key in self.writers
        for obj in resource.outside(sw, key):
            if self.prepare is not None:
                self.prepare(obj)
            before = database_state()
            response = call(client, method, url(route, obj.pk), self.body)
            assert response.status_code == (404 if allowed else 403), (obj, response.data)
            assert database_state() == before, f"a refused write changed rows ({obj})"
        target = resource.inside(sw, key)
        if self.prepare is not None:
            self.prepare(target)
        before = database_state()
        audit_before = AuditEvent.objects.count()
        response = call(client, method, url(route, target.pk), self.body)
        if allowed:
            assert response.status_code == self.success, response.data
            self.verify(sw, target, response)
            _assert_audited_inside(key, sw, audit_before)
        else:
            assert response.status_code == 403, response.data
            assert database_state() == before


@dataclass(frozen=True)
class Unscoped(Case):
    """A route served by a view that does not read through a scoped selector, with the reason
    and a check run for every role all the same."""

    reason: str
    check: Callable[[ScopeWorld, str, Client, str], None]
    changes_rows: bool = False
    scoped = False

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        assert self.reason
        before = database_state()
        self.check(sw, key, api, route)
        if not self.changes_rows:
            assert database_state() == before


# --------------------------------------------------------------------------- the rows' details


def school_body(sw: ScopeWorld, place: Place, key: str) -> dict[str, Any]:
    return {
        "code": f"1{place.county.code}099",
        "name": "新建实验学校",
        "kind": School.Kind.PRIMARY,
        "operator": School.Operator.PUBLIC,
        "locale": School.Locale.URBAN,
        "county": place.county.code,
    }


def verify_school_created(sw: ScopeWorld, key: str, response: Any) -> None:
    school = School.objects.get(pk=response.data["id"])
    assert school.county == sw.home.county
    assert school.name == "新建实验学校"


def class_body(sw: ScopeWorld, place: Place, key: str) -> dict[str, Any]:
    return {"school": place.school.pk, "school_year": sw.world.year.pk, "grade": "13", "number": 9}


def verify_class_created(sw: ScopeWorld, key: str, response: Any) -> None:
    school_class = SchoolClass.objects.get(pk=response.data["id"])
    assert school_class.school == sw.home.school
    assert school_class.name == "三年级（9）班"


def account_body(sw: ScopeWorld, place: Place, key: str) -> dict[str, Any]:
    return {
        "name": "新同学",
        "id_type": "1",
        "id_number": fresh_id_number(male=False),
        "username": f"new_student_of_{key}",
        "kind": Role.Kind.STUDENT,
        "school_class": place.school_class.pk,
    }


def verify_account_created(sw: ScopeWorld, key: str, response: Any) -> None:
    user = User.objects.get(pk=response.data["id"])
    assert user.username == f"new_student_of_{key}"
    assert user.person is not None
    assert user.person.name == "新同学"
    assert [r.school_class for r in user.roles.all()] == [sw.home.school_class]


def grant_body(sw: ScopeWorld, place: Place, key: str) -> dict[str, Any]:
    return {
        "user": sw.world.users["subject_teacher"].pk,
        "kind": Role.Kind.SUBJECT_TEACHER,
        "school_class": place.school_class.pk,
        "subject": "01",
    }


def verify_role_granted(sw: ScopeWorld, key: str, response: Any) -> None:
    role = Role.objects.get(pk=response.data["id"])
    assert role.user == sw.world.users["subject_teacher"]
    assert role.school_class == sw.home.school_class
    assert role.subject_id == "01"


def verify_renamed(model: type[School] | type[SchoolClass], name: str) -> Verify:
    def verify(sw: ScopeWorld, target: Any, response: Any) -> None:
        assert response.data["name"] == name
        assert model.objects.get(pk=target.pk).name == name

    return verify


def verify_revealed(sw: ScopeWorld, person: Any, response: Any) -> None:
    assert response.data["id_number"] == get_vault().decrypt(bytes(person.id_cipher))
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.REVEAL, object_type="person", object_id=str(person.pk)
    ).exists()


def verify_active(active: bool) -> Verify:
    def verify(sw: ScopeWorld, user: Any, response: Any) -> None:
        assert response.data["is_active"] is active
        assert User.objects.get(pk=user.pk).is_active is active

    return verify


def deactivate(user: Any) -> None:
    account_services.set_account_active(actor=SYSTEM, user=user, active=False)


def verify_password_reset(sw: ScopeWorld, user: Any, response: Any) -> None:
    assert User.objects.get(pk=user.pk).check_password(response.data["password"])


def verify_revoked(sw: ScopeWorld, role: Any, response: Any) -> None:
    assert not Role.objects.filter(pk=role.pk).exists()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.REVOKE, object_id=str(role.pk)
    ).exists()


def reference_list(model: Any, key_field: str) -> Callable[[ScopeWorld, str, Client, str], None]:
    def check(sw: ScopeWorld, key: str, api: Client, route: str) -> None:
        response = api(key).get(url(route), {"page_size": 500})
        assert response.status_code == 200, response.data
        every = {str(pk) for pk in model.objects.values_list("pk", flat=True)}
        assert every
        assert result_keys(response, key_field) == every

    return check


def reference_detail(model: Any, key_field: str) -> Callable[[ScopeWorld, str, Client, str], None]:
    def check(sw: ScopeWorld, key: str, api: Client, route: str) -> None:
        client = api(key)
        row = model.objects.order_by("pk").last()
        response = client.get(url(route, row.pk))
        assert response.status_code == 200, response.data
        assert str(response.data[key_field]) == str(row.pk)
        assert client.get(url(route, "9999")).status_code == 404

    return check


def check_me(sw: ScopeWorld, key: str, api: Client, route: str) -> None:
    response = api(key).get(url(route))
    assert response.status_code == 200, response.data
    assert response.data["username"] == sw.world.users[key].username
    assert response.data["active_role"]["id"] == sw.world.roles[key].pk
    assert [role["id"] for role in response.data["roles"]] == [sw.world.roles[key].pk]


def check_switch_role(sw: ScopeWorld, key: str, api: Client, route: str) -> None:
    client = api(key)
    own = sw.world.roles[key]
    others = [sw.home.student_role, *(place.student_role for place in sw.outside(key))]
    for role in others:
        if role.user_id == own.user_id:
            continue
        before = database_state()
        response = client.post(url(route), {"role": role.pk}, format="json")
        assert response.status_code == 400, (role, response.data)
        assert response.data == {"role": [NOT_FOUND]}
        assert database_state() == before
        assert SESSION_KEY not in client.session
    audit_before = AuditEvent.objects.count()
    response = client.post(url(route), {"role": own.pk}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["active_role"]["id"] == own.pk
    assert client.session[SESSION_KEY] == own.pk
    [row] = new_audit_rows(audit_before)
    assert row.action == AuditEvent.Action.SWITCH_ROLE
    assert row.path == own.path


def check_token(sw: ScopeWorld, key: str, api: Client, route: str) -> None:
    user = sw.world.users[key]
    anonymous = APIClient()
    audit_before = AuditEvent.objects.count()
    response = anonymous.post(
        url(route), {"username": user.username, "password": "not-the-password"}, format="json"
    )
    assert response.status_code == 400, response.data
    assert not Token.objects.filter(user=user).exists()
    [failure] = new_audit_rows(audit_before)
    assert failure.action == AuditEvent.Action.LOGIN_FAILED
    assert failure.actor_id == user.pk

    response = anonymous.post(
        url(route), {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["token"] == Token.objects.get(user=user).key
    signed_in = APIClient()
    signed_in.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    me = signed_in.get(url("api/v1/me/"))
    assert me.status_code == 200
    assert me.data["username"] == user.username


# --------------------------------------------------------------------------- the registries


@dataclass(frozen=True)
class WithRegistry(Case):
    """A row on the registries: their objects exist before the row takes any snapshot."""

    inner: Case

    @property
    def scoped(self) -> bool:  # type: ignore[override]
        return self.inner.scoped

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        build_registry(sw)
        self.inner.run(sw, key, api, route, method)


def registry(case: Case) -> WithRegistry:
    return WithRegistry(case)


@dataclass(frozen=True)
class HistoryRead(Case):
    """The history rows of one object: its readers get them, everyone else gets 404."""

    resource: str

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        resource = RESOURCES[self.resource]
        client = api(key)
        before = database_state()
        inside = resource.inside(sw, key)
        response = client.get(url(route, inside.pk))
        if key in resource.readers:
            assert response.status_code == 200, response.data
            assert response.data["results"], f"{inside} has no history"
        else:
            assert response.status_code == 404, response.data
        for obj in resource.outside(sw, key):
            response = client.get(url(route, obj.pk))
            assert response.status_code == 404, (obj, response.data)
        assert database_state() == before


Body = dict[str, Any] | Callable[[ScopeWorld], dict[str, Any]] | None


def _body(body: Body, sw: ScopeWorld) -> dict[str, Any] | None:
    return body(sw) if callable(body) else body


@dataclass(frozen=True)
class Act(Case):
    """A write to one object whose outcome depends on the role kind and on the object's state
    (a workflow step): roles in `kinds` may run the action, so an outside target answers 404
    to them; of those, `writers` succeed on the inside target and the others get 403 from the
    service; every other role gets 403 before any lookup. Refusals change no row."""

    kinds: frozenset[str]
    writers: frozenset[str]
    inside: Callable[[ScopeWorld, str], Any]
    outside: Callable[[Place], Any]
    success: int
    verify: Verify
    body: Body = None
    prepare: Callable[[Any], None] | None = None

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        assert self.writers <= self.kinds
        client = api(key)
        body = _body(self.body, sw)
        for place in sw.outside(key):
            obj = self.outside(place)
            before = database_state()
            response = call(client, method, url(route, obj.pk), body)
            assert response.status_code == (404 if key in self.kinds else 403), (
                obj,
                response.data,
            )
            assert database_state() == before, f"a refused write changed rows ({obj})"
        target = self.inside(sw, key)
        if self.prepare is not None:
            self.prepare(target)
        before = database_state()
        audit_before = AuditEvent.objects.count()
        response = call(client, method, url(route, target.pk), body)
        if key in self.writers:
            assert response.status_code == self.success, response.data
            self.verify(sw, target, response)
            _assert_audited_inside(key, sw, audit_before)
        else:
            assert response.status_code == 403, response.data
            assert database_state() == before


UnitVerify = Callable[[ScopeWorld, str, Any], None]


@dataclass(frozen=True)
class UnitAct(Case):
    """A set-based operation over a unit named in the request (a school): outside units do
    not exist for the role (400 naming the field; a GET, which names it in its query, answers
    404), `writers` succeed inside, roles in `kinds` but not in `writers` are refused by the
    service (403), the others before anything runs. A GET (a preview) changes no row even
    when it succeeds."""

    kinds: frozenset[str]
    writers: frozenset[str]
    unit_field: str
    success: int
    verify: UnitVerify

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        client = api(key)
        writes = method != "GET"
        for place in sw.outside(key):
            before = database_state()
            response = call(client, method, url(route), {self.unit_field: place.school.pk})
            if key in self.kinds and not writes:
                assert response.status_code == 404, (place.name, response.data)
                assert response.data == {"detail": NOT_FOUND}, response.data
            elif key in self.kinds:
                assert response.status_code == 400, (place.name, response.data)
                assert response.data == {self.unit_field: [NOT_FOUND]}, response.data
            else:
                assert response.status_code == 403, (place.name, response.data)
            assert database_state() == before, f"a refused call changed rows ({place.name})"
        before = database_state()
        audit_before = AuditEvent.objects.count()
        response = call(client, method, url(route), {self.unit_field: sw.home.school.pk})
        if key in self.writers:
            assert response.status_code == self.success, response.data
            self.verify(sw, key, response)
            if writes:
                _assert_audited_inside(key, sw, audit_before)
            else:
                assert database_state() == before
        else:
            assert response.status_code == 403, response.data
            assert database_state() == before


def expected_queue(sw: ScopeWorld, key: str) -> dict[str, int]:
    """What waits for each role in `build_registry`'s world: the home school accepts one
    transfer of each kind and the home county approves one; the bureaus confirm the graduating
    students inside them (one at home, one in the far county)."""
    counts = dict.fromkeys(StudentRequest.Kind.values, 0) | {"teacher_transfer": 0}
    if key in ("school_admin", "county_admin"):
        counts |= {StudentRequest.Kind.TRANSFER: 1, "teacher_transfer": 1}
    if key in REGIONAL_ADMINS:
        counts["graduating"] = 2 if key == "province_admin" else 1
    return counts


@dataclass(frozen=True)
class QueueRead(Case):
    """Each role's work queue counts what waits for its own decision inside its own unit."""

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        before = database_state()
        response = api(key).get(url(route))
        assert response.status_code == 200, response.data
        counts = {item["key"]: item["count"] for item in response.data}
        assert counts == expected_queue(sw, key), counts
        assert database_state() == before


TEACHING_ROLES = frozenset({"head_teacher", "subject_teacher"})
ACCEPTING = frozenset({"school_admin"})
APPROVING = frozenset({"county_admin", "city_admin"})
DECIDING = ACCEPTING | APPROVING


def _own_teacher(sw: ScopeWorld, key: str) -> TeacherRecord | None:
    return sw.registry.own_teachers.get(key) if sw.registry is not None else None


def verify_profile_updated(sw: ScopeWorld, school: Any, response: Any) -> None:
    assert response.data["principal"] == "张红"
    assert SchoolProfile.objects.get(pk=school.pk).principal == "张红"
    change = SchoolChange.objects.filter(school=school, field="principal").first()
    assert change is not None
    assert (change.old_value, change.new_value, change.reason) == ("林建华", "张红", "校长换届")


def verify_merged(sw: ScopeWorld, school: Any, response: Any) -> None:
    assert response.data["status"] == SchoolProfile.Status.MERGED
    assert response.data["merged_into"] == sw.home.school.pk
    moved = StudentRecord.objects.get(pk=build_registry(sw).student_to_accept.record_id)
    assert moved.school == sw.home.school


def verify_closed(sw: ScopeWorld, school: Any, response: Any) -> None:
    assert response.data["status"] == SchoolProfile.Status.CLOSED
    assert SchoolProfile.objects.get(pk=school.pk).status == SchoolProfile.Status.CLOSED


def teacher_body(sw: ScopeWorld, place: Place, key: str) -> dict[str, Any]:
    return {
        "school": place.school.pk,
        "name": "秦老师",
        "id_type": "1",
        "id_number": fresh_adult_id_number(male=False),
        "ethnicity": "01",
        "education": "21",
        "title": "3",
        "position": "07",
        "subjects": ["01", "02"],
        "hired_on": "2012-09-01",
        "employment": "1",
    }


def verify_teacher_registered(sw: ScopeWorld, key: str, response: Any) -> None:
    teacher = TeacherRecord.objects.get(pk=response.data["id"])
    assert teacher.school == sw.home.school
    assert teacher.person.name == "秦老师"
    assert response.data["subjects"] == ["01", "02"]
    assert teacher.events.filter(kind=TeacherEvent.Kind.REGISTERED).exists()


def verify_title_changed(sw: ScopeWorld, teacher: Any, response: Any) -> None:
    assert response.data["title"] == "2"
    titles = TitleHistory.objects.filter(teacher=teacher)
    assert {(t.title, str(t.since)) for t in titles if t.title == "2"} == {("2", "2024-09-01")}
    assert titles.count() == 2


def verify_teacher_status(status: str) -> Verify:
    def verify(sw: ScopeWorld, teacher: Any, response: Any) -> None:
        assert response.data["status"] == status
        assert TeacherRecord.objects.get(pk=teacher.pk).status == status

    return verify


def start_leave(teacher: Any) -> None:
    registry_services.start_teacher_leave(actor=SYSTEM, teacher=teacher, reason="进修学习")


def teacher_transfer_body(sw: ScopeWorld, place: Place, key: str) -> dict[str, Any]:
    assert place.records.teacher is not None
    return {
        "teacher": place.records.teacher.pk,
        "to_school": build_registry(sw).twin.pk,
        "reason": "交流轮岗",
    }


def verify_teacher_transfer_opened(sw: ScopeWorld, key: str, response: Any) -> None:
    transfer = TeacherTransfer.objects.get(pk=response.data["id"])
    assert transfer.teacher == sw.home.records.teacher
    assert transfer.status == TeacherTransfer.Status.PENDING
    assert response.data["waiting"]["path"] == build_registry(sw).twin.path


def student_request_body(sw: ScopeWorld, place: Place, key: str) -> dict[str, Any]:
    assert place.records.student is not None
    return {"kind": "suspend", "record": place.records.student.pk, "reason": "因病休学"}


def verify_student_request_opened(sw: ScopeWorld, key: str, response: Any) -> None:
    request = StudentRequest.objects.get(pk=response.data["id"])
    assert request.record == sw.home.records.student
    assert request.kind == StudentRequest.Kind.SUSPEND
    assert response.data["waiting"] == {"level": "county", "path": "510104", "name": "锦江区"}
    assert StudentRecord.objects.get(pk=request.record_id).status == StudentRecord.Status.ENROLLED


def verify_accepted(sw: ScopeWorld, flow: Any, response: Any) -> None:
    assert response.data["status"] == "pending"
    assert response.data["waiting"]["path"] == "510104"
    assert type(flow).objects.get(pk=flow.pk).step == 1


def verify_teacher_moved(sw: ScopeWorld, transfer: Any, response: Any) -> None:
    assert response.data["status"] == "approved"
    assert TeacherRecord.objects.get(pk=transfer.teacher_id).school == build_registry(sw).twin


def verify_student_moved(sw: ScopeWorld, request: Any, response: Any) -> None:
    assert response.data["status"] == "approved"
    record = StudentRecord.objects.get(pk=request.record_id)
    assert (record.school, record.school_class) == (
        build_registry(sw).twin,
        build_registry(sw).twin_class,
    )


def verify_rejected(sw: ScopeWorld, flow: Any, response: Any) -> None:
    assert response.data["status"] == "rejected"
    assert response.data["decision_note"] == "学位已满"


def verify_withdrawn(sw: ScopeWorld, flow: Any, response: Any) -> None:
    assert response.data["status"] == "withdrawn"
    assert type(flow).objects.get(pk=flow.pk).status == "withdrawn"


def enrol_body(sw: ScopeWorld, place: Place, key: str) -> dict[str, Any]:
    return {
        "school_class": place.school_class.pk,
        "name": "新同学",
        "id_type": "1",
        "id_number": fresh_id_number(male=False),
        "ethnicity": "01",
    }


def verify_enrolled(sw: ScopeWorld, key: str, response: Any) -> None:
    record = StudentRecord.objects.get(pk=response.data["id"])
    assert record.school_class == sw.home.school_class
    assert response.data["number"].startswith("G510104")
    assert "*" in response.data["number"]
    assert record.events.filter(kind=StudentEvent.Kind.ENROLLED).exists()


def verify_student_updated(sw: ScopeWorld, record: Any, response: Any) -> None:
    assert response.data["health"] == "2"
    assert StudentRecord.objects.get(pk=record.pk).health == "2"


def verify_number_revealed(sw: ScopeWorld, record: Any, response: Any) -> None:
    assert response.data["number"] == "G" + get_vault().decrypt(bytes(record.person.id_cipher))
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.REVEAL, object_id=str(record.person_id)
    ).exists()


def verify_id_recorded(sw: ScopeWorld, record: Any, response: Any) -> None:
    assert response.data["number"].startswith("G510104")
    assert StudentNumberAlias.objects.filter(record=record, number=record.number_masked).exists()


def verify_resumed(sw: ScopeWorld, record: Any, response: Any) -> None:
    assert response.data["status"] == StudentRecord.Status.ENROLLED
    assert StudentRecord.objects.get(pk=record.pk).status == StudentRecord.Status.ENROLLED


def verify_graduated(sw: ScopeWorld, key: str, response: Any) -> None:
    assert response.data == {"graduated": 1}
    graduate = StudentRecord.objects.get(pk=build_registry(sw).graduating.pk)
    assert graduate.status == StudentRecord.Status.GRADUATED


def verify_rolled_over(sw: ScopeWorld, key: str, response: Any) -> None:
    assert response.data["dry_run"] is False
    # 王小雨, 马思远, 白晨曦 and 林小溪 (the sibling class) move up; 许若彤 is suspended and
    # 钱一诺 already graduates.
    assert response.data["promoted"] == 4
    record = StudentRecord.objects.select_related("school_class__school_year").get(
        pk=sw.home.records.student.pk  # type: ignore[union-attr]
    )
    assert record.school_class is not None
    assert (record.school_class.grade_id, record.school_class.school_year.start_year) == (
        "14",
        2026,
    )


def verify_previewed(sw: ScopeWorld, key: str, response: Any) -> None:
    assert response.data["dry_run"] is True
    plan = response.data["plan"]
    assert (plan["to_promote"], plan["staying_suspended"], plan["to_mark_graduating"]) == (4, 1, 0)


REJECTION = {"reason": "学位已满"}


REFERENCE_REASON = "a code table: the same rows for every role and every unit"


# --------------------------------------------------------------------------- imports


@dataclass(frozen=True)
class WithImports(Case):
    """A row on import jobs: every place has a finished job with a report, and uploads and
    reports are kept in a scratch media directory."""

    inner: Case

    @property
    def scoped(self) -> bool:  # type: ignore[override]
        return self.inner.scoped

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
            build_imports(sw)
            self.inner.run(sw, key, api, route, method)


def imports(case: Case) -> WithImports:
    return WithImports(case)


STUDENT_CSV = "姓名,性别,身份证件号,民族,年级,班级\n".encode()


def upload_body(place: Place) -> dict[str, Any]:
    return {
        "kind": "students",
        "file": SimpleUploadedFile("名单.csv", STUDENT_CSV),
        "school": place.school.pk,
        "dry_run": "true",
    }


@dataclass(frozen=True)
class Upload(Case):
    """A multipart upload naming the school the rows belong to: an outside school does not
    exist for the role (400 naming the field); inside, administrators start a job."""

    writers: frozenset[str]

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        client = api(key)
        allowed = key in self.writers
        for place in sw.outside(key):
            before = database_state()
            response = client.post(url(route), upload_body(place), format="multipart")
            if allowed:
                assert response.status_code == 400, (place.name, response.data)
                assert response.data == {"school": [NOT_FOUND]}, response.data
            else:
                assert response.status_code == 403, (place.name, response.data)
            assert database_state() == before, f"a refused upload changed rows ({place.name})"
        before = database_state()
        audit_before = AuditEvent.objects.count()
        response = client.post(url(route), upload_body(sw.home), format="multipart")
        if allowed:
            assert response.status_code == 201, response.data
            job = ImportJob.objects.get(pk=response.data["id"])
            assert job.options["school"] == sw.home.school.code
            assert job.path == sw.world.roles[key].path
            assert job.created_by == sw.world.users[key]
            _assert_audited_inside(key, sw, audit_before)
        else:
            assert response.status_code == 403, response.data
            assert database_state() == before


@dataclass(frozen=True)
class ReportRead(Case):
    """A job's report: its readers download it (an audited export), everyone else gets 404."""

    def run(self, sw: ScopeWorld, key: str, api: Client, route: str, method: str) -> None:
        resource = RESOURCES["import-jobs"]
        client = api(key)
        for obj in resource.outside(sw, key):
            before = database_state()
            response = client.get(url(route, obj.pk))
            assert response.status_code == 404, (obj, response)
            assert database_state() == before
        inside = resource.inside(sw, key)
        before = database_state()
        audit_before = AuditEvent.objects.count()
        response = client.get(url(route, inside.pk))
        if key in resource.readers:
            assert response.status_code == 200, response
            assert b"".join(response.streaming_content) == REPORT_BYTES
            _assert_audited_inside(key, sw, audit_before)
        else:
            assert response.status_code == 404, response
            assert database_state() == before


MATRIX: dict[tuple[str, str], Case] = {
    ("api/v1/regions/", "GET"): ListRead("regions"),
    ("api/v1/regions/{code}/", "GET"): DetailRead("regions"),
    ("api/v1/schools/", "GET"): ListRead("schools"),
    ("api/v1/schools/", "POST"): Create(
        REGIONAL_ADMINS, school_body, "county", verify_school_created
    ),
    ("api/v1/schools/{pk}/", "GET"): DetailRead("schools"),
    ("api/v1/schools/{pk}/", "PATCH"): Change(
        "schools",
        ADMINS,
        200,
        verify_renamed(School, "锦江区实验小学（东校区）"),
        body={"name": "锦江区实验小学（东校区）"},
    ),
    ("api/v1/classes/", "GET"): ListRead("classes"),
    ("api/v1/classes/", "POST"): Create(ADMINS, class_body, "school", verify_class_created),
    ("api/v1/classes/{pk}/", "GET"): DetailRead("classes"),
    ("api/v1/classes/{pk}/", "PATCH"): Change(
        "classes", ADMINS, 200, verify_renamed(SchoolClass, "火箭班"), body={"name": "火箭班"}
    ),
    ("api/v1/people/", "GET"): ListRead("people"),
    ("api/v1/people/{pk}/", "GET"): DetailRead("people"),
    ("api/v1/people/{pk}/reveal/", "POST"): Change("people", ADMINS, 200, verify_revealed),
    ("api/v1/accounts/", "GET"): ListRead("accounts"),
    ("api/v1/accounts/", "POST"): Create(
        ADMINS, account_body, "school_class", verify_account_created
    ),
    ("api/v1/accounts/{pk}/", "GET"): DetailRead("accounts"),
    ("api/v1/accounts/{pk}/activate/", "POST"): Change(
        "accounts", ADMINS, 200, verify_active(True), prepare=deactivate
    ),
    ("api/v1/accounts/{pk}/deactivate/", "POST"): Change(
        "accounts", ADMINS, 200, verify_active(False)
    ),
    ("api/v1/accounts/{pk}/reset-password/", "POST"): Change(
        "accounts", ADMINS, 200, verify_password_reset
    ),
    ("api/v1/roles/", "GET"): ListRead("roles"),
    ("api/v1/roles/", "POST"): Create(ADMINS, grant_body, "school_class", verify_role_granted),
    ("api/v1/roles/{pk}/", "GET"): DetailRead("roles"),
    ("api/v1/roles/{pk}/", "DELETE"): Change("roles", ADMINS, 204, verify_revoked),
    ("api/v1/audit-events/", "GET"): ListRead("audit-events"),
    ("api/v1/audit-events/{pk}/", "GET"): DetailRead("audit-events"),
    ("api/v1/school-years/", "GET"): Unscoped(REFERENCE_REASON, reference_list(SchoolYear, "id")),
    ("api/v1/school-years/{pk}/", "GET"): Unscoped(
        REFERENCE_REASON, reference_detail(SchoolYear, "id")
    ),
    ("api/v1/stages/", "GET"): Unscoped(REFERENCE_REASON, reference_list(Stage, "code")),
    ("api/v1/stages/{code}/", "GET"): Unscoped(REFERENCE_REASON, reference_detail(Stage, "code")),
    ("api/v1/grades/", "GET"): Unscoped(REFERENCE_REASON, reference_list(Grade, "code")),
    ("api/v1/grades/{code}/", "GET"): Unscoped(REFERENCE_REASON, reference_detail(Grade, "code")),
    ("api/v1/subjects/", "GET"): Unscoped(REFERENCE_REASON, reference_list(Subject, "code")),
    ("api/v1/subjects/{code}/", "GET"): Unscoped(
        REFERENCE_REASON, reference_detail(Subject, "code")
    ),
    ("api/v1/me/", "GET"): Unscoped("the signed-in account itself, in any role", check_me),
    ("api/v1/me/switch-role/", "POST"): Unscoped(
        "scoped to the account's own roles, not to a unit: any other account's role, visible"
        " to this role or not, does not exist for it",
        check_switch_role,
        changes_rows=True,
    ),
    ("api/v1/auth/token/", "POST"): Unscoped(
        "logging in comes before any role; each role's own account logs in (and fails to)",
        check_token,
        changes_rows=True,
    ),
    # The registries (学校库 / 教师库 / 学籍库).
    ("api/v1/code-tables/", "GET"): Unscoped(REFERENCE_REASON, reference_list(CodeTable, "name")),
    ("api/v1/code-tables/{name}/", "GET"): Unscoped(
        REFERENCE_REASON, reference_detail(CodeTable, "name")
    ),
    ("api/v1/school-profiles/", "GET"): ListRead("school-profiles"),
    ("api/v1/school-profiles/{pk}/", "GET"): DetailRead("school-profiles"),
    ("api/v1/school-profiles/{pk}/", "PATCH"): registry(
        Change(
            "school-profiles",
            ADMINS,
            200,
            verify_profile_updated,
            body={"principal": "张红", "reason": "校长换届"},
        )
    ),
    ("api/v1/school-profiles/{pk}/history/", "GET"): registry(HistoryRead("school-profiles")),
    ("api/v1/school-profiles/{pk}/merge/", "POST"): registry(
        Act(
            REGIONAL_ADMINS,
            REGIONAL_ADMINS,
            inside=lambda sw, key: build_registry(sw).twin,
            outside=lambda place: place.school,
            success=200,
            verify=verify_merged,
            body=lambda sw: {"into": sw.home.school.pk, "reason": "布局调整"},
        )
    ),
    ("api/v1/school-profiles/{pk}/close/", "POST"): Act(
        REGIONAL_ADMINS,
        REGIONAL_ADMINS,
        inside=lambda sw, key: sw.world.teaching_point,
        outside=lambda place: place.school,
        success=200,
        verify=verify_closed,
        body={"reason": "生源不足"},
    ),
    ("api/v1/teachers/", "GET"): registry(ListRead("teachers")),
    ("api/v1/teachers/", "POST"): Create(ADMINS, teacher_body, "school", verify_teacher_registered),
    ("api/v1/teachers/{pk}/", "GET"): registry(DetailRead("teachers")),
    ("api/v1/teachers/{pk}/", "PATCH"): registry(
        Change(
            "teachers",
            ADMINS,
            200,
            verify_title_changed,
            body={"title": "2", "title_since": "2024-09-01"},
        )
    ),
    ("api/v1/teachers/{pk}/events/", "GET"): registry(HistoryRead("teachers")),
    ("api/v1/teachers/{pk}/titles/", "GET"): registry(HistoryRead("teachers")),
    ("api/v1/teachers/{pk}/retire/", "POST"): registry(
        Change("teachers", ADMINS, 200, verify_teacher_status("retired"))
    ),
    ("api/v1/teachers/{pk}/start-leave/", "POST"): registry(
        Change("teachers", ADMINS, 200, verify_teacher_status("on_leave"), body={"reason": "进修"})
    ),
    ("api/v1/teachers/{pk}/end-leave/", "POST"): registry(
        Act(
            ADMINS,
            ADMINS,
            inside=lambda sw, key: sw.home.records.teacher,
            outside=lambda place: place.records.teacher,
            success=200,
            verify=verify_teacher_status("active"),
            prepare=start_leave,
        )
    ),
    ("api/v1/teacher-transfers/", "GET"): registry(ListRead("teacher-transfers")),
    ("api/v1/teacher-transfers/", "POST"): registry(
        Create(ADMINS, teacher_transfer_body, "teacher", verify_teacher_transfer_opened)
    ),
    ("api/v1/teacher-transfers/{pk}/", "GET"): registry(DetailRead("teacher-transfers")),
    ("api/v1/teacher-transfers/{pk}/accept/", "POST"): registry(
        Act(
            ACCEPTING,
            ACCEPTING,
            inside=lambda sw, key: build_registry(sw).teacher_to_accept,
            outside=lambda place: place.records.teacher_transfer,
            success=200,
            verify=verify_accepted,
            body={"note": "同意接收"},
        )
    ),
    ("api/v1/teacher-transfers/{pk}/approve/", "POST"): registry(
        Act(
            APPROVING,
            frozenset({"county_admin"}),
            inside=lambda sw, key: build_registry(sw).teacher_to_approve,
            outside=lambda place: place.records.teacher_transfer,
            success=200,
            verify=verify_teacher_moved,
        )
    ),
    ("api/v1/teacher-transfers/{pk}/reject/", "POST"): registry(
        Act(
            DECIDING,
            ACCEPTING,
            inside=lambda sw, key: build_registry(sw).teacher_to_accept,
            outside=lambda place: place.records.teacher_transfer,
            success=200,
            verify=verify_rejected,
            body=REJECTION,
        )
    ),
    ("api/v1/teacher-transfers/{pk}/withdraw/", "POST"): registry(
        Act(
            ADMINS,
            ACCEPTING,
            inside=lambda sw, key: build_registry(sw).teacher_to_approve,
            outside=lambda place: place.records.teacher_transfer,
            success=200,
            verify=verify_withdrawn,
        )
    ),
    ("api/v1/students/", "GET"): registry(ListRead("students")),
    ("api/v1/students/", "POST"): Create(ADMINS, enrol_body, "school_class", verify_enrolled),
    ("api/v1/students/{pk}/", "GET"): registry(DetailRead("students")),
    ("api/v1/students/{pk}/", "PATCH"): registry(
        Change("students", ADMINS, 200, verify_student_updated, body={"health": "2"})
    ),
    ("api/v1/students/{pk}/events/", "GET"): registry(HistoryRead("students")),
    ("api/v1/students/{pk}/reveal-number/", "POST"): registry(
        Change("students", ADMINS, 200, verify_number_revealed)
    ),
    ("api/v1/students/{pk}/record-id/", "POST"): registry(
        Act(
            ADMINS,
            ADMINS,
            inside=lambda sw, key: build_registry(sw).unidentified,
            outside=lambda place: place.records.student,
            success=200,
            verify=verify_id_recorded,
            body=lambda sw: {
                "id_type": "1",
                "id_number": build_registry(sw).unidentified_id_number,
            },
        )
    ),
    ("api/v1/students/{pk}/resume/", "POST"): registry(
        Act(
            ADMINS,
            ADMINS,
            inside=lambda sw, key: build_registry(sw).suspended,
            outside=lambda place: place.records.student,
            success=200,
            verify=verify_resumed,
            body=lambda sw: {"school_class": sw.home.school_class.pk, "reason": "病愈复学"},
        )
    ),
    ("api/v1/students/graduate/", "POST"): registry(
        UnitAct(REGIONAL_ADMINS, REGIONAL_ADMINS, "school", 200, verify_graduated)
    ),
    ("api/v1/student-requests/", "GET"): registry(ListRead("student-requests")),
    ("api/v1/student-requests/", "POST"): registry(
        Create(ADMINS, student_request_body, "record", verify_student_request_opened)
    ),
    ("api/v1/student-requests/{pk}/", "GET"): registry(DetailRead("student-requests")),
    ("api/v1/student-requests/{pk}/accept/", "POST"): registry(
        Act(
            ACCEPTING,
            ACCEPTING,
            inside=lambda sw, key: build_registry(sw).student_to_accept,
            outside=lambda place: place.records.student_request,
            success=200,
            verify=verify_accepted,
            body=lambda sw: {"school_class": sw.home.school_class.pk, "note": "同意接收"},
        )
    ),
    ("api/v1/student-requests/{pk}/approve/", "POST"): registry(
        Act(
            APPROVING,
            frozenset({"county_admin"}),
            inside=lambda sw, key: build_registry(sw).student_to_approve,
            outside=lambda place: place.records.student_request,
            success=200,
            verify=verify_student_moved,
        )
    ),
    ("api/v1/student-requests/{pk}/reject/", "POST"): registry(
        Act(
            DECIDING,
            ACCEPTING,
            inside=lambda sw, key: build_registry(sw).student_to_accept,
            outside=lambda place: place.records.student_request,
            success=200,
            verify=verify_rejected,
            body=REJECTION,
        )
    ),
    ("api/v1/student-requests/{pk}/withdraw/", "POST"): registry(
        Act(
            ADMINS,
            ACCEPTING,
            inside=lambda sw, key: build_registry(sw).student_to_approve,
            outside=lambda place: place.records.student_request,
            success=200,
            verify=verify_withdrawn,
        )
    ),
    ("api/v1/rollover/", "POST"): registry(
        UnitAct(ADMINS, ADMINS, "school", 200, verify_rolled_over)
    ),
    ("api/v1/rollover/preview/", "GET"): registry(
        UnitAct(ADMINS, ADMINS, "school", 200, verify_previewed)
    ),
    ("api/v1/queues/", "GET"): registry(QueueRead()),
    ("api/v1/import-jobs/", "GET"): imports(ListRead("import-jobs")),
    ("api/v1/import-jobs/", "POST"): imports(Upload(ADMINS)),
    ("api/v1/import-jobs/{pk}/", "GET"): imports(DetailRead("import-jobs")),
    ("api/v1/import-jobs/{pk}/report/", "GET"): imports(ReportRead()),
}

CELLS = [
    pytest.param(route, method, key, id=f"{method} {route} as {key}")
    for (route, method) in sorted(MATRIX)
    for key in ROLE_KEYS
]


# --------------------------------------------------------------------------- the tests


def assert_matrix_covers(routes: Iterable[tuple[str, str]]) -> None:
    uncovered, stale = coverage_gaps(routes, MATRIX)
    assert uncovered == [], f"API routes with no row in MATRIX: {uncovered}"
    assert stale == [], f"MATRIX rows for routes that no longer exist: {stale}"


def test_every_api_route_is_in_the_matrix() -> None:
    assert_matrix_covers(api_routes())


def test_an_uncovered_route_fails_the_coverage_check() -> None:
    from santong.accounts.api import RoleViewSet
    from santong.urls import urlpatterns

    extra = SimpleRouter()
    extra.register("secrets", RoleViewSet, basename="secret")
    resolver = URLResolver(
        RegexPattern(r"^/"), [*urlpatterns, path(API_PREFIX, include(extra.urls))]
    )
    routes = api_routes(resolver)
    assert coverage_gaps(routes, MATRIX) == (
        [
            ("api/v1/secrets/", "GET"),
            ("api/v1/secrets/", "POST"),
            ("api/v1/secrets/{pk}/", "DELETE"),
            ("api/v1/secrets/{pk}/", "GET"),
        ],
        [],
    )
    with pytest.raises(AssertionError, match=r"api/v1/secrets/\{pk\}/', 'DELETE'"):
        assert_matrix_covers(routes)


def test_scoped_views_have_scoped_rows() -> None:
    """A view that reads through selectors must be tested as scoped, and only such views may
    be called unscoped when they are not."""
    for (route, method), case in MATRIX.items():
        view_class = _view_class(route, method)
        assert issubclass(view_class, ScopedViewSetMixin) == case.scoped, (route, view_class)


def test_matrix_size(record_property: Callable[[str, object], None]) -> None:
    cells = len(MATRIX) * len(ROLE_KEYS)
    record_property("scope_matrix_cells", cells)
    print(f"scope matrix: {len(MATRIX)} (route, method) rows × {len(ROLE_KEYS)} roles = {cells}")
    assert len(CELLS) == cells
    assert len(ROLE_KEYS) == 8
    assert len(MATRIX) == len(api_routes())


@pytest.mark.parametrize(("route", "method", "key"), CELLS)
def test_scope_cell(scope_world: ScopeWorld, api: Client, route: str, method: str, key: str):
    MATRIX[(route, method)].run(scope_world, key, api, route, method)


@pytest.mark.parametrize("key", sorted(ADMINS | CLASS_ROLES))
def test_options_describes_without_revealing_objects(
    scope_world: ScopeWorld, api: Client, key: str
) -> None:
    client = api(key)
    outside = scope_world.nearest_outside(key)
    secrets = [outside.school.name, outside.person.name, outside.student.username]
    for route, _method in api_routes():
        response = client.options(url(route, outside.school.pk))
        assert response.status_code in (200, 401, 403, 404), (route, response.status_code)
        body = response.content.decode()
        assert not any(secret in body for secret in secrets), route
