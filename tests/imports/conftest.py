"""Fixtures for the import tests: the county administrator's actor and a scratch directory."""

import pytest

from santong.core.actors import Actor
from santong.testing.world import World


@pytest.fixture
def county_actor(world: World) -> Actor:
    return world.actor("county_admin")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
