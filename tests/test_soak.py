"""A bounded soak: eight seeded clients log in, read, refresh, replay and revoke at once.

Each client owns its sessions and uses them one request at a time, so it knows what every
answer must be; it writes down each answer that differs instead of asserting in its thread.
The run stops by itself at REQUESTS_PER_CLIENT requests per client or after LOAD_SECONDS,
whichever comes first. Afterwards the server's own session store is compared with what
the clients expect, every rotated refresh token and every dead access token is tried
again, and the clock is moved past the session cap.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from messpunkt.oauth.store import EventKind, SessionState
from messpunkt.testing import (
    DEMO_CLIENT,
    DEMO_REDIRECT_URI,
    DEMO_SCOPES,
    FIXTURES_COMPLETE_AT,
    QUICKSTART_PROPERTY,
    LiveServer,
)

pytestmark = pytest.mark.live

SEED = 20261123
CLIENTS = 8
REQUESTS_PER_CLIENT = 600
LOAD_SECONDS = 35.0
WE_01 = "389e7867-1c83-5ae4-884f-dd7c246a0e90"
WE_01_WARM_WATER_2026 = Decimal("25.994")  # README: 18.132 + 7.862 across the meter swap
REPLAY_REASON = "refresh token replay detected"
REVOKE_REASON = "refresh token revoked by the client"
ACTIONS = (
    "login",
    "read",
    "refresh",
    "replay",
    "revoke_session",
    "revoke_access_token",
    "use_dead_access_token",
    "refresh_ended_session",
)


@dataclass
class Grant:
    """One session as its client sees it."""

    sid: str
    refresh_token: str  # the newest
    access_tokens: list[str]
    rotated: list[str] = field(default_factory=list)  # every superseded refresh token
    revoked_access: set[str] = field(default_factory=set)  # revoked one by one
    refreshes: int = 0
    ended: str | None = None  # the reason the server must give once it is revoked
    replayed_while_active: bool = False

    @property
    def live_access_tokens(self) -> list[str]:
        if self.ended is not None:
            return []
        return [t for t in self.access_tokens if t not in self.revoked_access]

    @property
    def dead_access_tokens(self) -> list[str]:
        if self.ended is not None:
            return self.access_tokens
        return [t for t in self.access_tokens if t in self.revoked_access]


class Client(threading.Thread):
    def __init__(self, index: int, url: str, deadline: float) -> None:
        super().__init__(name=f"soak-client-{index}", daemon=True)
        self.url, self.deadline = url, deadline
        self.random = random.Random(SEED * 100 + index)
        self.http = requests.Session()
        self.grants: list[Grant] = []
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.actions: Counter[str] = Counter()
        self.broken: list[str] = []  # expectations that did not hold
        self.crash: BaseException | None = None

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    def _budget_left(self, needed: int = 1) -> bool:
        return self.sent + needed <= REQUESTS_PER_CLIENT and time.monotonic() < self.deadline

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.http.request(
            method, self.url + path, timeout=15, allow_redirects=False, **kwargs
        )
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{method} {path}: {response.status_code} {response.text}")
        return response

    def expect(self, what: str, actual: object, expected: object) -> bool:
        if actual != expected:
            self.broken.append(f"{self.name} {what}: expected {expected!r}, got {actual!r}")
            return False
        return True

    def run(self) -> None:
        try:
            with self.http:
                while self._budget_left(needed=2):
                    self.step()
        except BaseException as error:  # reported by the test, not lost in the thread
            self.crash = error

    # --- what a client does ------------------------------------------------------------------

    def step(self) -> None:
        live = [g for g in self.grants if g.ended is None]
        choices: list[tuple[Callable[[], None], float]] = [
            (self.login, 3.0 if len(live) < 2 else 0.4),
            (self.read, 6.0 if live else 0.0),
            (self.refresh, 3.0 if live else 0.0),
            (self.replay, 0.6 if any(g.rotated for g in self.grants) else 0.0),
            (self.revoke_session, 0.6 if live else 0.0),
            (self.revoke_access_token, 0.5 if live else 0.0),
            (self.use_dead_access_token, 1.5 if self._dead_access_tokens() else 0.0),
            (self.refresh_ended_session, 0.5 if len(live) < len(self.grants) else 0.0),
        ]
        actions, weights = zip(*choices, strict=True)
        action = self.random.choices(actions, weights)[0]
        self.actions[action.__name__] += 1
        action()

    def _dead_access_tokens(self) -> list[str]:
        return [t for g in self.grants for t in g.dead_access_tokens]

    def _live_grant(self) -> Grant:
        return self.random.choice([g for g in self.grants if g.ended is None])

    def login(self) -> None:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        state = secrets.token_urlsafe(8)
        answer = self.call(
            "POST",
            "/oauth/authorize",
            data={
                "client_id": DEMO_CLIENT,
                "redirect_uri": DEMO_REDIRECT_URI,
                "scope": " ".join(DEMO_SCOPES),
                "state": state,
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
                "property": QUICKSTART_PROPERTY,
                "decision": "approve",
            },
        )
        if not self.expect("authorize status", answer.status_code, 302):
            return
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        self.expect("authorize state", query.get("state"), [state])
        self.expect("authorize iss", query.get("iss"), [self.url])
        token = self.call(
            "POST",
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "client_id": DEMO_CLIENT,
                "redirect_uri": DEMO_REDIRECT_URI,
                "code_verifier": verifier,
            },
        )
        if not self.expect("code exchange status", token.status_code, 200):
            return
        body = token.json()
        self.expect("code exchange expires_in", body["expires_in"], 3600)
        self.expect("code exchange scope", body["scope"], " ".join(DEMO_SCOPES))
        self.grants.append(
            Grant(_sid(body["access_token"]), body["refresh_token"], [body["access_token"]])
        )

    def read(self) -> None:
        grant = self._live_grant()
        if not grant.live_access_tokens:
            return
        bearer = {"Authorization": f"Bearer {self.random.choice(grant.live_access_tokens)}"}
        path = self.random.choice(
            [
                "/v1/whoami",
                "/v1/usage-units",
                f"/v1/usage-units/{WE_01}/consumption?from=2026-01-01&to=2026-12-31"
                "&metric=water_warm",
            ]
        )
        response = self.call("GET", path, headers=bearer)
        if not self.expect(f"GET {path} with a live token", response.status_code, 200):
            return
        body = response.json(parse_float=Decimal)
        if path == "/v1/whoami":
            self.expect("whoami client_id", body["client_id"], DEMO_CLIENT)
            self.expect("whoami property_scope", body["property_scope"], [QUICKSTART_PROPERTY])
        elif path == "/v1/usage-units":
            self.expect("first usage unit", body["data"][0]["id"], WE_01)
        else:
            total = body["totals"]["water_warm"]["value"]
            self.expect("WE 01 warm water 2026", total, WE_01_WARM_WATER_2026)

    def refresh(self) -> None:
        grant = self._live_grant()
        response = self._refresh(grant.refresh_token)
        if not self.expect("refresh with the newest token", response.status_code, 200):
            return
        body = response.json()
        self.expect("refreshed session", _sid(body["access_token"]), grant.sid)
        grant.rotated.append(grant.refresh_token)
        grant.refresh_token = body["refresh_token"]
        grant.access_tokens.append(body["access_token"])
        grant.refreshes += 1

    def replay(self) -> None:
        grant = self.random.choice([g for g in self.grants if g.rotated])
        response = self._refresh(self.random.choice(grant.rotated))
        self.expect("replay", _oauth_error(response), (400, "invalid_grant"))
        if grant.ended is None:
            grant.ended, grant.replayed_while_active = REPLAY_REASON, True

    def revoke_session(self) -> None:
        grant = self._live_grant()
        response = self._revoke(grant.refresh_token, "refresh_token")
        self.expect("revoke a refresh token", (response.status_code, response.json()), (200, {}))
        grant.ended = REVOKE_REASON

    def revoke_access_token(self) -> None:
        grant = self._live_grant()
        if not grant.live_access_tokens:
            return
        token = self.random.choice(grant.live_access_tokens)
        response = self._revoke(token, "access_token")
        self.expect("revoke an access token", (response.status_code, response.json()), (200, {}))
        grant.revoked_access.add(token)

    def use_dead_access_token(self) -> None:
        token = self.random.choice(self._dead_access_tokens())
        response = self.call("GET", "/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        self.expect("whoami with a dead token", response.status_code, 401)
        self.expect(
            "WWW-Authenticate of a dead token",
            'error="invalid_token"' in response.headers.get("WWW-Authenticate", ""),
            True,
        )

    def refresh_ended_session(self) -> None:
        grant = self.random.choice([g for g in self.grants if g.ended is not None])
        response = self._refresh(grant.refresh_token)
        self.expect("refresh of an ended session", _oauth_error(response), (400, "invalid_grant"))

    def _refresh(self, refresh_token: str) -> requests.Response:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self.call("POST", "/oauth/token", data={**form, "client_id": DEMO_CLIENT})

    def _revoke(self, token: str, hint: str) -> requests.Response:
        form = {"token": token, "client_id": DEMO_CLIENT}
        if self.random.random() < 0.5:
            form["token_type_hint"] = hint
        return self.call("POST", "/oauth/revoke", data=form)


def _sid(access_token: str) -> str:
    return jwt.decode(access_token, options={"verify_signature": False})["sid"]


def _oauth_error(response: requests.Response) -> tuple[int, str | None]:
    return response.status_code, response.json().get("error")


def _kinds(session) -> list[EventKind]:
    return [event.kind for event in session.events]


def _expected_kinds(grant: Grant) -> list[EventKind]:
    kinds = [EventKind.ISSUED] + [EventKind.ROTATED] * grant.refreshes
    if grant.replayed_while_active:
        kinds.append(EventKind.REPLAY_DETECTED)
    if grant.ended is not None:
        kinds.append(EventKind.REVOKED)
    return kinds


@pytest.fixture
def server() -> Iterator[LiveServer]:
    # After the fixtures' last reading: the README's 25.994 m³ holds (the data follows the clock).
    with LiveServer({"MESSPUNKT_FROZEN_AT": FIXTURES_COMPLETE_AT}, threads=8) as live:
        yield live


def test_a_bounded_soak_of_logins_refreshes_replays_and_revocations_keeps_every_rule(server):
    sandbox = server.app.extensions["messpunkt"]
    started = time.monotonic()
    clients = [Client(i, server.url, started + LOAD_SECONDS) for i in range(CLIENTS)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=LOAD_SECONDS + 30)
    load_seconds = time.monotonic() - started

    assert [c.name for c in clients if c.is_alive()] == [], "a client did not stop by itself"
    assert [(c.name, repr(c.crash)) for c in clients if c.crash is not None] == []
    statuses = sum((c.statuses for c in clients), Counter())
    actions = sum((c.actions for c in clients), Counter())
    load_requests = sum(statuses.values())
    print(
        f"\nsoak: {load_requests} requests from {CLIENTS} clients in {load_seconds:.1f} s "
        f"({load_requests / load_seconds:.0f}/s); statuses {dict(sorted(statuses.items()))}; "
        f"actions {dict(sorted(actions.items()))}"
    )
    assert [e for c in clients for e in c.server_errors] == []
    assert [b for c in clients for b in c.broken] == []
    assert load_requests <= CLIENTS * REQUESTS_PER_CLIENT
    # The run must have done real work of every kind, or the checks below prove nothing.
    assert load_requests >= 800
    assert min(actions[name] for name in ACTIONS) >= 10, actions

    grants = {g.sid: g for c in clients for g in c.grants}
    now = sandbox.clock.now()
    sessions = {s.id: s for s in sandbox.store.sessions()}
    assert set(sessions) == set(grants)
    assert any(g.replayed_while_active for g in grants.values())
    assert any(g.ended == REVOKE_REASON for g in grants.values())
    assert any(g.ended is None for g in grants.values())

    # Every session is in the state its client expects, with the history that explains it.
    for sid, grant in grants.items():
        session = sessions[sid]
        expected = SessionState.ACTIVE if grant.ended is None else SessionState.REVOKED
        assert session.state(now) is expected, sid
        assert _kinds(session) == _expected_kinds(grant), sid
        assert session.revoked_reason == grant.ended, sid
        if grant.ended is not None:
            (revoked,) = [e for e in session.events if e.kind is EventKind.REVOKED]
            assert (revoked.at, revoked.detail) == (session.revoked_at, grant.ended)

    # Afterwards, one checker at a time: no rotated refresh token works. For a session still
    # active, the first one presented is a replay that revokes it.
    checks: Counter[str] = Counter()
    with requests.Session() as http:

        def refresh(token: str) -> tuple[int, str | None]:
            checks["refresh"] += 1
            form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": DEMO_CLIENT}
            return _oauth_error(http.post(server.url + "/oauth/token", data=form, timeout=15))

        def whoami(token: str) -> int:
            checks["whoami"] += 1
            headers = {"Authorization": f"Bearer {token}"}
            return http.get(server.url + "/v1/whoami", headers=headers, timeout=15).status_code

        for grant in grants.values():
            assert [refresh(token) for token in grant.rotated] == (
                [(400, "invalid_grant")] * len(grant.rotated)
            )
            if grant.rotated and grant.ended is None:
                grant.ended, grant.replayed_while_active = REPLAY_REASON, True

        sessions = {s.id: s for s in sandbox.store.sessions()}
        for sid, grant in grants.items():
            session = sessions[sid]
            assert _kinds(session) == _expected_kinds(grant), sid
            assert session.revoked_reason == grant.ended, sid
            # No access token of a revoked session works; an untouched session's still do.
            dead = grant.dead_access_tokens
            assert [whoami(t) for t in dead] == [401] * len(dead), sid
            live = grant.live_access_tokens
            assert [whoami(t) for t in live] == [200] * len(live), sid
        untouched = [g for g in grants.values() if g.ended is None]

        # Past the 30-day cap, the sessions nobody revoked are expired, and nothing works.
        sandbox.clock.advance(timedelta(days=31))
        now = sandbox.clock.now()
        states = Counter(s.state(now) for s in sandbox.store.sessions())
        assert states == {
            SessionState.EXPIRED: len(untouched),
            SessionState.REVOKED: len(grants) - len(untouched),
        }
        for grant in untouched:
            assert sessions[grant.sid].history(now)[-1].kind is EventKind.EXPIRED
            assert refresh(grant.refresh_token) == (400, "invalid_grant")
            assert [whoami(t) for t in grant.access_tokens] == [401] * len(grant.access_tokens)

    total = load_requests + sum(checks.values())
    print(
        f"soak: then {sum(checks.values())} checking requests {dict(checks)}; "
        f"{total} requests in {time.monotonic() - started:.1f} s in all; "
        f"{len(grants)} sessions, {len(untouched)} expired, {len(grants) - len(untouched)} "
        "revoked"
    )
