"""Consumption of hand-built devices: segments, boundaries, gaps, resets and exact decimals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from messpunkt.metering.consumption import (
    DeviceSegment,
    Gap,
    GapCause,
    Window,
    device_segments,
    measuring_point_consumption,
    unit_consumption,
)
from messpunkt.metering.model import Device, MeasuringPoint, Metric, Quality, Reading, Reason

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    """An instant written as in readings.json, with its explicit UTC offset."""
    return datetime.fromisoformat(text)


def reading(
    timestamp: str | datetime,
    value: str,
    reason: Reason = Reason.PERIODIC,
    quality: Quality = Quality.MEASURED,
) -> Reading:
    instant = at(timestamp) if isinstance(timestamp, str) else timestamp
    return Reading(instant, Decimal(value), quality, reason)


def device(
    device_id: str,
    readings: list[Reading],
    *,
    metric: Metric = Metric.WATER_WARM,
    installed_at: str = "2020-03-02T08:00:00+01:00",
    removed_at: str | None = None,
    point_id: str = "mp-1",
) -> Device:
    return Device.create(
        id=device_id,
        measuring_point_id=point_id,
        metric=metric,
        serial_number=f"SN-{device_id}",
        manufacturer="Techem",
        model="radio 5",
        installed_at=at(installed_at),
        removed_at=None if removed_at is None else at(removed_at),
        readings=tuple(readings),
    )


def point(metric: Metric = Metric.WATER_WARM, point_id: str = "mp-1") -> MeasuringPoint:
    return MeasuringPoint(point_id, "unit-1", metric, "Bad")


def yearly(point_id: str, metric: Metric, start: str, end: str) -> Device:
    """A device of `point_id` read on 2026-01-01 and 2027-01-01 only."""
    return device(
        f"d-{point_id}",
        [
            reading("2026-01-01T00:00:00+01:00", start),
            reading("2027-01-01T00:00:00+01:00", end),
        ],
        metric=metric,
        point_id=point_id,
    )


def window(first: date, last: date) -> Window:
    return Window.from_dates(first, last, BERLIN)


def monthly(year: int, months: range, values: list[str]) -> list[Reading]:
    """Periodic readings at 00:00 Berlin time on the 1st of each month."""
    assert len(months) == len(values)
    return [
        reading(datetime(year + (m - 1) // 12, (m - 1) % 12 + 1, 1, tzinfo=BERLIN), value)
        for m, value in zip(months, values, strict=True)
    ]


# Meter swap ------------------------------------------------------------------------------------

SWAP = "2026-09-15T10:30:00+02:00"
OLD_METER = device(
    "old",
    [
        reading("2026-01-01T00:00:00+01:00", "100.000"),
        reading("2026-09-01T00:00:00+02:00", "130.500"),
        reading(SWAP, "131.234", Reason.REMOVAL),
    ],
    removed_at=SWAP,
)
NEW_METER = device(
    "new",
    [
        reading(SWAP, "0.012", Reason.INSTALLATION),
        reading("2026-10-01T00:00:00+02:00", "1.000"),
        reading("2026-11-01T00:00:00+01:00", "2.500"),
        reading("2026-12-01T00:00:00+01:00", "4.000"),
        reading("2027-01-01T00:00:00+01:00", "5.626"),
    ],
    installed_at=SWAP,
)


def test_meter_swap_gives_two_segments_whose_differences_sum_to_the_total():
    year = window(date(2026, 1, 1), date(2026, 12, 31))
    # Passed out of order on purpose: segments come in installation order.
    result = measuring_point_consumption(point(), [NEW_METER, OLD_METER], year)

    old, new = result.segments
    assert (old.device.id, new.device.id) == ("old", "new")
    assert (old.start, old.end) == (year.start, at(SWAP))
    assert (new.start, new.end) == (at(SWAP), year.end)
    assert old.consumption == Decimal("31.234")  # 131.234 - 100.000
    assert new.consumption == Decimal("5.614")  # 5.626 - 0.012
    assert result.consumption == Decimal("36.848")
    assert result.consumption == old.consumption + new.consumption
    assert result.gaps == ()
    assert result.complete is True


def test_meter_swap_uses_the_removal_and_installation_readings_at_the_boundary():
    year = window(date(2026, 1, 1), date(2026, 12, 31))
    old, new = measuring_point_consumption(point(), [OLD_METER, NEW_METER], year).segments

    assert old.readings[1] == reading(SWAP, "131.234", Reason.REMOVAL)
    assert new.readings[0] == reading(SWAP, "0.012", Reason.INSTALLATION)
    assert old.readings[1].quality is Quality.MEASURED
    assert new.readings[0].quality is Quality.MEASURED
    # Both windows' own start readings are recorded ones too, nothing is interpolated.
    assert old.readings[0] == reading("2026-01-01T00:00:00+01:00", "100.000")
    assert new.readings[1] == reading("2027-01-01T00:00:00+01:00", "5.626")


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (date(2026, 9, 1), date(2026, 9, 30), ["old", "new"]),
        (date(2026, 1, 1), date(2026, 8, 31), ["old"]),
        (date(2026, 10, 1), date(2026, 12, 31), ["new"]),
    ],
)
def test_meter_swap_lists_only_the_devices_installed_in_the_window(first, last, expected):
    result = measuring_point_consumption(point(), [OLD_METER, NEW_METER], window(first, last))

    assert [s.device.id for s in result.segments] == expected
    assert result.complete is True


# Clipping --------------------------------------------------------------------------------------

LONG_RUNNING = device(
    "long",
    monthly(2025, range(1, 25), [f"{10 * k}.{k:03d}" for k in range(1, 25)]),
)


def test_a_segment_is_clipped_to_the_window_bounds():
    spring = window(date(2026, 3, 1), date(2026, 5, 31))

    (segment,) = device_segments(LONG_RUNNING, spring)

    assert segment.start == spring.start
    assert segment.end == spring.end
    assert segment.start.isoformat() == "2026-03-01T00:00:00+01:00"
    assert segment.end.isoformat() == "2026-06-01T00:00:00+02:00"
    # The bounds fall on monthly readings (2026-03 is the 15th, 2026-06 the 18th).
    assert segment.readings == (
        reading(datetime(2026, 3, 1, tzinfo=BERLIN), "150.015"),
        reading(datetime(2026, 6, 1, tzinfo=BERLIN), "180.018"),
    )
    assert segment.consumption == Decimal("30.003")


@pytest.mark.parametrize(
    ("installed_at", "removed_at"),
    [
        ("2025-01-01T00:00:00+01:00", "2026-02-10T12:00:00+01:00"),  # removed before the window
        ("2025-01-01T00:00:00+01:00", "2026-03-01T00:00:00+01:00"),  # removed at its start
        ("2026-06-01T00:00:00+02:00", None),  # installed at its (exclusive) end
        ("2026-07-15T09:00:00+02:00", None),  # installed after it
    ],
)
def test_a_device_entirely_outside_the_window_is_left_out(installed_at, removed_at):
    spring = window(date(2026, 3, 1), date(2026, 5, 31))
    outside = device(
        "outside",
        [
            reading(installed_at, "1.000", Reason.INSTALLATION),
            reading("2027-01-01T00:00:00+01:00", "2.000")
            if removed_at is None
            else reading(removed_at, "2.000", Reason.REMOVAL),
        ],
        installed_at=installed_at,
        removed_at=removed_at,
    )

    assert device_segments(outside, spring) == []
    result = measuring_point_consumption(point(), [outside, LONG_RUNNING], spring)
    assert [s.device.id for s in result.segments] == ["long"]
    assert result.consumption == Decimal("30.003")


# Interpolation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # Half-way between 2026-06-01 and 2026-06-03: v = before + (after - before) * 24/48 h.
        ("10.000", "13.100", "11.550"),  # exact
        # Ties round half up (kaufmännisch), as German billing does:
        ("1.000", "1.001", "1.001"),  # 1.0005 -> half up -> 1.001 (half to even: 1.000)
        ("1.001", "1.002", "1.002"),  # 1.0015 -> half up -> 1.002 (half down: 1.001)
        ("2.000", "2.003", "2.002"),  # 2.0015 -> 2.002
        ("3.002", "3.003", "3.003"),  # 3.0025 -> half up -> 3.003 (half to even: 3.002)
        ("3.002", "3.004", "3.003"),  # 3.003 exact: no rounding at all
    ],
)
def test_a_boundary_between_readings_is_interpolated_and_rounded_half_up(before, after, expected):
    meter = device(
        "m",
        [
            reading("2026-06-01T00:00:00+02:00", before),
            reading("2026-06-03T00:00:00+02:00", after),
        ],
    )
    day = window(date(2026, 6, 2), date(2026, 6, 2))

    (segment,) = device_segments(meter, day)

    start = segment.readings[0]
    assert start == Reading(
        day.start, Decimal(expected), Quality.INTERPOLATED, Reason.WINDOW_BOUNDARY
    )
    assert str(start.value) == expected
    # The window's end falls on a recorded reading, which is used as it is.
    assert segment.readings[1] == reading("2026-06-03T00:00:00+02:00", after)
    assert segment.consumption == Decimal(after) - Decimal(expected)


def test_both_window_bounds_are_interpolated_between_their_neighbouring_readings():
    meter = device(
        "m",
        [
            reading("2026-05-01T00:00:00+02:00", "50.000"),
            reading("2026-06-01T00:00:00+02:00", "53.100"),
            reading("2026-07-01T00:00:00+02:00", "56.200"),
        ],
    )
    span = window(date(2026, 5, 11), date(2026, 6, 20))

    (segment,) = device_segments(meter, span)

    # 50.000 + 3.100 * 10/31 days = 51.000 exactly.
    # 53.100 + 3.100 * 20/30 days = 55.1666... -> 55.167.
    assert segment.readings == (
        Reading(span.start, Decimal("51.000"), Quality.INTERPOLATED, Reason.WINDOW_BOUNDARY),
        Reading(span.end, Decimal("55.167"), Quality.INTERPOLATED, Reason.WINDOW_BOUNDARY),
    )
    assert (segment.start, segment.end) == (span.start, span.end)
    assert segment.consumption == Decimal("4.167")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            at("2026-03-01T00:00:00+01:00"), at("2026-04-01T00:00:00+02:00"), id="fixed-offsets"
        ),
        pytest.param(
            datetime(2026, 3, 1, tzinfo=BERLIN),
            datetime(2026, 4, 1, tzinfo=BERLIN),
            id="zoneinfo",
        ),
    ],
)
def test_interpolation_across_the_dst_change_is_linear_in_elapsed_time(before, after):
    meter = device("m", [reading(before, "10.000"), reading(after, "17.430")])
    days = window(date(2026, 3, 30), date(2026, 3, 31))

    (segment,) = device_segments(meter, days)

    # 2026-03-01 00:00+01:00 .. 2026-04-01 00:00+02:00 lasts 743 h; the window starts
    # 695 h in (29 days less the hour lost on 29 March): 10.000 + 7.430 * 695/743 = 16.950.
    assert segment.readings[0] == Reading(
        days.start, Decimal("16.950"), Quality.INTERPOLATED, Reason.WINDOW_BOUNDARY
    )
    assert segment.consumption == Decimal("0.480")


# Never extrapolated ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "removed_at",
    [None, "2026-11-15T12:00:00+01:00"],
    ids=["still-installed", "removed-without-removal-reading"],
)
def test_a_segment_ends_at_the_last_reading_and_the_rest_is_a_no_readings_gap(removed_at):
    stopped = device(
        "stopped",
        monthly(2026, range(1, 11), [f"{100 + 3 * k}.25{k}" for k in range(10)]),
        metric=Metric.WATER_COLD,
        removed_at=removed_at,
    )
    year = window(date(2026, 1, 1), date(2026, 12, 31))

    result = measuring_point_consumption(point(Metric.WATER_COLD), [stopped], year)

    (segment,) = result.segments
    last = at("2026-10-01T00:00:00+02:00")
    assert (segment.start, segment.end) == (year.start, last)
    assert segment.readings[1] == reading(last, "127.259")
    assert segment.readings[1].quality is Quality.MEASURED
    assert segment.consumption == Decimal("27.009")  # 127.259 - 100.250
    if removed_at is None:
        assert result.gaps == (Gap(last, year.end, GapCause.NO_READINGS),)
    else:  # unread until its removal, and nothing installed after it
        assert result.gaps == (
            Gap(last, at(removed_at), GapCause.NO_READINGS),
            Gap(at(removed_at), year.end, GapCause.NO_DEVICE_INSTALLED),
        )
    assert result.complete is False


def test_a_window_starting_before_the_first_reading_starts_the_segment_at_that_reading():
    meter = device("m", monthly(2024, range(1, 4), ["95.341", "97.865", "100.131"]))
    span = window(date(2023, 12, 1), date(2024, 1, 31))

    result = measuring_point_consumption(point(), [meter], span)

    first = at("2024-01-01T00:00:00+01:00")
    (segment,) = result.segments
    assert (segment.start, segment.end) == (first, span.end)
    assert segment.readings == (reading(first, "95.341"), reading(span.end, "97.865"))
    assert result.consumption == Decimal("2.524")
    assert result.gaps == (Gap(span.start, first, GapCause.NO_READINGS),)
    assert result.complete is False


def test_a_window_entirely_before_the_first_reading_has_no_segment_and_one_gap():
    meter = device("m", monthly(2024, range(1, 4), ["95.341", "97.865", "100.131"]))
    span = window(date(2023, 6, 1), date(2023, 12, 31))

    result = measuring_point_consumption(point(), [meter], span)

    assert result.segments == ()
    assert result.gaps == (Gap(span.start, span.end, GapCause.NO_READINGS),)
    assert result.complete is False
    assert result.consumption == Decimal("0.000")
    assert result.consumption.as_tuple().exponent == -3


def test_a_device_installed_mid_window_leaves_a_no_device_installed_gap_before_it():
    installed = "2025-04-10T09:15:00+02:00"
    new_point = device(
        "guest-wc",
        [
            reading(installed, "0.000", Reason.INSTALLATION),
            reading("2025-05-01T00:00:00+02:00", "0.512"),
            reading("2025-06-01T00:00:00+02:00", "1.034"),
            reading("2025-07-01T00:00:00+02:00", "1.498"),
        ],
        metric=Metric.WATER_COLD,
        installed_at=installed,
    )
    quarter = window(date(2025, 4, 1), date(2025, 6, 30))

    result = measuring_point_consumption(point(Metric.WATER_COLD), [new_point], quarter)

    (segment,) = result.segments
    assert (segment.start, segment.end) == (at(installed), quarter.end)
    assert segment.readings[0] == reading(installed, "0.000", Reason.INSTALLATION)
    assert segment.consumption == Decimal("1.498")
    assert result.gaps == (Gap(quarter.start, at(installed), GapCause.NO_DEVICE_INSTALLED),)
    assert result.complete is False


def test_a_gap_before_and_after_an_installation_is_two_gaps_each_with_its_cause():
    # Installed on 10 February, read only from 1 April: before the installation nothing
    # could be read, after it nothing was. One gap called no_readings said otherwise of
    # January, and the same January asked alone said no_device_installed.
    installed = "2025-02-10T09:40:00+01:00"
    meter = device("late", monthly(2025, range(4, 7), ["10.000", "12.500", "15.250"]),
                   installed_at=installed)  # fmt: skip
    half = window(date(2025, 1, 1), date(2025, 5, 31))

    result = measuring_point_consumption(point(), [meter], half)

    first = at("2025-04-01T00:00:00+02:00")
    assert result.gaps == (
        Gap(half.start, at(installed), GapCause.NO_DEVICE_INSTALLED),
        Gap(at(installed), first, GapCause.NO_READINGS),
    )
    assert result.consumption == Decimal("5.250")


def test_a_device_removed_without_a_successor_leaves_a_no_device_installed_gap_after_it():
    removed = "2026-05-20T08:00:00+02:00"
    meter = device(
        "removed",
        [
            reading("2026-04-01T00:00:00+02:00", "40.100"),
            reading("2026-05-01T00:00:00+02:00", "42.300"),
            reading(removed, "43.712", Reason.REMOVAL),
        ],
        removed_at=removed,
    )
    quarter = window(date(2026, 4, 1), date(2026, 6, 30))

    result = measuring_point_consumption(point(), [meter], quarter)

    (segment,) = result.segments
    assert (segment.start, segment.end) == (quarter.start, at(removed))
    assert segment.readings[1] == reading(removed, "43.712", Reason.REMOVAL)
    assert segment.consumption == Decimal("3.612")
    assert result.gaps == (Gap(at(removed), quarter.end, GapCause.NO_DEVICE_INSTALLED),)
    assert result.complete is False


def commissioned_point(
    start: str | None, end: str | None = None, metric: Metric = Metric.WATER_COLD
) -> MeasuringPoint:
    """A point in service from `start` to `end` (instants, as the loader derives them)."""
    return MeasuringPoint(
        "mp-1", "unit-1", metric, "Gäste-WC",
        service_start=at(start) if start else None, service_end=at(end) if end else None,
    )  # fmt: skip


def test_before_its_commissioning_a_point_does_not_exist_so_it_is_no_gap():
    # The issue's case: WE 07's "Gäste-WC" point, new on 2025-04-10 09:15 with its meter.
    installed = "2025-04-10T09:15:00+02:00"
    meter = device(
        "guest-wc",
        [
            reading(installed, "0.000", Reason.INSTALLATION),
            reading("2025-05-01T00:00:00+02:00", "0.512"),
            reading("2025-06-01T00:00:00+02:00", "1.034"),
            reading("2025-07-01T00:00:00+02:00", "1.498"),
        ],
        metric=Metric.WATER_COLD,
        installed_at=installed,
    )
    guest_wc = commissioned_point(installed)
    quarter = window(date(2025, 4, 1), date(2025, 6, 30))

    result = measuring_point_consumption(guest_wc, [meter], quarter)

    # 1 April to 10 April 09:15 is before the point existed: no gap, the quarter is complete,
    # and its use is the meter's 1.498 - 0.000 = 1.498 m³.
    (segment,) = result.segments
    assert (segment.start, segment.end) == (at(installed), quarter.end)
    assert result.gaps == ()
    assert result.complete is True
    assert result.consumption == Decimal("1.498")
    # In 2024 the point did not exist at all: a unit's answer leaves it out.
    year_2024 = window(date(2024, 1, 1), date(2024, 12, 31))
    assert measuring_point_consumption(guest_wc, [meter], year_2024).segments == ()
    assert unit_consumption([(guest_wc, [meter])], year_2024, [Metric.WATER_COLD]).points == ()


def test_inside_its_service_a_stretch_without_a_device_is_a_real_gap():
    # In service since 2025-04-01 00:00, but the meter came only on 2025-04-10 09:15:
    # those nine days are a gap (no_device_installed), and the quarter is incomplete.
    installed = "2025-04-10T09:15:00+02:00"
    meter = device(
        "late",
        [reading(installed, "0.000", Reason.INSTALLATION),
         reading("2025-07-01T00:00:00+02:00", "1.498")],
        metric=Metric.WATER_COLD,
        installed_at=installed,
    )  # fmt: skip
    quarter = window(date(2025, 4, 1), date(2025, 6, 30))

    result = measuring_point_consumption(
        commissioned_point("2025-04-01T00:00:00+02:00"), [meter], quarter
    )

    assert result.gaps == (Gap(quarter.start, at(installed), GapCause.NO_DEVICE_INSTALLED),)
    assert result.complete is False


def test_after_its_decommissioning_a_point_does_not_exist_so_it_is_no_gap():
    # Removed with its meter on 2026-05-20 08:00: May 20 to June 30 is not a gap.
    removed = "2026-05-20T08:00:00+02:00"
    meter = device(
        "removed",
        [
            reading("2026-04-01T00:00:00+02:00", "40.100"),
            reading("2026-05-01T00:00:00+02:00", "42.300"),
            reading(removed, "43.712", Reason.REMOVAL),
        ],
        removed_at=removed,
    )
    quarter = window(date(2026, 4, 1), date(2026, 6, 30))

    result = measuring_point_consumption(commissioned_point(None, removed), [meter], quarter)

    # 43.712 - 40.100 = 3.612 m³, and nothing is missing.
    assert result.consumption == Decimal("3.612")
    assert result.gaps == ()
    assert result.complete is True


# Heat cost allocators --------------------------------------------------------------------------

ALLOCATOR = device(
    "hca",
    [
        reading("2025-10-01T00:00:00+02:00", "300"),
        reading("2025-11-01T00:00:00+01:00", "420"),
        reading("2025-12-01T00:00:00+01:00", "560"),
        reading("2026-01-01T00:00:00+01:00", "700", Reason.BILLING_DATE_RESET),
        reading("2026-02-01T00:00:00+01:00", "150"),
        reading("2026-03-01T00:00:00+01:00", "260"),
    ],
    metric=Metric.HEAT_ALLOCATION,
)
BILLING_DATE = at("2026-01-01T00:00:00+01:00")


def test_a_heat_cost_allocator_segment_splits_at_the_billing_date_reset():
    winter = window(date(2025, 11, 1), date(2026, 2, 28))

    result = measuring_point_consumption(point(Metric.HEAT_ALLOCATION), [ALLOCATOR], winter)

    before, after = result.segments
    assert (before.start, before.end) == (winter.start, BILLING_DATE)
    assert (after.start, after.end) == (BILLING_DATE, winter.end)
    assert before.readings == (
        reading("2025-11-01T00:00:00+01:00", "420"),
        reading(BILLING_DATE, "700", Reason.BILLING_DATE_RESET),
    )
    assert after.readings == (
        reading(BILLING_DATE, "0", Reason.BILLING_DATE_RESET),
        reading("2026-03-01T00:00:00+01:00", "260"),
    )
    assert str(after.readings[0].value) == "0"  # the allocator's precision, not "0.0"
    for segment in result.segments:
        assert segment.consumption == segment.readings[1].value - segment.readings[0].value
    assert (before.consumption, after.consumption) == (Decimal("280"), Decimal("260"))
    assert result.consumption == Decimal("540")
    assert result.complete is True


def test_a_window_ending_on_31_december_ends_at_the_reset_reading_with_the_years_count():
    span = window(date(2025, 11, 1), date(2025, 12, 31))

    (segment,) = device_segments(ALLOCATOR, span)

    assert (segment.start, segment.end) == (span.start, BILLING_DATE)
    assert segment.readings == (
        reading("2025-11-01T00:00:00+01:00", "420"),
        reading(BILLING_DATE, "700", Reason.BILLING_DATE_RESET),
    )
    assert segment.consumption == Decimal("280")


def test_a_window_starting_on_1_january_starts_from_zero_at_the_reset():
    span = window(date(2026, 1, 1), date(2026, 2, 28))

    (segment,) = device_segments(ALLOCATOR, span)

    assert (segment.start, segment.end) == (BILLING_DATE, span.end)
    assert segment.readings == (
        reading(BILLING_DATE, "0", Reason.BILLING_DATE_RESET),
        reading("2026-03-01T00:00:00+01:00", "260"),
    )
    assert segment.consumption == Decimal("260")


def test_a_heat_cost_allocator_missing_its_reset_reading_still_never_spans_the_billing_date():
    outage = device(
        "hca-outage",
        [
            reading("2025-12-01T00:00:00+01:00", "560"),
            # No reading on 2026-01-01 (radio outage), the register reset all the same.
            reading("2026-02-01T00:00:00+01:00", "150"),
        ],
        metric=Metric.HEAT_ALLOCATION,
    )
    winter = window(date(2025, 12, 1), date(2026, 1, 31))

    segments = device_segments(outage, winter)

    assert segments != []
    for segment in segments:
        assert not segment.start < BILLING_DATE < segment.end
        assert segment.consumption >= 0


# Exact decimals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "start", "end", "expected", "exponent"),
    [
        (Metric.WATER_WARM, "100.000", "125.614", "25.614", -3),
        (Metric.WATER_COLD, "0.012", "7.874", "7.862", -3),
        (Metric.WATER_COLD, "0.100", "0.300", "0.200", -3),
        (Metric.HEAT, "1200", "3481", "2281", 0),
        (Metric.HEAT_ALLOCATION, "0", "475", "475", 0),
    ],
)
def test_consumption_is_a_decimal_with_the_metrics_exponent(metric, start, end, expected, exponent):
    meter = device(
        "m",
        [reading("2026-01-01T00:00:00+01:00", start), reading("2027-01-01T00:00:00+01:00", end)],
        metric=metric,
    )
    year = window(date(2026, 1, 1), date(2026, 12, 31))

    result = measuring_point_consumption(point(metric), [meter], year)

    assert type(result.consumption) is Decimal
    assert str(result.consumption) == expected
    assert result.consumption.as_tuple().exponent == exponent
    (segment,) = result.segments
    assert str(segment.consumption) == expected
    assert segment.consumption.as_tuple().exponent == exponent


@pytest.mark.parametrize(
    ("metric", "before", "after", "expected"),
    [
        # One third of the way through June: before + (after - before) / 3.
        (Metric.WATER_WARM, "10.000", "13.100", "11.033"),  # 11.0333...
        (Metric.HEAT, "1000", "1100", "1033"),  # 1033.333...
        (Metric.HEAT, "1000", "1005", "1002"),  # 1001.666...
    ],
)
def test_an_interpolated_value_is_quantized_to_the_metrics_precision(
    metric, before, after, expected
):
    meter = device(
        "m",
        [
            reading("2026-06-01T00:00:00+02:00", before),
            reading("2026-07-01T00:00:00+02:00", after),
        ],
        metric=metric,
    )
    span = window(date(2026, 6, 11), date(2026, 6, 30))

    (segment,) = device_segments(meter, span)

    value = segment.readings[0].value
    assert type(value) is Decimal
    assert str(value) == expected
    assert value.as_tuple().exponent == metric.precision.as_tuple().exponent


# Window ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "start", "end", "hours"),
    [
        # Spring forward on 2026-03-29: that day lasts 23 hours.
        ("2026-03-29", "2026-03-29", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23),
        # Fall back on 2026-10-25: that day lasts 25 hours.
        ("2026-10-25", "2026-10-25", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25),
        ("2026-03-01", "2026-03-31", "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00", 743),
        ("2026-06-01", "2026-06-30", "2026-06-01T00:00:00+02:00", "2026-07-01T00:00:00+02:00", 720),
        (
            "2026-01-01",
            "2026-12-31",
            "2026-01-01T00:00:00+01:00",
            "2027-01-01T00:00:00+01:00",
            8760,
        ),
    ],
)
def test_window_from_dates_carries_the_berlin_offset_of_each_bound(first, last, start, end, hours):
    result = Window.from_dates(date.fromisoformat(first), date.fromisoformat(last), BERLIN)

    assert result.start.isoformat() == start
    assert result.end.isoformat() == end
    assert result.end.astimezone(UTC) - result.start.astimezone(UTC) == timedelta(hours=hours)


def test_window_from_dates_refuses_a_first_day_after_the_last():
    with pytest.raises(ValueError, match=r"^the first day must not be after the last$"):
        Window.from_dates(date(2026, 5, 2), date(2026, 5, 1), BERLIN)


# Unit totals -----------------------------------------------------------------------------------


def test_unit_consumption_totals_sum_each_asked_metric_and_leave_out_the_others():
    year = window(date(2026, 1, 1), date(2026, 12, 31))

    warm = point(Metric.WATER_WARM, "warm")
    cold_bath = point(Metric.WATER_COLD, "cold-bath")
    cold_kitchen = point(Metric.WATER_COLD, "cold-kitchen")
    radiator = point(Metric.HEAT_ALLOCATION, "radiator")
    points = [
        (warm, [yearly("warm", Metric.WATER_WARM, "145.642", "171.256")]),
        (cold_bath, [yearly("cold-bath", Metric.WATER_COLD, "172.119", "203.094")]),
        (radiator, [yearly("radiator", Metric.HEAT_ALLOCATION, "0", "475")]),
        (cold_kitchen, [yearly("cold-kitchen", Metric.WATER_COLD, "118.971", "139.776")]),
    ]

    report = unit_consumption(points, year, {Metric.WATER_COLD, Metric.WATER_WARM})

    assert [p.measuring_point.id for p in report.points] == ["warm", "cold-bath", "cold-kitchen"]
    totals = report.totals()
    assert list(totals) == [Metric.WATER_WARM, Metric.WATER_COLD]
    # 30.975 + 20.805 = 51.780: the trailing zero of the precision is kept.
    assert {metric: str(total.value) for metric, total in totals.items()} == {
        Metric.WATER_WARM: "25.614",
        Metric.WATER_COLD: "51.780",
    }
    assert all(type(total.value) is Decimal for total in totals.values())
    assert all(total.complete and total.uncovered == () for total in totals.values())
    assert report.window == year


def test_a_total_with_a_gap_is_incomplete_and_names_the_uncovered_period():
    # Two cold water points in 2026: the bath meter reads all year (172.119 -> 203.094,
    # 30.975 m³); the kitchen meter's readings stop after 2026-10-01 (118.971 -> 136.502,
    # 17.531 m³). The total is 30.975 + 17.531 = 48.506 m³, and it says it leaves out
    # the kitchen from 2026-10-01 to 2027-01-01.
    year = window(date(2026, 1, 1), date(2026, 12, 31))
    bath, kitchen = point(Metric.WATER_COLD, "bath"), point(Metric.WATER_COLD, "kitchen")
    stopped = device(
        "kitchen",
        [reading("2026-01-01T00:00:00+01:00", "118.971"),
         reading("2026-10-01T00:00:00+02:00", "136.502")],
        metric=Metric.WATER_COLD, point_id="kitchen",
    )  # fmt: skip
    points = [
        (bath, [yearly("bath", Metric.WATER_COLD, "172.119", "203.094")]),
        (kitchen, [stopped]),
    ]

    (total,) = unit_consumption(points, year, {Metric.WATER_COLD}).totals().values()

    assert total.value == Decimal("48.506")
    assert total.complete is False
    gap = Gap(at("2026-10-01T00:00:00+02:00"), year.end, GapCause.NO_READINGS)
    assert total.uncovered == ((kitchen, gap),)


def test_a_total_without_any_coverage_is_zero_but_incomplete():
    # A point whose only meter has no reading in 2026: 0 is not a measurement.
    year = window(date(2026, 1, 1), date(2026, 12, 31))
    silent = device("silent", [], metric=Metric.WATER_COLD)

    (total,) = (
        unit_consumption([(point(Metric.WATER_COLD), [silent])], year, {Metric.WATER_COLD})
        .totals()
        .values()
    )

    assert (total.value, total.complete) == (Decimal("0.000"), False)
    assert [gap.cause for _, gap in total.uncovered] == [GapCause.NO_READINGS]


def test_unit_consumption_with_no_asked_metric_has_no_points_and_no_totals():
    year = window(date(2026, 1, 1), date(2026, 12, 31))
    meter = device(
        "m",
        [reading("2026-01-01T00:00:00+01:00", "1"), reading("2027-01-01T00:00:00+01:00", "9")],
        metric=Metric.HEAT,
    )

    report = unit_consumption([(point(Metric.HEAT), [meter])], year, {Metric.WATER_WARM})

    assert report.points == ()
    assert report.totals() == {}


def test_a_segment_always_has_exactly_two_readings():
    year = window(date(2026, 1, 1), date(2026, 12, 31))
    segments = measuring_point_consumption(point(), [OLD_METER, NEW_METER], year).segments

    assert len(segments) == 2
    for segment in segments:
        assert type(segment) is DeviceSegment
        assert len(segment.readings) == 2
        assert (segment.readings[0].timestamp, segment.readings[1].timestamp) == (
            segment.start,
            segment.end,
        )
