"""The in-memory store: one process, one lock, the embedded default and the tests' fake.

Every operation takes the store's lock for its checks and its writes, so
each is one step, exactly as each is one Lua script in a shared store.
Records are frozen values: a change replaces the record in its dict.
What can no longer be presented is forgotten (`retention` has the rule): by a
sweep every so many records added (in the steps that add, at the instant they checked),
and by every move of the clock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..clock import ClockState, system_time
from ..faults import MOST_ARMED, Fault
from ..oauth.registrations import (
    MOST_REGISTERED,
    Registration,
    SandboxGone,
    TooManyRegistrations,
    sessions_end,
)
from ..oauth.store import (
    EVENTS_KEPT,
    Access,
    AuthorizationCode,
    CodeAttempt,
    EventKind,
    Grant,
    Issue,
    Issued,
    Moment,
    NewSession,
    RefreshToken,
    Refusal,
    Refused,
    SandboxMoved,
    Session,
    SessionEvent,
    SessionKind,
    SessionState,
    newest_first,
)
from ..sandbox import LoggedRequest, SandboxState, SandboxStore
from .retention import Held


class InMemoryStore(SandboxStore):
    def __init__(self, state: SandboxState, wall: Callable[[], datetime] = system_time) -> None:
        """Keep `state`; `wall` is the machine's clock, read to purge when the clock moves."""
        self._lock = threading.Lock()
        self._state = state
        self._wall = wall
        self._held = Held()
        # Registered clients outlive a reset (`oauth.registrations`), so not in `_held`.
        self._registrations: dict[str, Registration] = {}
        self._uploads: dict[str, bytes] = {}  # the uploaded data set in use, if it is one
        self._log: deque[tuple[int, LoggedRequest]] = deque()
        self._logged = 0
        self._ended = False  # its sandbox was deleted or expired (`end`)

    # The sandbox

    def state(self) -> SandboxState:
        return self._state

    def move_clock(self, change: Callable[[ClockState], ClockState]) -> SandboxState:
        with self._lock:
            self._state = replace(self._state, clock=change(self._state.clock))
            self._held.purge(self._state.clock.now(self._wall()))
            return self._state

    def reset(self, data_set: str | None = None, document: bytes | None = None) -> SandboxState:
        with self._lock:
            now = self._state.clock.now(self._wall())
            self._held = Held()
            if data_set is not None:
                self._registrations = {}
            if data_set and document is not None:
                self._uploads = {data_set: document}
            elif data_set and data_set != self._state.data_set:
                self._uploads.pop(self._state.data_set, None)
            self._state = replace(
                self._state,
                clock=self._state.clock.reset(),
                generation=self._state.generation + 1,
                data_set=data_set or self._state.data_set,
                faults=tuple(f for f in self._state.faults if not f.ended(now)),
            )
            return self._state

    def end(self) -> None:
        """Forget everything as the sandbox ends: a request still holding the store keeps
        no records alive, and registers nothing in it (as on Redis, where its keys go)."""
        with self._lock:  # ended first: a step from then on is refused as gone, not moved
            self._ended = True
            self._registrations = {}
        self.reset()

    def data_set_document(self, name: str) -> bytes | None:
        return self._uploads.get(name)

    def log_request(self, logged: LoggedRequest, keep: int) -> None:
        with self._lock:
            self._logged += 1
            if self._log.maxlen != keep:
                self._log = deque(self._log, maxlen=keep)
            self._log.appendleft((self._logged, logged))

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            kept = list(self._log)
        # Shaped as read, not as served: most entries are pushed out unread.
        return [{"id": str(number), **logged.entry()} for number, logged in kept]

    def arm_fault(self, fault: Fault) -> bool:
        with self._lock:
            if len(self._state.faults) >= MOST_ARMED:
                return False
            self._state = replace(self._state, faults=(*self._state.faults, fault))
            return True

    def disarm_fault(self, fault_id: str) -> bool:
        with self._lock:
            kept = tuple(f for f in self._state.faults if f.id != fault_id)
            found = len(kept) < len(self._state.faults)
            self._state = replace(self._state, faults=kept)
            return found

    def take_fault(self, fault_id: str) -> bool:
        with self._lock:
            found = next((f for f in self._state.faults if f.id == fault_id), None)
            if found is None:
                return False
            left = found.taken()
            faults = (left if f.id == fault_id else f for f in self._state.faults)
            self._state = replace(self._state, faults=tuple(f for f in faults if f is not None))
            return True

    # Codes

    def _served(self, at: Moment) -> datetime:
        """Return `at`'s instant while the sandbox is as its request read it (called under
        the lock: one step with the reset or the clock move it would otherwise straddle)."""
        if self._ended:
            raise SandboxGone("the sandbox was deleted or has expired")
        if at.generation != self._state.generation or at.clock != self._state.clock:
            raise SandboxMoved()
        return at.now

    def add_code(self, code: AuthorizationCode, at: Moment) -> None:
        with self._lock:
            self._held.sweep_if_due(self._served(at))
            held = self._held
            code = replace(code, grant=held.shared(code.grant),
                           redirect_uri=held.shared(code.redirect_uri))  # fmt: skip
            held.codes[code.code_hash] = (code, None, None)
            held.added()

    def redeem_code(
        self, code_hash: str, attempt: CodeAttempt, new: NewSession, issue: Issue, at: Moment
    ) -> Issued | Refused:
        with self._lock:
            now = self._served(at)
            self._held.sweep_if_due(now)
            found = self._held.codes.get(code_hash)
            if found is None:
                return Refused(Refusal.UNKNOWN_CODE)
            if self._client_gone(new, attempt.client_id):
                return Refused(Refusal.CLIENT_GONE)
            code, redeemed_at, session_id = found
            if redeemed_at is not None:
                # OAuth 2.1 §4.1.3: a code used twice revokes what it issued.
                if session_id is not None:
                    self._revoke(session_id, "authorization code redeemed twice", now)
                return Refused(Refusal.CODE_REUSED)
            # Consumed from here on, whatever the checks below decide.
            self._held.codes[code_hash] = (code, now, None)
            if now >= code.expires_at:
                return Refused(Refusal.CODE_EXPIRED)
            if attempt.client_id != code.grant.client_id:
                return Refused(Refusal.CODE_OTHER_CLIENT)
            # RFC 6749 §4.1.3: required, and identical, if the authorization request had it.
            if attempt.redirect_uri is None and code.redirect_uri_given:
                return Refused(Refusal.REDIRECT_URI_MISSING)
            if attempt.redirect_uri not in (None, code.redirect_uri):
                return Refused(Refusal.REDIRECT_URI_MISMATCH)
            if attempt.verifier_challenge != code.code_challenge:
                return Refused(Refusal.PKCE_MISMATCH)
            self._held.codes[code_hash] = (code, now, new.id)
            return self._open(new, code.grant, issue, now)

    # Sessions

    def start_session(
        self, new: NewSession, grant: Grant, issue: Issue, at: Moment
    ) -> Issued | Refused:
        with self._lock:
            now = self._served(at)
            self._held.sweep_if_due(now)
            if self._client_gone(new, grant.client_id):
                return Refused(Refusal.CLIENT_GONE)
            if new.personal_token_hash is not None:
                self._held.personal_tokens[new.personal_token_hash] = new.id
            return self._open(new, grant, issue, now)

    def _client_gone(self, new: NewSession, client_id: str) -> bool:
        """A registered client deleted since it was authenticated (under the lock: one step
        with `delete_registration`)."""
        return new.client_registered and client_id not in self._registrations

    def _open(self, new: NewSession, grant: Grant, issue: Issue, now: datetime) -> Issued:
        session = Session.open(new, self._held.shared(grant), now)
        self._held.sessions[session.id] = session
        if new.client_registered:
            self._held.client_sessions.setdefault(grant.client_id, set()).add(session.id)
        self._held.added()
        self._record(session.id, now, EventKind.ISSUED, f"session started ({new.kind})")
        return self._issue(session, issue, now)

    def _issue(self, session: Session, issue: Issue, now: datetime) -> Issued:
        """Record the access token and the refresh token a grant issues, capped by the session."""
        access_expires_at = min(now + issue.access_ttl, session.expires_at)
        ends = [access_expires_at]
        if issue.refresh_token_hash is not None:
            refresh_expires_at = min(now + issue.refresh_ttl, session.expires_at)
            self._held.refresh_tokens[issue.refresh_token_hash] = RefreshToken(
                issue.refresh_token_hash, session.id, session.client_id, now, refresh_expires_at
            )
            ends.append(refresh_expires_at)
            self._held.added()
        usable_until = max(session.usable_until or ends[0], *ends)
        session = self._held.sessions[session.id] = replace(session, usable_until=usable_until)
        return Issued(session, access_expires_at)

    def rotate_refresh_token(
        self,
        token_hash: str,
        client_id: str,
        scopes: tuple[str, ...],
        issue: Issue,
        at: Moment,
    ) -> Issued | Refused:
        with self._lock:
            now = self._served(at)
            self._held.sweep_if_due(now)
            token = self._held.refresh_tokens.get(token_hash)
            if token is None:
                return Refused(Refusal.UNKNOWN_REFRESH_TOKEN)
            session = self._held.sessions.get(token.session_id)
            if session is None or token.client_id != client_id:
                # RFC 6749 §6: the token must have been issued to this client.
                return Refused(Refusal.REFRESH_OTHER_CLIENT)
            # Expired first: a replay is detected until the token's own expiry (see
            # retention), never later, whether or not a sweep has forgotten it yet.
            if now >= token.expires_at or now >= session.expires_at:
                return Refused(Refusal.REFRESH_EXPIRED)
            if token.rotated_at is not None:
                if session.revoked_at is None:
                    detail = "a rotated refresh token was presented again"
                    self._record(session.id, now, EventKind.REPLAY_DETECTED, detail)
                    self._revoke(session.id, "refresh token replay detected", now)
                return Refused(Refusal.REFRESH_REPLAYED)
            if session.revoked_at is not None:
                return Refused(Refusal.SESSION_REVOKED)
            extra = [scope for scope in scopes if scope not in session.scopes]
            if extra:
                return Refused(Refusal.SCOPE_NOT_GRANTED, " ".join(extra))
            self._held.refresh_tokens[token_hash] = replace(token, rotated_at=now)
            self._record(session.id, now, EventKind.ROTATED, "refresh token rotated")
            return self._issue(self._held.sessions[session.id], issue, now)

    def revoke_refresh_token(
        self, token_hash: str, client_id: str, reason: str, now: datetime
    ) -> bool:
        with self._lock:  # no sweep: `now` may be a clock a reset took back (see _served)
            token = self._held.refresh_tokens.get(token_hash)
            if token is None or token.client_id != client_id or now >= token.expires_at:
                return False  # RFC 7009 §2.2: an invalid token, answered and nothing more
            self._revoke(token.session_id, reason, now)
            return True

    def revoke_session(
        self, session_id: str, reason: str, now: datetime, kind: SessionKind | None = None
    ) -> Session | None:
        with self._lock:  # no sweep, as revoke_refresh_token
            session = self._held.sessions.get(session_id)
            if session is None or kind not in (None, session.kind):
                return None
            self._revoke(session_id, reason, now)
            return self._with_events(self._held.sessions[session_id])

    def _revoke(self, session_id: str, reason: str, now: datetime) -> None:
        """Revoke a session that is still active; one that has ended stays as it ended."""
        session = self._held.sessions.get(session_id)
        if session is None or session.state(now) is not SessionState.ACTIVE:
            return
        self._held.sessions[session_id] = replace(session, revoked_at=now, revoked_reason=reason)
        self._record(session_id, now, EventKind.REVOKED, reason)

    def revoke_access_token(self, session_id: str, token_id: str, expires_at: datetime) -> None:
        with self._lock:
            self._held.revoked_access_tokens[token_id] = expires_at
            self._held.added()

    # Reads

    def read_access(self, session_id: str, token_id: str) -> Access:
        # Two dict reads, each atomic under the GIL; no lock for the hottest path.
        revoked = token_id in self._held.revoked_access_tokens
        return Access(session_id, token_id, self._held.sessions.get(session_id), revoked)

    def state_and_access(self, session_id: str, token_id: str) -> tuple[SandboxState, Access]:
        return self._state, self.read_access(session_id, token_id)

    def personal_token(self, token_hash: str, now: datetime) -> Session | None:
        session_id = self._held.personal_tokens.get(token_hash)
        session = None if session_id is None else self._held.sessions.get(session_id)
        return session if session is not None and session.is_active(now) else None

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self._held.refresh_tokens.get(token_hash)

    def session(self, session_id: str) -> Session | None:
        with self._lock:
            session = self._held.sessions.get(session_id)
            return None if session is None else self._with_events(session)

    def sessions(self) -> Sequence[Session]:
        with self._lock:
            found = [self._with_events(s) for s in self._held.sessions.values()]
        return sorted(found, key=newest_first, reverse=True)

    # Registered clients

    def add_registration(
        self, registration: Registration, at: Moment, most: int = MOST_REGISTERED
    ) -> bool:
        with self._lock:
            self._served(at)
            if registration.client_id in self._registrations:
                return False
            if len(self._registrations) >= most:
                raise TooManyRegistrations(most)
            self._registrations[registration.client_id] = registration
            return True

    def registration(self, client_id: str) -> Registration | None:
        return self._registrations.get(client_id)

    def replace_registration(self, registration: Registration, at: Moment) -> bool:
        with self._lock:
            now = self._served(at)
            current = self._registrations.get(registration.client_id)
            if current is None:
                return False
            self._registrations[registration.client_id] = registration
            reason = sessions_end(current, registration)
            if reason is not None:
                self._revoke_client(registration.client_id, reason, now)
            return True

    def delete_registration(self, client_id: str, now: datetime) -> bool:
        with self._lock:
            if self._registrations.pop(client_id, None) is None:
                return False
            self._revoke_client(client_id, "client deleted", now)
            self._held.client_sessions.pop(client_id, None)
            return True

    def _revoke_client(self, client_id: str, reason: str, now: datetime) -> None:
        """Revoke every session of a registered client: its own, from the index."""
        for session_id in self._held.client_sessions.get(client_id, ()):
            self._revoke(session_id, reason, now)

    def registrations(self) -> Sequence[Registration]:
        with self._lock:
            return list(self._registrations.values())  # in the order they were added

    # Events

    def _record(self, session_id: str, at: datetime, kind: EventKind, detail: str) -> None:
        # A tuple, not a list: most sessions keep one or two events, and a list is two
        # blocks (itself and its items) with room to grow.
        events = (
            *self._held.events.get(session_id, ()),
            SessionEvent(at, kind, self._held.shared(detail)),
        )
        if len(events) > EVENTS_KEPT:
            events = (events[0], *events[2:])  # the oldest after the session's start goes
        self._held.events[session_id] = events

    def _with_events(self, session: Session) -> Session:
        return replace(session, events=self._held.events.get(session.id, ()))

    # Forgetting (`retention` has the rule)

    def purge(self, now: datetime) -> None:
        """Forget every record that can no longer be presented at `now`."""
        with self._lock:
            self._held.purge(now)

    def counts(self) -> dict[str, int]:
        """Count the records held, per kind."""
        with self._lock:
            return self._held.counts()
