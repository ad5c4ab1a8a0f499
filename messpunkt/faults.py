"""Faults on demand: a rule that answers matching requests with an error, or late.

A rule names a method and a path pattern (`path_pattern`), and what happens:
an HTTP status (429 and 503 with Retry-After), a delay, or `invalid_token`
(a 401 as for a revoked token); for the next `count` matching requests, until
an instant of the sandbox clock, or whichever comes first. Rules are kept in
the sandbox's state, which every request reads anyway; only a rule that
counts costs a step of the store, and only when it matches.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from .path_pattern import matches

STATUSES = (429, 500, 502, 503, 504)
# RFC 9110 §10.2.3 and RFC 6585 §4: the statuses a Retry-After goes with here.
RETRY_STATUSES = (429, 503)
METHODS = ("*", "GET", "POST", "PUT", "PATCH", "DELETE")
# Where faults apply: the partner's API calls, never the sandbox's own controls.
PATHS = ("/v1/", "/oauth/")
MOST_ARMED = 20  # rules a sandbox may have at once; every request reads them all


@dataclass(frozen=True, slots=True)
class Fault:
    id: str
    method: str
    path: str
    status: int | None = None
    retry_after: int | None = None
    delay_ms: int | None = None
    invalid_token: bool = False
    count: int | None = None  # matching requests left; None: until `until` only
    until: datetime | None = None  # sandbox time

    @classmethod
    def new(cls, **rule: Any) -> Fault:
        """Return a rule with a fresh id."""
        return cls(id="f_" + secrets.token_urlsafe(9), **rule)

    def ended(self, now: datetime) -> bool:
        """Tell whether the rule's `until` has come: it is over for good, even if a reset
        then moves the clock back before it."""
        return self.until is not None and now >= self.until

    def matches(self, method: str, path: str, now: datetime) -> bool:
        """Tell whether this rule answers a request, left aside how many it has left."""
        if self.ended(now):
            return False
        if self.count is not None and self.count <= 0:
            return False
        return self.method in ("*", method) and matches(self.path, path)

    def taken(self) -> Fault | None:
        """The rule after answering one request; None once it has none left."""
        if self.count is None:
            return self
        return replace(self, count=self.count - 1) if self.count > 1 else None

    def to_json(self) -> str:
        """The rule as kept, its count aside (a store counts it down on its own)."""
        rule = asdict(self)
        rule.pop("count")
        rule["until"] = self.until.isoformat() if self.until else None
        return json.dumps(rule)

    @classmethod
    def from_json(cls, text: str | bytes, count: int | None) -> Fault:
        rule = json.loads(text)
        until = rule.pop("until")
        return cls(**rule, count=count, until=datetime.fromisoformat(until) if until else None)


class DelayPlaces:
    """How many requests of one process may wait in injected delays at once.

    A delay holds a server thread while it waits. Every sandbox of a process shares its
    threads, so one partner's delays must leave the rest of them to everyone else.
    """

    def __init__(self, most: int) -> None:
        self.most = most
        self._free = threading.BoundedSemaphore(most)
        self._ended = threading.Event()

    def acquire(self, blocking: bool = False) -> bool:
        return self._free.acquire(blocking=blocking)

    def release(self) -> None:
        self._free.release()

    def wait(self, seconds: float) -> None:
        """Wait out a delay on the machine's clock, or until the server stops (`end`)."""
        self._ended.wait(seconds)

    def end(self) -> None:
        """End every delay now and from now on: the server is stopping, and a delayed
        request would hold its thread up to 30 s past the stop (`testing.LiveServer`)."""
        self._ended.set()
