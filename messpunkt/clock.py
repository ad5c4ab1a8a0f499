"""The sandbox clock: a plain value a store keeps, and the rules that move it.

A request reads its sandbox's `ClockState` once, turns it into `now` with
the machine's time, and passes that instant down; nothing else asks what
time it is. Moving the clock makes a new value (`freeze`, `advance`, …),
which the store swaps in as one step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta


def system_time() -> datetime:
    """Read the machine's wall clock; the only place in the package that does."""
    return datetime.now(UTC)


# The latest instant the clock may be moved to. Codes, tokens, sessions and personal access
# tokens (up to a year) end at now plus their lifetime, which must still be a datetime.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# Instants are kept to the millisecond: a store may hold them as integers (a Lua number is a
# double, exact for milliseconds until long after LATEST, for microseconds only until 2255).
RESOLUTION = timedelta(milliseconds=1)


class ClockError(ValueError):
    """A clock change that would move time backwards or is otherwise invalid."""


@dataclass(frozen=True, slots=True)
class ClockState:
    """Where a sandbox's clock stands: frozen at an instant, or the wall clock plus an offset.

    Time never goes backwards while the sandbox runs: tokens issued at an
    instant must not become valid again. `reset` is the one exception, used
    when the whole sandbox state is thrown away.
    """

    frozen_at: datetime | None = None
    offset: timedelta = timedelta(0)
    # What `reset` returns to: running on the wall clock, or frozen where it started.
    initial_frozen_at: datetime | None = None

    @classmethod
    def starting(cls, frozen_at: datetime | None = None) -> ClockState:
        """Return a clock that runs on the wall clock, or stands frozen at `frozen_at`."""
        at = truncate(_utc(frozen_at)) if frozen_at else None
        return cls(frozen_at=at, initial_frozen_at=at)

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    def now(self, wall: datetime) -> datetime:
        """Return the sandbox's instant when the machine's clock reads `wall`."""
        if self.frozen_at is not None:
            return self.frozen_at
        return truncate(wall + self.offset)

    def freeze(self, wall: datetime, at: datetime | None = None) -> ClockState:
        """Stop the clock, at `at` or at the current instant."""
        current = self.now(wall)
        _not_before(at, current)
        target = truncate(_utc(at)) if at else current
        if target < current:
            raise ClockError("the clock only moves forward")
        _check_range(target)
        return replace(self, frozen_at=target)

    def unfreeze(self, wall: datetime) -> ClockState:
        """Let the clock run again from where it stands."""
        return replace(self, frozen_at=None, offset=self.now(wall) - wall)

    def advance(self, wall: datetime, by: timedelta) -> ClockState:
        """Move the clock forward by a non-negative duration."""
        if by < timedelta(0):
            raise ClockError("the clock only moves forward")
        _check_range(self.now(wall) + by)
        if self.frozen_at is not None:
            return replace(self, frozen_at=truncate(self.frozen_at + by))
        return replace(self, offset=self.offset + by)

    def advance_to(self, wall: datetime, at: datetime) -> ClockState:
        """Move the clock forward to an instant that is not in its past."""
        _not_before(at, self.now(wall))
        return self.advance(wall, _utc(at) - self.now(wall))

    def reset(self) -> ClockState:
        """Return to the clock's initial setting (the wall clock, or its first freeze)."""
        return ClockState(self.initial_frozen_at, timedelta(0), self.initial_frozen_at)


def truncate(instant: datetime) -> datetime:
    """Drop what is finer than the clock's resolution (a millisecond)."""
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def _check_range(instant: datetime) -> None:
    if instant > LATEST:
        raise OverflowError(f"the clock cannot go past {LATEST.isoformat()}")


def _not_before(instant: datetime | None, now: datetime) -> None:
    """Refuse an instant before `now` as in the past, however far: compared as given, since
    in UTC one a few hours after the first instant (0001-01-01T00:00+01:00) cannot be held."""
    if instant is not None and instant.tzinfo is not None and instant < now:
        raise ClockError("the clock only moves forward")


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ClockError("instants must carry a UTC offset")
    return instant.astimezone(UTC)


_DURATION = re.compile(  # ASCII digits: `\d` would take Arabic-Indic ones too
    r"P(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?"
    r"(?:(?P<seconds>[0-9]+)(?:[.,](?P<fraction>[0-9]{1,3}))?S)?)?"
)
# Years and months have no fixed length; a fraction of a second finer than the clock's
# millisecond would be dropped unseen, so it is refused with the rest.
DURATION_TAKEN = (
    "ISO 8601 weeks, days, hours, minutes and seconds (to the millisecond), such as P1W2D, "
    "PT1H30M or PT0.5S; not years or months, which have no fixed length"
)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes and seconds, the seconds
    to the millisecond at most (P1W2D, PT1H30M, PT0.5S; `,` is ISO 8601's decimal sign too)."""
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not a duration the clock takes: {DURATION_TAKEN}: {text!r}")
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    fraction = match["fraction"]
    if fraction is not None:
        parts["milliseconds"] = int(fraction.ljust(3, "0"))
        del parts["fraction"]
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ValueError(f"duration too large: {text!r}") from None
