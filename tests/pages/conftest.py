"""Fixtures for the page tests: a browser-like client logged in as a named person of the world."""

from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.utils import translation

from santong.accounts.middleware import SESSION_KEY
from santong.testing.world import World


@pytest.fixture
def browse(world: World) -> Callable[[str], Client]:
    """`browse("county_admin")` is a client logged in as that person, acting in that role."""

    def client_for(key: str) -> Client:
        client = Client()
        client.force_login(world.users[key])
        session = client.session
        session[SESSION_KEY] = world.roles[key].pk
        session.save()
        return client

    return client_for


@pytest.fixture(autouse=True)
def _default_language_after_each_test() -> Iterator[None]:
    """LocaleMiddleware leaves the last request's language active on the thread; a page test
    that switched to English must not leave later tests reading English messages."""
    yield
    translation.deactivate()
