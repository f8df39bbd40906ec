"""Property-based fuzzing of the REST API against its own OpenAPI schema (schemathesis).

Every operation of `/api/schema/` is called with requests generated from the schema, valid ones
and deliberately invalid ones, in-process through Django's WSGI handler (no server), as people
of the test world (token header plus X-Santong-Role, asking for zh-hans). Each response must

* never be a 5xx (`not_a_server_error`);
* conform to the schema: a documented status code, content type and body, authentication
  enforced, invalid input refused and valid input accepted (schemathesis's default checks);
* for a 4xx, say what is wrong and why in the language asked for: a 400 maps each field to
  its reasons, any other error is `{"detail": reason}` (`errors_say_field_and_reason`);
* if refused, leave every table the API writes as it was: never a half-written change.

Two tests share these checks:

* `test_api` fuzzes every operation as a county administrator, a school administrator and a
  student, `FUZZ_EXAMPLES` generated requests each (hypothesis, valid and invalid);
* `test_api_boundaries` runs schemathesis's coverage phase as the county administrator: for
  each parameter and body field each way of being invalid (too long, wrong type, missing, not
  in the enum, out of range ...), deterministically, a few dozen requests per operation.

The world is built once for the module; each example runs inside a savepoint that is rolled
back afterwards, so every example starts from that world, whatever the example before wrote.
Generation is derandomized with a fixed seed, so a failure in CI reproduces locally with the
same command. In CI (5 examples per operation and role, invalid boundary values only) the
module takes about one minute on SQLite and under two on PostgreSQL, on two cores.

A larger run, on demand, which also sends the valid boundary values (SANTONG_FUZZ_COVERAGE
chooses: negative, positive or all); add DATABASE_URL=postgres://... for PostgreSQL:

    SANTONG_FUZZ_EXAMPLES=500 uv run pytest tests/api/test_fuzz.py

Inputs a fuzzer rarely produces (10 MB bodies, lone surrogates, deep nesting ...) are tested by
hand in test_bad_input.py.
"""

import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from rest_framework.authtoken.models import Token

from santong.accounts.models import Person, Role, User
from santong.audit.models import AuditEvent
from santong.orgs.models import School, SchoolClass
from santong.testing.world import World, build_world

ON_DEMAND = "SANTONG_FUZZ_EXAMPLES" in os.environ
FUZZ_EXAMPLES = int(os.environ.get("SANTONG_FUZZ_EXAMPLES", "5"))
# In CI the coverage phase sends only invalid values (what "validates its input" is about);
# on demand it also sends the valid boundary values (longest names, largest page size ...).
COVERAGE_MODE = os.environ.get("SANTONG_FUZZ_COVERAGE", "all" if ON_DEMAND else "negative")
SEED = 20260101
FUZZED_ROLES = ("county_admin", "school_admin", "student")
BOUNDARY_ROLE = "county_admin"
# Logging in counts and audits failed attempts: a refused login is meant to write.
WRITES_WHEN_REFUSED = {"/api/v1/auth/token/"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")

_django = WSGIHandler()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Django's WSGI application, inside the test's transaction.

    Django closes the database connection at the start and end of every request; the test's
    transaction (and each example's savepoint) lives on that connection, so those handlers are
    set aside while the request runs, as Django's own test client does.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = _django(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()  # type: ignore[attr-defined]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def config(*, fuzzing: bool, coverage: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # The credentials are real ones, given per role below; generated ones would only
            # be refused before the operation runs.
            "generation": {"with-security-parameters": False},
            "phases": {
                "fuzzing": {"enabled": fuzzing},
                "coverage": {"enabled": coverage, "generation": {"mode": COVERAGE_MODE}},
            },
            "operations": [
                {
                    # A write names other objects by key (county, school, role ...), and no
                    # schema can say which keys exist or lie in the acting role's scope: those
                    # answer 400 naming the field, as do business rules (a duplicate code, a
                    # wrong password). Reads get no such leeway: a query the schema allows
                    # must be answered.
                    "include-method": ["POST", "PATCH", "DELETE"],
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
                        }
                    },
                }
            ],
        }
    )


fuzzed_schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    app,
    config=config(fuzzing=True, coverage=False),
    headers={"Accept": "application/vnd.oai.openapi+json"},
)
boundary_schema = schemathesis.openapi.from_dict(
    fuzzed_schema.raw_schema, config=config(fuzzing=False, coverage=True)
)
boundary_schema.app = app


def _in_chinese(messages: Any) -> bool:
    """Reasons are a non-empty list of Chinese sentences, or, for a field holding a list or an
    object, such reasons by item."""
    if isinstance(messages, dict):
        return bool(messages) and all(_in_chinese(item) for item in messages.values())
    return (
        isinstance(messages, list)
        and bool(messages)
        and all(isinstance(m, str) and CHINESE.search(m) for m in messages)
    )


def errors_say_field_and_reason(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx names what is wrong and why, in the language the request asked for (zh-hans)."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"{response.status_code} answered {content_type}: {response.text[:200]!r}"
    )
    body = response.json()
    assert isinstance(body, dict), f"{response.status_code} answered {body!r}"
    assert body, f"{response.status_code} without reasons"
    if response.status_code == 400:
        for field, messages in body.items():
            assert _in_chinese(messages), f"400 {field}: {messages!r}"
    else:
        assert _in_chinese([body.get("detail")]), f"{response.status_code}: {body!r}"
    return True


WRITABLE = (School, SchoolClass, Person, User, Role, AuditEvent, Token)


def writable_state() -> list[list[dict[str, Any]]]:
    """Every row of every table the API writes."""
    return [list(model._default_manager.order_by("pk").values()) for model in WRITABLE]


def credentials_of(world: World, key: str) -> dict[str, str]:
    token = Token.objects.create(user=world.users[key])
    return {
        "Authorization": f"Token {token.key}",
        "X-Santong-Role": str(world.roles[key].pk),
        "Accept-Language": "zh-hans",
    }


def call_and_check(case: schemathesis.Case, credentials: dict[str, str]) -> None:
    """One example, rolled back afterwards so the next one starts from the same world."""
    with transaction.atomic():
        watched = case.method.upper() not in SAFE_METHODS and case.path not in WRITES_WHEN_REFUSED
        before = writable_state() if watched else None
        response = case.call(headers=credentials)
        case.validate_response(
            response, headers=credentials, additional_checks=[errors_say_field_and_reason]
        )
        if watched and response.status_code >= 400:
            assert writable_state() == before, f"refused with {response.status_code}, but wrote"
        transaction.set_rollback(True)


EXAMPLE_SETTINGS = hypothesis.settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    # One world serves every example: each example is rolled back (call_and_check).
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def credentials_by_role(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[dict[str, dict[str, str]]]:
    """The test world, built once for the whole module inside a transaction rolled back at its
    end (each test's own transaction, and each example's, nest inside it as savepoints)."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        yield {key: credentials_of(world, key) for key in {*FUZZED_ROLES, BOUNDARY_ROLE}}
        transaction.set_rollback(True)


@pytest.fixture(params=FUZZED_ROLES)
def credentials(
    request: pytest.FixtureRequest, db: None, credentials_by_role: dict[str, dict[str, str]]
) -> dict[str, str]:
    return credentials_by_role[request.param]


@pytest.fixture
def boundary_credentials(
    db: None, credentials_by_role: dict[str, dict[str, str]]
) -> dict[str, str]:
    return credentials_by_role[BOUNDARY_ROLE]


@fuzzed_schema.parametrize()
@EXAMPLE_SETTINGS
def test_api(case: schemathesis.Case, credentials: dict[str, str]) -> None:
    call_and_check(case, credentials)


@boundary_schema.parametrize()
@EXAMPLE_SETTINGS
def test_api_boundaries(case: schemathesis.Case, boundary_credentials: dict[str, str]) -> None:
    call_and_check(case, boundary_credentials)
