"""The sandbox clock: following a source, freezing, moving forward only, and resetting.

Each rule is driven as a request drives it: a `ClockState` kept in a store and replaced
by each move, through the `SandboxClock` handle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from messpunkt.clock import ClockError, ClockState, system_time
from messpunkt.sandbox import SandboxClock, SandboxState
from messpunkt.stores.memory import InMemoryStore

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeSource:
    """A wall clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.current = now

    def __call__(self) -> datetime:
        return self.current

    def tick(self, by: timedelta) -> None:
        self.current += by


class Clock(SandboxClock):
    """A sandbox's clock over an in-memory store, read against the test's source."""

    def __init__(self, source: FakeSource, frozen_at: datetime | None = None) -> None:
        self.store = InMemoryStore(SandboxState(ClockState.starting(frozen_at), 1, "default", ""))
        super().__init__(self.store, source)

    def reset(self) -> datetime:
        return self.store.reset().clock.now(self._wall())


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


def test_a_running_clock_follows_its_source(source):
    clock = Clock(source)

    assert clock.frozen is False
    assert clock.now() == START
    source.tick(timedelta(minutes=7))
    assert clock.now() == START + timedelta(minutes=7)


def test_freeze_stops_the_clock_at_the_given_instant(source):
    clock = Clock(source)
    target = START + timedelta(hours=2)

    assert clock.freeze(target) == target
    source.tick(timedelta(hours=5))

    assert clock.frozen is True
    assert clock.now() == target


def test_freeze_without_an_instant_stops_the_clock_where_it_stands(source):
    clock = Clock(source)
    source.tick(timedelta(seconds=30))

    assert clock.freeze() == START + timedelta(seconds=30)
    source.tick(timedelta(hours=1))
    assert clock.now() == START + timedelta(seconds=30)


def test_freeze_converts_the_instant_to_utc(source):
    clock = Clock(source)

    frozen = clock.freeze(datetime(2026, 11, 23, 11, 0, tzinfo=ZoneInfo("Europe/Berlin")))

    assert frozen == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert frozen.tzinfo is UTC
    assert clock.now().tzinfo is UTC


@pytest.mark.parametrize("frozen_first", [False, True], ids=["running", "frozen"])
def test_freeze_refuses_an_instant_in_the_clocks_past(source, frozen_first):
    clock = Clock(source)
    if frozen_first:
        clock.freeze(START + timedelta(hours=1))
    before = clock.now()

    with pytest.raises(ClockError, match=r"^the clock only moves forward$"):
        clock.freeze(before - timedelta(microseconds=1))

    assert clock.frozen is frozen_first
    assert clock.now() == before


def test_a_frozen_clock_advances_by_a_duration(source):
    clock = Clock(source, frozen_at=START)

    assert clock.advance(timedelta(minutes=90)) == START + timedelta(minutes=90)
    source.tick(timedelta(days=1))
    assert clock.now() == START + timedelta(minutes=90)
    assert clock.frozen is True


def test_a_running_clock_advances_by_a_duration_and_keeps_running(source):
    clock = Clock(source)

    assert clock.advance(timedelta(hours=1)) == START + timedelta(hours=1)
    source.tick(timedelta(minutes=5))
    assert clock.now() == START + timedelta(hours=1, minutes=5)
    assert clock.frozen is False


def test_advancing_by_zero_leaves_the_clock_where_it_stands(source):
    clock = Clock(source, frozen_at=START)

    assert clock.advance(timedelta(0)) == START


@pytest.mark.parametrize("frozen", [False, True], ids=["running", "frozen"])
def test_a_negative_advance_is_refused(source, frozen):
    clock = Clock(source, frozen_at=START if frozen else None)

    with pytest.raises(ClockError, match=r"^the clock only moves forward$"):
        clock.advance(timedelta(microseconds=-1))

    assert clock.now() == START


@pytest.mark.parametrize("frozen", [False, True], ids=["running", "frozen"])
def test_advance_to_moves_the_clock_to_that_instant(source, frozen):
    clock = Clock(source, frozen_at=START if frozen else None)
    target = datetime(2026, 12, 24, 18, 0, tzinfo=timezone(timedelta(hours=1)))

    assert clock.advance_to(target) == datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    assert clock.frozen is frozen
    source.tick(timedelta(seconds=10))
    expected = target if frozen else target + timedelta(seconds=10)
    assert clock.now() == expected


@pytest.mark.parametrize("frozen", [False, True], ids=["running", "frozen"])
def test_advance_to_an_instant_in_the_past_is_refused(source, frozen):
    clock = Clock(source, frozen_at=START if frozen else None)

    with pytest.raises(ClockError, match=r"^the clock only moves forward$"):
        clock.advance_to(START - timedelta(seconds=1))

    assert clock.now() == START


NAIVE = datetime(2026, 11, 23, 12, 0)


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda clock: clock.freeze(NAIVE), id="freeze"),
        pytest.param(lambda clock: clock.advance_to(NAIVE), id="advance_to"),
        pytest.param(lambda clock: Clock(clock.now, frozen_at=NAIVE), id="frozen_at"),
    ],
)
def test_naive_datetimes_are_refused(source, action):
    clock = Clock(source)

    with pytest.raises(ClockError, match=r"^instants must carry a UTC offset$"):
        action(clock)

    assert clock.frozen is False
    assert clock.now() == START


def test_unfreeze_lets_the_clock_run_on_from_where_it_stood(source):
    clock = Clock(source)
    clock.freeze(START + timedelta(hours=3))
    source.tick(timedelta(minutes=20))

    assert clock.unfreeze() == START + timedelta(hours=3)
    source.tick(timedelta(minutes=1))

    assert clock.frozen is False
    assert clock.now() == START + timedelta(hours=3, minutes=1)


def test_reset_returns_a_running_clock_to_its_source(source):
    clock = Clock(source)
    clock.advance(timedelta(days=2))
    clock.freeze()

    assert clock.reset() == START
    assert clock.frozen is False
    source.tick(timedelta(seconds=1))
    assert clock.now() == START + timedelta(seconds=1)


def test_reset_returns_a_clock_created_frozen_to_its_first_freeze(source):
    clock = Clock(source, frozen_at=START)
    clock.advance(timedelta(days=2))
    clock.unfreeze()
    clock.advance(timedelta(hours=1))

    assert clock.reset() == START
    assert clock.frozen is True
    source.tick(timedelta(hours=1))
    assert clock.now() == START


def test_system_time_is_the_wall_clock_as_aware_utc():
    with freeze_time("2026-11-23 09:00:00"):
        now = system_time()

    assert now == START
    assert now.tzinfo is UTC
    assert now.utcoffset() == timedelta(0)
