"""The in-memory store forgets what can no longer be presented, on the sandbox clock.

The rule (`messpunkt.stores.retention`): a code, a revoked `jti` and a rotated refresh
token stay until their expiry plus a minute for requests in flight; a session, with its
newest refresh token, events and personal access token, stays 30 days past the last
instant anything in it may be presented, and of the ended ones only the 10,000 that
ended last. Expected instants below are worked out from that rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from messpunkt.clock import ClockState
from messpunkt.oauth.pkce import s256
from messpunkt.oauth.store import (
    AuthorizationCode,
    CodeAttempt,
    Grant,
    Issue,
    Issued,
    NewSession,
    Refusal,
    Refused,
    Session,
    SessionKind,
    SessionState,
    digest,
)
from messpunkt.sandbox import SandboxState
from messpunkt.stores.memory import InMemoryStore
from messpunkt.stores.retention import SWEEP_AFTER, last_presentable

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MS, SECOND, MINUTE = timedelta(milliseconds=1), timedelta(seconds=1), timedelta(minutes=1)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
CODE_TTL, ACCESS_TTL, REFRESH_TTL, SESSION_TTL = 5 * MINUTE, HOUR, 7 * DAY, 30 * DAY
IN_FLIGHT, KEPT_FOR = MINUTE, 30 * DAY
VERIFIER = "v" * 43
CLIENT = "sandbox-demo-client"
GRANT = Grant(CLIENT, "tenant", "subject", ("read:units",), ("property",))
NOTHING = {
    "codes": 0, "sessions": 0, "refresh_tokens": 0, "personal_tokens": 0,
    "revoked_access_tokens": 0, "events": 0,
}  # fmt: skip

_ids = count()


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def new_store(clock: ClockState | None = None, wall=lambda: T0) -> InMemoryStore:
    return InMemoryStore(SandboxState(clock or ClockState.starting(T0), 1, "default", ""), wall)


def add_code(store: InMemoryStore, at: datetime = T0) -> str:
    code = fresh("code")
    store.add_code(
        AuthorizationCode(digest(code), GRANT, "http://x/cb", s256(VERIFIER), at, at + CODE_TTL),
        store.state().moment(at),
    )
    return code


def redeem(store: InMemoryStore, code: str, at: datetime) -> tuple[Issued | Refused, str]:
    refresh = fresh("refresh")
    outcome = store.redeem_code(
        digest(code),
        CodeAttempt(CLIENT, "http://x/cb", s256(VERIFIER)),
        NewSession(fresh("session"), SessionKind.AUTHORIZATION_CODE, at + SESSION_TTL),
        Issue(ACCESS_TTL, digest(refresh), REFRESH_TTL),
        store.state().moment(at),
    )
    return outcome, refresh


def login(store: InMemoryStore, at: datetime = T0) -> tuple[Session, str]:
    outcome, refresh = redeem(store, add_code(store, at), at)
    assert isinstance(outcome, Issued)
    return outcome.session, refresh


def rotate(store: InMemoryStore, token: str, at: datetime) -> tuple[Issued | Refused, str]:
    successor = fresh("refresh")
    issue = Issue(ACCESS_TTL, digest(successor), REFRESH_TTL)
    return store.rotate_refresh_token(
        digest(token), CLIENT, (), issue, store.state().moment(at)
    ), successor


def service_session(store: InMemoryStore, at: datetime = T0, ttl: timedelta = 30 * MINUTE):
    new = NewSession(fresh("cc"), SessionKind.CLIENT_CREDENTIALS, expires_at=at + ttl)
    return store.start_session(new, GRANT, Issue(ttl), store.state().moment(at)).session


def advance(store: InMemoryStore, by: timedelta) -> None:
    store.move_clock(lambda clock: clock.advance(T0, by))


def test_a_clock_moved_400_days_forgets_17000_sessions_past_their_cap():
    store = new_store()
    for _ in range(17_000):
        service_session(store, ttl=SESSION_TTL)
    assert store.counts()["sessions"] == 17_000

    advance(store, 400 * DAY)

    assert store.counts() == NOTHING


def test_an_empty_store_counts_nothing():
    assert new_store().counts() == NOTHING


# Codes


@pytest.mark.parametrize("redeemed", [False, True], ids=["unredeemed", "redeemed"])
def test_a_code_is_kept_a_minute_past_its_expiry_then_forgotten(redeemed):
    store = new_store()
    code = add_code(store)
    if redeemed:
        redeem(store, code, T0 + SECOND)

    store.purge(T0 + CODE_TTL + IN_FLIGHT - MS)
    assert store.counts()["codes"] == 1
    store.purge(T0 + CODE_TTL + IN_FLIGHT)
    assert store.counts()["codes"] == 0


def test_a_redeemed_code_kept_until_its_expiry_still_revokes_on_a_second_redemption():
    store = new_store()
    code = add_code(store)
    first, _ = redeem(store, code, T0 + SECOND)
    assert isinstance(first, Issued)

    store.purge(T0 + CODE_TTL - SECOND)
    second, _ = redeem(store, code, T0 + CODE_TTL - SECOND)

    assert second == Refused(Refusal.CODE_REUSED)
    session = store.session(first.session.id)
    assert session is not None and session.revoked_at == T0 + CODE_TTL - SECOND


def test_a_code_expired_at_the_instant_the_clock_reaches_is_still_explained_as_expired():
    store = new_store()
    code = add_code(store)
    advance(store, CODE_TTL)
    assert redeem(store, code, T0 + CODE_TTL)[0] == Refused(Refusal.CODE_EXPIRED)


# Revoked access tokens


def test_a_revoked_jti_is_kept_a_minute_past_its_token_s_expiry():
    store = new_store()
    session, _ = login(store)
    store.revoke_access_token(session.id, "jti-1", T0 + ACCESS_TTL)

    store.purge(T0 + ACCESS_TTL + IN_FLIGHT - MS)
    refused = store.check_access(session.id, "jti-1", CLIENT, T0 + ACCESS_TTL - MS)
    assert refused == Refused(Refusal.ACCESS_TOKEN_REVOKED)
    store.purge(T0 + ACCESS_TTL + IN_FLIGHT)
    assert store.counts()["revoked_access_tokens"] == 0


# Refresh tokens


def test_a_rotated_refresh_token_is_kept_to_its_expiry_so_its_replay_is_still_detected():
    store = new_store()
    _, first = login(store)
    rotate(store, first, T0 + HOUR)

    store.purge(T0 + REFRESH_TTL + IN_FLIGHT - MS)
    replay, _ = rotate(store, first, T0 + REFRESH_TTL - MS)

    assert replay == Refused(Refusal.REFRESH_REPLAYED)


def test_a_rotated_refresh_token_goes_at_its_expiry_while_its_successor_stays():
    store = new_store()
    _, first = login(store)
    (_, second) = rotate(store, first, T0 + HOUR)

    store.purge(T0 + REFRESH_TTL + IN_FLIGHT)

    assert store.refresh_token(digest(first)) is None
    assert store.refresh_token(digest(second)) is not None
    assert store.counts()["refresh_tokens"] == 1


# Sessions


@pytest.mark.parametrize(
    ("usable_until", "revoked_at", "expected"),
    [
        (T0 + 7 * DAY, None, T0 + 7 * DAY),  # its refresh token's end
        (T0 + 7 * DAY, T0 + DAY, T0 + 7 * DAY),  # revoked, but its tokens may be presented
        (T0 + 7 * DAY, T0 + 9 * DAY, T0 + 9 * DAY),  # revoked after they ended
        (T0 + 7 * DAY, T0 + 40 * DAY, T0 + 30 * DAY),  # never past its cap
    ],
    ids=["tokens", "revoked-early", "revoked-late", "cap"],
)
def test_a_session_can_be_presented_until_its_tokens_end_or_its_revocation(
    usable_until, revoked_at, expected
):
    session = Session(
        "s", SessionKind.AUTHORIZATION_CODE, CLIENT, "t", "u", (), (), created_at=T0,
        expires_at=T0 + SESSION_TTL, usable_until=usable_until, revoked_at=revoked_at,
    )  # fmt: skip
    assert last_presentable(session) == expected


def test_an_ended_session_stays_30_days_to_be_explained_then_goes_with_everything_in_it():
    store = new_store()
    session, refresh = login(store)  # its refresh token ends at T0 + 7 days
    ended = T0 + REFRESH_TTL

    advance(store, REFRESH_TTL + KEPT_FOR - MS)
    kept = store.session(session.id)
    assert kept is not None and kept.state(T0 + REFRESH_TTL + KEPT_FOR) is SessionState.EXPIRED
    late, _ = rotate(store, refresh, ended + KEPT_FOR - MS)
    assert late == Refused(Refusal.REFRESH_EXPIRED)

    advance(store, MS)
    assert store.session(session.id) is None
    assert store.counts() == NOTHING


def test_a_personal_access_token_goes_with_its_session():
    store = new_store()
    new = NewSession(
        fresh("pat"), SessionKind.PERSONAL_ACCESS_TOKEN, T0 + DAY, "ERP", digest("mpat_x")
    )
    store.start_session(new, GRANT, Issue(DAY), store.state().moment(T0))

    store.purge(T0 + DAY + KEPT_FOR - MS)
    assert store.counts()["personal_tokens"] == 1
    store.purge(T0 + DAY + KEPT_FOR)
    assert store.counts() == NOTHING


def test_only_the_10000_sessions_that_ended_last_are_kept_to_be_explained():
    store = new_store()
    ids = [service_session(store, T0 + n * SECOND, ttl=MINUTE).id for n in range(10_050)]
    # Every one has ended; the first 50 ended first.
    store.purge(T0 + DAY)
    assert store.counts()["sessions"] == 10_000
    assert store.session(ids[49]) is None
    assert store.session(ids[50]) is not None


def test_a_live_session_survives_every_purge():
    store = new_store()
    session, refresh = login(store)
    store.purge(T0 + REFRESH_TTL - SECOND)
    renewed, _ = rotate(store, refresh, T0 + REFRESH_TTL - SECOND)
    assert isinstance(renewed, Issued) and renewed.session.id == session.id


# When it sweeps


def test_records_added_with_the_clock_running_are_swept_without_any_clock_move():
    store = new_store()
    held = []
    for n in range(20_000):  # one code every 100 ms: 3,600 of them within 6 minutes
        add_code(store, T0 + n * 100 * MS)
        held.append(store.counts()["codes"])
    # A sweep comes once as many codes were added as half what the last one kept (at least
    # 1,024): at most 3,600 live plus 1,800 added since.
    assert max(held) <= 3_600 + 1_800
    assert held[-1] >= 3_600


def test_a_running_clock_is_read_from_the_wall_when_it_moves():
    wall = [T0]
    store = new_store(ClockState.starting(None), wall=lambda: wall[0])
    add_code(store, T0)
    wall[0] = T0 + CODE_TTL + IN_FLIGHT
    store.move_clock(lambda clock: clock.advance(wall[0], timedelta(0)))
    assert store.counts()["codes"] == 0


@pytest.mark.parametrize("revoke", ["session", "refresh token"])
def test_a_revocation_at_an_instant_a_reset_took_back_forgets_nothing_it_should_keep(revoke):
    # A revocation whose request read the clock 200 days on, then overtaken by a reset that
    # put it back: a sweep at the instant it read forgot every live session of the sandbox
    # after the reset. Revocations add nothing, so they leave sweeping to the steps that add.
    store = new_store()
    advance(store, 200 * DAY)
    read = store.state().clock.now(T0)
    store.reset()
    tokens = [fresh("refresh") for _ in range(SWEEP_AFTER // 2)]
    for token in tokens:  # a session and a refresh token each: the next step sweeps first
        new = NewSession(fresh("session"), SessionKind.AUTHORIZATION_CODE, T0 + SESSION_TTL)
        issue = Issue(ACCESS_TTL, digest(token), REFRESH_TTL)
        store.start_session(new, GRANT, issue, store.state().moment(T0))
    counted = store.counts()

    if revoke == "session":
        assert store.revoke_session("no-such-session", "revoked", read) is None
    else:
        assert store.revoke_refresh_token(digest("unknown"), CLIENT, "revoked", read) is False

    assert store.counts() == counted
    assert isinstance(rotate(store, tokens[-1], T0 + SECOND)[0], Issued)
