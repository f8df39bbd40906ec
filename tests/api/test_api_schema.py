"""The OpenAPI schema is valid with no warnings, and the docs pages load only local assets."""

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

FOREIGN_ASSETS = re.compile(r"cdn|jsdelivr|unpkg", re.IGNORECASE)


def test_schema_generates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text(encoding="utf-8"))
    paths = schema["paths"]
    assert "/api/v1/schools/{id}/" in paths
    assert set(paths["/api/v1/schools/{id}/"]) == {"get", "patch"}
    assert "/api/v1/people/{id}/reveal/" in paths
    assert "SchoolKindEnum" in schema["components"]["schemas"]


@pytest.mark.django_db
def test_schema_endpoint_answers() -> None:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/accounts/" in response.json()["paths"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_local_assets(page: str) -> None:
    response = APIClient().get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert not FOREIGN_ASSETS.search(html), FOREIGN_ASSETS.search(html)
