"""Named fixture people and places for every test (see santong.testing.world)."""

import pytest
from rest_framework.test import APIClient

from santong.testing.world import World, build_world


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
