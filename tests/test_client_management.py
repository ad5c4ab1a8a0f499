"""Registered clients at work (RFC 7591) and managed with their token (RFC 7592), in memory
and on Redis: every OAuth flow, each client held to its one auth method, read, replace and
delete through `registration_client_uri`."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from registration_flow import (
    CODE_CLIENT,
    ERP_CALLBACK,
    HAFEN,
    LINDENHOF,
    SERVICE_CLIENT,
    TENANT,
    authorize,
    basic,
    bearer,
    code_flow,
    pkce,
    registered,
)

from messpunkt import create_app

ADMIN_KEY = "management-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": ADMIN_KEY}
FROZEN_AT = "2026-11-23T09:00:00+00:00"
NOT_THIS_CLIENT = "the registration access token is not valid for this client"


@pytest.fixture
def client(store_config):
    config = {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}
    return create_app(config | store_config).test_client()


def path(registration: dict) -> str:
    return registration["registration_client_uri"].removeprefix("http://localhost:8000")


def management(registration: dict) -> dict[str, str]:
    return bearer(registration["registration_access_token"])


def whoami(client, access_token: str):
    return client.get("/v1/whoami", headers=bearer(access_token))


# The flows


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_a_confidential_client_runs_the_code_flow_refreshes_introspects_and_revokes(client, auth):
    method = {"basic": "client_secret_basic", "post": "client_secret_post"}[auth]
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "token_endpoint_auth_method": method})
    headers = basic(reg["client_id"], reg["client_secret"]) if auth == "basic" else {}
    own = {} if auth == "basic" else {"client_id": reg["client_id"],
                                      "client_secret": reg["client_secret"]}  # fmt: skip

    tokens = code_flow(client, reg, auth=auth)
    me = whoami(client, tokens["access_token"]).get_json()
    assert (me["client_id"], me["tenant_id"], me["property_scope"]) == (
        reg["client_id"], TENANT, [LINDENHOF])  # fmt: skip

    refreshed = client.post(
        "/oauth/token",
        headers=headers,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **own},
    )
    assert refreshed.status_code == 200
    new = refreshed.get_json()
    described = client.post("/oauth/introspect", headers=headers,
                            data={"token": new["access_token"], **own}).get_json()  # fmt: skip
    assert (described["active"], described["client_id"]) == (True, reg["client_id"])

    revoked = client.post("/oauth/revoke", headers=headers,
                          data={"token": new["refresh_token"], **own})  # fmt: skip
    assert (revoked.status_code, revoked.get_json()) == (200, {})
    assert whoami(client, new["access_token"]).status_code == 401


def test_a_client_without_the_refresh_token_grant_gets_no_refresh_token(client):
    # RFC 7591 §2: grant_types are those the client can use at the token endpoint, and
    # ["authorization_code"] is the default. A refresh token it could never present is
    # a credential for nothing; the code still gives its access token.
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "grant_types": ["authorization_code"]})

    tokens = code_flow(client, reg)

    assert set(tokens) == {"access_token", "token_type", "expires_in", "scope"}
    assert whoami(client, tokens["access_token"]).status_code == 200


def test_a_public_client_runs_the_code_flow_with_pkce_alone(client):
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "token_endpoint_auth_method": "none"})

    tokens = code_flow(client, reg, auth="none")

    assert whoami(client, tokens["access_token"]).get_json()["client_id"] == reg["client_id"]


def test_a_service_client_gets_a_token_for_its_tenant_and_properties(client):
    reg = registered(client, ADMIN_KEY, SERVICE_CLIENT)

    answer = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                         headers=basic(reg["client_id"], reg["client_secret"]))  # fmt: skip

    assert answer.status_code == 200
    assert "refresh_token" not in answer.get_json()
    me = whoami(client, answer.get_json()["access_token"]).get_json()
    assert (me["tenant_id"], me["property_scope"], me["granted_scopes"]) == (
        TENANT, [LINDENHOF], ["read:units"])  # fmt: skip


@pytest.mark.parametrize(
    ("method", "sent", "description"),
    [
        ("client_secret_basic", "post", "this client authenticates with client_secret_basic"),
        ("client_secret_post", "basic", "this client authenticates with client_secret_post"),
        ("client_secret_basic", "wrong secret", "client authentication failed"),
        ("client_secret_basic", "no secret", "client authentication failed"),
    ],
)
def test_a_client_is_held_to_the_auth_method_it_registered(client, method, sent, description):
    reg = registered(client, ADMIN_KEY, {**SERVICE_CLIENT, "token_endpoint_auth_method": method})
    form, headers = {"grant_type": "client_credentials"}, {}
    if sent == "post":
        form |= {"client_id": reg["client_id"], "client_secret": reg["client_secret"]}
    elif sent == "basic":
        headers = basic(reg["client_id"], reg["client_secret"])
    elif sent == "wrong secret":
        headers = basic(reg["client_id"], reg["client_secret"] + "x")
    else:
        form |= {"client_id": reg["client_id"]}

    answer = client.post("/oauth/token", data=form, headers=headers)

    assert answer.status_code == 401
    assert answer.get_json() == {"error": "invalid_client", "error_description": description}


def test_a_public_client_may_not_present_a_secret(client):
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "token_endpoint_auth_method": "none"})

    answer = client.post("/oauth/revoke", data={
        "token": "t", "client_id": reg["client_id"], "client_secret": "anything"})  # fmt: skip

    assert answer.get_json() == {"error": "invalid_client",
                                 "error_description": "public clients have no secret"}  # fmt: skip


def test_the_consent_page_names_a_registered_client(client):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    _, challenge = pkce()
    page = client.get(
        "/oauth/authorize",
        query_string={
            "response_type": "code",
            "client_id": reg["client_id"],
            "redirect_uri": ERP_CALLBACK,
            "scope": "read:units",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        headers={"Accept-Language": "en"},
    )

    assert page.status_code == 200
    assert "Allow Hausverwaltung ERP access?" in page.get_data(as_text=True)
    assert "form-action 'self' https://erp.example.com" in page.headers["Content-Security-Policy"]


def test_a_redirect_uri_it_did_not_register_is_an_error_page(client):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)

    answer = authorize(client, reg["client_id"], pkce()[1], redirect_uri=ERP_CALLBACK + "/")

    assert answer.status_code == 400
    assert "redirect_uri is not registered for this client" in answer.get_data(as_text=True)


# Read (RFC 7592 §2.1)


def test_the_registration_access_token_reads_the_registration_without_its_secret(client):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)

    read = client.get(path(reg), headers=management(reg))

    assert read.status_code == 200
    assert read.headers["Cache-Control"] == "no-store"
    assert read.get_json() == {key: value for key, value in reg.items() if key != "client_secret"}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("presented", ["none", "wrong", "the admin key", "another client's"])
def test_without_its_own_token_a_registration_is_a_401_and_unchanged(client, method, presented):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    other = registered(client, ADMIN_KEY, SERVICE_CLIENT)
    headers = {
        "none": {}, "wrong": bearer("wrong"), "the admin key": bearer(ADMIN_KEY),
        "another client's": management(other),
    }[presented]  # fmt: skip

    answer = client.open(path(reg), method=method, headers=headers,
                         json={**SERVICE_CLIENT, "client_id": reg["client_id"]})  # fmt: skip

    assert answer.status_code == 401
    challenge = 'Bearer realm="messpunkt"'
    if presented != "none":
        challenge += f', error="invalid_token", error_description="{NOT_THIS_CLIENT}"'
    assert answer.headers["WWW-Authenticate"] == challenge
    assert client.get(path(reg), headers=management(reg)).get_json()["grant_types"] == [
        "authorization_code", "refresh_token"]  # fmt: skip


def test_head_reads_the_registration_like_get_and_deletes_nothing(client):
    # HEAD is safe (RFC 9110 §9.2.1); only DELETE deprovisions (RFC 7592 §2.3).
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    tokens = code_flow(client, reg)

    head = client.head(path(reg), headers=management(reg))

    assert (head.status_code, head.get_data()) == (200, b"")
    assert head.headers["Cache-Control"] == "no-store"
    assert client.get(path(reg), headers=management(reg)).status_code == 200
    assert whoami(client, tokens["access_token"]).status_code == 200


def test_a_client_id_that_names_another_of_the_clients_keys_is_unknown(client):
    # A client's id is public; one with a suffix of the store's own must not reach its keys.
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    code_flow(client, reg)
    borrowed = reg["client_id"] + ":sessions"

    read = client.get(f"/oauth/register/{borrowed}", headers=management(reg))
    token = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "client_id": borrowed})  # fmt: skip
    consent = authorize(client, borrowed, pkce()[1])

    assert read.get_json() == {"error": "invalid_token", "error_description": NOT_THIS_CLIENT}
    assert (token.status_code, token.get_json()["error"]) == (401, "invalid_client")
    assert (consent.status_code, "unknown client_id" in consent.get_data(as_text=True)) == (
        400, True)  # fmt: skip


@pytest.mark.parametrize("client_id", ["sandbox-web-client", "mpc-unknown"])
def test_a_fixture_or_unknown_client_id_is_the_same_401(client, client_id):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)

    answer = client.get(f"/oauth/register/{client_id}", headers=management(reg))

    assert answer.status_code == 401
    assert answer.get_json() == {"error": "invalid_token", "error_description": NOT_THIS_CLIENT}


# Update (RFC 7592 §2.2)


def test_an_update_replaces_every_field_and_what_it_leaves_out_takes_its_default(client):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    update = {"client_id": reg["client_id"], "redirect_uris": ["http://127.0.0.1:9000/cb"]}

    answer = client.put(path(reg), json=update, headers=management(reg))

    assert answer.status_code == 200
    body = answer.get_json()
    assert body == {
        "client_id": reg["client_id"],
        "client_id_issued_at": reg["client_id_issued_at"],
        "client_secret_expires_at": 0,
        "registration_access_token": reg["registration_access_token"],
        "registration_client_uri": reg["registration_client_uri"],
        "redirect_uris": ["http://127.0.0.1:9000/cb"],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": "read:devices read:readings read:units",
    }
    assert client.get(path(reg), headers=management(reg)).get_json() == body
    # The secret stays the one issued at registration.
    assert (
        client.post(
            "/oauth/introspect",
            data={"token": "x"},
            headers=basic(reg["client_id"], reg["client_secret"]),
        ).status_code
        == 200
    )


def test_a_public_client_that_turns_confidential_gets_its_secret_in_the_update(client):
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "token_endpoint_auth_method": "none"})

    body = client.put(path(reg), headers=management(reg),
                      json={**CODE_CLIENT, "client_id": reg["client_id"]}).get_json()  # fmt: skip

    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    tokens = code_flow(client, {**reg, "client_secret": body["client_secret"]}, auth="basic")
    assert whoami(client, tokens["access_token"]).status_code == 200


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        (
            {"client_id": None},
            "invalid_client_metadata",
            "client_id must be given, and be this client's",
        ),
        (
            {"client_id": "sandbox-web-client"},
            "invalid_client_metadata",
            "client_id must be given, and be this client's",
        ),
        (
            {"client_secret": "not-the-secret"},
            "invalid_client_metadata",
            "client_secret does not match this client's secret",
        ),
        (
            {"redirect_uris": ["http://erp.example.com/cb"]},
            "invalid_redirect_uri",
            "http only on a loopback host (127.0.0.1, [::1], localhost): 'http://erp.example.com/cb'",
        ),
        (
            {"scope": "admin"},
            "invalid_client_metadata",
            "scope must be among read:devices read:readings read:units",
        ),
    ],
    ids=[
        "no client_id",
        "another client_id",
        "a wrong secret",
        "a bad redirect URI",
        "a bad scope",
    ],
)
def test_a_bad_update_is_a_400_and_changes_nothing(client, change, error, description):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    update = {**CODE_CLIENT, "client_id": reg["client_id"], "client_name": "Renamed", **change}
    update = {key: value for key, value in update.items() if value is not None}

    answer = client.put(path(reg), json=update, headers=management(reg))

    assert answer.status_code == 400
    assert answer.get_json() == {"error": error, "error_description": description}
    read = client.get(path(reg), headers=management(reg)).get_json()
    assert read == {key: value for key, value in reg.items() if key != "client_secret"}


def test_an_update_may_name_the_current_secret(client):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    update = {**CODE_CLIENT, "client_id": reg["client_id"], "client_secret": reg["client_secret"]}

    answer = client.put(path(reg), json=update, headers=management(reg))

    assert answer.status_code == 200
    assert "client_secret" not in answer.get_json()  # not issued again


# Delete (RFC 7592 §2.3)


def test_a_deleted_client_gets_no_tokens_and_every_token_it_had_stops_working(client):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    tokens = code_flow(client, reg)
    credentials = basic(reg["client_id"], reg["client_secret"])

    deleted = client.delete(path(reg), headers=management(reg))

    assert (deleted.status_code, deleted.get_data()) == (204, b"")
    assert whoami(client, tokens["access_token"]).status_code == 401
    refreshed = client.post("/oauth/token", headers=credentials, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})  # fmt: skip
    assert refreshed.get_json() == {
        "error": "invalid_client",
        "error_description": "unknown client",
    }
    answer = authorize(client, reg["client_id"], pkce()[1])
    assert (answer.status_code, "unknown client_id" in answer.get_data(as_text=True)) == (400, True)
    sessions = client.get(f"/sandbox/sessions?client_id={reg['client_id']}", headers=ADMIN)
    [session] = sessions.get_json()["data"]
    assert (session["state"], session["revoked_reason"]) == ("revoked", "client deleted")
    assert client.get(path(reg), headers=management(reg)).status_code == 401
    assert client.delete(path(reg), headers=management(reg)).status_code == 401


def test_deleting_one_client_leaves_the_others_sessions_alone(client):
    gone, kept = (registered(client, ADMIN_KEY, CODE_CLIENT) for _ in range(2))
    kept_tokens = code_flow(client, kept)

    client.delete(path(gone), headers=management(gone))

    assert whoami(client, kept_tokens["access_token"]).status_code == 200


def test_a_registration_under_a_fixture_clients_id_never_stands_in_for_it(client):
    # Registration never hands out a fixture's id; were one stored, the fixture still wins.
    store = client.application.extensions["messpunkt"].store
    reg = registered(client, ADMIN_KEY, SERVICE_CLIENT)
    stored = store.registration(reg["client_id"])
    fixture_id = replace(stored, client_id="sandbox-service-client")
    store.add_registration(fixture_id, store.state().moment(stored.issued_at))
    fixture_secret = "sandbox-service-client-secret-change-me"

    def token(secret: str):
        return client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers=basic("sandbox-service-client", secret))  # fmt: skip

    assert token(reg["client_secret"]).status_code == 401
    assert token(fixture_secret).status_code == 200
    read = client.get("/oauth/register/sandbox-service-client", headers=management(reg))
    assert read.status_code == 401


# A DELETE racing a token grant


@pytest.mark.parametrize("grant", ["client_credentials", "authorization_code"])
def test_a_client_deleted_after_its_authentication_gets_no_token(client, monkeypatch, grant):
    # The DELETE lands between the token endpoint's authentication of the client and the
    # store's step that opens the session: that step must see the registration gone, or a
    # deleted client holds a fresh token (RFC 7592 §2.3). Answered as a client that was
    # deleted before: 401 invalid_client "unknown client" (what the test above gets).
    reg = registered(client, ADMIN_KEY, SERVICE_CLIENT if grant == "client_credentials"
                     else CODE_CLIENT)  # fmt: skip
    store = client.application.extensions["messpunkt"].store
    step = "start_session" if grant == "client_credentials" else "redeem_code"
    original = getattr(type(store), step)

    def deleted_first(self, *args):
        assert self.delete_registration(reg["client_id"], args[-1].now)  # the step's Moment
        return original(self, *args)

    verifier, challenge = pkce()
    form = {"grant_type": grant}
    if grant == "authorization_code":
        answer = authorize(client, reg["client_id"], challenge)
        code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
        form |= {"code": code, "redirect_uri": ERP_CALLBACK, "code_verifier": verifier}
    monkeypatch.setattr(type(store), step, deleted_first)

    answer = client.post("/oauth/token", data=form,
                         headers=basic(reg["client_id"], reg["client_secret"]))  # fmt: skip

    assert answer.status_code == 401
    assert answer.get_json() == {"error": "invalid_client", "error_description": "unknown client"}
    sessions = client.get(f"/sandbox/sessions?client_id={reg['client_id']}", headers=ADMIN)
    assert sessions.get_json()["data"] == []


# An update that changes the client's credential


def refresh(client, tokens: dict, **auth):
    """Present the refresh token: as a public client (client_id alone) or with the given
    client_secret_post credentials."""
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **auth}
    return client.post("/oauth/token", data=form)


def test_a_confidential_client_turned_public_loses_every_session_it_had(client):
    # Its refresh tokens were bound to its secret (RFC 6749 §6: a confidential client
    # authenticates to refresh). Were they kept, anyone holding one could refresh with the
    # client_id alone once the client is `none`. So the update revokes them, in its step.
    post = {**CODE_CLIENT, "token_endpoint_auth_method": "client_secret_post"}
    reg = registered(client, ADMIN_KEY, post)
    tokens = code_flow(client, reg, auth="post")
    public = {**CODE_CLIENT, "client_id": reg["client_id"], "token_endpoint_auth_method": "none"}

    assert client.put(path(reg), json=public, headers=management(reg)).status_code == 200

    assert refresh(client, tokens, client_id=reg["client_id"]).get_json() == {
        "error": "invalid_grant", "error_description": "the session is revoked"}  # fmt: skip
    assert whoami(client, tokens["access_token"]).status_code == 401
    sessions = client.get(f"/sandbox/sessions?client_id={reg['client_id']}", headers=ADMIN)
    [session] = sessions.get_json()["data"]
    assert (session["state"], session["revoked_reason"]) == ("revoked", "client credential changed")
    # What it gets from now on, as a public client, works.
    fresh = code_flow(client, reg, auth="none")
    assert whoami(client, fresh["access_token"]).status_code == 200


def test_a_public_client_turned_confidential_starts_afresh_with_its_new_secret(client):
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "token_endpoint_auth_method": "none"})
    tokens = code_flow(client, reg, auth="none")
    update = {**CODE_CLIENT, "client_id": reg["client_id"],
              "token_endpoint_auth_method": "client_secret_post"}  # fmt: skip

    body = client.put(path(reg), json=update, headers=management(reg)).get_json()

    own = {"client_id": reg["client_id"], "client_secret": body["client_secret"]}
    assert refresh(client, tokens, **own).get_json()["error_description"] == (
        "the session is revoked")  # fmt: skip
    assert whoami(client, tokens["access_token"]).status_code == 401


def test_switching_between_the_secret_methods_keeps_the_secret_and_the_sessions(client):
    # client_secret_basic to client_secret_post: the same secret, sent another way, so the
    # refresh tokens stay bound to the credential they were issued under.
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    tokens = code_flow(client, reg, auth="basic")
    update = {**CODE_CLIENT, "client_id": reg["client_id"],
              "token_endpoint_auth_method": "client_secret_post"}  # fmt: skip

    body = client.put(path(reg), json=update, headers=management(reg)).get_json()

    assert "client_secret" not in body
    own = {"client_id": reg["client_id"], "client_secret": reg["client_secret"]}
    assert refresh(client, tokens, **own).status_code == 200
    assert whoami(client, tokens["access_token"]).status_code == 200


GRANTS_CHANGED = "client registration changed what it may be granted"


def refreshed(client, reg: dict, tokens: dict):
    """Present the refresh token as the registered client_secret_basic client."""
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    return client.post("/oauth/token", data=form,
                       headers=basic(reg["client_id"], reg["client_secret"]))  # fmt: skip


CHANGES_WHAT_IT_MAY_BE_GRANTED = {  # registered with, then updated to
    "a scope taken away": ({}, {"scope": "read:units"}),
    "a scope added": ({"scope": "read:units read:devices"}, {}),
    "bound to a tenant": ({}, {"tenant_id": TENANT}),
}


@pytest.mark.parametrize(
    ("before", "after"),
    CHANGES_WHAT_IT_MAY_BE_GRANTED.values(),
    ids=CHANGES_WHAT_IT_MAY_BE_GRANTED.keys(),
)
def test_an_update_of_what_the_client_may_be_granted_ends_every_session_it_had(
    client, before, after
):
    # The sessions were granted under the old registration: refreshed after a scope was
    # taken away, one kept the scope (fosite refuses such a refresh). A change either way
    # ends them in the update's own step; the client's users consent again.
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, **before})
    tokens = code_flow(client, reg)
    update = {**CODE_CLIENT, "client_id": reg["client_id"], **after}

    assert client.put(path(reg), json=update, headers=management(reg)).status_code == 200

    assert refreshed(client, reg, tokens).get_json() == {
        "error": "invalid_grant", "error_description": "the session is revoked"}  # fmt: skip
    assert whoami(client, tokens["access_token"]).status_code == 401
    sessions = client.get(f"/sandbox/sessions?client_id={reg['client_id']}", headers=ADMIN)
    [session] = sessions.get_json()["data"]
    assert (session["state"], session["revoked_reason"]) == ("revoked", GRANTS_CHANGED)


def test_an_update_of_the_name_and_redirect_uris_keeps_the_sessions(client):
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    tokens = code_flow(client, reg)
    update = {**CODE_CLIENT, "client_id": reg["client_id"], "client_name": "Neuer Name",
              "redirect_uris": [ERP_CALLBACK, "https://erp.example.com/other"],
              "scope": " ".join(reversed(CODE_CLIENT["scope"].split()))}  # fmt: skip

    assert client.put(path(reg), json=update, headers=management(reg)).status_code == 200

    assert refreshed(client, reg, tokens).status_code == 200
    assert whoami(client, tokens["access_token"]).status_code == 200


def test_on_redis_a_registration_kept_before_grant_bases_keeps_its_sessions_on_a_rename(
    store_url, signing_key
):
    # Kept by an earlier version, a registration has no `basis` beside its secret hash: a
    # rename must not read as a change of what it may be granted.
    client = create_app({
        "MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY,
        "MESSPUNKT_STORE_URL": store_url, "MESSPUNKT_SIGNING_KEY": signing_key,
        "MESSPUNKT_SECRET_KEY": "cursor"}).test_client()  # fmt: skip
    store = client.application.extensions["messpunkt"].store
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    tokens = code_flow(client, reg)
    store.client.hdel(store.prefix + "client:" + reg["client_id"], "basis")
    update = {**CODE_CLIENT, "client_id": reg["client_id"], "client_name": "Neuer Name"}

    assert client.put(path(reg), json=update, headers=management(reg)).status_code == 200

    assert whoami(client, tokens["access_token"]).status_code == 200
    taken_away = {**update, "scope": "read:units"}
    assert client.put(path(reg), json=taken_away, headers=management(reg)).status_code == 200
    assert whoami(client, tokens["access_token"]).status_code == 401  # the basis was written


def test_a_service_client_whose_properties_change_loses_its_tokens(client):
    reg = registered(client, ADMIN_KEY, SERVICE_CLIENT)
    credentials = basic(reg["client_id"], reg["client_secret"])
    token = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers=credentials).get_json()["access_token"]  # fmt: skip
    update = {**SERVICE_CLIENT, "client_id": reg["client_id"], "property_ids": [HAFEN]}

    assert client.put(path(reg), json=update, headers=management(reg)).status_code == 200

    assert whoami(client, token).status_code == 401


@pytest.mark.parametrize("member", ["client_secret", "client_id", "redirect_uris"])
def test_an_update_with_a_lone_surrogate_is_a_400_and_changes_nothing(client, member):
    # client_secret "\ud800" was hashed to be compared, and UTF-8 cannot encode it: a 500.
    reg = registered(client, ADMIN_KEY, CODE_CLIENT)
    value = '["https://erp.example.com/\\ud800"]' if member == "redirect_uris" else '"\\ud800"'
    fields = {"client_id": f'"{reg["client_id"]}"', member: value}
    body = "{" + ", ".join(f'"{name}": {text}' for name, text in fields.items()) + "}"

    answer = client.put(path(reg), data=body, content_type="application/json",
                        headers=management(reg))  # fmt: skip

    assert answer.status_code == 400
    description = f"{member} is not UTF-8 text (a lone surrogate)"
    assert answer.get_json() == {
        "error": "invalid_client_metadata",
        "error_description": description,
    }
    read = client.get(path(reg), headers=management(reg)).get_json()
    assert read == {key: value for key, value in reg.items() if key != "client_secret"}


# Loopback redirect URIs (RFC 8252 §7.3)

LOOPBACK = ["http://127.0.0.1/callback", "http://[::1]:3000/cb", "http://localhost:3000/cb"]


def loopback_code(client, reg: dict, redirect_uri: str):
    verifier, challenge = pkce()
    return authorize(client, reg["client_id"], challenge, redirect_uri=redirect_uri), verifier


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:53211/callback", "http://127.0.0.1:80/callback", "http://[::1]:61000/cb",
     "http://[::1]/cb"],
)  # fmt: skip
def test_a_loopback_ip_redirect_uri_takes_any_port_the_app_picks(client, redirect_uri):
    # RFC 8252 §7.3: a native app listens on a port the OS gives it at request time, so
    # the server must allow any port for http on 127.0.0.1 and [::1], and only the port.
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "redirect_uris": LOOPBACK})

    answer, verifier = loopback_code(client, reg, redirect_uri)

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    code = parse_qs(location.query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}  # fmt: skip
    token = client.post("/oauth/token", data=form,
                        headers=basic(reg["client_id"], reg["client_secret"]))  # fmt: skip
    assert token.status_code == 200


def test_the_token_request_names_the_port_the_authorization_request_used(client):
    # RFC 6749 §4.1.3: identical to the authorization request's, port and all.
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "redirect_uris": LOOPBACK})
    answer, verifier = loopback_code(client, reg, "http://127.0.0.1:53211/callback")
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": "http://127.0.0.1:53212/callback"}  # fmt: skip

    token = client.post("/oauth/token", data=form,
                        headers=basic(reg["client_id"], reg["client_secret"]))  # fmt: skip

    description = "redirect_uri does not match the authorization request"
    assert token.get_json() == {"error": "invalid_grant", "error_description": description}


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:4000/cb",  # a name, not an IP literal: matched exactly
        "http://127.0.0.1:53211/other",  # another path
        "http://127.0.0.1:53211/callback?x=1",  # another query
        "http://[::1]:61000/callback",  # [::1] is registered for /cb only
        "http://127.0.0.2:53211/callback",  # not the registered address
        "https://127.0.0.1:53211/callback",  # another scheme
        "http://u@127.0.0.1:53211/callback",  # user information
        "http://127.0.0.1:99999/callback",  # no port
        "http://127.0.0.1:53211/callback#top",  # a fragment
    ],
)
def test_only_the_port_of_a_loopback_ip_redirect_uri_may_differ(client, redirect_uri):
    reg = registered(client, ADMIN_KEY, {**CODE_CLIENT, "redirect_uris": LOOPBACK})

    answer, _ = loopback_code(client, reg, redirect_uri)

    assert answer.status_code == 400
    assert "redirect_uri is not registered for this client" in answer.get_data(as_text=True)
