"""Sessions: refresh-token rotation, replay detection and lifetimes, without Flask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from messpunkt.oauth.errors import InvalidGrant
from messpunkt.oauth.sessions import Grant, Lifetimes, Sessions
from messpunkt.oauth.store import (
    EventKind,
    InMemoryAuthStore,
    Session,
    SessionState,
    digest,
)
from messpunkt.oauth.store import SessionKind as Kind

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
CLIENT = "sandbox-demo-client"
GRANT = Grant(
    client_id=CLIENT,
    tenant_id="3e17ba96-ae04-4d3b-9986-9e56f0adbf3a",
    subject="ba67f98d-4fd0-50b9-a60f-508383b44535",
    scopes=("read:units", "read:devices", "read:readings"),
    property_ids=("6fb74d25-5517-4dcc-ae8b-0914579ab036",),
)


@pytest.fixture
def store() -> InMemoryAuthStore:
    return InMemoryAuthStore()


@pytest.fixture
def sessions(store: InMemoryAuthStore) -> Sessions:
    return Sessions(store, Lifetimes())


def _open(sessions: Sessions, at: datetime = T0) -> tuple[Session, str]:
    session = sessions.start(GRANT, Kind.AUTHORIZATION_CODE, at)
    return session, sessions.issue_refresh_token(session, at)


def _rotate(
    sessions: Sessions, token: str, at: datetime, client_id: str = CLIENT
) -> tuple[Session, str]:
    with sessions.store.atomic():
        return sessions.rotate(token, client_id, at)


def _rotate_every(sessions: Sessions, token: str, instants: list[datetime]) -> str:
    for at in instants:
        _, token = _rotate(sessions, token, at)
    return token


def _kinds(session: Session) -> list[EventKind]:
    return [event.kind for event in session.events]


def test_starting_a_session_caps_it_at_thirty_days(sessions):
    session, _ = _open(sessions)
    assert session.created_at == T0
    assert session.expires_at == T0 + 30 * DAY
    assert session.state(T0) is SessionState.ACTIVE
    assert _kinds(session) == [EventKind.ISSUED]


def test_rotation_issues_new_token_and_marks_old_rotated(sessions, store):
    session, first = _open(sessions)
    at = T0 + 2 * DAY

    rotated_session, successor = _rotate(sessions, first, at)

    assert rotated_session is session
    assert successor != first
    old = store.refresh_token(digest(first))
    new = store.refresh_token(digest(successor))
    assert old is not None
    assert new is not None
    assert old.rotated_at == at
    assert new.rotated_at is None
    assert new.session_id == session.id
    assert new.issued_at == at
    assert new.expires_at == at + 7 * DAY
    assert _kinds(session) == [EventKind.ISSUED, EventKind.ROTATED]


def test_refresh_tokens_are_stored_only_as_digests(sessions, store):
    _, token = _open(sessions)
    assert store.refresh_token(token) is None
    assert store.refresh_token(digest(token)) is not None


def test_successor_token_can_be_rotated_in_turn(sessions):
    _, first = _open(sessions)
    _, second = _rotate(sessions, first, T0 + DAY)
    _, third = _rotate(sessions, second, T0 + 2 * DAY)
    assert len({first, second, third}) == 3


def test_replayed_refresh_token_revokes_session(sessions):
    session, first = _open(sessions)
    _rotate(sessions, first, T0 + DAY)
    replay_at = T0 + DAY + timedelta(minutes=5)

    with pytest.raises(InvalidGrant):
        _rotate(sessions, first, replay_at)

    assert session.state(replay_at) is SessionState.REVOKED
    assert session.revoked_at == replay_at
    assert session.revoked_reason == "refresh token replay detected"
    assert _kinds(session) == [
        EventKind.ISSUED,
        EventKind.ROTATED,
        EventKind.REPLAY_DETECTED,
        EventKind.REVOKED,
    ]
    assert [event.at for event in session.events[2:]] == [replay_at, replay_at]
    assert sessions.active(session.id, replay_at) is None


def test_current_refresh_token_fails_after_replay_revoked_its_session(sessions):
    session, first = _open(sessions)
    _, current = _rotate(sessions, first, T0 + DAY)
    with pytest.raises(InvalidGrant):
        _rotate(sessions, first, T0 + 2 * DAY)

    with pytest.raises(InvalidGrant) as raised:
        _rotate(sessions, current, T0 + 2 * DAY + SECOND)

    assert raised.value.error == "invalid_grant"
    # The session was revoked once; later attempts add no events.
    assert _kinds(session).count(EventKind.REVOKED) == 1
    assert len(session.events) == 4


def test_second_replay_does_not_record_another_revocation(sessions):
    session, first = _open(sessions)
    _rotate(sessions, first, T0 + DAY)
    for minute in (1, 2):
        with pytest.raises(InvalidGrant):
            _rotate(sessions, first, T0 + DAY + timedelta(minutes=minute))
    assert session.revoked_at == T0 + DAY + timedelta(minutes=1)
    assert len(session.events) == 4


def test_unknown_refresh_token_is_invalid_grant(sessions):
    _open(sessions)
    with pytest.raises(InvalidGrant):
        _rotate(sessions, "not-a-refresh-token", T0)


@pytest.mark.parametrize(
    ("age", "valid"),
    [(7 * DAY - SECOND, True), (7 * DAY, False), (7 * DAY + SECOND, False)],
    ids=["7d-1s", "7d", "7d+1s"],
)
def test_refresh_token_expires_at_exactly_seven_days(sessions, age, valid):
    session, token = _open(sessions)
    if valid:
        _, successor = _rotate(sessions, token, T0 + age)
        assert successor != token
        assert session.state(T0 + age) is SessionState.ACTIVE
    else:
        with pytest.raises(InvalidGrant):
            _rotate(sessions, token, T0 + age)
        # Expiry is not theft: the session is not revoked.
        assert session.revoked_at is None
        assert _kinds(session) == [EventKind.ISSUED]


def test_refresh_token_issued_on_day_29_expires_at_day_30(sessions, store):
    session, token = _open(sessions)
    token = _rotate_every(sessions, token, [T0 + n * DAY for n in (6, 12, 18, 24, 29)])

    record = store.refresh_token(digest(token))
    assert record is not None
    assert record.issued_at == T0 + 29 * DAY
    assert record.expires_at == T0 + 30 * DAY == session.expires_at


def test_refresh_token_never_outlives_the_session_cap(sessions):
    session, token = _open(sessions)
    token = _rotate_every(sessions, token, [T0 + n * DAY for n in (6, 12, 18, 24, 29)])

    _, token = _rotate(sessions, token, T0 + 30 * DAY - SECOND)
    with pytest.raises(InvalidGrant):
        _rotate(sessions, token, T0 + 30 * DAY)
    assert session.revoked_at is None


def test_issue_refresh_token_on_last_day_is_capped(sessions, store):
    session, _ = _open(sessions)
    token = sessions.issue_refresh_token(session, T0 + 29 * DAY)
    record = store.refresh_token(digest(token))
    assert record is not None
    assert record.expires_at == T0 + 30 * DAY


@pytest.mark.parametrize(
    ("issued_after", "expected_expiry"),
    [
        (timedelta(0), T0 + timedelta(hours=1)),
        (29 * DAY + timedelta(hours=23), T0 + 30 * DAY),
        (30 * DAY - timedelta(minutes=30), T0 + 30 * DAY),
    ],
    ids=["fresh-session", "exactly-one-hour-left", "half-an-hour-left"],
)
def test_access_token_expiry_is_capped_by_the_session(sessions, issued_after, expected_expiry):
    session, _ = _open(sessions)
    expiry = sessions.access_token_expiry(session, T0 + issued_after, timedelta(hours=1))
    assert expiry == expected_expiry


def test_access_token_expiry_honours_a_shorter_session_end(sessions):
    session = sessions.start(
        GRANT, Kind.CLIENT_CREDENTIALS, T0, expires_at=T0 + timedelta(minutes=30)
    )
    assert sessions.access_token_expiry(session, T0, timedelta(hours=1)) == T0 + timedelta(
        minutes=30
    )


def test_wrong_client_is_invalid_grant_without_revoking(sessions, store):
    session, token = _open(sessions)

    with pytest.raises(InvalidGrant) as raised:
        _rotate(sessions, token, T0 + DAY, client_id="beispiel-erp-client")

    assert raised.value.error == "invalid_grant"
    assert session.revoked_at is None
    assert _kinds(session) == [EventKind.ISSUED]
    record = store.refresh_token(digest(token))
    assert record is not None
    assert record.rotated_at is None
    # The rightful client can still use it.
    _, successor = _rotate(sessions, token, T0 + DAY)
    assert successor != token


def test_revoked_session_refuses_its_current_refresh_token(sessions):
    session, token = _open(sessions)
    assert sessions.revoke(session, T0 + DAY, "revoked by the tenant") is True
    assert sessions.revoke(session, T0 + 2 * DAY, "again") is False

    with pytest.raises(InvalidGrant):
        _rotate(sessions, token, T0 + DAY + SECOND)
    assert session.revoked_at == T0 + DAY
    assert session.revoked_reason == "revoked by the tenant"


def test_idle_session_is_expired_when_its_tokens_expire(sessions):
    session, _ = _open(sessions)
    sessions.access_token_expiry(session, T0, timedelta(hours=1))

    assert session.state(T0 + 7 * DAY - SECOND) is SessionState.ACTIVE
    assert [e.kind for e in session.history(T0 + 7 * DAY - SECOND)] == [EventKind.ISSUED]

    assert session.state(T0 + 7 * DAY) is SessionState.EXPIRED
    last = session.history(T0 + 7 * DAY)[-1]
    assert (last.kind, last.at, last.detail) == (
        EventKind.EXPIRED,
        T0 + 7 * DAY,
        "tokens expired",
    )


def test_session_is_expired_at_its_absolute_cap(sessions):
    session, token = _open(sessions)
    _rotate_every(sessions, token, [T0 + n * DAY for n in (6, 12, 18, 24, 29)])

    assert session.state(T0 + 30 * DAY - SECOND) is SessionState.ACTIVE
    assert session.state(T0 + 30 * DAY) is SessionState.EXPIRED
    history = session.history(T0 + 31 * DAY)
    rotations = [EventKind.ROTATED] * 5
    assert [e.kind for e in history] == [EventKind.ISSUED, *rotations, EventKind.EXPIRED]
    assert (history[-1].at, history[-1].detail) == (
        T0 + 30 * DAY,
        "absolute session cap reached",
    )
    # history() reports the expiry without storing it.
    assert EventKind.EXPIRED not in _kinds(session)


def test_revoked_session_shows_revoked_not_expired(sessions):
    session, _ = _open(sessions)
    sessions.revoke(session, T0 + DAY, "revoked by the tenant")
    assert session.state(T0 + 31 * DAY) is SessionState.REVOKED
    assert [e.kind for e in session.history(T0 + 31 * DAY)] == [
        EventKind.ISSUED,
        EventKind.REVOKED,
    ]
