"""Named fixture people and places for every test (see santong.testing.world)."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.test import APIClient

from santong.testing.world import World, build_world


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Each test starts in the default language (zh-hans): a request a test client sends
    with another Accept-Language leaves that language active on the thread afterwards."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def api(world: World):
    """`api("county_admin")` is an API client logged in as that named person, in that role."""

    def client_for(key: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(world.users[key])
        client.credentials(HTTP_X_SANTONG_ROLE=str(world.roles[key].pk))
        return client

    return client_for
