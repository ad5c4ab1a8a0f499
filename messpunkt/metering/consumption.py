"""Consumption of a measuring point over a window, by the rules of API.md "Consumption".

A device's contribution is a segment: its installation window clipped to
the query window, with exactly two readings (start and end) so that
`readings[1].value - readings[0].value` is always its consumption.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from .model import Device, MeasuringPoint, Metric, Quality, Reading, Reason, RegisterRun

_MICROSECOND = timedelta(microseconds=1)


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval of time [start, end)."""

    start: datetime
    end: datetime
    # The bounds in UTC, for comparing (see device_segments); computed once.
    utc_start: datetime = field(init=False, repr=False, compare=False)
    utc_end: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "utc_start", _utc(self.start))
        object.__setattr__(self, "utc_end", _utc(self.end))

    @classmethod
    def from_dates(cls, first: date, last: date, zone: tzinfo) -> Window:
        """Cover the calendar days first..last inclusive in the property's time zone."""
        if first > last:
            raise ValueError("the first day must not be after the last")
        return cls(
            datetime.combine(first, time(), zone),
            datetime.combine(last + timedelta(days=1), time(), zone),
        )


@dataclass(frozen=True, slots=True)
class DeviceSegment:
    device: Device
    start: datetime
    end: datetime
    readings: tuple[Reading, Reading]

    @property
    def consumption(self) -> Decimal:
        return self.readings[1].value - self.readings[0].value


class GapCause(StrEnum):
    NO_DEVICE_INSTALLED = "no_device_installed"
    NO_READINGS = "no_readings"


@dataclass(frozen=True, slots=True)
class Gap:
    """A part of the window that no segment covers: its use is unknown, not zero."""

    start: datetime
    end: datetime
    cause: GapCause


@dataclass(frozen=True, slots=True)
class MeasuringPointConsumption:
    measuring_point: MeasuringPoint
    segments: tuple[DeviceSegment, ...]
    gaps: tuple[Gap, ...]

    @property
    def consumption(self) -> Decimal:
        zero = Decimal(0).quantize(self.measuring_point.metric.precision)
        return sum((segment.consumption for segment in self.segments), zero)

    @property
    def complete(self) -> bool:
        return not self.gaps

    @property
    def estimated(self) -> bool:
        """Tell whether a segment rests on no measured reading at all (pure interpolation)."""
        return any(
            all(r.quality is not Quality.MEASURED for r in segment.readings)
            for segment in self.segments
        )


def measuring_point_consumption(
    point: MeasuringPoint, devices: Iterable[Device], window: Window
) -> MeasuringPointConsumption:
    """Compute the segments of every device of one measuring point in a window.

    Only the part of the window in which the point is in service counts: before
    its commissioning and after its decommissioning it does not exist, so no
    device there is no gap. A window outside its service gives nothing at all.
    """
    ordered = sorted(devices, key=lambda d: d.installed_at)
    service = in_service(point, window)
    if service is None:
        return MeasuringPointConsumption(point, (), ())
    segments = tuple(s for device in ordered for s in device_segments(device, service))
    return MeasuringPointConsumption(point, segments, _gaps(service, segments, ordered))


def in_service(point: MeasuringPoint, window: Window) -> Window | None:
    """Clip a window to the point's service; None when the point did not exist in it."""
    if not point.in_service_during(window.start, window.end):
        return None
    start, end = window.start, window.end
    if point.service_start is not None and _utc(point.service_start) > window.utc_start:
        start = point.service_start
    if point.service_end is not None and _utc(point.service_end) < window.utc_end:
        end = point.service_end
    return window if (start, end) == (window.start, window.end) else Window(start, end)


def device_segments(device: Device, window: Window) -> list[DeviceSegment]:
    """Clip a device's installation window to `window`, split at register resets.

    Instants are compared in UTC (the `_u` names): two datetimes sharing a
    ZoneInfo compare by wall clock, wrong in the repeated autumn hour. The
    segment keeps the original objects, so a window bound stays in local time.
    """
    installed_u = _utc(device.installed_at)
    if window.utc_start >= installed_u:
        low, low_u = window.start, window.utc_start
    else:
        low, low_u = device.installed_at, installed_u
    high, high_u = window.end, window.utc_end
    if device.removed_at is not None:
        removed_u = _utc(device.removed_at)
        if removed_u < high_u:
            high, high_u = device.removed_at, removed_u
    segments: list[DeviceSegment] = []
    if low_u >= high_u:
        return segments
    for run in device.runs:
        # Run timestamps compare as instants already (fixed offsets or UTC).
        if run.start >= high_u or run.end <= low_u:
            continue
        # Never extrapolate: a segment ends at the run's first and last readings.
        start, start_u = (low, low_u) if low_u >= run.start else (run.start, run.start)
        end, end_u = (high, high_u) if high_u <= run.end else (run.end, run.end)
        if start_u < end_u:
            readings = (value_at(run, start, device.metric), value_at(run, end, device.metric))
            segments.append(DeviceSegment(device, start, end, readings))
    return segments


def value_at(run: RegisterRun, instant: datetime, metric: Metric) -> Reading:
    """Return the recorded reading at `instant`, or interpolate one between its neighbours."""
    at = instant.astimezone(UTC)  # run timestamps are UTC; see Device.timestamps
    index = bisect_left(run.timestamps, at)
    if index < len(run.timestamps) and run.timestamps[index] == at:
        return run.readings[index]
    if index == 0 or index == len(run.timestamps):
        raise ValueError("cannot extrapolate outside a register run")
    before, after = run.readings[index - 1], run.readings[index]
    start, end = run.timestamps[index - 1], run.timestamps[index]
    value = _interpolate(before.value, after.value, (at - start) // _MICROSECOND,
                         (end - start) // _MICROSECOND, metric.precision)  # fmt: skip
    return Reading(instant, value, Quality.INTERPOLATED, Reason.WINDOW_BOUNDARY)


def _interpolate(low: Decimal, high: Decimal, elapsed: int, span: int, step: Decimal) -> Decimal:
    """Return low + (high - low) * elapsed / span, rounded half up to a multiple of step.

    Ties round half up, as German billing does (kaufmännisch; a register only counts up,
    so "up" is away from zero). In whole steps and integers, so the only rounding is the
    final one: a Decimal quotient rounded to 28 digits first could turn a tie into a near one.
    """
    base, rise = int(low / step), int((high - low) / step)
    quotient, remainder = divmod(rise * elapsed, span)
    if 2 * remainder >= span:
        quotient += 1
    return ((base + quotient) * step).quantize(step)


def _gaps(
    window: Window, segments: tuple[DeviceSegment, ...], devices: list[Device]
) -> tuple[Gap, ...]:
    uncovered = []
    cursor, cursor_u = window.start, window.utc_start
    for segment in sorted(segments, key=lambda s: _utc(s.start)):
        if _utc(segment.start) > cursor_u:
            uncovered.append((cursor, segment.start))
        end_u = _utc(segment.end)
        if end_u > cursor_u:
            cursor, cursor_u = segment.end, end_u
    if cursor_u < window.utc_end:
        uncovered.append((cursor, window.end))
    return tuple(gap for start, end in uncovered for gap in _by_cause(start, end, devices))


def _by_cause(start: datetime, end: datetime, devices: list[Device]) -> list[Gap]:
    """Name what left [start, end) uncovered, split where a device was installed or removed
    within it: before an installation nothing could be read, after it nothing was."""
    start_u, end_u = _utc(start), _utc(end)
    cuts = sorted(
        {moment for device in devices for moment in (device.installed_at, device.removed_at)
         if moment is not None and start_u < _utc(moment) < end_u},
        key=_utc,
    )  # fmt: skip
    gaps: list[Gap] = []
    for low, high in pairwise([start, *cuts, end]):
        cause = _cause(low, high, devices)
        if gaps and gaps[-1].cause is cause:
            gaps[-1] = Gap(gaps[-1].start, high, cause)
        else:
            gaps.append(Gap(low, high, cause))
    return gaps


def _cause(start: datetime, end: datetime, devices: list[Device]) -> GapCause:
    if any(device.is_installed_on(start, end) for device in devices):
        return GapCause.NO_READINGS
    return GapCause.NO_DEVICE_INSTALLED


@dataclass(frozen=True, slots=True)
class Total:
    """A metric's sum over a unit's points, and what it leaves out."""

    value: Decimal
    uncovered: tuple[tuple[MeasuringPoint, Gap], ...]

    @property
    def complete(self) -> bool:
        return not self.uncovered


@dataclass(frozen=True, slots=True)
class UnitConsumption:
    window: Window
    points: tuple[MeasuringPointConsumption, ...]

    def totals(self) -> dict[Metric, Total]:
        """Sum the segments per metric, in the order metrics first appear, with their gaps."""
        values: dict[Metric, Decimal] = {}
        uncovered: dict[Metric, list[tuple[MeasuringPoint, Gap]]] = {}
        for point in self.points:
            metric = point.measuring_point.metric
            zero = Decimal(0).quantize(metric.precision)
            values[metric] = values.get(metric, zero) + point.consumption
            gaps = uncovered.setdefault(metric, [])
            gaps.extend((point.measuring_point, gap) for gap in point.gaps)
        return {metric: Total(value, tuple(uncovered[metric])) for metric, value in values.items()}


def unit_consumption(
    points: Iterable[tuple[MeasuringPoint, Iterable[Device]]],
    window: Window,
    metrics: Collection[Metric],
) -> UnitConsumption:
    """Compute every measuring point of a unit whose metric is asked for."""
    return UnitConsumption(
        window,
        tuple(
            measuring_point_consumption(point, devices, window)
            for point, devices in points
            if point.metric in metrics and point.in_service_during(window.start, window.end)
        ),
    )
