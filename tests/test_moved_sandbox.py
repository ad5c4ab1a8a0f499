"""A request that a reset or a clock move overtakes between its read and its step.

A request reads its sandbox once, as it begins, and is served at that instant. When the
sandbox is reset or its clock moved before the request's store step, the step writes
nothing (tests/test_store_contract.py holds that on every store) and the request is
answered as a transient failure: the same request made again is served at the sandbox's
new instant. Here the move is made from inside the store step, just before it runs.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from registration_flow import SERVICE_CLIENT, bearer

from messpunkt.testing import (
    DEMO_CLIENT,
    DEMO_REDIRECT_URI,
    DEMO_SCOPES,
    FROZEN_AT,
    QUICKSTART_PROPERTY,
    obtain_tokens,
)

KEY = "test-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": KEY}
TENANT = "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 Appendix B
DETAIL = (
    "the sandbox was reset or its clock moved while this request was served; "
    "nothing was done, make the request again"
)


@pytest.fixture
def messpunkt_config():
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY}


@pytest.fixture
def platform(messpunkt_app):
    return messpunkt_app.extensions["messpunkt"]


def overtaken(monkeypatch, platform, step: str, move: str, by=timedelta(days=1)) -> None:
    """Let the store's `step` run once the sandbox is reset or its clock advanced `by`."""
    store = platform.store
    original = getattr(store, step)

    def moved_first(*args):
        if move == "reset":
            store.reset()
        elif move == "data set":
            store.reset("default")  # chosen again: its registered clients are forgotten
        else:
            platform.clock.advance(by)
        monkeypatch.setattr(store, step, original)  # once: the request made again goes through
        return original(*args)

    monkeypatch.setattr(store, step, moved_first)


@pytest.mark.parametrize("move", ["reset", "clock"])
def test_a_refresh_overtaken_is_503_and_made_again_it_rotates(
    messpunkt_client, messpunkt_tokens, platform, monkeypatch, move
):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": messpunkt_tokens.refresh_token,
        "client_id": DEMO_CLIENT,
    }
    overtaken(monkeypatch, platform, "rotate_refresh_token", move)

    response = messpunkt_client.post("/oauth/token", data=form)

    assert response.status_code == 503
    assert response.json == {"error": "temporarily_unavailable", "error_description": DETAIL}
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Cache-Control"] == "no-store"
    again = messpunkt_client.post("/oauth/token", data=form)
    if move == "reset":  # the reset forgot the token
        assert (again.status_code, again.json["error"]) == (400, "invalid_grant")
        assert again.json["error_description"] == "refresh token is unknown"
    else:  # not a replay: the overtaken request rotated nothing
        assert again.status_code == 200, again.json
        [session] = platform.store.sessions()
        assert session.revoked_at is None
        assert [e.kind.value for e in session.events] == ["issued", "rotated"]


def test_a_client_credentials_grant_overtaken_is_503_and_opens_no_session(
    messpunkt_client, platform, monkeypatch
):
    overtaken(monkeypatch, platform, "start_session", "clock")

    response = messpunkt_client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("sandbox-service-client", "sandbox-service-client-secret-change-me"),
    )

    assert (response.status_code, response.json["error"]) == (503, "temporarily_unavailable")
    assert platform.store.sessions() == []


def test_a_code_exchange_overtaken_is_503_and_leaves_the_code_unused(
    messpunkt_client, platform, monkeypatch
):
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    approved = messpunkt_client.post("/oauth/authorize", data=consent())
    code = parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "client_id": DEMO_CLIENT,
        "redirect_uri": DEMO_REDIRECT_URI,
    }
    overtaken(monkeypatch, platform, "redeem_code", "clock", timedelta(minutes=1))

    response = messpunkt_client.post("/oauth/token", data=form)

    assert (response.status_code, response.json["error"]) == (503, "temporarily_unavailable")
    again = messpunkt_client.post("/oauth/token", data=form)  # within the code's 5 minutes
    assert again.status_code == 200, again.json
    assert [s.revoked_at for s in platform.store.sessions()] == [None]


def consent(state: str = "xyz") -> dict[str, object]:
    return {
        "client_id": DEMO_CLIENT,
        "redirect_uri": DEMO_REDIRECT_URI,
        "scope": " ".join(DEMO_SCOPES),
        "state": state,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "decision": "approve",
        "property": QUICKSTART_PROPERTY,
    }


@pytest.mark.parametrize("move", ["reset", "clock"])
def test_a_consent_overtaken_redirects_temporarily_unavailable_and_issues_no_code(
    messpunkt_client, platform, monkeypatch, move
):
    # RFC 6749 §4.1.2.1: the error a redirect carries where a 503 cannot go.
    overtaken(monkeypatch, platform, "add_code", move)

    response = messpunkt_client.post("/oauth/authorize", data=consent("st-1"))

    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == DEMO_REDIRECT_URI
    assert parse_qs(target.query) == {
        "error": ["temporarily_unavailable"],
        "error_description": [
            "the sandbox was reset or its clock moved while this request was served; "
            "authorize again"
        ],
        "state": ["st-1"],
        "iss": ["http://localhost:8000"],
    }
    assert platform.store.counts()["codes"] == 0
    again = messpunkt_client.post("/oauth/authorize", data=consent("st-2"))
    assert "code" in parse_qs(urlsplit(again.headers["Location"]).query)
    assert platform.store.counts()["codes"] == 1


def test_a_personal_access_token_overtaken_by_a_reset_is_503_and_not_created(
    messpunkt_client, platform, monkeypatch
):
    # The bug this holds: created from the clock read before the reset, the token's
    # created_at and expiry were the old clock's, days ahead of the sandbox after it.
    platform.clock.advance(timedelta(days=200))
    overtaken(monkeypatch, platform, "start_session", "reset")

    response = messpunkt_client.post(
        "/sandbox/personal-access-tokens",
        headers=ADMIN,
        json={"name": "ERP", "tenant_id": TENANT, "scopes": ["read:units"],
              "property_ids": [QUICKSTART_PROPERTY], "expires_in": 86400},
    )  # fmt: skip

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == DETAIL
    assert response.headers["Retry-After"] == "1"
    listed = messpunkt_client.get("/sandbox/personal-access-tokens", headers=ADMIN)
    assert listed.json["data"] == []


def test_tokens_obtained_after_a_move_work(messpunkt_client, platform):
    # The refusal is only for a request the move overtook: one that reads the sandbox after
    # it is served as ever.
    platform.clock.advance(timedelta(days=3))
    tokens = obtain_tokens(messpunkt_client)
    whoami = messpunkt_client.get(
        "/v1/whoami", headers={"Authorization": f"Bearer {tokens.access_token}"}
    )
    assert whoami.status_code == 200


def test_a_registration_overtaken_by_a_data_set_choice_is_503_and_keeps_nothing(
    messpunkt_client, platform, monkeypatch
):
    # Its tenant and properties were checked against the data set the choice replaced.
    overtaken(monkeypatch, platform, "add_registration", "data set")

    response = messpunkt_client.post("/oauth/register", json=SERVICE_CLIENT, headers=bearer(KEY))

    assert response.status_code == 503
    assert response.json == {"error": "temporarily_unavailable", "error_description": DETAIL}
    assert response.headers["Retry-After"] == "1"
    listed = messpunkt_client.get("/sandbox/clients?origin=registered", headers=ADMIN)
    assert listed.json["data"] == []
