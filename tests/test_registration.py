"""Dynamic client registration (RFC 7591): what a registration request may say, and the answer.

Every refusal is 400 with an RFC 7591 §3.2.2 error, RFC 6749 §5.2 JSON, and stores
nothing; the initial access token is the sandbox's admin key (RFC 7591 §3).
"""

from __future__ import annotations

import pytest
from registration_flow import (
    CODE_CLIENT,
    ERP_CALLBACK,
    LEIPZIG,
    LINDENHOF,
    OTHER_TENANT,
    SERVICE_CLIENT,
    TENANT,
    bearer,
    register,
    registered,
)

ADMIN_KEY = "registration-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": ADMIN_KEY}
REDIRECT, METADATA = "invalid_redirect_uri", "invalid_client_metadata"


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    return {"MESSPUNKT_FROZEN_AT": "2026-11-23T09:00:00+00:00",
            "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}  # fmt: skip


def registered_ids(client) -> list[str]:
    listed = client.get("/sandbox/clients?origin=registered", headers=ADMIN).get_json()
    return [c["client_id"] for c in listed["data"]]


def code_client(**changes) -> dict:
    return {key: value for key, value in {**CODE_CLIENT, **changes}.items() if value is not None}


def service_client(**changes) -> dict:
    return {key: value for key, value in {**SERVICE_CLIENT, **changes}.items() if value is not None}


# The metadata, field by field (RFC 7591 §2)

REFUSED = {
    # redirect_uris: exact, absolute, https or http on loopback, no fragment (RFC 8252 §7.3)
    "http on a public host": (code_client(redirect_uris=["http://erp.example.com/cb"]), REDIRECT),
    "a fragment": (code_client(redirect_uris=["https://erp.example.com/cb#top"]), REDIRECT),
    "an empty fragment": (code_client(redirect_uris=["https://erp.example.com/cb#"]), REDIRECT),
    "a relative URI": (code_client(redirect_uris=["/callback"]), REDIRECT),
    "no host": (code_client(redirect_uris=["https:///callback"]), REDIRECT),
    "a custom scheme": (code_client(redirect_uris=["com.example.erp:/callback"]), REDIRECT),
    "javascript": (code_client(redirect_uris=["javascript:alert(1)"]), REDIRECT),
    "user information": (code_client(redirect_uris=["https://a:b@erp.example.com/"]), REDIRECT),
    "empty user information": (code_client(redirect_uris=["https://@erp.example.com/"]), REDIRECT),
    "a password alone": (code_client(redirect_uris=["https://:pw@erp.example.com/"]), REDIRECT),
    # a browser reads "\" as "/": the host it goes to is erp.example.com, not the one checked
    "a backslash in the path": (
        code_client(redirect_uris=["https://erp.example.com\\cb"]), REDIRECT),
    "a backslash before the host": (
        code_client(redirect_uris=["https://erp.example.com\\@evil.example/"]), REDIRECT),
    "a backslash on loopback": (
        code_client(redirect_uris=["http://127.0.0.1:8080\\cb"]), REDIRECT),
    "a bad port": (code_client(redirect_uris=["https://erp.example.com:99999/"]), REDIRECT),
    "a space": (code_client(redirect_uris=["https://erp.example.com/a b"]), REDIRECT),
    "a bad IPv6 literal": (code_client(redirect_uris=["http://[::1/cb"]), REDIRECT),
    # a host is a DNS name or an IP literal: the consent page's CSP names it in form-action,
    # where ";" would end the directive and "*" or "'" would widen it
    "a semicolon in the host": (code_client(redirect_uris=["https://a;sandbox/cb"]), REDIRECT),
    "a wildcard host": (code_client(redirect_uris=["https://*/cb"]), REDIRECT),
    "a quote in the host": (code_client(redirect_uris=["https://a'b.example/cb"]), REDIRECT),
    "a comma in the host": (code_client(redirect_uris=["https://a,b.example/cb"]), REDIRECT),
    # a browser decodes it to evil.example, the host checked here would be "%65vil.example"
    "a percent-encoded host": (code_client(redirect_uris=["https://%65vil.example/cb"]), REDIRECT),
    "http on a loopback look-alike": (
        code_client(redirect_uris=["http://localhost.example.com/cb"]), REDIRECT),
    "none for the code flow": (code_client(redirect_uris=[]), REDIRECT),
    "left out for the code flow": (code_client(redirect_uris=None), REDIRECT),
    "a string, not an array": (code_client(redirect_uris=ERP_CALLBACK), REDIRECT),
    "a number among them": (code_client(redirect_uris=[ERP_CALLBACK, 7]), REDIRECT),
    "eleven of them": (
        code_client(redirect_uris=[f"https://erp.example.com/{n}" for n in range(11)]), REDIRECT),
    "for client_credentials": (service_client(redirect_uris=[ERP_CALLBACK]), REDIRECT),
    # token_endpoint_auth_method
    "an unknown auth method": (code_client(token_endpoint_auth_method="private_key_jwt"), METADATA),
    "an auth method that is no string": (code_client(token_endpoint_auth_method=1), METADATA),
    "an empty auth method": (code_client(token_endpoint_auth_method=""), METADATA),
    # grant_types and response_types (§2.1)
    "the implicit grant": (code_client(grant_types=["implicit"]), METADATA),
    "no grant type": (code_client(grant_types=[]), METADATA),
    "refresh_token alone": (code_client(grant_types=["refresh_token"]), METADATA),
    "client_credentials with the code flow": (
        service_client(grant_types=["client_credentials", "authorization_code"],
                       redirect_uris=[ERP_CALLBACK]), METADATA),
    "client_credentials without a secret": (
        service_client(token_endpoint_auth_method="none"), METADATA),
    "response type token": (code_client(response_types=["token"]), METADATA),
    "response type code without the code grant": (
        service_client(response_types=["code"]), METADATA),
    "no response type with the code grant": (code_client(response_types=[]), METADATA),
    # scope: a subset of what the sandbox offers
    "an unknown scope": (code_client(scope="read:units write:units"), METADATA),
    "an empty scope": (code_client(scope=""), METADATA),
    "a scope array": (code_client(scope=["read:units"]), METADATA),
    # client_name
    "an empty name": (code_client(client_name=""), METADATA),
    "a name with a newline": (code_client(client_name="ERP\nAdmin"), METADATA),
    "a name of 201 characters": (code_client(client_name="x" * 201), METADATA),
    # tenant_id and property_ids (the fixtures' extension fields)
    "client_credentials without a tenant": (service_client(tenant_id=None), METADATA),
    "client_credentials without properties": (service_client(property_ids=[]), METADATA),
    "an unknown tenant": (service_client(tenant_id="no-such-tenant"), METADATA),
    "another tenant's property": (service_client(property_ids=[LINDENHOF, LEIPZIG]), METADATA),
    "property_ids for the code flow": (code_client(property_ids=[LINDENHOF]), METADATA),
    "an unknown tenant for the code flow": (code_client(tenant_id="no-such-tenant"), METADATA),
    # the document itself
    "an array": (["client_name"], METADATA),
    "a string": ("client", METADATA),
    "null": (None, METADATA),
}  # fmt: skip


@pytest.mark.parametrize(("metadata", "error"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_metadata_is_a_400_with_the_rfc_7591_error_and_stores_nothing(
    messpunkt_client, metadata, error
):
    response = register(messpunkt_client, ADMIN_KEY, metadata)

    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert registered_ids(messpunkt_client) == []


ACCEPTED = {
    "https": code_client(redirect_uris=["https://erp.example.com/cb?tenant=1"]),
    "http on 127.0.0.1 with a port": code_client(redirect_uris=["http://127.0.0.1:8080/cb"]),
    "http on [::1]": code_client(redirect_uris=["http://[::1]:3000/cb"]),
    "http on localhost": code_client(redirect_uris=["http://localhost/cb"]),
    "a host of digits, hyphens and an IDN label": code_client(
        redirect_uris=["https://erp-2.xn--mnchen-3ya.example:8443/cb"]
    ),
    "an IPv4 host": code_client(redirect_uris=["https://192.0.2.7/cb"]),
    "a public client": code_client(token_endpoint_auth_method="none"),
    "client_secret_post": code_client(token_endpoint_auth_method="client_secret_post"),
    "a code client bound to a tenant": code_client(tenant_id=OTHER_TENANT),
    "a service client": service_client(),
}


@pytest.mark.parametrize("metadata", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_good_metadata_is_registered_as_sent(messpunkt_client, metadata):
    body = registered(messpunkt_client, ADMIN_KEY, metadata)

    for name, value in metadata.items():
        assert body[name] == value
    assert registered_ids(messpunkt_client) == [body["client_id"]]


def test_a_registration_answers_201_with_the_client_its_secret_once_and_its_management_uri(
    messpunkt_client,
):
    response = register(messpunkt_client, ADMIN_KEY, {**CODE_CLIENT, "logo_uri": "ignored"})

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    client_id = body["client_id"]
    assert body == {
        "client_id": client_id,
        "client_secret": body["client_secret"],
        "client_id_issued_at": 1795424400,  # the frozen clock, 2026-11-23T09:00:00Z
        "client_secret_expires_at": 0,
        "registration_access_token": body["registration_access_token"],
        "registration_client_uri": f"http://localhost:8000/oauth/register/{client_id}",
        "client_name": "Hausverwaltung ERP",
        "redirect_uris": [ERP_CALLBACK],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "read:units read:devices read:readings",
    }
    assert len(body["client_secret"]) >= 43 and len(body["registration_access_token"]) >= 43


def test_the_defaults_are_rfc_7591s_and_every_scope_the_sandbox_offers(messpunkt_client):
    body = registered(messpunkt_client, ADMIN_KEY, {"redirect_uris": [ERP_CALLBACK]})

    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["grant_types"] == ["authorization_code"]
    assert body["response_types"] == ["code"]
    offered = messpunkt_client.get("/.well-known/oauth-authorization-server").get_json()
    assert body["scope"].split() == offered["scopes_supported"]
    assert "client_name" not in body


def test_a_public_client_gets_no_secret(messpunkt_client):
    body = registered(messpunkt_client, ADMIN_KEY, code_client(token_endpoint_auth_method="none"))

    assert "client_secret" not in body
    assert "client_secret_expires_at" not in body


def test_a_service_client_keeps_its_tenant_and_properties(messpunkt_client):
    body = registered(messpunkt_client, ADMIN_KEY, service_client(property_ids=[LINDENHOF]))

    assert (body["tenant_id"], body["property_ids"]) == (TENANT, [LINDENHOF])
    assert (body["redirect_uris"], body["response_types"]) == ([], [])


# The initial access token (RFC 7591 §3, RFC 6750 §3.1)


def test_without_a_bearer_token_registration_is_a_401_with_a_bare_challenge(messpunkt_client):
    response = messpunkt_client.post("/oauth/register", json=CODE_CLIENT, headers=ADMIN)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="messpunkt"'
    assert response.get_json()["error"] == "invalid_token"
    assert registered_ids(messpunkt_client) == []


@pytest.mark.parametrize("token", ["wrong-key", ADMIN_KEY + "x", ADMIN_KEY[:-1]])
def test_any_token_but_the_admin_key_is_a_401_invalid_token(messpunkt_client, token):
    response = messpunkt_client.post("/oauth/register", json=CODE_CLIENT, headers=bearer(token))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="messpunkt", error="invalid_token", '
        'error_description="the initial access token is the sandbox\'s admin key"'
    )
    assert registered_ids(messpunkt_client) == []


# Bodies that are not a JSON document of metadata


@pytest.mark.parametrize(
    ("body", "content_type", "description"),
    [
        (b"client_name=x", "application/x-www-form-urlencoded",
         "send the client metadata as application/json"),
        (b'{"client_name": "x"', "application/json", "the body is not a JSON document: "),
        (b'{"client_name": "a", "client_name": "b"}', "application/json",
         "the body is not a JSON document: a member is given twice"),
        (b"[" * 40 + b"]" * 40, "application/json",
         "the body is not a JSON document: the JSON is nested more than 32 deep"),
        (b'{"client_name": "\xff"}', "application/json", "the body is not a JSON document: "),
    ],
    ids=["a form", "cut short", "a member twice", "nested too deep", "not UTF-8"],
)  # fmt: skip
def test_a_body_that_is_not_a_json_document_is_a_400_invalid_client_metadata(
    messpunkt_client, body, content_type, description
):
    response = messpunkt_client.post(
        "/oauth/register", data=body, content_type=content_type, headers=bearer(ADMIN_KEY)
    )

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == METADATA
    # The parser's own words follow where they say more than "not JSON".
    assert body["error_description"].startswith(description)
    assert registered_ids(messpunkt_client) == []


def test_a_body_over_the_limit_is_a_413_in_json_and_stores_nothing(messpunkt_client):
    huge = {**CODE_CLIENT, "client_name": "x" * 70_000}
    response = register(messpunkt_client, ADMIN_KEY, huge)

    assert response.status_code == 413
    assert response.get_json() == {
        "error": "invalid_request", "error_description": "the request body is too large"
    }  # fmt: skip
    assert registered_ids(messpunkt_client) == []


# Discovery (RFC 8414 §2)


def test_the_metadata_advertises_the_registration_endpoint(messpunkt_client):
    metadata = messpunkt_client.get("/.well-known/oauth-authorization-server").get_json()

    assert metadata["registration_endpoint"] == "http://localhost:8000/oauth/register"


def test_ids_that_keep_colliding_end_in_a_500_after_five_draws_not_a_loop(
    messpunkt_client, monkeypatch
):
    # 128 random bits that collide five times in a row mean broken randomness: the server's
    # fault (RFC 6749 §5.2 server_error), and nothing is stored.
    store = messpunkt_client.application.extensions["messpunkt"].store
    tries = []

    def taken(registration, at):
        tries.append(registration.client_id)
        assert len(tries) <= 10, "the registration keeps drawing ids"
        return False

    monkeypatch.setattr(store, "add_registration", taken)

    response = register(messpunkt_client, ADMIN_KEY, CODE_CLIENT)

    assert response.status_code == 500
    assert response.get_json() == {
        "error": "server_error",
        "error_description": "no unused client_id in 5 draws; nothing was registered",
    }
    assert len(tries) == 5
    monkeypatch.undo()
    assert registered_ids(messpunkt_client) == []


# Strings that are not UTF-8 text

LONE_SURROGATES = {
    # JSON's \u escape spells a lone surrogate, which no UTF-8 text holds: each is refused
    # by name, never echoed (echoing one failed as a 500 while encoding the answer).
    "a property id": (
        b'{"grant_types": ["client_credentials"], "tenant_id": "' + TENANT.encode()
        + b'", "property_ids": ["\\ud800"]}', "property_ids"),
    "a client name": (b'{"redirect_uris": ["https://erp.example.com/cb"], '
                      b'"client_name": "\\udfff"}', "client_name"),
    "a field the sandbox ignores": (b'{"redirect_uris": ["https://erp.example.com/cb"], '
                                    b'"logo_uri": {"de": ["\\ud800x"]}}', "logo_uri"),
}  # fmt: skip


@pytest.mark.parametrize(("body", "member"), LONE_SURROGATES.values(), ids=LONE_SURROGATES.keys())
def test_a_lone_surrogate_anywhere_is_a_400_naming_its_member(messpunkt_client, body, member):
    response = messpunkt_client.post(
        "/oauth/register", data=body, content_type="application/json", headers=bearer(ADMIN_KEY)
    )

    assert response.status_code == 400
    assert response.get_json() == {
        "error": METADATA, "error_description": f"{member} is not UTF-8 text (a lone surrogate)"
    }  # fmt: skip
    assert registered_ids(messpunkt_client) == []


def test_a_lone_surrogate_in_a_members_name_is_a_400(messpunkt_client):
    body = b'{"redirect_uris": ["https://erp.example.com/cb"], "\\ud800": 1}'

    response = messpunkt_client.post(
        "/oauth/register", data=body, content_type="application/json", headers=bearer(ADMIN_KEY)
    )

    assert (response.status_code, response.get_json()) == (400, {
        "error": METADATA,
        "error_description": "a member's name is not UTF-8 text (a lone surrogate)"})  # fmt: skip
