"""A bounded soak: 20,000 codes, 15,000 service sessions, 5,000 rotations, then nothing held.

One in ten of each goes through the real endpoints (the test client); the rest
goes straight into the app's store, which HTTP would take minutes for. With
the clock frozen nothing ends, so every record is still held when the soak is
done (sweeps in between must not drop a live one); once the clock moves past
every lifetime (`make bench --soak` reads the server's RSS around the same soak
against a live server), the store holds what it held before the soak.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from messpunkt.oauth.pkce import s256
from messpunkt.oauth.store import (
    AuthorizationCode,
    CodeAttempt,
    Grant,
    Issue,
    Issued,
    Moment,
    NewSession,
    SessionKind,
    SessionState,
    digest,
)
from messpunkt.stores.memory import InMemoryStore
from messpunkt.testing import DEMO_CLIENT, DEMO_REDIRECT_URI, FROZEN_AT, QUICKSTART_PROPERTY

CODES, SERVICE_SESSIONS, ROTATIONS = 20_000, 15_000, 5_000
THROUGH_HTTP = 10  # one in ten
# Of the codes, one in four is redeemed (a session with a refresh token). The first 1,000
# sessions rotate five times each; of those, the access tokens from the endpoint are
# revoked, one in five is replayed (revoked as theft), one in five revoked by its client.
REDEEMED_EVERY, ROTATING_SESSIONS, ROTATIONS_EACH = 4, 1_000, 5
ADMIN_KEY = "soak-admin-key"
SERVICE = ("sandbox-service-client", "sandbox-service-client-secret-change-me")
SCOPES = "read:units read:devices read:readings"
GRANT = Grant(DEMO_CLIENT, "tenant", "subject", tuple(SCOPES.split()), (QUICKSTART_PROPERTY,))
VERIFIER = "v" * 43
TTL = timedelta(minutes=30)


@pytest.fixture
def messpunkt_config():
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}


class Soak:
    """Issues through the endpoints or straight into the store, and keeps what it got."""

    def __init__(self, client, store: InMemoryStore, now) -> None:
        self.client, self.store, self.now = client, store, now
        self.refresh_tokens: list[str] = []
        self.access_tokens: list[str] = []

    @property
    def at(self) -> Moment:
        """The instant the store's steps are taken at, as a request reads it."""
        return self.store.state().moment(self.now)

    def code(self, n: int) -> tuple[str, str]:
        """Return a fresh code and its verifier."""
        if n % THROUGH_HTTP:
            code = secrets.token_hex(16)
            self.store.add_code(AuthorizationCode(
                digest(code), GRANT, DEMO_REDIRECT_URI, s256(VERIFIER), self.now,
                self.now + timedelta(minutes=5),
            ), self.at)  # fmt: skip
            return code, VERIFIER
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        response = self.client.post("/oauth/authorize", data={
            "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI, "scope": SCOPES,
            "state": "soak", "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256", "property": QUICKSTART_PROPERTY,
            "decision": "approve",
        })  # fmt: skip
        assert response.status_code == 302, response.get_data(as_text=True)
        return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0], verifier

    def redeem(self, n: int, code: str, verifier: str) -> None:
        if n % THROUGH_HTTP:
            refresh = secrets.token_hex(16)
            outcome = self.store.redeem_code(
                digest(code), CodeAttempt(DEMO_CLIENT, DEMO_REDIRECT_URI, s256(verifier)),
                NewSession(secrets.token_hex(8), SessionKind.AUTHORIZATION_CODE,
                           self.now + timedelta(days=30)),
                Issue(timedelta(hours=1), digest(refresh), timedelta(days=7)), self.at,
            )  # fmt: skip
            assert isinstance(outcome, Issued)
            self.refresh_tokens.append(refresh)
            self.access_tokens.append("")  # only the endpoint's tokens can be revoked by jti
            return
        body = self.token(grant_type="authorization_code", code=code, code_verifier=verifier,
                          client_id=DEMO_CLIENT, redirect_uri=DEMO_REDIRECT_URI)  # fmt: skip
        self.refresh_tokens.append(body["refresh_token"])
        self.access_tokens.append(body["access_token"])

    def service_session(self, n: int) -> None:
        if n % THROUGH_HTTP:
            new = NewSession(secrets.token_hex(8), SessionKind.CLIENT_CREDENTIALS, self.now + TTL)
            self.store.start_session(new, GRANT, Issue(TTL), self.at)
            return
        self.token(auth=SERVICE, grant_type="client_credentials")

    def rotate(self, n: int, token: str) -> str:
        if n % THROUGH_HTTP:
            successor = secrets.token_hex(16)
            issue = Issue(timedelta(hours=1), digest(successor), timedelta(days=7))
            outcome = self.store.rotate_refresh_token(
                digest(token), DEMO_CLIENT, (), issue, self.at
            )
            assert isinstance(outcome, Issued)
            return successor
        body = self.token(grant_type="refresh_token", refresh_token=token, client_id=DEMO_CLIENT)
        return str(body["refresh_token"])

    def replay(self, token: str) -> None:
        issue = Issue(timedelta(hours=1), digest(secrets.token_hex(16)), timedelta(days=7))
        refused = self.store.rotate_refresh_token(digest(token), DEMO_CLIENT, (), issue, self.at)
        assert not isinstance(refused, Issued)

    def token(self, auth: tuple[str, str] | None = None, **form: str) -> dict:
        response = self.client.post("/oauth/token", data=form, auth=auth)
        assert response.status_code == 200, response.json
        return response.json

    def revoke(self, token: str) -> None:
        response = self.client.post(
            "/oauth/revoke", data={"token": token, "client_id": DEMO_CLIENT}
        )
        assert response.status_code == 200


def test_a_soak_of_codes_sessions_and_rotations_leaves_nothing_once_the_clock_passes_it(
    messpunkt_app, messpunkt_client
):
    store = messpunkt_app.extensions["messpunkt"].store
    assert isinstance(store, InMemoryStore)
    baseline = store.counts()
    soak = Soak(messpunkt_client, store, messpunkt_app.extensions["messpunkt"].clock.now())

    for n in range(CODES):
        code, verifier = soak.code(n)
        if n % REDEEMED_EVERY == 0:
            soak.redeem(n // REDEEMED_EVERY, code, verifier)
    for n in range(SERVICE_SESSIONS):
        soak.service_session(n)
    rotations = 0
    for n in range(ROTATING_SESSIONS):
        if soak.access_tokens[n]:
            soak.revoke(soak.access_tokens[n])
        first = token = soak.refresh_tokens[n]
        for _ in range(ROTATIONS_EACH):
            token = soak.rotate(rotations, token)
            rotations += 1
        if n % 5 == 0:
            soak.replay(first)
        elif n % 5 == 1:
            soak.revoke(token)
    assert rotations == ROTATIONS

    redeemed = CODES // REDEEMED_EVERY
    held = store.counts()
    assert held["codes"] == baseline["codes"] + CODES
    assert held["sessions"] == baseline["sessions"] + redeemed + SERVICE_SESSIONS
    assert held["refresh_tokens"] == baseline["refresh_tokens"] + redeemed + ROTATIONS
    assert held["revoked_access_tokens"] == baseline["revoked_access_tokens"] + (
        ROTATING_SESSIONS // THROUGH_HTTP
    )
    assert [s.state(soak.now) for s in store.sessions()].count(SessionState.REVOKED) == (
        2 * ROTATING_SESSIONS // 5
    )

    advanced = messpunkt_client.post(
        "/sandbox/clock/advance", json={"by": "P400D"}, headers={"X-Sandbox-Admin-Key": ADMIN_KEY}
    )
    assert advanced.status_code == 200

    assert store.counts() == baseline
