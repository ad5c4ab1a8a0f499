"""CORS: which paths a browser app on another origin may call, and from which origins."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from messpunkt import create_app
from messpunkt.testing import DEMO_CLIENT, FROZEN_AT, obtain_tokens
from messpunkt.web.cors import origin_of

DATA = Path(__file__).resolve().parents[1] / "sandbox_data"
# The origins of the registered clients' redirect URIs (sandbox_data/clients.json).
CLIENT_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:3000", "http://localhost:4000"]
FOREIGN_ORIGINS = [
    "https://evil.example",
    "http://localhost:3001",
    "https://localhost:3000",
    "null",
]
SERVICE = ("sandbox-service-client", "sandbox-service-client-secret-change-me")
ALLOW_HEADERS = "Authorization, Content-Type"
# A 401's challenge (RFC 6750 §3), and when to come back after a 429 or 503: neither is on
# the Fetch standard's safelist of headers every page may read.
EXPOSED = "WWW-Authenticate, Retry-After"
ECHOED = [
    ("/oauth/token", "POST"),
    ("/oauth/revoke", "POST"),
    ("/oauth/introspect", "POST"),
    ("/v1/whoami", "GET"),
    ("/v1/usage-units", "GET"),
]
PUBLIC = ["/.well-known/oauth-authorization-server", "/.well-known/jwks.json"]
SAME_ORIGIN_ONLY = ["/oauth/authorize", "/sandbox/clock", "/docs", "/openapi.json"]


def _preflight(client, path: str, origin: str, method: str = "POST"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def _cors_headers(response) -> dict[str, str]:
    return {name: value for name, value in response.headers if name.startswith("Access-Control-")}


def _vary(response) -> list[str]:
    return [item.strip() for value in response.headers.getlist("Vary") for item in value.split(",")]


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


# --- preflight -------------------------------------------------------------


@pytest.mark.parametrize("origin", CLIENT_ORIGINS)
@pytest.mark.parametrize(("path", "method"), ECHOED)
def test_a_preflight_from_a_clients_origin_is_allowed_with_the_origin_echoed(
    messpunkt_client, path, method, origin
):
    response = _preflight(messpunkt_client, path, origin, method)

    assert response.status_code == 204
    assert _cors_headers(response) == {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": method,
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": "600",
    }
    assert "Origin" in _vary(response)


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
@pytest.mark.parametrize(("path", "method"), ECHOED)
def test_a_preflight_from_another_origin_gets_no_cors_headers(
    messpunkt_client, path, method, origin
):
    response = _preflight(messpunkt_client, path, origin, method)

    assert _cors_headers(response) == {}
    assert "Origin" in _vary(response)


@pytest.mark.parametrize("origin", [*CLIENT_ORIGINS, *FOREIGN_ORIGINS])
@pytest.mark.parametrize("path", PUBLIC)
def test_a_preflight_for_the_public_documents_is_allowed_from_anywhere(
    messpunkt_client, path, origin
):
    response = _preflight(messpunkt_client, path, origin, "GET")

    assert response.status_code == 204
    assert _cors_headers(response) == {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET",
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": "600",
    }


@pytest.mark.parametrize("path", SAME_ORIGIN_ONLY)
def test_the_authorization_endpoint_sandbox_and_docs_answer_no_cross_origin_call(
    messpunkt_client, path
):
    origin = CLIENT_ORIGINS[0]
    preflight = _preflight(messpunkt_client, path, origin, "GET")
    actual = messpunkt_client.get(path, headers={"Origin": origin})

    for response in (preflight, actual):
        assert _cors_headers(response) == {}
        assert "Origin" not in _vary(response)


# --- actual requests -------------------------------------------------------


def test_a_token_answer_is_readable_from_a_clients_origin(messpunkt_client):
    response = messpunkt_client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Origin": "http://localhost:4000", **_basic(*SERVICE)},
    )

    assert response.status_code == 200
    assert _cors_headers(response) == {
        "Access-Control-Allow-Origin": "http://localhost:4000",
        "Access-Control-Expose-Headers": EXPOSED,
    }
    assert "Origin" in _vary(response)


def test_a_v1_answer_is_readable_from_a_clients_origin(messpunkt_client, messpunkt_tokens):
    origin = "http://127.0.0.1:3000"
    response = messpunkt_client.get(
        "/v1/whoami", headers={"Origin": origin, **messpunkt_tokens.bearer}
    )

    assert response.status_code == 200
    assert _cors_headers(response) == {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED,
    }


@pytest.mark.parametrize(
    ("method", "path", "form", "headers", "status"),
    [
        ("GET", "/v1/whoami", None, {}, 401),
        ("GET", "/v1/whoami", None, {"Authorization": "Bearer expired-or-forged"}, 401),
        ("GET", "/v1/no-such-thing", None, {}, 404),
        ("POST", "/oauth/token", {"grant_type": "password", "client_id": DEMO_CLIENT}, {}, 400),
        ("POST", "/oauth/token", {"grant_type": "client_credentials"},
         _basic(SERVICE[0], "wrong"), 401),
        ("POST", "/oauth/introspect", {"token": "t"}, _basic(SERVICE[0], "wrong"), 401),
        ("POST", "/oauth/revoke", {"token": "t"}, {}, 401),
    ],
    ids=["v1-no-token", "v1-bad-token", "v1-unknown-path", "token-bad-grant",
         "token-bad-secret", "introspect-bad-secret", "revoke-no-client"],
)  # fmt: skip
def test_an_error_is_readable_from_a_clients_origin_with_its_challenge(
    messpunkt_client, method, path, form, headers, status
):
    origin = CLIENT_ORIGINS[0]
    response = messpunkt_client.open(
        path, method=method, data=form, headers={"Origin": origin, **headers}
    )

    assert response.status_code == status
    assert _cors_headers(response) == {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED,
    }


@pytest.mark.parametrize(("path", "method"), [("/v1/whoami", "GET"), ("/oauth/token", "POST")])
def test_a_rehearsed_429s_retry_after_is_readable_from_a_clients_origin(path, method):
    key = "cors-admin-key"
    admin = {"X-Sandbox-Admin-Key": key}
    config = {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": key}
    client = create_app(config).test_client()
    tokens = obtain_tokens(client)
    rule = {"method": method, "path": path, "status": 429, "retry_after": 30, "count": 1}
    assert client.post("/sandbox/faults", json=rule, headers=admin).status_code == 201
    origin = CLIENT_ORIGINS[1]
    response = client.open(path, method=method, headers={"Origin": origin, **tokens.bearer})

    assert (response.status_code, response.headers["Retry-After"]) == (429, "30")
    assert _cors_headers(response) == {
        "Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED,
    }  # fmt: skip


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_an_answer_to_another_origin_carries_no_cors_headers(
    messpunkt_client, messpunkt_tokens, origin
):
    whoami = messpunkt_client.get(
        "/v1/whoami", headers={"Origin": origin, **messpunkt_tokens.bearer}
    )
    token = messpunkt_client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Origin": origin, **_basic(*SERVICE)},
    )

    for response in (whoami, token):
        assert response.status_code == 200
        assert _cors_headers(response) == {}
        assert "Origin" in _vary(response)


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
@pytest.mark.parametrize("path", PUBLIC)
def test_the_public_documents_carry_a_fixed_star_and_no_vary(messpunkt_client, path, origin):
    # Fetch, "CORS protocol and HTTP caches": a static value on every response, no Vary.
    response = messpunkt_client.get(path, headers={"Origin": origin} if origin else {})

    assert response.status_code == 200
    assert _cors_headers(response) == {"Access-Control-Allow-Origin": "*"}
    assert "Origin" not in _vary(response)


def test_a_partner_sandboxs_metadata_is_public_at_both_of_its_paths():
    """RFC 8414 §3.1 puts a partner issuer's metadata after the well-known segment; a
    browser client discovers it there as at the default's path."""
    client = create_app({"MESSPUNKT_OPERATOR_KEY": "operator"}).test_client()
    created = client.post("/sandboxes", headers={"X-Operator-Key": "operator"})
    sandbox_id = created.get_json()["id"]
    for path in (
        f"/.well-known/oauth-authorization-server/s/{sandbox_id}",
        f"/s/{sandbox_id}/.well-known/oauth-authorization-server",
    ):
        response = client.get(path, headers={"Origin": "https://evil.example"})
        assert response.status_code == 200
        assert _cors_headers(response) == {"Access-Control-Allow-Origin": "*"}
        preflight = _preflight(client, path, "https://evil.example", "GET")
        assert preflight.status_code == 204
        assert _cors_headers(preflight)["Access-Control-Allow-Origin"] == "*"


def test_a_v1_answer_varies_on_origin_even_without_one(messpunkt_client, messpunkt_tokens):
    # Otherwise a cache could hand this answer, without CORS headers, to a browser app.
    response = messpunkt_client.get("/v1/whoami", headers=messpunkt_tokens.bearer)
    assert _cors_headers(response) == {}
    assert "Origin" in _vary(response)


# --- configuration ---------------------------------------------------------


def _app(origins: str):
    return create_app({"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_CORS_ORIGINS": origins})


def test_configured_origins_replace_the_clients_origins(messpunkt_client):
    client = _app("https://erp.example, http://LOCALHOST:5173/").test_client()

    allowed = {
        origin: _cors_headers(_preflight(client, "/oauth/token", origin)).get(
            "Access-Control-Allow-Origin"
        )
        for origin in ["https://erp.example", "http://localhost:5173", *CLIENT_ORIGINS]
    }

    assert allowed == {
        "https://erp.example": "https://erp.example",
        "http://localhost:5173": "http://localhost:5173",
        **dict.fromkeys(CLIENT_ORIGINS),
    }


def test_a_configured_star_allows_any_origin_but_still_echoes_it():
    client = _app("*").test_client()
    response = _preflight(client, "/v1/whoami", "https://anywhere.example", "GET")
    assert response.headers["Access-Control-Allow-Origin"] == "https://anywhere.example"
    assert "Origin" in _vary(response)


@pytest.mark.parametrize(
    "setting",
    ["localhost:3000", "http://localhost:3000/callback", "ftp://files.example", "https://"],
)
def test_a_configured_entry_that_is_not_an_origin_stops_the_app_from_starting(setting):
    with pytest.raises(ValueError, match="MESSPUNKT_CORS_ORIGINS"):
        _app(setting)


def test_the_clients_origins_follow_a_newly_loaded_data_set(messpunkt_app, tmp_path):
    client = messpunkt_app.test_client()
    assert (
        "Access-Control-Allow-Origin"
        in _preflight(client, "/oauth/token", CLIENT_ORIGINS[2]).headers
    )

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    clients = json.loads((data / "clients.json").read_text(encoding="utf-8"))
    for record in clients:
        if record["client_id"] == "beispiel-erp-client":
            record["redirect_uris"] = ["https://erp.example/callback"]
    (data / "clients.json").write_text(json.dumps(clients), encoding="utf-8")
    messpunkt_app.extensions["messpunkt"].load(data)

    headers = _preflight(client, "/oauth/token", "https://erp.example").headers
    assert headers["Access-Control-Allow-Origin"] == "https://erp.example"
    assert (
        "Access-Control-Allow-Origin"
        not in _preflight(client, "/oauth/token", CLIENT_ORIGINS[2]).headers
    )
    # The tokens of the new data set work across origins like the old ones.
    assert obtain_tokens(client).access_token


@pytest.mark.parametrize(
    ("uri", "origin"),
    [
        ("http://localhost:3000/callback", "http://localhost:3000"),
        ("HTTP://LocalHost:3000/cb?x=1", "http://localhost:3000"),
        ("https://erp.example:443/callback", "https://erp.example"),
        ("http://erp.example:80/callback", "http://erp.example"),
        ("https://erp.example:8443/callback", "https://erp.example:8443"),
        ("http://[::1]:3000/callback", "http://[::1]:3000"),
        ("com.example.app:/callback", None),
        ("http://localhost:99999/callback", None),
    ],
)
def test_the_origin_of_a_redirect_uri_is_written_as_a_browser_sends_it(uri, origin):
    # WHATWG URL / Fetch: lower-case scheme and host, no default port, IPv6 in brackets.
    assert origin_of(uri) == origin
