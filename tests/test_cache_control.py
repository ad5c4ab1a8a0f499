"""What no cache may keep (RFC 9111 §5.2.2.5): a personal access token's secret, /v1 answers."""

from __future__ import annotations

import pytest
from conftest import TENANT

from messpunkt.testing import QUICKSTART_PROPERTY, obtain_tokens

ADMIN_KEY = "cache-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": ADMIN_KEY}
UNIT = "/v1/usage-units"


@pytest.fixture
def messpunkt_config(messpunkt_config):
    return {**messpunkt_config, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}


def test_the_answer_that_shows_a_personal_access_tokens_secret_must_not_be_stored(
    messpunkt_client,
):
    response = messpunkt_client.post("/sandbox/personal-access-tokens", headers=ADMIN, json={
        "tenant_id": TENANT, "name": "ERP import", "scopes": ["read:units"],
        "property_ids": [QUICKSTART_PROPERTY], "expires_in": 3600,
    })  # fmt: skip

    assert response.status_code == 201
    assert response.get_json()["token"].startswith("mpat_")
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("path", "credentials", "status"), [
    ("/v1/whoami", "token", 200),
    ("/v1/properties", "token", 200),
    (f"/v1/properties/{QUICKSTART_PROPERTY}", "token", 200),
    ("/v1/usage-units?limit=1", "token", 200),
    ("/v1/devices?limit=1", "token", 200),
    ("/v1/usage-units/00000000-0000-0000-0000-000000000000", "token", 404),
    ("/v1/usage-units?limit=0", "token", 400),
    ("/v1/whoami", None, 401),
    ("/v1/whoami", "forged", 401),
    ("/v1/no-such-thing", "token", 404),
    ("/v1", "token", 404),
])  # fmt: skip
def test_every_v1_answer_must_not_be_stored(messpunkt_client, messpunkt_tokens, path,
                                            credentials, status):  # fmt: skip
    headers = {
        "token": messpunkt_tokens.bearer, "forged": {"Authorization": "Bearer not.a.jwt"}, None: {},
    }[credentials]  # fmt: skip
    response = messpunkt_client.get(path, headers=headers)

    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"


def test_a_scope_the_token_lacks_is_a_403_that_must_not_be_stored(messpunkt_client):
    tokens = obtain_tokens(messpunkt_client, scopes=("read:units",))
    response = messpunkt_client.get(UNIT + "?limit=1", headers=tokens.bearer)
    assert response.status_code == 200
    readings = messpunkt_client.get("/v1/devices?limit=1", headers=tokens.bearer)

    assert readings.status_code == 403
    assert readings.headers["Cache-Control"] == "no-store"
