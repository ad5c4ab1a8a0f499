"""What the in-memory store holds, and when it forgets it (measured on the sandbox clock).

A record is kept while it may still be presented, and a little longer:

- a code until its expiry, redeemed or not (a second redemption is detected
  until then, OAuth 2.1 §4.1.3);
- a revoked access token's `jti` until that token's expiry;
- a rotated refresh token until its expiry (its replay is detected until then,
  RFC 9700 §4.14.2);
- a session, with its newest refresh token, its events and its personal access
  token, until the last instant anything issued in it may be presented
  (`last_presentable`), then `ENDED_KEPT_FOR` more, and of the ended ones only
  the `ENDED_KEPT` that ended last.

"A little longer" is `IN_FLIGHT`: a request reads its instant once, and
another request, served a moment later, may sweep. What ended less than
`IN_FLIGHT` before the sweep's instant stays, so a request in flight still
finds it (a revoked `jti` must not come back to life in its last millisecond).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime, timedelta
from heapq import nlargest
from typing import Any, TypeVar

from ..oauth.store import AuthorizationCode, RefreshToken, Session, SessionEvent

IN_FLIGHT = timedelta(minutes=1)
# An ended session stays so the sandbox can still say why it ended: listed as expired or
# revoked with its history, its refresh token refused as "expired" rather than "unknown".
# The README's walk-through moves the clock 31 days past a session's start and asks.
ENDED_KEPT_FOR = timedelta(days=30)
# ...but only so many of them, or a client asking for a token per call would fill memory
# for a month with sessions nobody can use.
ENDED_KEPT = 10_000
# A sweep visits every record, so it waits for this many records added since the last
# one, or half as many as that one kept: amortised, a few record visits per record added.
SWEEP_AFTER = 1024

V = TypeVar("V", bound=Hashable)


def last_presentable(session: Session) -> datetime:
    """Return the last instant anything issued in `session` may be presented.

    That is the end of its longest-lived token (`usable_until`), or its
    revocation if later, and at the latest its absolute cap.
    """
    end = session.usable_until or session.created_at
    if session.revoked_at is not None:
        end = max(end, session.revoked_at)
    return min(end, session.expires_at)


def sessions_to_keep(sessions: Mapping[str, Session], now: datetime) -> set[str]:
    """Return the ids of the sessions a sweep at `now` keeps."""
    kept: set[str] = set()
    ended: list[tuple[datetime, str]] = []
    for session_id, session in sessions.items():
        end = last_presentable(session)
        if now - IN_FLIGHT < end:
            kept.add(session_id)
        elif now - ENDED_KEPT_FOR < end:
            ended.append((end, session_id))
    if len(ended) > ENDED_KEPT:
        ended = nlargest(ENDED_KEPT, ended)
    kept.update(session_id for _, session_id in ended)
    return kept


class Held:
    """The records of the in-memory store, and what a sweep keeps of them.

    The store changes them under its lock; a sweep runs under it too, once
    as many records were added since the last one as `SWEEP_AFTER`, or as
    half of what the last one kept, whichever is more.
    """

    def __init__(self) -> None:
        # A code, when it was redeemed, and the session its redemption started.
        self.codes: dict[str, tuple[AuthorizationCode, datetime | None, str | None]] = {}
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.personal_tokens: dict[str, str] = {}  # digest -> session id
        self.revoked_access_tokens: dict[str, datetime] = {}  # jti -> the token's expiry
        self.events: dict[str, tuple[SessionEvent, ...]] = {}
        # A registered client's sessions, so changing or deleting it visits only those.
        self.client_sessions: dict[str, set[str]] = {}
        # One instance of each value many records hold alike (`shared`).
        self._shared: dict[Any, Any] = {}
        self._added = 0
        self._sweep_after = SWEEP_AFTER

    def shared(self, value: V) -> V:
        """Return the instance of `value` already held, if an equal one is, else `value`.

        A client's codes and sessions repeat the same grant (client, tenant, subject, scope
        and property tuples, each parsed anew from its request), redirect URI and event
        details: in the memory soak those copies were 10 MB of the 36 MB its 55,000
        records took. Shared, each record holds references. The table is emptied by a
        sweep (a value seen again is shared from then on), so it never holds more than
        the records added since the last one.
        """
        return self._shared.setdefault(value, value)  # type: ignore[no-any-return]

    def added(self) -> None:
        """Count one record added."""
        self._added += 1

    def sweep_if_due(self, now: datetime) -> None:
        if self._added >= self._sweep_after:
            self.purge(now)

    def purge(self, now: datetime) -> None:
        """Forget what can no longer be presented at `now`."""
        # Each dict is built anew rather than emptied in place: a dict never shrinks its
        # table on deletion, and the store's lock-free readers see the old or the new one.
        gone = now - IN_FLIGHT
        self.codes = {h: c for h, c in self.codes.items() if c[0].expires_at > gone}
        self.revoked_access_tokens = {
            jti: ends for jti, ends in self.revoked_access_tokens.items() if ends > gone
        }
        kept = sessions_to_keep(self.sessions, now)
        self.sessions = {sid: s for sid, s in self.sessions.items() if sid in kept}
        self.events = {sid: e for sid, e in self.events.items() if sid in kept}
        self.personal_tokens = {h: sid for h, sid in self.personal_tokens.items() if sid in kept}
        found = ((c, ids & kept) for c, ids in self.client_sessions.items())
        self.client_sessions = {c: ids for c, ids in found if ids}
        self.refresh_tokens = {
            h: t
            for h, t in self.refresh_tokens.items()
            if t.session_id in kept and (t.rotated_at is None or t.expires_at > gone)
        }
        self._shared = {}
        self._added = 0
        live = len(self.codes) + len(self.sessions) + len(self.refresh_tokens)
        self._sweep_after = max(SWEEP_AFTER, (live + len(self.revoked_access_tokens)) // 2)

    def counts(self) -> dict[str, int]:
        """Count the records held, per kind."""
        return {
            "codes": len(self.codes),
            "sessions": len(self.sessions),
            "refresh_tokens": len(self.refresh_tokens),
            "personal_tokens": len(self.personal_tokens),
            "revoked_access_tokens": len(self.revoked_access_tokens),
            "events": sum(len(events) for events in self.events.values()),
        }
