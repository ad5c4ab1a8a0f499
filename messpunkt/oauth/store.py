"""What the authorization server remembers: codes, sessions and refresh tokens.

Secrets (codes, refresh tokens) are kept only as SHA-256 digests, so a dump
of the store cannot be replayed. Every check-and-change runs inside
`atomic()`, which is what makes "exactly one of fifty concurrent redemptions
wins" true; a database-backed store would use a transaction there.
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


def digest(secret: str) -> str:
    """Return the form in which a bearer secret is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class AuthorizationCode:
    code_hash: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    tenant_id: str
    subject: str
    property_ids: tuple[str, ...]
    code_challenge: str
    issued_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None = None
    # The session its first redemption started; revoked if it is redeemed again.
    session_id: str | None = None
    # Whether the authorization request named redirect_uri (RFC 6749 §4.1.3).
    redirect_uri_given: bool = True


class SessionKind(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"
    PERSONAL_ACCESS_TOKEN = "personal_access_token"  # noqa: S105 - a kind, not a secret


class SessionState(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


class EventKind(StrEnum):
    ISSUED = "issued"
    ROTATED = "rotated"
    REPLAY_DETECTED = "replay_detected"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    at: datetime
    kind: EventKind
    detail: str


@dataclass(slots=True)
class Session:
    """One grant of access: a consent and every token that descends from it."""

    id: str
    kind: SessionKind
    client_id: str
    tenant_id: str
    subject: str
    scopes: tuple[str, ...]
    property_ids: tuple[str, ...]
    created_at: datetime
    # The absolute cap: nothing issued in this session outlives it.
    expires_at: datetime
    name: str | None = None
    # Latest expiry of anything still usable: access token, refresh token.
    usable_until: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    events: list[SessionEvent] = field(default_factory=list)

    def ends_at(self) -> datetime:
        """Return when the session stops working if nobody revokes it."""
        if self.usable_until is None:
            return self.expires_at
        return min(self.expires_at, self.usable_until)

    def state(self, now: datetime) -> SessionState:
        if self.revoked_at is not None:
            return SessionState.REVOKED
        if now >= self.ends_at():
            return SessionState.EXPIRED
        return SessionState.ACTIVE

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def record(self, at: datetime, kind: EventKind, detail: str) -> None:
        self.events.append(SessionEvent(at, kind, detail))

    def history(self, now: datetime) -> list[SessionEvent]:
        """Return the events, with the expiry as the last one once it has happened."""
        if self.state(now) is SessionState.EXPIRED:
            end = self.ends_at()
            cause = "absolute session cap reached" if end == self.expires_at else "tokens expired"
            return [*self.events, SessionEvent(end, EventKind.EXPIRED, cause)]
        return list(self.events)


@dataclass(slots=True)
class RefreshToken:
    token_hash: str
    session_id: str
    client_id: str
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None


class AuthStore(ABC):
    """The repository interface the OAuth rules are written against."""

    @abstractmethod
    def atomic(self) -> AbstractContextManager[bool]:
        """Run a read-check-write sequence as one step."""

    @abstractmethod
    def add_code(self, code: AuthorizationCode) -> None: ...

    @abstractmethod
    def code(self, code_hash: str) -> AuthorizationCode | None: ...

    @abstractmethod
    def add_session(self, session: Session) -> None: ...

    @abstractmethod
    def session(self, session_id: str) -> Session | None: ...

    @abstractmethod
    def sessions(self) -> Sequence[Session]: ...

    @abstractmethod
    def add_refresh_token(self, token: RefreshToken) -> None: ...

    @abstractmethod
    def refresh_token(self, token_hash: str) -> RefreshToken | None: ...

    @abstractmethod
    def revoke_access_token(self, token_id: str, expires_at: datetime) -> None:
        """Remember a revoked access token's `jti` until it would have expired anyway."""

    @abstractmethod
    def access_token_revoked(self, token_id: str) -> bool: ...

    @abstractmethod
    def add_personal_token(self, token_hash: str, session_id: str) -> None: ...

    @abstractmethod
    def personal_token(self, token_hash: str) -> str | None:
        """Return the session id of a personal access token."""

    @abstractmethod
    def clear(self) -> None:
        """Forget every code, session and token."""


class InMemoryAuthStore(AuthStore):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._codes: dict[str, AuthorizationCode] = {}
        self._sessions: dict[str, Session] = {}
        self._refresh_tokens: dict[str, RefreshToken] = {}
        self._personal_tokens: dict[str, str] = {}
        self._revoked_access_tokens: dict[str, datetime] = {}

    def atomic(self) -> AbstractContextManager[bool]:
        return self._lock

    def add_code(self, code: AuthorizationCode) -> None:
        self._codes[code.code_hash] = code

    def code(self, code_hash: str) -> AuthorizationCode | None:
        return self._codes.get(code_hash)

    def add_session(self, session: Session) -> None:
        self._sessions[session.id] = session

    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def sessions(self) -> Sequence[Session]:
        with self._lock:
            return list(self._sessions.values())

    def add_refresh_token(self, token: RefreshToken) -> None:
        self._refresh_tokens[token.token_hash] = token

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self._refresh_tokens.get(token_hash)

    def revoke_access_token(self, token_id: str, expires_at: datetime) -> None:
        self._revoked_access_tokens[token_id] = expires_at

    def access_token_revoked(self, token_id: str) -> bool:
        return token_id in self._revoked_access_tokens

    def add_personal_token(self, token_hash: str, session_id: str) -> None:
        self._personal_tokens[token_hash] = session_id

    def personal_token(self, token_hash: str) -> str | None:
        return self._personal_tokens.get(token_hash)

    def clear(self) -> None:
        with self._lock:
            self._personal_tokens.clear()
            self._revoked_access_tokens.clear()
            self._codes.clear()
            self._sessions.clear()
            self._refresh_tokens.clear()
