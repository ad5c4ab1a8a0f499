"""Session lifetimes, refresh-token rotation and replay detection.

OAuth 2.1 §4.3.1 and RFC 9700 §4.14.2: a refresh token for a public client
must be sender-constrained or rotated; we rotate, and a rotated token
presented again is taken as theft, so the whole session is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import randomness
from .errors import InvalidGrant, InvalidScope
from .store import (
    AuthStore,
    EventKind,
    RefreshToken,
    Session,
    SessionKind,
    digest,
)


@dataclass(frozen=True)
class Lifetimes:
    code: timedelta = timedelta(minutes=5)
    access_token: timedelta = timedelta(hours=1)
    refresh_token: timedelta = timedelta(days=7)
    session: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Grant:
    """What a consent (or a client's registration) grants."""

    client_id: str
    tenant_id: str
    subject: str
    scopes: tuple[str, ...]
    property_ids: tuple[str, ...]


class Sessions:
    """The rules of sessions, written against the store interface."""

    def __init__(self, store: AuthStore, lifetimes: Lifetimes) -> None:
        self.store = store
        self.lifetimes = lifetimes

    def start(
        self,
        grant: Grant,
        kind: SessionKind,
        now: datetime,
        *,
        expires_at: datetime | None = None,
        name: str | None = None,
    ) -> Session:
        """Open a session at `now`; its absolute cap counts from here."""
        session = Session(
            id=randomness.token_urlsafe(16),
            kind=kind,
            client_id=grant.client_id,
            tenant_id=grant.tenant_id,
            subject=grant.subject,
            scopes=grant.scopes,
            property_ids=grant.property_ids,
            created_at=now,
            expires_at=expires_at or now + self.lifetimes.session,
            name=name,
        )
        session.record(now, EventKind.ISSUED, f"session started ({kind})")
        self.store.add_session(session)
        return session

    def access_token_expiry(self, session: Session, now: datetime, ttl: timedelta) -> datetime:
        """Return when an access token issued now expires: its TTL, never past the cap."""
        expires_at = min(now + ttl, session.expires_at)
        session.usable_until = max(session.usable_until or expires_at, expires_at)
        return expires_at

    def issue_refresh_token(self, session: Session, now: datetime) -> str:
        """Issue a refresh token valid 7 days, never past the session's cap."""
        token = randomness.token_urlsafe(32)
        expires_at = min(now + self.lifetimes.refresh_token, session.expires_at)
        self.store.add_refresh_token(
            RefreshToken(digest(token), session.id, session.client_id, now, expires_at)
        )
        session.usable_until = max(session.usable_until or expires_at, expires_at)
        return token

    def rotate(
        self, presented: str, client_id: str, now: datetime, scopes: tuple[str, ...] = ()
    ) -> tuple[Session, str]:
        """Exchange a refresh token for its successor, or detect its replay.

        `scopes` is the narrowed scope asked for, checked only once the token
        is known to be current, so a replay is always detected first.

        Must run inside `store.atomic()`: the check that the token is current
        and the change that retires it are one step.
        """
        record = self.store.refresh_token(digest(presented))
        if record is None:
            raise InvalidGrant("refresh token is unknown")
        session = self.store.session(record.session_id)
        if session is None or record.client_id != client_id:
            # RFC 6749 §6: the token must have been issued to this client.
            raise InvalidGrant("refresh token was not issued to this client")
        if record.rotated_at is not None:
            if session.revoked_at is None:
                session.record(
                    now, EventKind.REPLAY_DETECTED, "a rotated refresh token was presented again"
                )
                self.revoke(session, now, "refresh token replay detected")
            raise InvalidGrant("refresh token was already used; the session is revoked")
        if session.revoked_at is not None:
            raise InvalidGrant("the session is revoked")
        if now >= record.expires_at or now >= session.expires_at:
            raise InvalidGrant("refresh token has expired")
        # RFC 6749 §6: a refresh may narrow the scope, never widen it.
        extra = [scope for scope in scopes if scope not in session.scopes]
        if extra:
            raise InvalidScope(f"scope was not granted: {' '.join(extra)}")
        record.rotated_at = now
        successor = self.issue_refresh_token(session, now)
        session.record(now, EventKind.ROTATED, "refresh token rotated")
        return session, successor

    def revoke(self, session: Session, now: datetime, reason: str) -> bool:
        """End a session at once; its refresh and access tokens stop working."""
        if session.revoked_at is not None:
            return False
        session.revoked_at = now
        session.revoked_reason = reason
        session.record(now, EventKind.REVOKED, reason)
        return True

    def active(self, session_id: str, now: datetime) -> Session | None:
        """Return the session if access tokens issued in it may still be honoured."""
        session = self.store.session(session_id)
        if session is None or not session.is_active(now):
            return None
        return session
