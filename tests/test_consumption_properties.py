"""Properties of the consumption rules, on generated devices (hypothesis).

Reading series are monotonic, at whole-second or whole-minute instants between September
2025 and May 2027 (four DST changes, two 1 January billing dates), drawn near those
instants as often as anywhere. Each instant is written either as readings.json writes it
(a fixed UTC offset), in UTC, or with the Europe/Berlin `ZoneInfo`; the last only outside
the repeated autumn hour, where `datetime` comparisons are not comparisons of instants;
the tests at the end cover that hour on its own.

Every check here compares instants in UTC and computes its expectations from the
readings, not from the code under test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from math import floor
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from messpunkt.metering.consumption import (
    GapCause,
    MeasuringPointConsumption,
    Window,
    device_segments,
    measuring_point_consumption,
    unit_consumption,
)
from messpunkt.metering.model import (
    Device,
    MeasuringPoint,
    Metric,
    Quality,
    Reading,
    Reason,
)

BERLIN = ZoneInfo("Europe/Berlin")
FIRST = datetime(2025, 9, 1, tzinfo=UTC)
LAST = datetime(2027, 5, 1, tzinfo=UTC)
DST_CHANGES = (
    datetime(2025, 10, 26, 1, tzinfo=UTC),  # 03:00 CEST -> 02:00 CET
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # 02:00 CET -> 03:00 CEST
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2027, 3, 28, 1, tzinfo=UTC),
)
BILLING_DATES = (  # 1 January 00:00 in Berlin
    datetime(2025, 12, 31, 23, tzinfo=UTC),
    datetime(2026, 12, 31, 23, tzinfo=UTC),
)
ANCHORS = DST_CHANGES + BILLING_DATES
METERS = (Metric.WATER_WARM, Metric.WATER_COLD, Metric.HEAT)

# Deterministic for CI: the same examples on every run, nothing read from or written to
# a database. `deadline=None`: the first example pays for imports and zoneinfo loading.
PROPERTY = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def as_written(instant: datetime) -> datetime:
    """The instant as readings.json writes it: Berlin's offset of the moment, fixed."""
    return instant.astimezone(timezone(instant.astimezone(BERLIN).utcoffset()))


def in_berlin(instant: datetime) -> datetime:
    """The instant with the Europe/Berlin ZoneInfo, outside the repeated autumn hour."""
    local = instant.astimezone(BERLIN)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        # Ambiguous wall time: see the xfail tests at the end of this file.
        return as_written(instant)
    return local


def in_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


Representation = Callable[[datetime], datetime]
REPRESENTATIONS: tuple[Representation, ...] = (as_written, in_berlin, in_utc)


def exponent(value: Decimal) -> int:
    e = value.as_tuple().exponent
    assert isinstance(e, int), value
    return e


def steps(metric: Metric, most: int) -> st.SearchStrategy[Decimal]:
    """Non-negative multiples of the metric's precision, small ones as often as large."""
    return st.one_of(st.integers(0, 9), st.integers(0, most)).map(lambda k: k * metric.precision)


def instants(granularity: int) -> st.SearchStrategy[datetime]:
    """UTC instants on a whole-second or whole-minute grid, often near a DST change or 1 Jan."""
    step = timedelta(seconds=granularity)
    reach = 3 * 3600 // granularity
    near = st.builds(
        lambda anchor, k: anchor + k * step, st.sampled_from(ANCHORS), st.integers(-reach, reach)
    )
    count = int((LAST - FIRST) / step)
    anywhere = st.integers(0, count).map(lambda k: FIRST + k * step)
    return st.one_of(near, anywhere)


@dataclass(frozen=True)
class Scenario:
    """The devices of one measuring point, oldest first."""

    metric: Metric
    devices: tuple[Device, ...]

    @property
    def point(self) -> MeasuringPoint:
        return MeasuringPoint("mp", "unit", self.metric, "Bad")

    def moments(self) -> list[datetime]:
        """Every instant the devices know of, in UTC."""
        known = {utc(r.timestamp) for d in self.devices for r in d.readings}
        known |= {utc(d.installed_at) for d in self.devices}
        known |= {utc(d.removed_at) for d in self.devices if d.removed_at is not None}
        return sorted(known)


def make_device(
    device_id: str,
    metric: Metric,
    stamps: Sequence[datetime],
    values: Sequence[Decimal],
    reasons: Sequence[Reason],
    qualities: Sequence[Quality],
    installed_at: datetime,
    removed_at: datetime | None,
    represent: Representation,
) -> Device:
    return Device.create(
        id=device_id,
        measuring_point_id="mp",
        metric=metric,
        serial_number=f"SN-{device_id}",
        manufacturer="Techem",
        model="radio 5",
        installed_at=represent(installed_at),
        removed_at=None if removed_at is None else represent(removed_at),
        readings=tuple(
            Reading(represent(t), v, q, r)
            for t, v, r, q in zip(stamps, values, reasons, qualities, strict=True)
        ),
    )


@st.composite
def stamps(draw: st.DrawFn, least: int, most: int) -> list[datetime]:
    granularity = draw(st.sampled_from((60, 1)))
    return sorted(draw(st.lists(instants(granularity), min_size=least, max_size=most, unique=True)))


@st.composite
def installation(
    draw: st.DrawFn, first: datetime, last: datetime, *, removal: bool = True
) -> tuple[datetime, datetime | None, bool, bool]:
    """installed_at, removed_at, and whether the first/last readings are their readings."""
    before = draw(st.sampled_from((timedelta(0), timedelta(minutes=1), timedelta(days=9))))
    after = draw(st.sampled_from((None, timedelta(0), timedelta(seconds=1), timedelta(days=20))))
    if not removal:
        after = None
    removed_at = None if after is None else last + after
    return first - before, removed_at, not before, after == timedelta(0)


@st.composite
def meters(draw: st.DrawFn) -> Scenario:
    """One water or heat meter."""
    metric = draw(st.sampled_from(METERS))
    times = draw(stamps(2, 10))
    start = draw(steps(metric, 10**6))
    values = [start]
    for _ in times[1:]:
        values.append(values[-1] + draw(steps(metric, 50_000)))
    installed_at, removed_at, installed_here, removed_here = draw(installation(times[0], times[-1]))
    reasons = [Reason.PERIODIC] * len(times)
    if installed_here:
        reasons[0] = Reason.INSTALLATION
    if removed_here:
        reasons[-1] = Reason.REMOVAL
    quality = st.sampled_from((Quality.MEASURED, Quality.ESTIMATED))
    qualities = draw(st.lists(quality, min_size=len(times), max_size=len(times)))
    represent = draw(st.sampled_from(REPRESENTATIONS))
    device = make_device(
        "meter", metric, times, values, reasons, qualities, installed_at, removed_at, represent
    )
    return Scenario(metric, (device,))


@st.composite
def swaps(draw: st.DrawFn) -> Scenario:
    """An old meter removed at the instant its successor is installed, both read there."""
    metric = draw(st.sampled_from(METERS))
    times = draw(stamps(3, 12))
    at = draw(st.integers(1, len(times) - 2))
    old_times, new_times = times[: at + 1], times[at:]
    old_values = [draw(steps(metric, 10**6))]
    for _ in old_times[1:]:
        old_values.append(old_values[-1] + draw(steps(metric, 50_000)))
    new_values = [draw(steps(metric, 1000))]  # a new register starts near zero
    for _ in new_times[1:]:
        new_values.append(new_values[-1] + draw(steps(metric, 50_000)))
    installed_at, _, installed_here, _ = draw(installation(times[0], times[0], removal=False))
    _, removed_at, _, removed_here = draw(installation(times[-1], times[-1]))
    old_reasons = [Reason.PERIODIC] * (len(old_times) - 1) + [Reason.REMOVAL]
    if installed_here:
        old_reasons[0] = Reason.INSTALLATION
    new_reasons = [Reason.INSTALLATION] + [Reason.PERIODIC] * (len(new_times) - 1)
    if removed_here:
        new_reasons[-1] = Reason.REMOVAL
    old = make_device(
        "old", metric, old_times, old_values, old_reasons, [Quality.MEASURED] * len(old_times),
        installed_at, times[at], draw(st.sampled_from(REPRESENTATIONS)),
    )  # fmt: skip
    new = make_device(
        "new", metric, new_times, new_values, new_reasons, [Quality.MEASURED] * len(new_times),
        times[at], removed_at, draw(st.sampled_from(REPRESENTATIONS)),
    )  # fmt: skip
    return Scenario(metric, (old, new))


@st.composite
def allocators(draw: st.DrawFn, *, reset_readings: bool = True) -> Scenario:
    """A heat cost allocator, read at every 1 January it lives through unless told not to."""
    metric = Metric.HEAT_ALLOCATION
    times = set(draw(stamps(2, 10)))
    if reset_readings:
        times |= {b for b in BILLING_DATES if min(times) <= b <= max(times)}
    else:
        times -= set(BILLING_DATES)
        if len(times) < 2:
            times |= {BILLING_DATES[0] - timedelta(days=30), BILLING_DATES[0] + timedelta(days=30)}
    ordered = sorted(times)
    count = draw(steps(metric, 5000))
    values, reasons = [], []
    for index, t in enumerate(ordered):
        if index:
            if any(ordered[index - 1] < b < t for b in BILLING_DATES):
                count = Decimal(0)  # reset on 1 January, but nobody read it (an outage)
            count += draw(steps(metric, 2000))
        values.append(count)
        if t in BILLING_DATES:
            reasons.append(Reason.BILLING_DATE_RESET)
            count = Decimal(0)
        else:
            reasons.append(Reason.PERIODIC)
    installed_at, removed_at, installed_here, removed_here = draw(
        installation(ordered[0], ordered[-1])
    )
    if installed_here and reasons[0] is Reason.PERIODIC:
        reasons[0] = Reason.INSTALLATION
    if removed_here and reasons[-1] is Reason.PERIODIC:
        reasons[-1] = Reason.REMOVAL
    device = make_device(
        "hca", metric, ordered, values, reasons, [Quality.MEASURED] * len(ordered),
        installed_at, removed_at, draw(st.sampled_from(REPRESENTATIONS)),
    )  # fmt: skip
    return Scenario(metric, (device,))


SCENARIOS = st.one_of(meters(), swaps(), allocators())


@st.composite
def bounds(draw: st.DrawFn, scenario: Scenario, count: int) -> list[datetime]:
    """`count` distinct instants in time order, often ones the devices know, each written
    in one of the representations."""
    moment = st.one_of(st.sampled_from(scenario.moments()), instants(1), instants(60))
    chosen = sorted(draw(st.lists(moment, min_size=count, max_size=count, unique=True)))
    return [draw(st.sampled_from(REPRESENTATIONS))(t) for t in chosen]


@st.composite
def windows(draw: st.DrawFn, scenarios: st.SearchStrategy[Scenario] = SCENARIOS):
    scenario = draw(scenarios)
    start, end = draw(bounds(scenario, 2))
    return scenario, Window(start, end)


@st.composite
def covering_windows(draw: st.DrawFn, scenarios: st.SearchStrategy[Scenario]):
    """A window from at or before the first reading to at or after the last one."""
    scenario = draw(scenarios)
    moments = scenario.moments()
    first = min(utc(d.readings[0].timestamp) for d in scenario.devices)
    last = max(utc(d.readings[-1].timestamp) for d in scenario.devices)
    early = draw(st.sampled_from([first, *(m for m in moments if m < first)]))
    late = draw(st.sampled_from([last, *(m for m in moments if m > last)]))
    represent = st.sampled_from(REPRESENTATIONS)
    return scenario, Window(draw(represent)(early), draw(represent)(late))


def consumption(scenario: Scenario, window: Window) -> MeasuringPointConsumption:
    return measuring_point_consumption(scenario.point, scenario.devices, window)


def recorded_at(device: Device, instant: datetime) -> Reading | None:
    return next((r for r in device.readings if utc(r.timestamp) == utc(instant)), None)


def neighbours(device: Device, instant: datetime) -> tuple[Reading, Reading]:
    before = [r for r in device.readings if utc(r.timestamp) < utc(instant)]
    after = [r for r in device.readings if utc(r.timestamp) > utc(instant)]
    assert before, f"{instant} is before the first reading: extrapolated"
    assert after, f"{instant} is after the last reading: extrapolated"
    return before[-1], after[0]


def opening_value(reading: Reading) -> Decimal:
    """What a register reads just after `reading`: 0 after a billing date reset."""
    if reading.reason is Reason.BILLING_DATE_RESET:
        return Decimal(0) * reading.value  # zero at the reading's own exponent
    return reading.value


def billing_dates_inside(start: datetime, end: datetime) -> list[datetime]:
    return [b for b in BILLING_DATES if utc(start) < b < utc(end)]


# Splitting -------------------------------------------------------------------------------------


@st.composite
def split_windows(draw: st.DrawFn):
    scenario = draw(SCENARIOS)
    start, middle, end = draw(bounds(scenario, 3))
    return scenario, start, middle, end


@PROPERTY
@given(case=split_windows())
def test_splitting_a_window_at_any_instant_keeps_the_total_exactly(case):
    scenario, start, middle, end = case

    whole = consumption(scenario, Window(start, end))
    left = consumption(scenario, Window(start, middle))
    right = consumption(scenario, Window(middle, end))

    event("both parts complete" if left.complete and right.complete else "a part has a gap")
    assert whole.consumption == left.consumption + right.consumption
    assert exponent(whole.consumption) == exponent(left.consumption + right.consumption)
    assert whole.complete is (left.complete and right.complete)


# Meter swaps -----------------------------------------------------------------------------------


@PROPERTY
@given(case=covering_windows(swaps()))
def test_a_meter_swap_totals_exactly_the_two_registers_own_differences(case):
    scenario, window = case
    old, new = scenario.devices

    result = consumption(scenario, window)

    expected = (old.readings[-1].value - old.readings[0].value) + (
        new.readings[-1].value - new.readings[0].value
    )
    assert result.consumption == expected
    assert exponent(result.consumption) == exponent(scenario.metric.precision)
    first, second = result.segments
    assert (first.device.id, second.device.id) == ("old", "new")
    assert utc(first.end) == utc(second.start) == utc(old.removed_at) == utc(new.installed_at)
    assert first.readings[1] is old.readings[-1]  # the removal reading, as recorded
    assert second.readings[0] is new.readings[0]  # the installation reading, as recorded
    assert first.readings[1].reason is Reason.REMOVAL
    assert second.readings[0].reason is Reason.INSTALLATION


# Interpolation ---------------------------------------------------------------------------------


@PROPERTY
@given(case=windows())
def test_a_segment_bound_is_the_recorded_reading_there_or_one_interpolated_between_neighbours(
    case,
):
    scenario, window = case
    precision = exponent(scenario.metric.precision)

    for segment in consumption(scenario, window).segments:
        device = segment.device
        for reading, instant in zip(segment.readings, (segment.start, segment.end), strict=True):
            assert utc(reading.timestamp) == utc(instant)
            recorded = recorded_at(device, instant)
            if recorded is not None:
                event("bound on a recorded reading")
                value = recorded.value
                if instant is segment.start:
                    value = opening_value(recorded)
                assert (reading.value, reading.quality, reading.reason) == (
                    value,
                    recorded.quality,
                    recorded.reason,
                )
                continue
            event("bound interpolated")
            before, after = neighbours(device, instant)
            assert opening_value(before) <= reading.value <= after.value
            assert exponent(reading.value) == precision
            assert (reading.quality, reading.reason) == (
                Quality.INTERPOLATED,
                Reason.WINDOW_BOUNDARY,
            )


def linear(before: Reading, after: Reading, instant: datetime) -> Fraction:
    """The register's value at `instant`, linear in elapsed time between two readings."""
    low = Fraction(opening_value(before))
    share = Fraction(
        int((utc(instant) - utc(before.timestamp)).total_seconds()),
        int((utc(after.timestamp) - utc(before.timestamp)).total_seconds()),
    )
    return low + (Fraction(after.value) - low) * share


@PROPERTY
@given(case=windows())
def test_an_interpolated_value_is_the_linear_value_in_elapsed_time_to_the_nearest_unit(case):
    scenario, window = case
    half = Fraction(scenario.metric.precision) / 2

    for segment in consumption(scenario, window).segments:
        for reading, instant in zip(segment.readings, (segment.start, segment.end), strict=True):
            if reading.quality is Quality.INTERPOLATED:
                before, after = neighbours(segment.device, instant)
                assert abs(Fraction(reading.value) - linear(before, after, instant)) <= half


_FRESH_METER_AT = datetime(2026, 6, 1, 10, tzinfo=UTC)
_FRESH_METER = Scenario(
    Metric.WATER_COLD,
    (
        make_device(
            "fresh",
            Metric.WATER_COLD,
            [_FRESH_METER_AT, _FRESH_METER_AT + timedelta(hours=6)],
            [Decimal("0.000"), Decimal("0.003")],
            [Reason.INSTALLATION, Reason.PERIODIC],
            [Quality.MEASURED, Quality.MEASURED],
            _FRESH_METER_AT,
            None,
            as_written,
        ),
    ),
)


@PROPERTY
@example(
    case=(_FRESH_METER, Window(_FRESH_METER_AT + timedelta(hours=1), LAST)),
)
@given(case=windows())
def test_an_interpolated_value_is_the_linear_value_rounded_half_up_once(case):
    scenario, window = case

    for segment in consumption(scenario, window).segments:
        for reading, instant in zip(segment.readings, (segment.start, segment.end), strict=True):
            if reading.quality is Quality.INTERPOLATED:
                before, after = neighbours(segment.device, instant)
                units = linear(before, after, instant) / Fraction(scenario.metric.precision)
                # Half up, and only once: floor(units + 1/2) (register values are >= 0).
                assert reading.value == floor(units + Fraction(1, 2)) * scenario.metric.precision


# Exact decimals --------------------------------------------------------------------------------


@PROPERTY
@given(case=windows())
def test_every_value_is_an_exact_decimal_at_the_metrics_precision_and_totals_add_up(case):
    scenario, window = case
    precision = exponent(scenario.metric.precision)

    result = consumption(scenario, window)

    for segment in result.segments:
        for reading in segment.readings:
            assert type(reading.value) is Decimal
            assert exponent(reading.value) == precision
        assert type(segment.consumption) is Decimal
        assert exponent(segment.consumption) == precision
        assert segment.consumption == segment.readings[1].value - segment.readings[0].value
        assert segment.consumption >= 0
    assert type(result.consumption) is Decimal
    assert exponent(result.consumption) == precision
    assert result.consumption == sum(
        (s.consumption for s in result.segments), Decimal(0) * scenario.metric.precision
    )
    report = unit_consumption([(scenario.point, scenario.devices)], window, {scenario.metric})
    total = report.totals()[scenario.metric]
    assert list(report.totals()) == [scenario.metric]
    assert (total.value, total.complete) == (result.consumption, result.complete)
    assert exponent(total.value) == precision


# Never extrapolated ----------------------------------------------------------------------------


def clipped(low: Sequence[datetime], high: Sequence[datetime | None]):
    start = max(utc(t) for t in low)
    end = min(utc(t) for t in high if t is not None)
    return (start, end) if start < end else None


def expected_spans(scenario: Scenario, window: Window) -> list[tuple[str, datetime, datetime]]:
    """Each device's installation window ∩ the query window ∩ each span of one register run
    (between billing date resets), computed from the readings."""
    spans = []
    for device in scenario.devices:
        resets = [i for i, r in enumerate(device.readings) if r.reason is Reason.BILLING_DATE_RESET]
        cuts = [0, *resets, len(device.readings) - 1]
        for a, b in pairwise(sorted(set(cuts))):
            span = clipped(
                (window.start, device.installed_at, device.readings[a].timestamp),
                (window.end, device.removed_at, device.readings[b].timestamp),
            )
            if span is not None:
                spans.append((device.id, *span))
    return spans


@PROPERTY
@given(case=windows())
def test_segments_are_never_extrapolated_and_with_the_gaps_they_tile_the_window(case):
    scenario, window = case

    result = consumption(scenario, window)

    assert [(s.device.id, utc(s.start), utc(s.end)) for s in result.segments] == (
        expected_spans(scenario, window)
    )
    for segment in result.segments:
        first, last = segment.device.readings[0], segment.device.readings[-1]
        assert utc(first.timestamp) <= utc(segment.start) < utc(segment.end)
        assert utc(segment.end) <= utc(last.timestamp)
        assert utc(window.start) <= utc(segment.start) and utc(segment.end) <= utc(window.end)
    pieces = sorted(
        [(utc(s.start), utc(s.end), "segment") for s in result.segments]
        + [(utc(g.start), utc(g.end), f"gap {g.cause}") for g in result.gaps]
    )
    cursor = utc(window.start)
    for (start, end, kind), following in zip(pieces, [*pieces[1:], None], strict=True):
        assert start == cursor and start < end
        # Gaps are whole: two in a row only where their cause changes.
        assert not (kind.startswith("gap") and following is not None and following[2] == kind)
        cursor = end
    assert cursor == utc(window.end)
    assert result.complete is (result.gaps == ())
    event("complete" if result.complete else f"{len(result.gaps)} gap(s)")
    moments = {utc(m) for d in scenario.devices for m in (d.installed_at, d.removed_at) if m}
    for gap in result.gaps:
        # One cause for every part of a gap: cut where a device came or went, each part is
        # no_readings exactly when some device was installed in it.
        cuts = sorted(m for m in moments if utc(gap.start) < m < utc(gap.end))
        for low, high in zip([utc(gap.start), *cuts], [*cuts, utc(gap.end)], strict=True):
            installed = any(
                utc(d.installed_at) < high and (d.removed_at is None or utc(d.removed_at) > low)
                for d in scenario.devices
            )
            assert gap.cause is (
                GapCause.NO_READINGS if installed else GapCause.NO_DEVICE_INSTALLED
            )


# Heat cost allocators --------------------------------------------------------------------------


@PROPERTY
@given(case=windows(allocators()))
def test_a_heat_cost_allocator_segment_never_spans_1_january(case):
    scenario, window = case

    result = consumption(scenario, window)

    for segment in result.segments:
        assert billing_dates_inside(segment.start, segment.end) == []
        assert segment.consumption >= 0
    spans = billing_dates_inside(window.start, window.end)
    event("window spans 1 January" if spans else "window within one billing period")


@PROPERTY
@given(case=covering_windows(allocators()))
def test_a_heat_cost_allocator_totals_each_billing_periods_count_from_zero(case):
    scenario, window = case
    (device,) = scenario.devices

    result = consumption(scenario, window)

    expected = sum((b.value - opening_value(a) for a, b in pairwise(device.readings)), Decimal(0))
    assert result.consumption == expected
    last = len(device.readings) - 1
    assert [utc(s.end) for s in result.segments] == [
        utc(r.timestamp)
        for i, r in enumerate(device.readings)
        if i and (r.reason is Reason.BILLING_DATE_RESET or i == last)
    ]


def _allocator_without_reset_reading() -> Scenario:
    """Read on 1 December (560) and 1 February (600): the January reset went unread, and by
    February the fresh register had counted past December's figure."""
    december, february = (
        datetime(2025, 11, 30, 23, tzinfo=UTC),
        datetime(2026, 1, 31, 23, tzinfo=UTC),
    )
    device = make_device(
        "hca", Metric.HEAT_ALLOCATION, [december, february], [Decimal(560), Decimal(600)],
        [Reason.PERIODIC, Reason.PERIODIC], [Quality.MEASURED] * 2, december, None, as_written,
    )  # fmt: skip
    return Scenario(Metric.HEAT_ALLOCATION, (device,))


@PROPERTY
@example(case=(_allocator_without_reset_reading(), Window(FIRST, LAST)))
@given(case=windows(allocators(reset_readings=False)))
def test_a_heat_cost_allocator_missing_its_reset_reading_never_spans_1_january(case):
    scenario, window = case

    for segment in consumption(scenario, window).segments:
        assert billing_dates_inside(segment.start, segment.end) == []


# The repeated autumn hour, written with ZoneInfo -----------------------------------------------

# 2026-10-25 02:30 CEST and, forty minutes later, 02:10 CET: the same tzinfo, so Python
# compares their wall-clock times (02:30 > 02:10), not the instants.
AUTUMN_0230_CEST = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
AUTUMN_0210_CET = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)


def _reading(instant: datetime, value: str) -> Reading:
    return Reading(instant, Decimal(value), Quality.MEASURED, Reason.PERIODIC)


def test_readings_in_the_repeated_autumn_hour_written_in_berlin_time_are_in_time_order():
    first, second = AUTUMN_0230_CEST.astimezone(BERLIN), AUTUMN_0210_CET.astimezone(BERLIN)
    assert (first.fold, second.fold, utc(first) < utc(second)) == (0, 1, True)

    meter = Device.create(
        id="m",
        measuring_point_id="mp",
        metric=Metric.WATER_WARM,
        serial_number="SN-m",
        manufacturer="Techem",
        model="radio 5",
        installed_at=first,
        removed_at=None,
        readings=(_reading(first, "1.000"), _reading(second, "1.250")),
    )
    (segment,) = device_segments(meter, Window(first, second))

    assert segment.consumption == Decimal("0.250")


@pytest.mark.parametrize(
    "earlier",
    [
        pytest.param([], id="on-the-first-reading"),
        pytest.param([AUTUMN_0230_CEST - timedelta(days=1)], id="on-a-later-reading"),
    ],
)
def test_a_window_bound_written_in_berlin_time_on_a_reading_of_the_repeated_hour_uses_it(
    earlier,
):
    times = [*earlier, AUTUMN_0230_CEST, AUTUMN_0210_CET]
    readings = tuple(
        _reading(as_written(t), f"{k}.250") for k, t in enumerate(times, start=1)
    )  # as readings.json writes them
    meter = Device.create(
        id="m",
        measuring_point_id="mp",
        metric=Metric.WATER_WARM,
        serial_number="SN-m",
        manufacturer="Techem",
        model="radio 5",
        installed_at=readings[0].timestamp,
        removed_at=None,
        readings=readings,
    )
    bound = AUTUMN_0230_CEST.astimezone(BERLIN)  # 02:30 CEST, an ambiguous wall time
    recorded = readings[-2]
    assert utc(bound) == utc(recorded.timestamp)

    (segment,) = device_segments(meter, Window(bound, LAST))

    assert (segment.readings[0].value, segment.readings[0].quality) == (
        recorded.value,
        Quality.MEASURED,
    )
