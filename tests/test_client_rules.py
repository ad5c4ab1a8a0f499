"""Who a client is (RFC 6749 §2.3), and what a service client may ask for (§4.4.2).

Each rule is tried on every endpoint that authenticates clients: the token
endpoint, revocation (RFC 7009) and introspection (RFC 7662).
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from messpunkt import create_app
from messpunkt.config import DEFAULT_DATA_DIR
from messpunkt.testing import DEMO_CLIENT, FROZEN_AT

WEB = ("sandbox-web-client", "sandbox-web-client-secret-change-me")
SERVICE = ("sandbox-service-client", "sandbox-service-client-secret-change-me")
# What each endpoint needs besides the client's credentials.
ENDPOINTS = {
    "/oauth/token": {"grant_type": "client_credentials"},
    "/oauth/revoke": {"token": "not-a-token"},
    "/oauth/introspect": {"token": "not-a-token"},
}


def basic(client_id: str, secret: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def error(description: str, code: str = "invalid_request") -> dict[str, str]:
    return {"error": code, "error_description": description}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_basic_credentials_and_a_client_secret_in_the_body_are_one_method_too_many(
    messpunkt_client, path
):
    """RFC 6749 §2.3: a client must not use more than one authentication method."""
    client_id, secret = SERVICE if path == "/oauth/token" else WEB
    form = {**ENDPOINTS[path], "client_secret": secret}
    response = messpunkt_client.post(path, data=form, headers=basic(client_id, secret))
    assert (response.status_code, response.json) == (
        400, error("use one client authentication method, not two"))  # fmt: skip
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("other", ["another client", "with a space"])
def test_a_body_client_id_other_than_the_basic_one_is_invalid_request(
    messpunkt_client, path, other
):
    client_id, secret = SERVICE if path == "/oauth/token" else WEB
    body_client_id = DEMO_CLIENT if other == "another client" else client_id + " "
    form = {**ENDPOINTS[path], "client_id": body_client_id}
    response = messpunkt_client.post(path, data=form, headers=basic(client_id, secret))
    assert (response.status_code, response.json) == (
        400, error("client_id does not match the Authorization header"))  # fmt: skip


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_client_id_equal_to_the_basic_one_is_accepted(messpunkt_client, path):
    client_id, secret = SERVICE if path == "/oauth/token" else WEB
    form = {**ENDPOINTS[path], "client_id": client_id}
    response = messpunkt_client.post(path, data=form, headers=basic(client_id, secret))
    assert response.status_code == 200


# What a service client may ask for


def test_a_service_client_asking_for_a_scope_nobody_has_is_invalid_scope(messpunkt_client):
    form = {"grant_type": "client_credentials", "scope": "read:units write:units"}
    response = messpunkt_client.post("/oauth/token", data=form, headers=basic(*SERVICE))
    assert (response.status_code, response.json) == (
        400, error("scope not available to this client: write:units", "invalid_scope"))  # fmt: skip


@pytest.fixture
def units_only_service(tmp_path: Path):
    """The fixtures, with a service client registered for read:units alone."""
    root = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, root)
    clients = json.loads((root / "clients.json").read_text(encoding="utf-8"))
    (service,) = [c for c in clients if c["client_id"] == SERVICE[0]]
    service["scopes"] = ["read:units"]
    (root / "clients.json").write_text(json.dumps(clients), encoding="utf-8")
    return create_app({"MESSPUNKT_DATA_DIR": str(root), "MESSPUNKT_FROZEN_AT": FROZEN_AT})


@pytest.mark.parametrize(
    ("scope", "lacking"),
    [("read:readings", "read:readings"), ("read:units read:devices", "read:devices")],
)
def test_a_service_client_asking_for_a_scope_it_lacks_is_invalid_scope(
    units_only_service, scope, lacking
):
    client = units_only_service.test_client()
    form = {"grant_type": "client_credentials", "scope": scope}
    response = client.post("/oauth/token", data=form, headers=basic(*SERVICE))
    assert (response.status_code, response.json) == (
        400, error(f"scope not available to this client: {lacking}", "invalid_scope"))  # fmt: skip


def test_a_service_client_gets_the_scopes_it_has(units_only_service):
    client = units_only_service.test_client()
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(*SERVICE)
    )
    assert (response.status_code, response.json["scope"]) == (200, "read:units")
