"""The store port: what the authorization server remembers, as named, atomic state changes.

Learnt from fosite's storage interface (`RotateRefreshToken`,
`InvalidateAuthorizeCodeSession`): a rule never reads a record, changes it
and writes it back. It asks the store for one named change, and the store
makes its checks and its writes as one step (a lock in memory, one Lua
script on Redis) and answers with an outcome: `Issued` or `Refused`.
Records the store hands out are frozen values; changing one changes nothing.

Secrets (codes, refresh tokens, personal access tokens) are only ever given
to the store as SHA-256 digests, so a dump of it cannot be replayed.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ..clock import ClockState


def digest(secret: str) -> str:
    """Return the form in which a bearer secret is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# The newest events a session keeps: a session rotated every hour for its 30 days would
# otherwise hold 720 of them. The first (its start) is kept as well.
EVENTS_KEPT = 50


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
class Grant:
    """What a consent (or a client's registration) grants."""

    client_id: str
    tenant_id: str
    subject: str
    scopes: tuple[str, ...]
    property_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    code_hash: str
    grant: Grant
    redirect_uri: str  # where the code was sent
    code_challenge: str
    issued_at: datetime
    expires_at: datetime
    # Whether the authorization request named redirect_uri (RFC 6749 §4.1.3).
    redirect_uri_given: bool = True


@dataclass(frozen=True, slots=True)
class SessionEvent:
    at: datetime
    kind: EventKind
    detail: str


@dataclass(frozen=True, slots=True)
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
    # Latest expiry of anything issued in it: access token, refresh token.
    usable_until: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    # The newest EVENTS_KEPT events; filled by `AuthStore.session(s)`, empty elsewhere.
    events: tuple[SessionEvent, ...] = ()

    @classmethod
    def open(cls, new: NewSession, grant: Grant, now: datetime) -> Session:
        """Return session `new` as it stands when opened at `now`, before any token."""
        return cls(
            new.id, new.kind, grant.client_id, grant.tenant_id, grant.subject, grant.scopes,
            grant.property_ids, created_at=now, expires_at=new.expires_at, name=new.name,
        )  # fmt: skip

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
        """Tell whether tokens issued in this session may still be honoured."""
        return self.revoked_at is None and now < self.expires_at

    def history(self, now: datetime) -> list[SessionEvent]:
        """Return the events, with the expiry as the last one once it has happened."""
        if self.state(now) is SessionState.EXPIRED:
            end = self.ends_at()
            cause = "absolute session cap reached" if end == self.expires_at else "tokens expired"
            return [*self.events, SessionEvent(end, EventKind.EXPIRED, cause)]
        return list(self.events)


def newest_first(session: Session) -> tuple[datetime, str]:
    """The key every store lists sessions by, reversed: by when they were opened, and
    those opened at one instant (a frozen clock) by id, so every store lists them alike."""
    return session.created_at, session.id


@dataclass(frozen=True, slots=True)
class RefreshToken:
    token_hash: str
    session_id: str
    client_id: str
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None


# What a step is asked to do


@dataclass(frozen=True, slots=True)
class Moment:
    """The instant a request is served at, and the sandbox it was read from.

    `now` is the sandbox's clock read once as the request began; it holds only while that
    clock and the sandbox's generation are as read. A step that writes a record stamped
    with it (a code, a session, a rotation) compares them with the store's in the same
    step, and raises `SandboxMoved` rather than write, say, a code issued before a reset
    into the sandbox after it, or a token the moved clock has already expired.
    """

    now: datetime
    generation: int
    clock: ClockState


class SandboxMoved(Exception):
    """The sandbox was reset, or its clock moved, after the request read it: nothing was
    written, and the same request made again is served at the sandbox's new instant."""

    def __init__(self) -> None:
        super().__init__("the sandbox was reset or its clock moved while this request was served")


@dataclass(frozen=True, slots=True)
class Lifetimes:
    code: timedelta = timedelta(minutes=5)
    access_token: timedelta = timedelta(hours=1)
    refresh_token: timedelta = timedelta(days=7)
    session: timedelta = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Issue:
    """What a grant issues: its access token's lifetime, and the refresh token to store.

    Random values are drawn before the step, so the store only records them.
    Every expiry is capped by the session's own end, which only the store knows.
    """

    access_ttl: timedelta
    refresh_token_hash: str | None = None
    refresh_ttl: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session to open: its random id, what it grants, and its absolute cap."""

    id: str
    kind: SessionKind
    expires_at: datetime
    name: str | None = None
    # A personal access token's digest; the session is that token.
    personal_token_hash: str | None = None
    # Its client is a registered one (RFC 7591), not a fixture: the session opens only
    # while the registration exists, checked in the same step (a DELETE may race it).
    client_registered: bool = False


@dataclass(frozen=True, slots=True)
class CodeAttempt:
    """What a token request presents with a code (RFC 6749 §4.1.3, RFC 7636 §4.5)."""

    client_id: str
    redirect_uri: str | None
    # S256 of the presented code_verifier; None when it is missing or malformed.
    verifier_challenge: str | None


# What a step answers


class Refusal(StrEnum):
    """Why a step refused; each becomes one OAuth error in the token endpoint."""

    UNKNOWN_CODE = "unknown_code"
    CODE_REUSED = "code_reused"  # and the session its first redemption started is revoked
    CODE_EXPIRED = "code_expired"
    CODE_OTHER_CLIENT = "code_other_client"
    REDIRECT_URI_MISSING = "redirect_uri_missing"
    REDIRECT_URI_MISMATCH = "redirect_uri_mismatch"
    PKCE_MISMATCH = "pkce_mismatch"
    UNKNOWN_REFRESH_TOKEN = "unknown_refresh_token"  # noqa: S105
    REFRESH_OTHER_CLIENT = "refresh_other_client"
    REFRESH_REPLAYED = "refresh_replayed"  # and the session is revoked
    SESSION_REVOKED = "session_revoked"
    REFRESH_EXPIRED = "refresh_expired"
    SCOPE_NOT_GRANTED = "scope_not_granted"
    ACCESS_TOKEN_REVOKED = "access_token_revoked"  # noqa: S105
    SESSION_ENDED = "session_ended"
    CLIENT_GONE = "client_gone"  # a registered client deleted since it was authenticated


@dataclass(frozen=True, slots=True)
class Issued:
    """The step succeeded: the session as it now stands (without its events, which
    `AuthStore.session(s)` reads), and its new access token's end."""

    session: Session
    access_expires_at: datetime


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal
    # For SCOPE_NOT_GRANTED: the scopes asked for beyond the grant, space-separated.
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Access:
    """What the store holds on one access token: its session, and whether its jti is revoked."""

    session_id: str
    token_id: str
    session: Session | None
    revoked: bool

    def decide(self, client_id: str, now: datetime) -> Session | Refused:
        """Return the session the token may still be honoured in (RFC 6750 §3.1)."""
        if self.revoked:
            return Refused(Refusal.ACCESS_TOKEN_REVOKED)
        session = self.session
        if session is None or not session.is_active(now) or session.client_id != client_id:
            return Refused(Refusal.SESSION_ENDED)
        return session


class AuthStore(ABC):
    """The operations the OAuth rules are written against; each one is one atomic step.

    The four that write records stamped with the request's instant take it as a `Moment`
    and raise `SandboxMoved` when the sandbox changed since it was read (see `Moment`).
    """

    @abstractmethod
    def add_code(self, code: AuthorizationCode, at: Moment) -> None:
        """Remember an authorization code until it expires; it was issued `at`."""

    @abstractmethod
    def redeem_code(
        self, code_hash: str, attempt: CodeAttempt, new: NewSession, issue: Issue, at: Moment
    ) -> Issued | Refused:
        """Redeem a code: the first redemption consumes it even when its checks fail
        (OAuth 2.1 §4.1.3); a second one revokes the session the first one started.
        Success opens session `new` with the code's grant and its first refresh token.
        A registered client whose registration is gone is refused (CLIENT_GONE) first."""

    @abstractmethod
    def start_session(
        self, new: NewSession, grant: Grant, issue: Issue, at: Moment
    ) -> Issued | Refused:
        """Open a session without a code: client credentials, a personal access token.
        Refused (CLIENT_GONE) only for a registered client whose registration is gone."""

    @abstractmethod
    def rotate_refresh_token(
        self,
        token_hash: str,
        client_id: str,
        scopes: tuple[str, ...],
        issue: Issue,
        at: Moment,
    ) -> Issued | Refused:
        """Exchange a refresh token for `issue.refresh_token_hash` (RFC 9700 §4.14.2).

        A token already rotated is a replay: the session is revoked. `scopes`
        may narrow the grant, never widen it (RFC 6749 §6), and is checked only
        once the token is known to be current, so a replay is always detected.
        """

    @abstractmethod
    def revoke_refresh_token(
        self, token_hash: str, client_id: str, reason: str, now: datetime
    ) -> bool:
        """End the session of a refresh token issued to `client_id` (RFC 7009 §2.1)."""

    @abstractmethod
    def revoke_session(
        self, session_id: str, reason: str, now: datetime, kind: SessionKind | None = None
    ) -> Session | None:
        """End a session (of `kind`, when given) at once; None when there is none. One that
        has ended already stays as it ended: revoked with its first reason, or expired."""

    @abstractmethod
    def revoke_access_token(self, session_id: str, token_id: str, expires_at: datetime) -> None:
        """Refuse an access token's `jti` from now until it would have expired anyway."""

    @abstractmethod
    def read_access(self, session_id: str, token_id: str) -> Access:
        """Read what decides whether an access token is honoured: its session, its jti."""

    def check_access(
        self, session_id: str, token_id: str, client_id: str, now: datetime
    ) -> Session | Refused:
        """Return the session an access token may still be honoured in (RFC 6750 §3.1)."""
        return self.read_access(session_id, token_id).decide(client_id, now)

    @abstractmethod
    def personal_token(self, token_hash: str, now: datetime) -> Session | None:
        """Return the session of a personal access token while it is usable."""

    @abstractmethod
    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        """Read a refresh token (for introspection)."""

    @abstractmethod
    def session(self, session_id: str) -> Session | None:
        """Read a session with its events."""

    @abstractmethod
    def sessions(self) -> Sequence[Session]:
        """Read every session with its events, newest first (`newest_first`)."""
