"""/sandbox controls: admin key, clock, reset, sessions, personal access tokens, data sets."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from messpunkt import create_app
from messpunkt.config import DEFAULT_DATA_DIR
from messpunkt.testing import DEMO_CLIENT, DEMO_REDIRECT_URI, FROZEN_AT, obtain_tokens

KEY, HEADER = "test-admin-key", "X-Sandbox-Admin-Key"
ADMIN = {HEADER: KEY}
T0 = datetime.fromisoformat(FROZEN_AT)
TENANT_A = "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a"
A1, A2 = "6fb74d25-5517-4dcc-ae8b-0914579ab036", "21141801-9f23-5bf2-865c-51d717f65653"
B1 = "1ac0d6fd-ab69-5905-8ab9-3370c1adbcc3"
SCOPES = ["read:units", "read:devices", "read:readings"]
PROBLEM = "application/problem+json"
PATHS = [
    ("GET", "/sandbox/clock"), ("POST", "/sandbox/clock/freeze"),
    ("POST", "/sandbox/clock/unfreeze"), ("POST", "/sandbox/clock/advance"),
    ("POST", "/sandbox/reset"), ("GET", "/sandbox/sessions"), ("GET", "/sandbox/sessions/x"),
    ("POST", "/sandbox/sessions/x/revoke"), ("GET", "/sandbox/personal-access-tokens"),
    ("POST", "/sandbox/personal-access-tokens"), ("DELETE", "/sandbox/personal-access-tokens/x"),
    ("GET", "/sandbox/data"), ("POST", "/sandbox/data"),
]  # fmt: skip
DATA = {"data_set": "default", "directory": str(DEFAULT_DATA_DIR), "tenants": 2, "properties": 3,
        "usage_units": 16, "clients": 4}  # fmt: skip


@pytest.fixture
def messpunkt_config():
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY}


@pytest.fixture
def client(messpunkt_client):
    return messpunkt_client


def at(delta: timedelta = timedelta(0)) -> str:
    return (T0 + delta).isoformat()


def control(client, method, path, body=None, **query):
    return client.open(path, method=method, headers=ADMIN, json=body, query_string=query)


def advance(client, by):
    response = control(client, "POST", "/sandbox/clock/advance", {"by": by})
    assert response.status_code == 200, response.json


def clock(client):
    return control(client, "GET", "/sandbox/clock").json


def authorize(client):
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    response = client.post("/oauth/authorize", data={
        "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI, "scope": " ".join(SCOPES),
        "state": "s", "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256", "property": A1, "decision": "approve",
    })  # fmt: skip
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0], verifier


def exchange(client, code, verifier):
    return client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": DEMO_CLIENT,
        "redirect_uri": DEMO_REDIRECT_URI, "code_verifier": verifier,
    })  # fmt: skip


def refresh(client, token):
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": DEMO_CLIENT}
    return client.post("/oauth/token", data=data)


def whoami(client, token):
    return client.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})


def refused(reason):
    return {"error": "invalid_grant", "error_description": reason}


def sessions(client, **query):
    response = control(client, "GET", "/sandbox/sessions", **query)
    assert response.status_code == 200, response.json
    return response.json["data"]


# The admin key and switching the controls off


@pytest.mark.parametrize("headers", [{}, {"X-Sandbox-Admin-Key": "wrong"}], ids=["none", "wrong"])
@pytest.mark.parametrize(("method", "path"), PATHS)
def test_every_control_refuses_a_missing_or_wrong_admin_key(client, headers, method, path):
    response = client.open(path, method=method, headers=headers, json={"by": "P1D"})
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"] == 'X-Sandbox-Admin-Key realm="messpunkt sandbox"'
    assert response.json == {"type": "about:blank", "title": "Unauthorized", "status": 401,
        "detail": f"the sandbox controls need the admin key in the {HEADER} header"}  # fmt: skip
    assert clock(client) == {"now": FROZEN_AT, "frozen": True}


def test_the_right_admin_key_reads_the_clock(client):
    response = control(client, "GET", "/sandbox/clock")
    assert (response.status_code, response.json) == (200, {"now": FROZEN_AT, "frozen": True})


def test_an_unset_admin_key_is_generated_per_app_and_accepted():
    apps = [create_app({"MESSPUNKT_FROZEN_AT": FROZEN_AT}) for _ in range(2)]
    keys = [app.extensions["messpunkt"].admin_key for app in apps]
    assert len(keys[0]) >= 24 and keys[0] != keys[1]
    header = {"X-Sandbox-Admin-Key": keys[0]}
    assert apps[0].test_client().get("/sandbox/clock", headers=header).status_code == 200
    assert apps[1].test_client().get("/sandbox/clock", headers=header).status_code == 401


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_controls_off_makes_every_sandbox_path_404(method, path):
    app = create_app({"MESSPUNKT_SANDBOX_CONTROLS": "off", "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY})
    response = app.test_client().open(path, method=method, headers=ADMIN, json={})
    assert (response.status_code, response.content_type) == (404, PROBLEM)
    assert response.json["detail"] == "no such resource"


@pytest.mark.parametrize(("controls", "documented"), [("on", True), ("off", False)])
def test_openapi_documents_the_controls_only_when_they_are_on(controls, documented):
    app = create_app({"MESSPUNKT_SANDBOX_CONTROLS": controls})
    spec = app.test_client().get("/openapi.json").json
    sandbox_paths = sorted(p for p in spec["paths"] if p.startswith("/sandbox"))
    assert ("/sandbox/clock/advance" in sandbox_paths) is documented
    assert bool(sandbox_paths) is documented
    assert ("adminKey" in spec["components"]["securitySchemes"]) is documented


# The clock


def test_freeze_at_a_later_instant_moves_the_clock_there(client):
    response = control(client, "POST", "/sandbox/clock/freeze", {"at": "2026-11-24T12:30:00+01:00"})
    expected = {"now": "2026-11-24T11:30:00+00:00", "frozen": True}
    assert (response.status_code, response.json) == (200, expected)
    assert clock(client) == expected


def test_freeze_at_an_earlier_instant_is_409_and_leaves_the_clock(client):
    response = control(client, "POST", "/sandbox/clock/freeze", {"at": "2026-11-23T08:59:59Z"})
    assert (response.status_code, response.json["detail"]) == (409, "the clock only moves forward")
    assert clock(client) == {"now": FROZEN_AT, "frozen": True}


@pytest.mark.parametrize(("by", "delta"), [
    ("PT1H", timedelta(hours=1)), ("P31D", timedelta(days=31)), ("P1W", timedelta(weeks=1)),
    ("PT90S", timedelta(seconds=90)), ("P1DT2H3M4S", timedelta(days=1, seconds=7384)),
])  # fmt: skip
def test_advance_by_an_iso_duration_moves_the_clock_exactly(client, by, delta):
    response = control(client, "POST", "/sandbox/clock/advance", {"by": by})
    assert (response.status_code, response.json) == (200, {"now": at(delta), "frozen": True})
    assert clock(client)["now"] == at(delta)


NOT_A_DURATION = (
    "not a duration the clock takes: ISO 8601 weeks, days, hours, minutes and seconds (to the "
    "millisecond), such as P1W2D, PT1H30M or PT0.5S; not years or months, which have no fixed "
    "length: {!r}"
)


@pytest.mark.parametrize(("body", "message"), [
    ({"by": "1h"}, NOT_A_DURATION.format('1h')),
    ({"by": "P1Y"}, NOT_A_DURATION.format('P1Y')),
    ({"by": ""}, NOT_A_DURATION.format('')),
    ({"by": "PT"}, NOT_A_DURATION.format('PT')),
    ({"by": "-PT1H"}, NOT_A_DURATION.format('-PT1H')),
    ({"by": "P9999999D"}, "Out of range."),
    ({}, "give exactly one of by and to"),
    ({"by": "PT1H", "to": "2027-01-01T00:00:00Z"}, "give exactly one of by and to"),
])  # fmt: skip
def test_advance_refuses_a_bad_duration_with_errors_by(client, body, message):
    response = control(client, "POST", "/sandbox/clock/advance", body)
    assert (response.status_code, response.content_type) == (400, PROBLEM)
    assert response.json["errors"] == {"by": [message]}
    assert clock(client) == {"now": FROZEN_AT, "frozen": True}


@pytest.mark.parametrize(("to", "status", "now"), [
    ("2026-12-01T10:00:00+01:00", 200, "2026-12-01T09:00:00+00:00"),
    (FROZEN_AT, 200, FROZEN_AT),
    ("2026-11-23T08:00:00Z", 409, FROZEN_AT),
])  # fmt: skip
def test_advance_to_an_instant_only_moves_forward(client, to, status, now):
    response = control(client, "POST", "/sandbox/clock/advance", {"to": to})
    assert response.status_code == status
    assert clock(client) == {"now": now, "frozen": True}


@pytest.mark.parametrize(("path", "field"), [("/sandbox/clock/freeze", "at"),
                                             ("/sandbox/clock/advance", "to")])  # fmt: skip
def test_an_instant_out_of_range_is_400_on_the_field_that_was_sent(client, path, field):
    response = control(client, "POST", path, {field: "9999-12-31T23:59:59-01:00"})
    assert (response.status_code, response.json["errors"]) == (400, {field: ["Out of range."]})


@pytest.mark.parametrize(
    ("path", "body"), [("/sandbox/clock/freeze", None), ("/sandbox/clock/advance", {"by": "PT1H"})]
)
def test_a_clock_move_that_waits_for_its_store_moves_from_the_time_it_runs_at(
    store_config, monkeypatch, path, body
):
    """A move that waits for its turn in the store (another move, a sweep) while the
    machine's time passes sets the clock from that time, not from an older one: the clock
    never goes back behind an instant other requests were served at meanwhile."""
    app = create_app({"MESSPUNKT_SANDBOX_ADMIN_KEY": KEY, **store_config})  # a running clock
    platform = app.extensions["messpunkt"]
    start = datetime(2026, 12, 5, 12, tzinfo=UTC)
    walls = [start]
    platform.wall = lambda: walls[-1]
    client = app.test_client()
    assert client.get("/sandbox/clock", headers=ADMIN).json == {
        "now": "2026-12-05T12:00:00+00:00", "frozen": False,
    }  # fmt: skip
    waiting = platform.store.move_clock

    def move_after_a_wait(change):
        walls.append(start + timedelta(seconds=5))  # served elsewhere meanwhile: 12:00:05
        return waiting(change)

    monkeypatch.setattr(platform.store, "move_clock", move_after_a_wait)
    moved = client.post(path, json=body, headers=ADMIN)
    expected = start + timedelta(seconds=5) + (timedelta(hours=1) if body else timedelta(0))
    assert datetime.fromisoformat(moved.json["now"]) == expected
    monkeypatch.undo()
    assert datetime.fromisoformat(client.get("/sandbox/clock", headers=ADMIN).json["now"]) == (
        expected
    )


def test_a_session_started_while_paging_the_sessions_repeats_none(client):
    """Sessions are listed newest first, so a new one comes in before every cursor's place."""

    def start_one() -> None:  # a second apart: the frozen clock would start them together
        client.post("/sandbox/clock/advance", json={"by": "PT1S"}, headers=ADMIN)
        obtain_tokens(client)

    for _ in range(3):
        start_one()
    first = client.get("/sandbox/sessions?limit=2", headers=ADMIN).json
    given = [session["id"] for session in first["data"]]
    start_one()  # a fourth, newest: first in the list from now on
    cursor = first["pagination"]["next_cursor"]
    second = client.get(f"/sandbox/sessions?limit=2&cursor={cursor}", headers=ADMIN).json
    listed = [s["id"] for s in client.get("/sandbox/sessions", headers=ADMIN).json["data"]]
    assert len(listed) == 4 and listed[1:3] == given
    assert [session["id"] for session in second["data"]] == listed[3:]


def test_unfreeze_lets_the_clock_run_on_from_where_it_stands(client):
    advance(client, "P2D")
    response = control(client, "POST", "/sandbox/clock/unfreeze")
    assert (response.status_code, response.json["frozen"]) == (200, False)
    running = datetime.fromisoformat(clock(client)["now"])
    assert T0 + timedelta(days=2) <= running < T0 + timedelta(days=2, seconds=30)
    assert control(client, "POST", "/sandbox/clock/freeze", {}).json["frozen"] is True


# Time as a partner meets it


def test_partner_walk_through_expire_refresh_and_hit_the_session_cap(client):
    tokens = obtain_tokens(client)
    advance(client, "PT1H")
    expired = whoami(client, tokens.access_token)
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    renewed = refresh(client, tokens.refresh_token)
    assert renewed.status_code == 200
    me = whoami(client, renewed.json["access_token"])
    assert (me.status_code, me.json["client_id"]) == (200, DEMO_CLIENT)
    assert me.json["property_scope"] == [A1]
    advance(client, "P31D")
    late = refresh(client, renewed.json["refresh_token"])
    assert (late.status_code, late.json) == (400, refused("refresh token has expired"))


@pytest.mark.parametrize(("by", "status"), [("PT4M59S", 200), ("PT5M", 400)])
def test_an_authorization_code_expires_after_five_minutes(client, by, status):
    code, verifier = authorize(client)
    advance(client, by)
    response = exchange(client, code, verifier)
    assert response.status_code == status
    if status == 400:
        assert response.json == refused("authorization code has expired")


@pytest.mark.parametrize(("by", "status"), [("P6DT23H59M59S", 200), ("P7D", 400)])
def test_a_refresh_token_expires_after_seven_days(client, by, status):
    tokens = obtain_tokens(client)
    advance(client, by)
    response = refresh(client, tokens.refresh_token)
    assert response.status_code == status
    if status == 400:
        assert response.json == refused("refresh token has expired")


def test_refreshing_every_six_days_cannot_pass_the_thirty_day_cap(client):
    token = obtain_tokens(client).refresh_token
    for day in (6, 12, 18, 24):
        advance(client, "P6D")
        response = refresh(client, token)
        assert response.status_code == 200, f"day {day}: {response.json}"
        token = response.json["refresh_token"]
    (session,) = sessions(client)
    assert session["expires_at"] == session["absolute_expires_at"] == at(timedelta(days=30))
    advance(client, "P6D")  # day 30
    assert refresh(client, token).json == refused("refresh token has expired")
    assert sessions(client)[0]["events"][-1]["detail"] == "absolute session cap reached"


# Reset


def test_reset_forgets_sessions_codes_and_tokens_and_rewinds_the_clock(client):
    tokens = obtain_tokens(client)
    code, verifier = authorize(client)
    pat = create_pat(client).json["token"]
    advance(client, "PT2M")
    response = control(client, "POST", "/sandbox/reset")
    assert (response.status_code, response.json) == (200, {"now": FROZEN_AT, "frozen": True})
    assert whoami(client, tokens.access_token).json["detail"] == (
        "the session of this access token has ended"
    )
    assert whoami(client, pat).status_code == 401
    assert refresh(client, tokens.refresh_token).json == refused("refresh token is unknown")
    assert exchange(client, code, verifier).json == refused("authorization code is unknown")
    assert sessions(client) == []
    assert control(client, "GET", "/sandbox/personal-access-tokens").json["data"] == []


# Sessions


def test_a_session_lists_and_shows_its_grant_lifetimes_state_and_history(client):
    obtain_tokens(client)
    (listed,) = sessions(client)
    assert listed == {
        "id": listed["id"], "kind": "authorization_code", "client_id": DEMO_CLIENT,
        "tenant_id": TENANT_A, "subject": listed["subject"], "name": None, "scopes": SCOPES,
        "property_ids": [A1], "created_at": FROZEN_AT, "expires_at": at(timedelta(days=7)),
        "absolute_expires_at": at(timedelta(days=30)), "state": "active", "revoked_reason": None,
        "events": [{"at": FROZEN_AT, "kind": "issued",
                    "detail": "session started (authorization_code)"}],
    }  # fmt: skip
    detail = control(client, "GET", f"/sandbox/sessions/{listed['id']}")
    assert (detail.status_code, detail.json) == (200, listed)


def test_a_replayed_refresh_token_ends_the_session_as_revoked(client):
    tokens = obtain_tokens(client)
    assert refresh(client, tokens.refresh_token).status_code == 200
    assert refresh(client, tokens.refresh_token).status_code == 400
    (session,) = sessions(client)
    kinds = [event["kind"] for event in session["events"]]
    assert kinds == ["issued", "rotated", "replay_detected", "revoked"]
    assert (session["state"], session["revoked_reason"]) == (
        "revoked", "refresh token replay detected")  # fmt: skip


def test_a_session_past_its_tokens_is_expired_with_an_expired_event(client):
    obtain_tokens(client)
    advance(client, "P7D")
    (session,) = sessions(client, state="expired")
    assert session["state"] == "expired"
    assert session["events"][-1] == {
        "at": at(timedelta(days=7)), "kind": "expired", "detail": "tokens expired"}  # fmt: skip
    assert sessions(client, state="active") == []


def test_a_session_shows_its_start_and_its_newest_events_all_it_keeps(client):
    # README "Memory": a session keeps its start and its newest 49 events; the view cut
    # them to the newest 20, and the start went first.
    token = obtain_tokens(client).refresh_token
    for _ in range(60):
        token = refresh(client, token).json["refresh_token"]
    (session,) = sessions(client)
    shown = control(client, "GET", f"/sandbox/sessions/{session['id']}").json["events"]
    assert session["events"] == shown
    assert [e["kind"] for e in shown] == ["issued"] + ["rotated"] * 49


def test_revoking_a_session_refuses_a_body_it_would_ignore(client):
    # A partner sending a reason believed it recorded; the session was revoked without it.
    tokens = obtain_tokens(client)
    (session,) = sessions(client)
    path = f"/sandbox/sessions/{session['id']}/revoke"

    refused_ = control(client, "POST", path, {"reason": "rehearsal"})

    assert (refused_.status_code, refused_.json["errors"]) == (
        400, {"reason": ["Unknown field."]})  # fmt: skip
    assert whoami(client, tokens.access_token).status_code == 200
    assert control(client, "POST", path, {}).json["state"] == "revoked"


def test_revoking_a_session_that_has_expired_keeps_why_it_ended(client):
    obtain_tokens(client)
    pat = create_pat(client).json
    advance(client, "P8D")
    (session,) = sessions(client, client_id=DEMO_CLIENT)

    revoked = control(client, "POST", f"/sandbox/sessions/{session['id']}/revoke")
    deleted = control(client, "DELETE", f"/sandbox/personal-access-tokens/{pat['id']}")

    assert revoked.status_code == 200
    assert (revoked.json["state"], revoked.json["revoked_reason"]) == ("expired", None)
    assert [e["kind"] for e in revoked.json["events"]] == ["issued", "expired"]
    assert deleted.status_code == 204
    listed = control(client, "GET", "/sandbox/personal-access-tokens").json["data"]
    assert [t["state"] for t in listed] == ["expired"]


def test_revoking_a_session_on_demand_ends_its_access_token_at_once(client):
    tokens = obtain_tokens(client)
    (session,) = sessions(client)
    response = control(client, "POST", f"/sandbox/sessions/{session['id']}/revoke")
    assert (response.status_code, response.json["state"]) == (200, "revoked")
    assert whoami(client, tokens.access_token).status_code == 401
    detail = control(client, "GET", f"/sandbox/sessions/{session['id']}").json
    assert detail["revoked_reason"] == "revoked through the sandbox controls"
    assert detail["events"][-1]["kind"] == "revoked"


@pytest.mark.parametrize("method, path", [("GET", "/sandbox/sessions/nope"),
                                          ("POST", "/sandbox/sessions/nope/revoke")])  # fmt: skip
def test_an_unknown_session_is_404(client, method, path):
    response = control(client, method, path)
    assert (response.status_code, response.json["detail"]) == (404, "no session with this id")


@pytest.mark.parametrize(("query", "clients"), [
    ({}, ["sandbox-service-client", "beispiel-erp-client", DEMO_CLIENT]),
    ({"client_id": "beispiel-erp-client"}, ["beispiel-erp-client"]),
    ({"tenant_id": TENANT_A}, ["sandbox-service-client", DEMO_CLIENT]),
    ({"state": "revoked"}, [DEMO_CLIENT]),
    ({"state": "active", "tenant_id": TENANT_A}, ["sandbox-service-client"]),
])  # fmt: skip
def test_sessions_filter_by_state_client_and_tenant_newest_first(client, query, clients):
    obtain_tokens(client)
    control(client, "POST", f"/sandbox/sessions/{sessions(client)[0]['id']}/revoke")
    advance(client, "PT1M")
    obtain_tokens(client, client_id="beispiel-erp-client", properties=(B1,),
                  redirect_uri="http://localhost:4000/callback")  # fmt: skip
    advance(client, "PT1M")
    service = client.post("/oauth/token", data={"grant_type": "client_credentials",
        "client_id": "sandbox-service-client",
        "client_secret": "sandbox-service-client-secret-change-me"})  # fmt: skip
    assert service.status_code == 200
    assert [s["client_id"] for s in sessions(client, **query)] == clients


def test_sessions_paginate_with_a_cursor_bound_to_the_filters(client):
    for _ in range(3):
        obtain_tokens(client)
        advance(client, "PT1M")
    newest_first = [s["id"] for s in sessions(client)]
    first = control(client, "GET", "/sandbox/sessions", limit=2).json
    assert [s["id"] for s in first["data"]] == newest_first[:2]
    cursor = first["pagination"]["next_cursor"]
    second = control(client, "GET", "/sandbox/sessions", limit=2, cursor=cursor).json
    assert second == {"data": sessions(client)[2:], "pagination": {"next_cursor": None}}
    other = control(client, "GET", "/sandbox/sessions", limit=2, cursor=cursor, state="active")
    assert (other.status_code, list(other.json["errors"])) == (400, ["cursor"])


# Personal access tokens


def create_pat(client, **changes):
    body = {"tenant_id": TENANT_A, "name": "ERP import", "scopes": ["read:units"],
            "property_ids": [A1], "expires_in": 3600, **changes}  # fmt: skip
    return control(client, "POST", "/sandbox/personal-access-tokens", body)


def test_a_personal_access_token_is_shown_once_and_never_listed(client):
    created = create_pat(client)
    assert created.status_code == 201
    body = created.json
    token = body.pop("token")
    assert token.startswith("mpat_") and len(token) > 40
    assert body == {"id": body["id"], "name": "ERP import", "tenant_id": TENANT_A,
        "scopes": ["read:units"], "property_ids": [A1], "created_at": FROZEN_AT,
        "expires_at": at(timedelta(hours=1)), "state": "active"}  # fmt: skip
    listed = control(client, "GET", "/sandbox/personal-access-tokens")
    assert listed.json["data"] == [body]
    assert token not in listed.get_data(as_text=True)


@pytest.mark.parametrize(("path", "status"), [
    ("/v1/usage-units", 200), (f"/v1/properties/{A1}", 200),
    ("/v1/devices", 403), (f"/v1/properties/{A2}", 404), (f"/v1/properties/{B1}", 404),
])  # fmt: skip
def test_a_personal_access_token_gets_the_same_checks_on_v1(client, path, status):
    bearer = {"Authorization": f"Bearer {create_pat(client).json['token']}"}
    assert client.get(path, headers=bearer).status_code == status
    me = client.get("/v1/whoami", headers=bearer).json
    assert me == {"tenant_id": TENANT_A, "tenant_name": "Musterhausverwaltung GmbH",
        "client_id": "personal-access-token", "granted_scopes": ["read:units"],
        "property_scope": [A1]}  # fmt: skip


def test_a_personal_access_token_expires_with_the_clock(client):
    token = create_pat(client).json["token"]
    advance(client, "PT59M59S")
    assert whoami(client, token).status_code == 200
    advance(client, "PT1S")
    assert whoami(client, token).status_code == 401
    listed = control(client, "GET", "/sandbox/personal-access-tokens", state="expired").json
    assert [t["state"] for t in listed["data"]] == ["expired"]


def test_deleting_a_personal_access_token_revokes_it_at_once(client):
    created = create_pat(client).json
    response = control(client, "DELETE", f"/sandbox/personal-access-tokens/{created['id']}")
    assert (response.status_code, response.get_data()) == (204, b"")
    assert whoami(client, created["token"]).status_code == 401
    listed = control(client, "GET", "/sandbox/personal-access-tokens").json["data"]
    assert [t["state"] for t in listed] == ["revoked"]


def test_deleting_an_unknown_or_non_personal_token_is_404(client):
    obtain_tokens(client)
    for token_id in ("nope", sessions(client)[0]["id"]):
        response = control(client, "DELETE", f"/sandbox/personal-access-tokens/{token_id}")
        assert response.status_code == 404
    assert sessions(client)[0]["state"] == "active"


def test_the_token_list_refuses_a_filter_it_does_not_have(client):
    create_pat(client)
    response = control(client, "GET", "/sandbox/personal-access-tokens", client_id="other")
    assert response.status_code == 400
    assert response.json["errors"] == {"client_id": ["Unknown field."]}


@pytest.mark.parametrize(("changes", "status", "errors"), [
    ({"tenant_id": "nope"}, 422, {"tenant_id": ["Unknown tenant."]}),
    ({"property_ids": [A1, B1]}, 422, {"property_ids": [f"Not a property of this tenant: {B1}"]}),
    ({"scopes": ["write:units"]}, 400,
     {"scopes": ["0: Must be one of: read:units, read:devices, read:readings."]}),
    ({"scopes": []}, 400, {"scopes": ["Length must be between 1 and 3."]}),
    ({"expires_in": 59}, 400,
     {"expires_in": ["Must be greater than or equal to 60 and less than or equal to 31622400."]}),
])  # fmt: skip
def test_a_bad_personal_access_token_request_creates_nothing(client, changes, status, errors):
    response = create_pat(client, **changes)
    assert (response.status_code, response.content_type) == (status, PROBLEM)
    assert response.json["errors"] == errors
    assert control(client, "GET", "/sandbox/personal-access-tokens").json["data"] == []


# Data sets


def test_get_data_describes_the_loaded_set(client):
    response = control(client, "GET", "/sandbox/data")
    assert (response.status_code, response.json) == (200, DATA)


def test_loading_a_copy_of_the_data_replaces_the_set_and_ends_sessions(client, tmp_path):
    tokens = obtain_tokens(client)
    copy = shutil.copytree(DEFAULT_DATA_DIR, tmp_path / "data")
    response = control(client, "POST", "/sandbox/data", {"directory": str(copy)})
    loaded = {**DATA, "data_set": str(copy), "directory": str(copy)}
    assert (response.status_code, response.json) == (200, loaded)
    assert control(client, "GET", "/sandbox/data").json["directory"] == str(copy)
    assert whoami(client, tokens.access_token).status_code == 401


def test_loading_a_data_set_resets_the_clock_like_reset(client, tmp_path):
    copy = shutil.copytree(DEFAULT_DATA_DIR, tmp_path / "data")
    advance(client, "P1D")
    control(client, "POST", "/sandbox/data", {"directory": str(copy)})
    assert clock(client) == {"now": FROZEN_AT, "frozen": True}


def edit(copy: Path, name: str, change) -> None:
    records = json.loads((copy / name).read_text(encoding="utf-8"))
    change(records)
    (copy / name).write_text(json.dumps(records), encoding="utf-8")


@pytest.mark.parametrize(("name", "change", "error"), [
    ("properties.json", lambda r: r[1].update(timezone="Mars/Olympus"),
     "$[1].timezone: unknown time zone 'Mars/Olympus'"),
    ("usage_units.json", lambda r: r[3].update(property_id="nope"),
     "$[3].property_id: refers to an unknown id 'nope'"),
    ("tenants.json", lambda r: r[0].update(demo_users=[]),
     "$[0].demo_users: needs at least one demo user"),
    ("clients.json", lambda r: r.append(r[0]), "$[4]: duplicate id 'sandbox-demo-client'"),
])  # fmt: skip
def test_a_broken_data_set_is_refused_and_nothing_changes(client, tmp_path, name, change, error):
    tokens = obtain_tokens(client)
    copy = shutil.copytree(DEFAULT_DATA_DIR, tmp_path / "data")
    edit(copy, name, change)
    response = control(client, "POST", "/sandbox/data", {"directory": str(copy)})
    assert (response.status_code, response.content_type) == (422, PROBLEM)
    assert response.json["errors"] == {name: [error]}
    assert (
        response.json["detail"]
        == f"the data set was refused and nothing changed: {name} at {error}"
    )
    assert whoami(client, tokens.access_token).status_code == 200
    assert len(client.get("/v1/usage-units", headers=tokens.bearer).json["data"]) == 8
    assert control(client, "GET", "/sandbox/data").json == DATA


def test_controls_off_removes_client_registration_and_its_metadata():
    # Registering a client takes the admin key (RFC 7591 §3's initial access token): it is
    # a sandbox control, so it goes with the others, from the metadata and the document too.
    app = create_app({"MESSPUNKT_SANDBOX_CONTROLS": "off", "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY})
    client = app.test_client()
    metadata = {"redirect_uris": ["https://erp.example.com/callback"]}
    bearer = {"Authorization": f"Bearer {KEY}"}
    response = client.post("/oauth/register", headers=bearer, json=metadata)
    assert response.status_code == 404
    discovery = client.get("/.well-known/oauth-authorization-server").json
    assert "registration_endpoint" not in discovery
    assert not [path for path in client.get("/openapi.json").json["paths"] if "register" in path]
