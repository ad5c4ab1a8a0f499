"""The store port's contract, written once and run against every store.

Each operation is one step: its checks and its writes happen together. The
instants are explicit, and every lifetime is tried the second before and the
second it ends. Tests take the `store` fixture, parametrised over the stores
in `STORES`; a shared store joins by adding its factory there.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from conftest import Logged

from messpunkt.clock import ClockError, ClockState
from messpunkt.faults import Fault
from messpunkt.oauth.client_metadata import ClientMetadata
from messpunkt.oauth.pkce import s256
from messpunkt.oauth.registrations import Registration
from messpunkt.oauth.store import (
    EVENTS_KEPT,
    AuthorizationCode,
    CodeAttempt,
    EventKind,
    Grant,
    Issue,
    Issued,
    Moment,
    NewSession,
    Refusal,
    Refused,
    SandboxMoved,
    Session,
    SessionKind,
    SessionState,
    digest,
)
from messpunkt.sandbox import SandboxState, SandboxStore, hash_admin_key
from messpunkt.stores.memory import InMemoryStore

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
CLIENT = "sandbox-demo-client"
OTHER_CLIENT = "beispiel-erp-client"
REDIRECT_URI = "http://localhost:3000/callback"
VERIFIER = "v" * 43
GRANT = Grant(
    client_id=CLIENT,
    tenant_id="3e17ba96-ae04-4d3b-9986-9e56f0adbf3a",
    subject="ba67f98d-4fd0-50b9-a60f-508383b44535",
    scopes=("read:units", "read:devices", "read:readings"),
    property_ids=("6fb74d25-5517-4dcc-ae8b-0914579ab036",),
)
# The default lifetimes (API.md "Sessions and lifetimes").
CODE_TTL, ACCESS_TTL, REFRESH_TTL, SESSION_TTL = 5 * 60 * SECOND, HOUR, 7 * DAY, 30 * DAY
FIRST_STATE = SandboxState(ClockState.starting(T0), 1, "default", hash_admin_key("key"))


def memory_store(request: pytest.FixtureRequest) -> SandboxStore:
    return InMemoryStore(FIRST_STATE)


def redis_store(request: pytest.FixtureRequest) -> SandboxStore:
    import redis

    from messpunkt.stores.redis import RedisStore

    client = redis.Redis.from_url(request.getfixturevalue("redis_server").url)
    request.addfinalizer(client.close)
    return RedisStore.create(client, fresh("sandbox"), FIRST_STATE)


STORES: dict[str, Callable[[pytest.FixtureRequest], SandboxStore]] = {
    "memory": memory_store,
    "redis": redis_store,
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest) -> SandboxStore:
    return STORES[request.param](request)


_ids = count()


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def add_code(store: SandboxStore, at: datetime = T0, redirect_uri_given: bool = True) -> str:
    code = fresh("code")
    store.add_code(
        AuthorizationCode(
            digest(code),
            GRANT,
            REDIRECT_URI,
            s256(VERIFIER),
            at,
            at + CODE_TTL,
            redirect_uri_given,
        ),
        store.state().moment(at),
    )
    return code


def redeem(
    store: SandboxStore,
    code: str,
    at: datetime,
    *,
    client_id: str = CLIENT,
    redirect_uri: str | None = REDIRECT_URI,
    verifier: str | None = VERIFIER,
    refresh_token: str | None = None,
) -> tuple[Issued | Refused, str]:
    refresh_token = refresh_token or fresh("refresh")
    outcome = store.redeem_code(
        digest(code),
        CodeAttempt(client_id, redirect_uri, s256(verifier) if verifier else None),
        NewSession(fresh("session"), SessionKind.AUTHORIZATION_CODE, at + SESSION_TTL),
        Issue(ACCESS_TTL, digest(refresh_token), REFRESH_TTL),
        store.state().moment(at),
    )
    return outcome, refresh_token


def open_session(store: SandboxStore, at: datetime = T0) -> tuple[Session, str]:
    outcome, refresh_token = redeem(store, add_code(store, at), at)
    assert isinstance(outcome, Issued)
    return outcome.session, refresh_token


def rotate(
    store: SandboxStore,
    token: str,
    at: datetime,
    client_id: str = CLIENT,
    scopes: tuple[str, ...] = (),
) -> tuple[Issued | Refused, str]:
    successor = fresh("refresh")
    outcome = store.rotate_refresh_token(
        digest(token),
        client_id,
        scopes,
        Issue(ACCESS_TTL, digest(successor), REFRESH_TTL),
        store.state().moment(at),
    )
    return outcome, successor


def rotated(store: SandboxStore, token: str, at: datetime) -> str:
    outcome, successor = rotate(store, token, at)
    assert isinstance(outcome, Issued), outcome
    return successor


def kinds(store: SandboxStore, session_id: str) -> list[EventKind]:
    session = store.session(session_id)
    assert session is not None
    return [event.kind for event in session.events]


def active(store: SandboxStore, session: Session, at: datetime, jti: str = "jti") -> bool:
    return isinstance(store.check_access(session.id, jti, session.client_id, at), Session)


# Codes


def test_a_redeemed_code_opens_a_session_with_its_grant_and_first_refresh_token(store):
    session, refresh_token = open_session(store)

    assert (session.client_id, session.tenant_id, session.subject) == (
        GRANT.client_id, GRANT.tenant_id, GRANT.subject,
    )  # fmt: skip
    assert (session.scopes, session.property_ids) == (GRANT.scopes, GRANT.property_ids)
    assert (session.created_at, session.expires_at) == (T0, T0 + 30 * DAY)
    assert session.usable_until == T0 + 7 * DAY  # the refresh token outlives the access token
    assert session.kind is SessionKind.AUTHORIZATION_CODE
    assert kinds(store, session.id) == [EventKind.ISSUED]
    record = store.refresh_token(digest(refresh_token))
    assert record is not None
    assert (record.session_id, record.client_id) == (session.id, CLIENT)
    assert (record.issued_at, record.expires_at, record.rotated_at) == (T0, T0 + 7 * DAY, None)
    assert store.refresh_token(refresh_token) is None  # stored only as a digest


def test_redeeming_returns_the_access_tokens_end(store):
    outcome, _ = redeem(store, add_code(store), T0 + SECOND)
    assert isinstance(outcome, Issued)
    assert outcome.access_expires_at == T0 + SECOND + HOUR


@pytest.mark.parametrize(
    ("after", "expected"),
    [(CODE_TTL - SECOND, None), (CODE_TTL, Refusal.CODE_EXPIRED)],
    ids=["4m59s", "5m"],
)
def test_a_code_expires_after_five_minutes(store, after, expected):
    outcome, _ = redeem(store, add_code(store), T0 + after)
    assert (outcome.reason if isinstance(outcome, Refused) else None) == expected


@pytest.mark.parametrize(
    ("attempt", "reason"),
    [
        ({"client_id": OTHER_CLIENT}, Refusal.CODE_OTHER_CLIENT),
        ({"redirect_uri": "http://localhost:4000/callback"}, Refusal.REDIRECT_URI_MISMATCH),
        ({"redirect_uri": None}, Refusal.REDIRECT_URI_MISSING),
        ({"verifier": "w" * 43}, Refusal.PKCE_MISMATCH),
        ({"verifier": None}, Refusal.PKCE_MISMATCH),
    ],
    ids=["other-client", "other-redirect-uri", "no-redirect-uri", "wrong-verifier", "none"],
)
def test_a_failed_first_redemption_still_consumes_the_code(store, attempt, reason):
    code = add_code(store)

    first, _ = redeem(store, code, T0, **attempt)
    second, _ = redeem(store, code, T0 + SECOND)

    assert first == Refused(reason)
    assert second == Refused(Refusal.CODE_REUSED)
    assert store.sessions() == []


def test_a_code_requested_without_a_redirect_uri_needs_none_at_the_token_endpoint(store):
    # RFC 6749 §4.1.3: redirect_uri is required there only if the request had it.
    outcome, _ = redeem(store, add_code(store, redirect_uri_given=False), T0, redirect_uri=None)
    assert isinstance(outcome, Issued)


def test_a_code_requested_without_a_redirect_uri_refuses_another_one(store):
    code = add_code(store, redirect_uri_given=False)
    outcome, _ = redeem(store, code, T0, redirect_uri="http://localhost:4000/callback")
    assert outcome == Refused(Refusal.REDIRECT_URI_MISMATCH)


def test_an_unknown_code_is_refused(store):
    outcome, _ = redeem(store, "no-such-code", T0)
    assert outcome == Refused(Refusal.UNKNOWN_CODE)


def test_a_second_redemption_revokes_the_session_the_first_one_started(store):
    code = add_code(store)
    first, refresh_token = redeem(store, code, T0)
    assert isinstance(first, Issued)

    second, _ = redeem(store, code, T0 + SECOND)

    assert second == Refused(Refusal.CODE_REUSED)
    session = store.session(first.session.id)
    assert session is not None
    assert (session.revoked_at, session.revoked_reason) == (
        T0 + SECOND, "authorization code redeemed twice",
    )  # fmt: skip
    assert rotate(store, refresh_token, T0 + 2 * SECOND)[0] == Refused(Refusal.SESSION_REVOKED)
    assert not active(store, session, T0 + 2 * SECOND)


def test_fifty_concurrent_redemptions_of_one_code_open_one_session(store):
    code = add_code(store)
    barrier = threading.Barrier(50)

    def race(_: int) -> Issued | Refused:
        barrier.wait()
        return redeem(store, code, T0)[0]

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(race, range(50)))

    winners = [o for o in outcomes if isinstance(o, Issued)]
    assert len(winners) == 1
    assert Counter(o for o in outcomes if isinstance(o, Refused)) == {
        Refused(Refusal.CODE_REUSED): 49
    }
    [session] = store.sessions()
    assert session.id == winners[0].session.id
    assert session.state(T0) is SessionState.REVOKED  # the losers were second redemptions


# Refresh tokens


def test_rotation_issues_a_successor_and_retires_the_presented_token(store):
    session, first = open_session(store)
    at = T0 + 2 * DAY

    outcome, successor = rotate(store, first, at)

    assert isinstance(outcome, Issued)
    assert outcome.session.id == session.id
    assert outcome.access_expires_at == at + HOUR
    old, new = store.refresh_token(digest(first)), store.refresh_token(digest(successor))
    assert old is not None and new is not None
    assert old.rotated_at == at
    assert (new.session_id, new.issued_at, new.expires_at, new.rotated_at) == (
        session.id, at, at + 7 * DAY, None,
    )  # fmt: skip
    assert kinds(store, session.id) == [EventKind.ISSUED, EventKind.ROTATED]


def test_a_successor_can_be_rotated_in_turn(store):
    _, first = open_session(store)
    second = rotated(store, first, T0 + DAY)
    third = rotated(store, second, T0 + 2 * DAY)
    assert len({first, second, third}) == 3


def test_a_replayed_refresh_token_revokes_the_session(store):
    session, first = open_session(store)
    current = rotated(store, first, T0 + DAY)
    replay_at = T0 + DAY + timedelta(minutes=5)

    assert rotate(store, first, replay_at)[0] == Refused(Refusal.REFRESH_REPLAYED)

    revoked = store.session(session.id)
    assert revoked is not None
    assert revoked.state(replay_at) is SessionState.REVOKED
    assert (revoked.revoked_at, revoked.revoked_reason) == (
        replay_at, "refresh token replay detected",
    )  # fmt: skip
    assert [e.kind for e in revoked.events] == [
        EventKind.ISSUED, EventKind.ROTATED, EventKind.REPLAY_DETECTED, EventKind.REVOKED,
    ]  # fmt: skip
    assert [e.at for e in revoked.events[2:]] == [replay_at, replay_at]
    assert not active(store, session, replay_at)
    # The current refresh token died with its session.
    assert rotate(store, current, replay_at + SECOND)[0] == Refused(Refusal.SESSION_REVOKED)


@pytest.mark.parametrize(
    ("at", "answer", "revoked"),
    [(T0 + 7 * DAY - SECOND, Refusal.REFRESH_REPLAYED, True),
     (T0 + 7 * DAY, Refusal.REFRESH_EXPIRED, False)],
    ids=["the second before its expiry", "at its expiry"],
)  # fmt: skip
def test_a_rotated_token_replayed_once_it_expired_is_expired_and_ends_nothing(
    store, at, answer, revoked
):
    # Replay is detected until the token's own expiry (stores/retention.py), whether or not
    # the store has forgotten it yet: after that it is an expired token, and the session's
    # current one works on. Memory and Redis answered apart, and memory by its sweeps.
    session, first = open_session(store)
    current = rotated(store, first, T0 + DAY)

    assert rotate(store, first, at)[0] == Refused(answer)

    found = store.session(session.id)
    assert found is not None
    assert (found.revoked_at is not None) is revoked
    assert isinstance(rotate(store, current, at)[0], Refused) is revoked


def test_a_replay_after_the_sessions_cap_is_expired_and_leaves_it_expired(store):
    session, first = open_session(store)
    current = first
    for day in (6, 12, 18, 24):
        current, before = rotated(store, current, T0 + day * DAY), current
    at = T0 + 30 * DAY  # the session's cap, which no refresh token outlives

    assert rotate(store, before, at)[0] == Refused(Refusal.REFRESH_EXPIRED)

    found = store.session(session.id)
    assert found is not None
    assert (found.revoked_at, found.state(at)) == (None, SessionState.EXPIRED)


@pytest.mark.parametrize(
    ("at", "ended"), [(T0 + 7 * DAY - SECOND, True), (T0 + 7 * DAY, False)],
    ids=["the second before its expiry", "at its expiry"],
)  # fmt: skip
def test_revoking_a_refresh_token_once_it_expired_ends_nothing(store, at, ended):
    # RFC 7009 §2.2: an invalid token is answered 200 and nothing more.
    session, first = open_session(store)
    rotated(store, first, T0 + DAY)

    assert store.revoke_refresh_token(digest(first), CLIENT, "revoked by the client", at) is ended

    found = store.session(session.id)
    assert found is not None
    assert (found.revoked_at is not None) is ended


def test_a_second_replay_records_nothing_more(store):
    session, first = open_session(store)
    rotated(store, first, T0 + DAY)
    for minute in (1, 2):
        assert rotate(store, first, T0 + DAY + minute * 60 * SECOND)[0] == Refused(
            Refusal.REFRESH_REPLAYED
        )
    revoked = store.session(session.id)
    assert revoked is not None
    assert revoked.revoked_at == T0 + DAY + 60 * SECOND
    assert len(revoked.events) == 4


def test_an_unknown_refresh_token_is_refused(store):
    open_session(store)
    assert rotate(store, "not-a-refresh-token", T0)[0] == Refused(Refusal.UNKNOWN_REFRESH_TOKEN)


@pytest.mark.parametrize(
    ("age", "valid"), [(7 * DAY - SECOND, True), (7 * DAY, False)], ids=["7d-1s", "7d"]
)
def test_a_refresh_token_expires_after_seven_days_without_revoking(store, age, valid):
    session, token = open_session(store)
    outcome, _ = rotate(store, token, T0 + age)
    assert isinstance(outcome, Issued) is valid
    if not valid:
        assert outcome == Refused(Refusal.REFRESH_EXPIRED)
        assert kinds(store, session.id) == [EventKind.ISSUED]  # expiry is not theft


def test_refresh_tokens_never_outlive_the_thirty_day_cap(store):
    session, token = open_session(store)
    for day in (6, 12, 18, 24, 29):
        token = rotated(store, token, T0 + day * DAY)
    record = store.refresh_token(digest(token))
    assert record is not None
    assert (record.issued_at, record.expires_at) == (T0 + 29 * DAY, T0 + 30 * DAY)

    token = rotated(store, token, T0 + 30 * DAY - SECOND)
    assert rotate(store, token, T0 + 30 * DAY)[0] == Refused(Refusal.REFRESH_EXPIRED)
    ended = store.session(session.id)
    assert ended is not None
    assert ended.revoked_at is None
    assert ended.state(T0 + 30 * DAY - SECOND) is SessionState.ACTIVE
    assert ended.state(T0 + 30 * DAY) is SessionState.EXPIRED
    history = ended.history(T0 + 31 * DAY)
    assert [e.kind for e in history] == [EventKind.ISSUED, *[EventKind.ROTATED] * 6,
                                         EventKind.EXPIRED]  # fmt: skip
    assert (history[-1].at, history[-1].detail) == (T0 + 30 * DAY, "absolute session cap reached")


@pytest.mark.parametrize(
    ("issued_after", "expected_end"),
    [
        (timedelta(0), T0 + HOUR),
        (29 * DAY + 23 * HOUR, T0 + 30 * DAY),
        (30 * DAY - timedelta(minutes=30), T0 + 30 * DAY),
    ],
    ids=["fresh-session", "exactly-one-hour-left", "half-an-hour-left"],
)
def test_an_access_token_never_outlives_the_session(store, issued_after, expected_end):
    _, token = open_session(store)
    if issued_after:
        token = rotated(store, token, T0 + 6 * DAY)
        for day in (12, 18, 24):
            token = rotated(store, token, T0 + day * DAY)
    outcome, _ = (
        rotate(store, token, T0 + issued_after)
        if issued_after
        else redeem(store, add_code(store), T0)
    )
    assert isinstance(outcome, Issued)
    assert outcome.access_expires_at == expected_end


def test_a_refresh_token_presented_by_another_client_is_refused_without_revoking(store):
    session, token = open_session(store)

    assert rotate(store, token, T0 + DAY, client_id=OTHER_CLIENT)[0] == Refused(
        Refusal.REFRESH_OTHER_CLIENT
    )

    record = store.refresh_token(digest(token))
    assert record is not None and record.rotated_at is None
    assert kinds(store, session.id) == [EventKind.ISSUED]
    assert isinstance(rotate(store, token, T0 + DAY)[0], Issued)  # the rightful client can


def test_a_refresh_may_narrow_the_scope_but_not_widen_it(store):
    _, token = open_session(store)
    outcome, _ = rotate(store, token, T0 + DAY, scopes=("read:units", "write:units"))
    assert outcome == Refused(Refusal.SCOPE_NOT_GRANTED, "write:units")
    narrowed, _ = rotate(store, token, T0 + DAY, scopes=("read:units",))
    assert isinstance(narrowed, Issued)  # the widening attempt did not retire the token


def test_fifty_concurrent_refreshes_of_one_token_rotate_it_once_and_revoke_the_session(store):
    session, token = open_session(store)
    barrier = threading.Barrier(50)

    def race(_: int) -> Issued | Refused:
        barrier.wait()
        return rotate(store, token, T0 + HOUR)[0]

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(race, range(50)))

    assert sum(isinstance(o, Issued) for o in outcomes) == 1
    assert Counter(o for o in outcomes if isinstance(o, Refused)) == {
        Refused(Refusal.REFRESH_REPLAYED): 49
    }
    assert kinds(store, session.id) == [
        EventKind.ISSUED, EventKind.ROTATED, EventKind.REPLAY_DETECTED, EventKind.REVOKED,
    ]  # fmt: skip


# Revocation and the /v1 check


def test_revoking_a_refresh_token_ends_its_session_for_its_own_client_only(store):
    session, token = open_session(store)

    assert store.revoke_refresh_token(digest(token), OTHER_CLIENT, "by another", T0) is False
    assert active(store, session, T0)
    assert store.revoke_refresh_token(digest(token), CLIENT, "by the client", T0 + SECOND)

    assert not active(store, session, T0 + SECOND)
    assert rotate(store, token, T0 + 2 * SECOND)[0] == Refused(Refusal.SESSION_REVOKED)
    assert store.revoke_refresh_token(digest("unknown"), CLIENT, "none", T0) is False


def test_revoking_a_session_keeps_the_first_reason(store):
    session, token = open_session(store)

    revoked = store.revoke_session(session.id, "revoked by the tenant", T0 + DAY)
    again = store.revoke_session(session.id, "again", T0 + 2 * DAY)

    assert revoked is not None and again is not None
    assert (again.revoked_at, again.revoked_reason) == (T0 + DAY, "revoked by the tenant")
    assert [e.kind for e in again.history(T0 + 31 * DAY)] == [
        EventKind.ISSUED, EventKind.REVOKED,
    ]  # fmt: skip
    assert again.state(T0 + 31 * DAY) is SessionState.REVOKED
    assert rotate(store, token, T0 + DAY + SECOND)[0] == Refused(Refusal.SESSION_REVOKED)
    assert store.revoke_session("no-such-session", "none", T0) is None


@pytest.mark.parametrize(
    ("ended", "after"),
    [(REFRESH_TTL, "tokens expired"), (SESSION_TTL, "absolute session cap reached")],
    ids=["tokens", "cap"],
)
def test_a_session_that_has_expired_stays_as_it_ended_when_revoked(store, ended, after):
    # Revoking it rewrote why it ended: revoked, and its expiry gone from its history.
    session, _ = open_session(store)
    if ended == SESSION_TTL:  # kept usable by refreshes every six days, to its cap
        token = open_session(store)[1]
        session = store.sessions()[0]
        for day in range(6, 30, 6):
            token = rotated(store, token, T0 + day * DAY)
    at = T0 + ended

    found = store.revoke_session(session.id, "revoked through the sandbox controls", at)

    assert found is not None and found.revoked_at is None
    assert found.state(at) is SessionState.EXPIRED
    assert [(e.kind, e.detail) for e in found.history(at)][-1] == (EventKind.EXPIRED, after)
    assert EventKind.REVOKED not in [e.kind for e in found.history(at)]


def test_revoking_a_session_of_another_kind_finds_nothing(store):
    session, _ = open_session(store)
    assert store.revoke_session(session.id, "pat", T0, SessionKind.PERSONAL_ACCESS_TOKEN) is None
    assert active(store, session, T0)


@pytest.mark.parametrize(
    ("at", "allowed"), [(30 * DAY - SECOND, True), (30 * DAY, False)], ids=["30d-1s", "30d"]
)
def test_access_is_checked_against_the_session_cap(store, at, allowed):
    session, _ = open_session(store)
    assert active(store, session, T0 + at) is allowed


def test_access_needs_the_sessions_own_client(store):
    session, _ = open_session(store)
    assert store.check_access(session.id, "jti", OTHER_CLIENT, T0) == Refused(Refusal.SESSION_ENDED)
    assert store.check_access("no-such-session", "jti", CLIENT, T0) == Refused(
        Refusal.SESSION_ENDED
    )


def test_a_revoked_access_token_is_refused_while_its_session_lives(store):
    session, _ = open_session(store)

    store.revoke_access_token(session.id, "jti-1", T0 + HOUR)

    assert store.check_access(session.id, "jti-1", CLIENT, T0) == Refused(
        Refusal.ACCESS_TOKEN_REVOKED
    )
    assert active(store, session, T0, jti="jti-2")


# Sessions without a code


def test_client_credentials_open_a_session_capped_at_the_clients_lifetime(store):
    grant = Grant("sandbox-service-client", GRANT.tenant_id, "client:x", ("read:units",), ())
    new = NewSession("cc-1", SessionKind.CLIENT_CREDENTIALS, T0 + 30 * 60 * SECOND)

    issued = store.start_session(new, grant, Issue(HOUR), store.state().moment(T0))

    assert issued.access_expires_at == T0 + 30 * 60 * SECOND
    assert issued.session.ends_at() == T0 + 30 * 60 * SECOND
    assert issued.session.events == ()  # a state change answers without them
    events = store.session(issued.session.id).events
    assert [e.kind for e in events] == [EventKind.ISSUED]
    assert events[0].detail == "session started (client_credentials)"
    assert active(store, issued.session, T0 + 30 * 60 * SECOND - SECOND)
    assert not active(store, issued.session, T0 + 30 * 60 * SECOND)


@pytest.mark.parametrize(
    ("at", "usable"), [(DAY - SECOND, True), (DAY, False)], ids=["1d-1s", "1d"]
)
def test_a_personal_access_token_works_until_it_expires(store, at, usable):
    token_hash = digest("mpat_secret")
    new = NewSession(
        "pat-1",
        SessionKind.PERSONAL_ACCESS_TOKEN,
        T0 + DAY,
        name="ERP",
        personal_token_hash=token_hash,
    )
    store.start_session(new, GRANT, Issue(DAY), store.state().moment(T0))

    found = store.personal_token(token_hash, T0 + at)

    assert (found is not None) is usable
    if found:
        assert (found.id, found.name, found.kind) == (
            "pat-1", "ERP", SessionKind.PERSONAL_ACCESS_TOKEN,
        )  # fmt: skip
    assert store.personal_token(digest("mpat_other"), T0) is None


def test_a_revoked_personal_access_token_stops_at_once(store):
    token_hash = digest("mpat_secret")
    new = NewSession("pat-1", SessionKind.PERSONAL_ACCESS_TOKEN, T0 + DAY, "ERP", token_hash)
    store.start_session(new, GRANT, Issue(DAY), store.state().moment(T0))

    revoked = store.revoke_session("pat-1", "revoked", T0 + HOUR, SessionKind.PERSONAL_ACCESS_TOKEN)

    assert revoked is not None and revoked.revoked_reason == "revoked"
    assert store.personal_token(token_hash, T0 + HOUR) is None


# Listing, events, the sandbox's own state


def test_sessions_are_listed_newest_first_with_their_events(store):
    first, _ = open_session(store, T0)
    second, token = open_session(store, T0 + HOUR)
    rotated(store, token, T0 + 2 * HOUR)

    listed = store.sessions()

    assert [s.id for s in listed] == [second.id, first.id]
    assert [e.kind for e in listed[0].events] == [EventKind.ISSUED, EventKind.ROTATED]
    assert store.session("no-such-session") is None


def test_sessions_opened_at_one_instant_are_listed_alike_on_every_store(store):
    # A frozen clock opens them all at T0: newest first cannot tell them apart, so the id
    # does, the higher first, on every store (memory gave insertion order, Redis the
    # sorted set's).
    ids = [open_session(store, T0)[0].id for _ in range(5)]

    assert [s.id for s in store.sessions()] == sorted(ids, reverse=True)


def test_a_session_keeps_its_start_and_its_newest_events(store):
    session, token = open_session(store)
    for minute in range(1, EVENTS_KEPT + 10):
        token = rotated(store, token, T0 + minute * 60 * SECOND)

    kept = store.session(session.id)

    assert kept is not None
    assert len(kept.events) == EVENTS_KEPT
    assert kept.events[0].kind is EventKind.ISSUED
    assert kept.events[-1].at == T0 + (EVENTS_KEPT + 9) * 60 * SECOND


def test_the_clock_moves_as_one_step_and_a_refused_move_changes_nothing(store):
    wall = T0 + DAY  # the clock stands frozen at T0 whatever the wall clock says

    moved = store.move_clock(lambda clock: clock.advance(wall, HOUR))
    assert moved.clock.now(wall) == T0 + HOUR

    with pytest.raises(ClockError):
        store.move_clock(lambda clock: clock.freeze(wall, T0))
    assert store.state().clock.now(wall) == T0 + HOUR


def test_reset_forgets_every_record_resets_the_clock_and_bumps_the_generation(store):
    session, token = open_session(store)
    code = add_code(store)
    store.move_clock(lambda clock: clock.advance(T0, DAY))

    state = store.reset()

    assert state.generation == FIRST_STATE.generation + 1
    assert state.clock == FIRST_STATE.clock
    assert state.data_set == FIRST_STATE.data_set
    assert store.sessions() == []
    assert store.refresh_token(digest(token)) is None
    assert not active(store, session, T0)
    assert redeem(store, code, T0)[0] == Refused(Refusal.UNKNOWN_CODE)
    assert store.reset("another").data_set == "another"


# A step and the sandbox moving under it: a request reads the sandbox once, as it begins,
# and a reset or a clock move may come before its step. Stamped with the instant it read,
# a code would land in the sandbox after a reset, or a token the moved clock has expired.


def _unfreeze(store: SandboxStore) -> None:
    """Let the clock run on from T0 (a store purges by the machine's clock as it moves)."""
    store.move_clock(lambda clock: clock.unfreeze(datetime.now(UTC)))


# Each a change between a request's read and its step; the first function runs before the
# read. Each changes one of what the step compares: generation, frozen_at, offset.
MOVES: dict[str, tuple[Callable[[SandboxStore], object], Callable[[SandboxStore], object]]] = {
    "reset": (lambda store: None, lambda store: store.reset()),
    "frozen clock advanced": (
        lambda store: None, lambda store: store.move_clock(lambda c: c.advance(T0, SECOND))
    ),
    "clock unfrozen": (lambda store: None, _unfreeze),
    "running clock advanced": (
        _unfreeze, lambda store: store.move_clock(lambda c: c.advance(T0, SECOND))
    ),
}  # fmt: skip


def overtaken(store: SandboxStore, move: str) -> Moment:
    """Read the sandbox as a request does as it begins, then make `move` before its step."""
    read = store.state().moment(T0)
    MOVES[move][1](store)
    return read


def _code(at: datetime = T0) -> tuple[str, AuthorizationCode]:
    code = fresh("code")
    return code, AuthorizationCode(
        digest(code), GRANT, REDIRECT_URI, s256(VERIFIER), at, at + CODE_TTL
    )


def _attempt() -> CodeAttempt:
    return CodeAttempt(CLIENT, REDIRECT_URI, s256(VERIFIER))


def _new_session() -> NewSession:
    return NewSession(fresh("session"), SessionKind.AUTHORIZATION_CODE, T0 + SESSION_TTL)


def _issue() -> Issue:
    return Issue(ACCESS_TTL, digest(fresh("refresh")), REFRESH_TTL)


@pytest.mark.parametrize("move", list(MOVES))
def test_a_code_added_after_its_sandbox_moved_is_refused_and_not_kept(store, move):
    MOVES[move][0](store)
    read = overtaken(store, move)
    code, record = _code()

    with pytest.raises(SandboxMoved):
        store.add_code(record, read)

    outcome = store.redeem_code(
        digest(code), _attempt(), _new_session(), _issue(), store.state().moment(T0)
    )
    assert outcome == Refused(Refusal.UNKNOWN_CODE)


@pytest.mark.parametrize("move", list(MOVES))
def test_a_session_started_after_its_sandbox_moved_is_refused_and_not_opened(store, move):
    MOVES[move][0](store)
    read = overtaken(store, move)
    before = store.sessions()
    token_hash = digest("mpat_straddling")
    new = NewSession(
        "pat-1", SessionKind.PERSONAL_ACCESS_TOKEN, T0 + DAY, "ERP", token_hash
    )  # fmt: skip

    with pytest.raises(SandboxMoved):
        store.start_session(new, GRANT, Issue(DAY), read)

    assert store.sessions() == before
    assert store.personal_token(token_hash, T0) is None


@pytest.mark.parametrize("move", [m for m in MOVES if m != "reset"])
def test_a_code_redeemed_after_its_sandbox_moved_is_refused_and_not_consumed(store, move):
    MOVES[move][0](store)
    code = add_code(store)
    read = overtaken(store, move)

    with pytest.raises(SandboxMoved):
        store.redeem_code(digest(code), _attempt(), _new_session(), _issue(), read)

    assert store.sessions() == []
    # Made again, the request reads the moved sandbox and redeems the code: the first
    # redemption, not a second that revokes what the first one issued.
    assert isinstance(redeem(store, code, T0 + SECOND)[0], Issued)


def test_a_code_redeemed_after_a_reset_is_refused_as_moved_and_opens_nothing(store):
    code = add_code(store)
    read = store.state().moment(T0)
    store.reset()

    with pytest.raises(SandboxMoved):
        store.redeem_code(digest(code), _attempt(), _new_session(), _issue(), read)

    assert store.sessions() == []


@pytest.mark.parametrize("move", [m for m in MOVES if m != "reset"])
def test_a_refresh_token_rotated_after_its_sandbox_moved_is_refused_and_still_current(store, move):
    MOVES[move][0](store)
    session, token = open_session(store)
    read = overtaken(store, move)

    with pytest.raises(SandboxMoved):
        store.rotate_refresh_token(digest(token), CLIENT, (), _issue(), read)

    assert store.session(session.id).events == store.session(session.id).events[:1]
    assert store.refresh_token(digest(token)).rotated_at is None
    # Made again: rotated, not a replay that revokes the session.
    assert isinstance(rotate(store, token, T0 + SECOND)[0], Issued)


def test_a_refresh_token_rotated_after_a_reset_is_refused_as_moved(store):
    _, token = open_session(store)
    read = store.state().moment(T0)
    store.reset()

    with pytest.raises(SandboxMoved):
        store.rotate_refresh_token(digest(token), CLIENT, (), _issue(), read)

    assert store.sessions() == []


def test_sessions_started_while_the_sandbox_is_reset_are_all_of_its_own_clock(store):
    """Eight threads start sessions, each with the sandbox as it read it, while the clock
    advances a day and the sandbox resets, again and again. A reset puts the clock back to
    T0: a session of the sandbox after it stamped with an instant past T0 was started by a
    request that read the sandbox before it (the future-dated personal access tokens)."""
    started = threading.Semaphore(0)
    done = threading.Event()

    def starting() -> None:
        while not done.is_set():
            read = store.state()
            new = NewSession(fresh("session"), SessionKind.CLIENT_CREDENTIALS, T0 + 2 * DAY)
            with contextlib.suppress(SandboxMoved):  # the refusal is the rule; made again
                store.start_session(new, GRANT, Issue(HOUR), read.moment(read.clock.now(T0)))
            started.release()

    stamped_later = []
    with ThreadPoolExecutor(8) as pool:
        workers = [pool.submit(starting) for _ in range(8)]
        try:
            for _ in range(40):
                store.move_clock(lambda clock: clock.advance(T0, DAY))
                for _ in range(8):
                    started.acquire()
                store.reset()
                for _ in range(16):
                    started.acquire()
                stamped_later += [s for s in store.sessions() if s.created_at != T0]
        finally:
            done.set()
        for worker in workers:
            worker.result()

    assert stamped_later == []


def test_the_admin_key_is_kept_as_a_digest_and_compared_whole(store):
    state = store.state()
    assert "key" not in state.admin_key_hash
    assert state.admits("key")
    assert not state.admits("ke")
    assert not state.admits("key ")


def test_the_state_and_an_access_tokens_facts_are_read_together(store):
    session, _ = open_session(store)
    store.revoke_access_token(session.id, "jti-revoked", T0 + HOUR)

    state, read = store.state_and_access(session.id, "jti-live")
    _, revoked = store.state_and_access(session.id, "jti-revoked")
    _, unknown = store.state_and_access("no-such-session", "jti-live")

    assert state == store.state()
    assert (read.session_id, read.token_id, read.revoked) == (session.id, "jti-live", False)
    assert read.session is not None and read.session.id == session.id
    assert read.decide(CLIENT, T0) == read.session
    assert revoked.decide(CLIENT, T0) == Refused(Refusal.ACCESS_TOKEN_REVOKED)
    assert unknown.session is None
    assert unknown.decide(CLIENT, T0) == Refused(Refusal.SESSION_ENDED)
    store.reset()
    assert store.state_and_access(session.id, "jti-live")[1].session is None  # old generation


# Registered clients (RFC 7591, RFC 7592)

SERVICE_METADATA = ClientMetadata(
    client_name="Abrechnung GmbH",
    redirect_uris=(),
    token_endpoint_auth_method="client_secret_basic",
    grant_types=("client_credentials",),
    response_types=(),
    scopes=("read:units",),
    tenant_id=GRANT.tenant_id,
    property_ids=GRANT.property_ids,
)
CODE_METADATA = ClientMetadata(
    client_name=None,
    redirect_uris=("https://erp.example.com/callback",),
    token_endpoint_auth_method="none",
    grant_types=("authorization_code", "refresh_token"),
    response_types=("code",),
    scopes=("read:units", "read:readings"),
)


def registration(
    client_id: str | None = None, metadata: ClientMetadata = SERVICE_METADATA, at: datetime = T0
) -> Registration:
    secret_hash = "sha256:" + digest("secret") if metadata.is_confidential else None
    return Registration(client_id or fresh("mpc"), metadata, secret_hash, digest("rat"), at)


def open_session_of(
    store: SandboxStore, client_id: str, registered: bool = True
) -> tuple[Session, str]:
    """Open a session as the token endpoint does for a registered (or a fixture) client."""
    refresh_token = fresh("refresh")
    grant = Grant(client_id, GRANT.tenant_id, GRANT.subject, GRANT.scopes, GRANT.property_ids)
    new = NewSession(
        fresh("session"), SessionKind.AUTHORIZATION_CODE, T0 + SESSION_TTL,
        client_registered=registered,
    )  # fmt: skip
    issued = store.start_session(
        new,
        grant,
        Issue(ACCESS_TTL, digest(refresh_token), REFRESH_TTL),
        store.state().moment(T0),
    )
    return issued.session, refresh_token


@pytest.mark.parametrize("metadata", [SERVICE_METADATA, CODE_METADATA], ids=["service", "code"])
def test_a_registration_is_read_back_as_it_was_added(store, metadata):
    added = registration(metadata=metadata)

    assert store.add_registration(added, store.state().moment(T0)) is True
    assert store.registration(added.client_id) == added
    assert store.registration("mpc-unknown") is None


def test_a_registration_cannot_take_an_id_that_is_taken(store):
    first = registration()
    store.add_registration(first, store.state().moment(T0))

    taken = registration(first.client_id, CODE_METADATA)
    assert store.add_registration(taken, store.state().moment(T0)) is False
    assert store.registration(first.client_id) == first
    assert store.registrations() == [first]


def test_replacing_a_registration_changes_its_metadata_and_secret_not_its_token(store):
    first = registration()
    store.add_registration(first, store.state().moment(T0))
    replaced = Registration(first.client_id, CODE_METADATA, None, first.access_token_hash, T0)

    assert store.replace_registration(replaced, store.state().moment(T0)) is True
    assert store.registration(first.client_id) == replaced


@pytest.mark.parametrize("move", list(MOVES))
def test_a_registration_added_after_its_sandbox_moved_is_refused_and_not_kept(store, move):
    # A data-set choice in between forgets the registered clients, and this one was checked
    # against the tenants of the data set it replaced.
    MOVES[move][0](store)
    read = overtaken(store, move)
    added = registration()

    with pytest.raises(SandboxMoved):
        store.add_registration(added, read)

    assert store.registration(added.client_id) is None
    assert store.registrations() == []


@pytest.mark.parametrize("move", list(MOVES))
def test_a_registration_replaced_after_its_sandbox_moved_is_refused_and_unchanged(store, move):
    MOVES[move][0](store)
    first = registration()
    store.add_registration(first, store.state().moment(T0))
    session, _ = open_session_of(store, first.client_id)
    read = overtaken(store, move)
    replaced = Registration(first.client_id, CODE_METADATA, None, first.access_token_hash, T0)

    with pytest.raises(SandboxMoved):
        store.replace_registration(replaced, read)

    assert store.registration(first.client_id) == first
    if move != "reset":  # (a reset forgot the session)
        assert store.session(session.id).revoked_at is None


def test_replacing_a_registration_that_is_gone_keeps_nothing(store):
    assert store.replace_registration(registration("mpc-gone"), store.state().moment(T0)) is False
    assert store.registration("mpc-gone") is None
    assert store.registrations() == []


def test_deleting_a_registration_revokes_every_session_of_its_client_and_no_other(store):
    deleted = registration()
    store.add_registration(deleted, store.state().moment(T0))
    first, first_refresh = open_session_of(store, deleted.client_id)
    second, _ = open_session_of(store, deleted.client_id)
    other, other_refresh = open_session_of(store, OTHER_CLIENT, registered=False)

    assert store.delete_registration(deleted.client_id, T0 + HOUR) is True

    assert store.registration(deleted.client_id) is None
    assert store.registrations() == []
    for session in (first, second):
        found = store.session(session.id)
        assert found is not None
        assert (found.revoked_at, found.revoked_reason) == (T0 + HOUR, "client deleted")
        assert not active(store, session, T0 + HOUR)
    assert rotate(store, first_refresh, T0 + HOUR, deleted.client_id)[0] == Refused(
        Refusal.SESSION_REVOKED
    )
    assert active(store, other, T0 + HOUR)
    assert isinstance(rotate(store, other_refresh, T0 + HOUR, OTHER_CLIENT)[0], Issued)


def test_a_session_of_a_registered_client_opens_only_while_it_is_registered(store):
    kept, deleted = registration(), registration()
    for added in (kept, deleted):
        store.add_registration(added, store.state().moment(T0))
    store.delete_registration(deleted.client_id, T0)

    def start(client_id: str) -> Issued | Refused:
        grant = Grant(client_id, GRANT.tenant_id, GRANT.subject, GRANT.scopes, GRANT.property_ids)
        new = NewSession(fresh("session"), SessionKind.CLIENT_CREDENTIALS, T0 + HOUR,
                         client_registered=True)  # fmt: skip
        return store.start_session(new, grant, Issue(HOUR), store.state().moment(T0))

    assert start(deleted.client_id) == Refused(Refusal.CLIENT_GONE)
    assert isinstance(start(kept.client_id), Issued)
    assert [s.client_id for s in store.sessions()] == [kept.client_id]


def test_a_code_of_a_registered_client_that_is_gone_is_refused_and_opens_nothing(store):
    deleted = registration(metadata=CODE_METADATA)
    store.add_registration(deleted, store.state().moment(T0))
    code = fresh("code")
    grant = Grant(deleted.client_id, GRANT.tenant_id, GRANT.subject, GRANT.scopes, ())
    store.add_code(
        AuthorizationCode(digest(code), grant, REDIRECT_URI, s256(VERIFIER), T0, T0 + CODE_TTL),
        store.state().moment(T0),
    )
    store.delete_registration(deleted.client_id, T0)

    outcome = store.redeem_code(
        digest(code),
        CodeAttempt(deleted.client_id, REDIRECT_URI, s256(VERIFIER)),
        NewSession(
            fresh("session"),
            SessionKind.AUTHORIZATION_CODE,
            T0 + SESSION_TTL,
            client_registered=True,
        ),
        Issue(ACCESS_TTL, digest(fresh("refresh")), REFRESH_TTL),
        store.state().moment(T0),
    )

    assert outcome == Refused(Refusal.CLIENT_GONE)
    assert store.sessions() == []


def test_on_redis_a_frozen_clock_keeps_every_record_as_long_as_it_may_stay_frozen(request):
    # Real time runs while a frozen sandbox clock stands still: a TTL from a record's own
    # lifetime (a code's 5 minutes and the grace) collected what the sandbox still held
    # valid. FIRST_STATE is frozen at T0. A sandbox without an end keeps its records
    # FROZEN_KEEP at least; a partner's, as long as the sandbox itself lives.
    from messpunkt.stores.redis import FROZEN_KEEP

    store = redis_store(request)
    code = add_code(store)
    _, refresh_token = open_session(store)
    ttls = [store.client.ttl(store.prefix + "code:" + digest(code)),
            store.client.ttl(store.prefix + "rt:" + digest(refresh_token))]  # fmt: skip
    assert min(ttls) >= FROZEN_KEEP.total_seconds() - 1

    ending = redis_store(request)
    ending.client.expire(ending.prefix + "sbx", 90 * 86400)
    code = add_code(ending)
    assert ending.client.ttl(ending.prefix + "code:" + digest(code)) >= 90 * 86400 - 1


def running_with_a_session(request: pytest.FixtureRequest) -> tuple[Any, Any, str]:
    """A Redis store whose clock runs on the wall, with a 30-minute client-credentials
    session in it: the store, its client and the session's key."""
    import redis as redis_py

    from messpunkt.stores.redis import RedisStore

    client = redis_py.Redis.from_url(request.getfixturevalue("redis_server").url)
    request.addfinalizer(client.close)
    running = SandboxState(ClockState.starting(None), 1, "default", hash_admin_key("key"))
    store = RedisStore.create(client, fresh("sandbox"), running)
    now = running.clock.now(datetime.now(UTC))
    grant = Grant("sandbox-service-client", GRANT.tenant_id, "client:x", ("read:units",), ())
    new = NewSession("cc-1", SessionKind.CLIENT_CREDENTIALS, now + 30 * 60 * SECOND)
    key = (
        store.prefix
        + "s:"
        + store.start_session(new, grant, Issue(HOUR), store.state().moment(now)).session.id
    )
    assert client.ttl(key) <= 30 * 60 + 600  # its lifetime and the grace, while it runs
    return store, client, key


def test_on_redis_freezing_the_clock_keeps_what_was_made_while_it_ran(request):
    from messpunkt.stores.redis import FROZEN_KEEP

    store, client, key = running_with_a_session(request)

    store.move_clock(lambda clock: clock.freeze(datetime.now(UTC)))

    assert client.ttl(key) >= FROZEN_KEEP.total_seconds() - 1
    assert client.ttl(store.prefix + "sessions") >= FROZEN_KEEP.total_seconds() - 1  # its index


def test_on_redis_a_freeze_whose_keeping_failed_keeps_on_the_next_move(request, monkeypatch):
    # The freeze is one step and the keeping (a SCAN) another: one that failed is done by
    # the next move that leaves the clock frozen, an advance or the same freeze again.
    import redis as redis_py

    from messpunkt.stores.redis import FROZEN_KEEP, RedisStore

    store, client, key = running_with_a_session(request)
    keep = RedisStore._keep_while_frozen

    def fails_once(self):
        monkeypatch.setattr(RedisStore, "_keep_while_frozen", keep)
        raise redis_py.ConnectionError("gone for a moment")

    monkeypatch.setattr(RedisStore, "_keep_while_frozen", fails_once)
    with pytest.raises(redis_py.ConnectionError):
        store.move_clock(lambda clock: clock.freeze(datetime.now(UTC)))
    assert store.state().clock.frozen and client.ttl(key) <= 30 * 60 + 600

    store.move_clock(lambda clock: clock.advance(datetime.now(UTC), SECOND))

    assert client.ttl(key) >= FROZEN_KEEP.total_seconds() - 1


def test_on_redis_a_code_for_a_sandbox_that_ended_meanwhile_is_not_written(request):
    # A request in flight as its sandbox ends writes no code: nothing would delete it
    # (tests/test_sandboxes.py holds every other write to that rule).
    from messpunkt.oauth.registrations import SandboxGone

    store = redis_store(request)
    read = store.state().moment(T0)  # the request read the sandbox before its end
    store.client.delete(store.prefix + "sbx")
    code = AuthorizationCode("hash", GRANT, REDIRECT_URI, s256(VERIFIER), T0, T0 + CODE_TTL)
    with pytest.raises(SandboxGone):
        store.add_code(code, read)
    assert store.client.keys(store.prefix + "code:*") == []


def test_on_redis_the_default_sandbox_whose_state_was_lost_meanwhile_is_moved_not_gone(
    request,
):
    # The default sandbox is never "not served": a Redis restarted empty loses its state,
    # the next read makes it again. A step overtaken by that loss is a 503 to make again,
    # not the 404 of a partner's sandbox that was deleted.
    import redis

    from messpunkt.stores.redis import RedisStore

    client = redis.Redis.from_url(request.getfixturevalue("redis_server").url)
    request.addfinalizer(client.close)
    store = RedisStore(client, fresh("default"), first=FIRST_STATE)
    _, token = open_session(store)
    read = store.state().moment(T0)
    client.delete(store.prefix + "sbx")

    with pytest.raises(SandboxMoved):
        store.rotate_refresh_token(digest(token), CLIENT, (), _issue(), read)
    with pytest.raises(SandboxMoved):
        store.add_code(_code()[1], read)

    assert store.state().generation == FIRST_STATE.generation  # made again by the read


def test_the_lua_scripts_keep_frozen_records_as_long_as_the_store_says():
    from importlib.resources import files

    from messpunkt.stores.redis import FROZEN_KEEP

    common = (files("messpunkt.stores") / "lua" / "common.lua").read_text()
    assert f"local FROZEN_KEEP = {int(FROZEN_KEEP.total_seconds())} " in common


def test_on_redis_a_registered_clients_sessions_are_indexed_and_a_delete_reads_only_those(
    request,
):
    store = redis_store(request)
    deleted = registration()
    store.add_registration(deleted, store.state().moment(T0))
    own = {open_session_of(store, deleted.client_id)[0].id for _ in range(2)}
    for _ in range(50):
        open_session_of(store, OTHER_CLIENT, registered=False)
    index = store.prefix + "client-sessions:" + deleted.client_id
    assert {sid.decode() for sid in store.client.smembers(index)} == own
    # Garbage collection as for `sessions`: the index outlives its longest-lived session.
    assert store.client.ttl(index) >= max(store.client.ttl(store.prefix + "s:" + s) for s in own)

    store.client.config_resetstat()
    assert store.delete_registration(deleted.client_id, T0 + HOUR) is True

    # Counted by hand: generation() reads the state once, then for each of the 2 sessions
    # session_of reads its generation, and revoke reads it again (HGET: 1 + 2 * 2), then
    # whether it has ended (HMGET: 2). Scanning the sandbox's 52 sessions read each one's
    # generation and client_id (109).
    stats = store.client.info("commandstats")
    assert (stats["cmdstat_hget"]["calls"], stats["cmdstat_hmget"]["calls"]) == (5, 2)
    assert store.client.exists(index) == 0
    for sid in own:
        assert store.session(sid).revoked_reason == "client deleted"


def test_on_redis_a_reset_drops_every_registered_clients_session_index(request):
    store = redis_store(request)
    kept = registration()
    store.add_registration(kept, store.state().moment(T0))
    open_session_of(store, kept.client_id)
    index = store.prefix + "client-sessions:" + kept.client_id
    assert store.client.exists(index) == 1

    store.reset()

    assert store.client.exists(index) == 0
    assert store.registration(kept.client_id) == kept


@pytest.mark.parametrize("index", ["sessions", "client"])
def test_on_redis_each_new_session_forgets_collected_ones_from_the_session_indexes(request, index):
    """Without a listing, an index would keep the id of every session the sandbox ever had."""
    store = redis_store(request)
    client = registration()
    store.add_registration(client, store.state().moment(T0))
    key = store.prefix + (
        "sessions" if index == "sessions" else f"client-sessions:{client.client_id}"
    )
    collected = {open_session_of(store, client.client_id)[0].id for _ in range(200)}
    store.client.delete(*(store.prefix + "s:" + sid for sid in collected))  # their TTLs ran out

    for _ in range(1000):
        open_session_of(store, client.client_id)

    # Each new session looks at two ids of each index at random and forgets those collected.
    # Worked out: with D collected among D + n live ids, the nth opening forgets 2D/(D + n)
    # in expectation, so D(n) falls like (1/n)^2 once n exceeds D: 0 to 4 of the 200 were
    # left after 1,000 in 200 simulated runs. Bounded generously; without it all 200 stay.
    left = collected & {sid.decode() for sid in store.client.sort(key, alpha=True)}
    assert len(left) < 40
    live = store.client.zcard(key) if index == "sessions" else store.client.scard(key)
    assert live - len(left) == 1000


def test_deleting_a_registration_that_is_not_there_changes_nothing(store):
    session, _ = open_session_of(store, "mpc-never", registered=False)

    assert store.delete_registration("mpc-never", T0) is False
    assert active(store, session, T0)


def test_registrations_are_listed_in_the_order_they_were_added(store):
    # A reset turns the clock back, so a later registration may carry an earlier instant.
    first, second, third = registration(at=T0 + HOUR), registration(at=T0), registration(at=T0)
    for added in (first, second, third):
        store.add_registration(added, store.state().moment(T0))

    assert store.registrations() == [first, second, third]


def test_a_reset_keeps_the_registrations_and_a_data_set_change_forgets_them(store):
    kept = registration()
    store.add_registration(kept, store.state().moment(T0))

    store.reset()
    assert store.registrations() == [kept]
    assert store.registration(kept.client_id) == kept

    store.reset("another")
    assert store.registrations() == []
    assert store.registration(kept.client_id) is None


# Uploaded data sets


def test_an_uploaded_data_set_is_kept_until_a_reset_replaces_it(store):
    assert store.data_set_document("upload-aaa") is None
    assert store.reset("upload-aaa", b'{"tenants": []}').data_set == "upload-aaa"
    assert store.data_set_document("upload-aaa") == b'{"tenants": []}'
    assert store.data_set_document("upload-bbb") is None
    assert store.reset("upload-bbb", b"[]").data_set == "upload-bbb"  # another upload
    assert store.data_set_document("upload-aaa") is None
    assert store.data_set_document("upload-bbb") == b"[]"
    store.reset("default")
    assert store.data_set_document("upload-bbb") is None


def test_a_reset_that_keeps_the_data_set_keeps_its_upload(store):
    store.reset("upload-aaa", b"[]")
    store.reset()
    store.reset("upload-aaa")
    assert store.data_set_document("upload-aaa") == b"[]"
    assert store.reset("upload-aaa", b"[]").data_set == "upload-aaa"  # the same one again
    assert store.data_set_document("upload-aaa") == b"[]"


# The request log


def test_the_request_log_keeps_the_newest_entries_newest_first_with_rising_ids(store):
    for number in range(5):
        store.log_request(Logged(path=f"/v1/{number}", status=200), keep=3)
    logged = store.requests()
    assert [entry["path"] for entry in logged] == ["/v1/4", "/v1/3", "/v1/2"]
    assert [int(entry["id"]) for entry in logged] == [5, 4, 3]
    assert logged[0] == {"id": "5", "path": "/v1/4", "status": 200}


def test_a_reset_keeps_the_request_log(store):
    store.log_request(Logged(path="/oauth/token"), keep=10)
    store.reset()
    assert [entry["path"] for entry in store.requests()] == ["/oauth/token"]


def test_concurrent_log_writes_each_get_an_id_of_their_own(store):
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda n: store.log_request(Logged(n=n), keep=100), range(40)))
    logged = store.requests()
    assert sorted(int(entry["id"]) for entry in logged) == list(range(1, 41))
    assert sorted(entry["n"] for entry in logged) == list(range(40))


# Faults


def fault(count: int | None = 5, **rule) -> Fault:
    return Fault.new(
        method="GET", path="/v1/usage-units/*/consumption", status=503, retry_after=1,
        count=count, **rule,
    )  # fmt: skip


def test_an_armed_fault_is_read_with_the_state_and_disarmed_by_id(store):
    armed = fault(until=T0 + HOUR)
    assert store.arm_fault(armed)
    assert store.state().faults == (armed,)
    assert store.disarm_fault(armed.id)
    assert (store.state().faults, store.disarm_fault(armed.id)) == ((), False)


def test_twenty_requests_at_once_take_a_fault_of_count_five_exactly_five_times(store):
    armed = fault(count=5)
    store.arm_fault(armed)
    start = threading.Barrier(20)

    def take(_: int) -> bool:
        start.wait()
        return store.take_fault(armed.id)

    with ThreadPoolExecutor(max_workers=20) as pool:
        taken = list(pool.map(take, range(20)))
    assert taken.count(True) == 5
    assert store.state().faults == ()  # used up: gone


def test_a_fault_counts_down_in_the_state(store):
    armed = fault(count=3)
    store.arm_fault(armed)
    assert store.take_fault(armed.id)
    assert [f.count for f in store.state().faults] == [2]


def test_a_fault_without_a_count_is_taken_until_it_is_disarmed(store):
    armed = fault(count=None, until=T0 + HOUR)
    store.arm_fault(armed)
    assert [store.take_fault(armed.id) for _ in range(3)] == [True, True, True]
    store.disarm_fault(armed.id)
    assert store.take_fault(armed.id) is False


def test_at_most_twenty_faults_are_armed(store):
    assert all(store.arm_fault(fault()) for _ in range(20))
    assert store.arm_fault(fault()) is False
    assert len(store.state().faults) == 20


def test_faults_outlive_a_reset_and_a_move_of_the_clock(store):
    armed = fault()
    store.arm_fault(armed)
    store.reset()
    assert store.move_clock(lambda clock: clock.freeze(T0)).faults == (armed,)
    assert store.state().faults == (armed,)


def test_on_redis_a_v1_read_cut_off_after_sending_drops_its_connection(request, monkeypatch):
    """Its replies may still arrive: a connection handed out again would answer the next
    read with them, another session's. So it is closed, and the next read has its own."""
    import redis

    store = redis_store(request)
    one, _ = open_session(store)
    two, _ = open_session(store)
    store.client.hset(store.prefix + "s:" + two.id, "subject", "the second subject")
    pool = store.client.connection_pool
    original = redis.connection.AbstractConnection.read_response
    used = []

    def cut_off(connection, *args, **kwargs):
        used.append(connection)
        raise redis.ConnectionError("cut off")  # sent, and nothing of the replies read

    monkeypatch.setattr(redis.connection.AbstractConnection, "read_response", cut_off)
    with pytest.raises(redis.ConnectionError):
        store.state_and_access(one.id, "jti")
    monkeypatch.setattr(redis.connection.AbstractConnection, "read_response", original)

    assert used[0]._sock is None  # closed, back in the pool only to connect afresh
    assert used[0] in pool._available_connections
    _, read = store.state_and_access(two.id, "jti")
    assert read.session is not None and read.session.subject == "the second subject"
