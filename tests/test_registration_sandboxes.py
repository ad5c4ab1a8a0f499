"""Registered clients belong to one sandbox: its admin key registers them, its issuer manages
them, no other sandbox knows them; they outlive a reset, not a data-set change; and
`/sandbox/clients` lists them beside the fixtures, in memory and on Redis."""

from __future__ import annotations

import pytest
from conftest import OPERATOR, OPERATOR_KEY, Prefixed, create_sandbox
from registration_flow import (
    CODE_CLIENT,
    SERVICE_CLIENT,
    authorize,
    basic,
    bearer,
    code_flow,
    pkce,
    register,
    registered,
)

from messpunkt import create_app

ADMIN_KEY = "sandboxes-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": ADMIN_KEY}
FIXTURES = [
    "sandbox-demo-client", "sandbox-web-client", "sandbox-service-client",
    "beispiel-erp-client", "sandbox-docs-client",
]  # fmt: skip


@pytest.fixture
def client(store_config):
    config = {
        "MESSPUNKT_FROZEN_AT": "2026-11-23T09:00:00+00:00",
        "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY,
        "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY,
    }
    return create_app(config | store_config).test_client()


def service_token(client, reg: dict, prefix: str = ""):
    return client.post(prefix + "/oauth/token", data={"grant_type": "client_credentials"},
                       headers=basic(reg["client_id"], reg["client_secret"]))  # fmt: skip


def listed(client, prefix: str = "", **query) -> list[tuple[str, str]]:
    answer = client.get(prefix + "/sandbox/clients", query_string=query, headers=ADMIN)
    assert answer.status_code == 200, answer.get_json()
    return [(c["client_id"], c["origin"]) for c in answer.get_json()["data"]]


# One sandbox's clients


def test_a_partner_registers_with_its_admin_key_under_its_own_issuer(client):
    partner = create_sandbox(client)
    prefix = "/s/" + partner["id"]

    assert register(client, ADMIN_KEY, CODE_CLIENT, prefix).status_code == 401
    reg = registered(client, partner["admin_key"], CODE_CLIENT, prefix)

    issuer = partner["issuer"]
    assert reg["registration_client_uri"] == f"{issuer}/oauth/register/{reg['client_id']}"
    own = Prefixed(client, prefix)
    read = own.get(f"/oauth/register/{reg['client_id']}",
                   headers=bearer(reg["registration_access_token"]))  # fmt: skip
    assert read.status_code == 200
    tokens = code_flow(client, reg, prefix)
    assert own.get("/v1/whoami", headers=bearer(tokens["access_token"])).status_code == 200


def test_a_partner_sandboxes_metadata_advertises_its_own_registration_endpoint(client):
    partner = create_sandbox(client)
    issuer = partner["issuer"]

    for path in (
        f"/.well-known/oauth-authorization-server/s/{partner['id']}",
        f"/s/{partner['id']}/.well-known/oauth-authorization-server",
    ):
        metadata = client.get(path).get_json()
        assert metadata["registration_endpoint"] == f"{issuer}/oauth/register"


def test_a_client_of_one_sandbox_is_unknown_to_every_other(client):
    first, second = create_sandbox(client), create_sandbox(client)
    reg = registered(client, first["admin_key"], SERVICE_CLIENT, "/s/" + first["id"])
    code = registered(client, first["admin_key"], CODE_CLIENT, "/s/" + first["id"])

    for prefix, admin_key in (("", ADMIN_KEY), ("/s/" + second["id"], second["admin_key"])):
        answer = service_token(client, reg, prefix)
        assert answer.status_code == 401
        assert answer.get_json()["error_description"] == "unknown client"
        page = authorize(client, code["client_id"], pkce()[1], prefix)
        assert page.status_code == 400 and "unknown client_id" in page.get_data(as_text=True)
        read = client.get(f"{prefix}/oauth/register/{reg['client_id']}",
                          headers=bearer(reg["registration_access_token"]))  # fmt: skip
        assert read.status_code == 401
        own = client.get(prefix + "/sandbox/clients?origin=registered",
                         headers={"X-Sandbox-Admin-Key": admin_key})  # fmt: skip
        assert own.get_json()["data"] == []
    assert service_token(client, reg, "/s/" + first["id"]).status_code == 200


# Reset and data set


def test_a_registered_client_outlives_a_reset_but_its_tokens_do_not(client):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    before = code_flow(client, reg)

    assert client.post("/sandbox/reset", headers=ADMIN).status_code == 200

    assert client.get("/v1/whoami", headers=bearer(before["access_token"])).status_code == 401
    after = code_flow(client, reg)
    assert client.get("/v1/whoami", headers=bearer(after["access_token"])).status_code == 200
    read = client.get(f"/oauth/register/{reg['client_id']}",
                      headers=bearer(reg["registration_access_token"]))  # fmt: skip
    assert read.status_code == 200


def test_a_data_set_change_forgets_the_registered_clients(client):
    reg = registered(client, ADMIN_KEY, SERVICE_CLIENT)

    switched = client.post("/sandbox/data", json={"data_set": "default"}, headers=ADMIN)

    assert switched.status_code == 200
    assert service_token(client, reg).get_json() == {
        "error": "invalid_client", "error_description": "unknown client"}  # fmt: skip
    assert listed(client, origin="registered") == []


# The list


def test_the_list_shows_the_fixtures_then_the_registered_clients_marked_and_without_secrets(
    client,
):
    service = registered(client, ADMIN_KEY, SERVICE_CLIENT)
    public = registered(client, ADMIN_KEY, {**CODE_CLIENT, "token_endpoint_auth_method": "none"})

    answer = client.get("/sandbox/clients", headers=ADMIN)

    assert [(c["client_id"], c["origin"]) for c in answer.get_json()["data"]] == [
        *((client_id, "fixture") for client_id in FIXTURES),
        (service["client_id"], "registered"),
        (public["client_id"], "registered"),
    ]
    text = answer.get_data(as_text=True)
    assert service["client_secret"] not in text
    assert service["registration_access_token"] not in text
    assert [key for c in answer.get_json()["data"] for key in c if "secret" in key] == []
    registered_service = answer.get_json()["data"][len(FIXTURES)]
    assert registered_service == {
        "client_id": service["client_id"],
        "client_name": "Abrechnung",
        "origin": "registered",
        "type": "confidential",
        "token_endpoint_auth_methods": ["client_secret_basic"],
        "redirect_uris": [],
        "grant_types": ["client_credentials"],
        "scopes": ["read:units"],
        "tenant_id": SERVICE_CLIENT["tenant_id"],
        "property_ids": SERVICE_CLIENT["property_ids"],
        "registered_at": "2026-11-23T09:00:00+00:00",
    }


def test_the_list_is_paginated_and_filtered_by_origin(client):
    regs = [registered(client, ADMIN_KEY, SERVICE_CLIENT)["client_id"] for _ in range(3)]

    first = client.get("/sandbox/clients?limit=4", headers=ADMIN).get_json()
    cursor = first["pagination"]["next_cursor"]
    rest = client.get(f"/sandbox/clients?limit=4&cursor={cursor}", headers=ADMIN).get_json()

    ids = [c["client_id"] for c in first["data"] + rest["data"]]
    assert ids == FIXTURES + regs
    assert rest["pagination"]["next_cursor"] is None
    assert listed(client, origin="registered") == [(r, "registered") for r in regs]
    assert listed(client, origin="fixture") == [(f, "fixture") for f in FIXTURES]


@pytest.mark.parametrize(
    ("query", "status"), [("origin=other", 400), ("limit=0", 400), ("cursor=forged", 400)]
)
def test_bad_list_parameters_are_a_400(client, query, status):
    assert client.get(f"/sandbox/clients?{query}", headers=ADMIN).status_code == status


def test_the_list_needs_the_admin_key(client):
    answer = client.get("/sandbox/clients", headers=OPERATOR)
    assert answer.status_code == 401


# On Redis


def test_on_redis_a_registration_keeps_digests_only_and_expires_with_its_partner_sandbox(
    store_url, signing_key
):
    import hashlib

    import redis

    app = create_app({
        "MESSPUNKT_STORE_URL": store_url, "MESSPUNKT_SIGNING_KEY": signing_key,
        "MESSPUNKT_SECRET_KEY": "cursor", "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY,
        "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY,
    })  # fmt: skip
    client = app.test_client()
    partner = create_sandbox(client)
    reg = registered(client, partner["admin_key"], SERVICE_CLIENT, "/s/" + partner["id"])
    prefix = f"mp:{{{partner['id']}}}:"

    with redis.Redis.from_url(store_url) as direct:
        key = prefix + "client:" + reg["client_id"]
        stored = direct.hgetall(key)
        ends = direct.pexpiretime(prefix + "sbx")
        assert ends > 0
        assert direct.pexpiretime(key) == ends
        secret, token = reg["client_secret"], reg["registration_access_token"]
        assert (
            stored[b"secret_hash"]
            == b"sha256:" + hashlib.sha256(secret.encode()).hexdigest().encode()
        )
        assert stored[b"token_hash"] == hashlib.sha256(token.encode()).hexdigest().encode()
        dump = b"".join(v for k, v in direct.hgetall(key).items())
        assert secret.encode() not in dump and token.encode() not in dump

        client.delete(f"/sandboxes/{partner['id']}", headers=OPERATOR)
        assert direct.exists(key) == 0


# A sandbox that ends while a registration runs


def test_a_sandbox_deleted_while_a_registration_runs_is_a_404_and_keeps_nothing(
    client, monkeypatch
):
    # The operator deletes the sandbox between the request's opening of it and the store's
    # step. A gone sandbox is no taken id: drawing another would loop for ever (it did on
    # Redis). The answer is the one any request to the gone sandbox gets: the next one's.
    partner = create_sandbox(client)
    prefix = "/s/" + partner["id"]
    registry = client.application.extensions["messpunkt"].registry
    store_type = type(registry.store(partner["id"]))
    original = store_type.add_registration
    tries = []

    def deleted_first(self, registration, at):
        tries.append(registration.client_id)
        assert len(tries) <= 10, "the registration keeps drawing ids for a gone sandbox"
        if len(tries) == 1:
            assert registry.delete(partner["id"])
        return original(self, registration, at)

    monkeypatch.setattr(store_type, "add_registration", deleted_first)

    answer = register(client, partner["admin_key"], CODE_CLIENT, prefix)

    monkeypatch.undo()
    after = register(client, partner["admin_key"], CODE_CLIENT, prefix)
    assert after.status_code == 404
    assert (answer.status_code, answer.get_data()) == (404, after.get_data())
    assert len(tries) == 1


# At most 100 registered clients per sandbox


def test_a_sandbox_keeps_at_most_100_registered_clients_and_says_so(client):
    partner = create_sandbox(client)
    prefix = "/s/" + partner["id"]
    regs = [registered(client, ADMIN_KEY, SERVICE_CLIENT) for _ in range(100)]

    full = register(client, ADMIN_KEY, SERVICE_CLIENT)

    assert full.status_code == 409
    assert full.headers["Cache-Control"] == "no-store"
    assert full.get_json() == {
        "error": "invalid_request",
        "error_description": "this sandbox has 100 registered clients, the most it keeps: "
        "delete one (DELETE its registration_client_uri) first",
    }
    assert len(listed(client, origin="registered", limit=200)) == 100
    # Another sandbox counts its own.
    assert register(client, partner["admin_key"], SERVICE_CLIENT, prefix).status_code == 201
    # A deleted one makes room for one more.
    gone = regs[0]
    client.delete(f"/oauth/register/{gone['client_id']}",
                  headers=bearer(gone["registration_access_token"]))  # fmt: skip
    assert register(client, ADMIN_KEY, SERVICE_CLIENT).status_code == 201
    assert register(client, ADMIN_KEY, SERVICE_CLIENT).status_code == 409
