"""Fixtures for the API tests; the places they stand for are described in api_scope_world."""

import pytest
from api_scope_world import ScopeWorld, build_scope_world

from santong.testing.world import World


@pytest.fixture
def scope_world(world: World) -> ScopeWorld:
    return build_scope_world(world)
