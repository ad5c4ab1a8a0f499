"""The one clock: every instant the sandbox issues or checks comes from here."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current instant as an aware UTC datetime."""
        ...


def system_time() -> datetime:
    """Read the machine's wall clock; the only place in the package that does."""
    return datetime.now(UTC)


# The latest instant the clock may be moved to. Codes, tokens, sessions and personal access
# tokens (up to a year) end at now plus their lifetime, which must still be a datetime.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class ClockError(ValueError):
    """A clock change that would move time backwards or is otherwise invalid."""


class SandboxClock:
    """A clock that follows a source but can be frozen and moved forward.

    Time never goes backwards while the sandbox runs: tokens issued at an
    instant must not become valid again. `reset` is the one exception, used
    when the whole sandbox state is thrown away.
    """

    def __init__(
        self,
        source: Callable[[], datetime] = system_time,
        frozen_at: datetime | None = None,
    ) -> None:
        self._source = source
        self._lock = threading.RLock()
        self._offset = timedelta(0)
        self._frozen_at = _utc(frozen_at) if frozen_at else None
        self._initial_frozen_at = self._frozen_at

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        frozen_at = self._frozen_at
        if frozen_at is not None:
            return frozen_at
        return self._source() + self._offset

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock, at `at` or at the current instant."""
        with self._lock:
            current = self.now()
            target = _utc(at) if at else current
            if target < current:
                raise ClockError("the clock only moves forward")
            _check_range(target)
            self._frozen_at = target
            return target

    def unfreeze(self) -> datetime:
        """Let the clock run again from where it stands."""
        with self._lock:
            current = self.now()
            self._offset = current - self._source()
            self._frozen_at = None
            return current

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by a non-negative duration."""
        if by < timedelta(0):
            raise ClockError("the clock only moves forward")
        with self._lock:
            _check_range(self.now() + by)
            if self._frozen_at is not None:
                self._frozen_at += by
            else:
                self._offset += by
            return self.now()

    def advance_to(self, at: datetime) -> datetime:
        """Move the clock forward to an instant that is not in its past."""
        with self._lock:
            return self.advance(_utc(at) - self.now())

    def reset(self) -> datetime:
        """Return to the clock's initial setting (the source, or its first freeze)."""
        with self._lock:
            self._offset = timedelta(0)
            self._frozen_at = self._initial_frozen_at
            return self.now()


def _check_range(instant: datetime) -> None:
    if instant > LATEST:
        raise OverflowError(f"the clock cannot go past {LATEST.isoformat()}")


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ClockError("instants must carry a UTC offset")
    return instant.astimezone(UTC)


_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes and seconds (P31D, PT1H)."""
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration such as PT1H or P31D: {text!r}")
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ValueError(f"duration too large: {text!r}") from None
