"""The submetering domain: who owns what, which meter measures where, what it read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timezone, tzinfo
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


class Metric(StrEnum):
    WATER_WARM = "water_warm"
    WATER_COLD = "water_cold"
    HEAT = "heat"
    HEAT_ALLOCATION = "heat_allocation"

    @property
    def unit(self) -> str:
        return _UNITS[self]

    @property
    def precision(self) -> Decimal:
        """The register's resolution: every value of this metric is a multiple of it."""
        return _PRECISION[self]

    @property
    def resets_at_billing_date(self) -> bool:
        # Heat cost allocators restart from 0 each 1 January (HeizkostenV billing period).
        return self is Metric.HEAT_ALLOCATION


_UNITS = {
    Metric.WATER_WARM: "m3",
    Metric.WATER_COLD: "m3",
    Metric.HEAT: "kWh",
    Metric.HEAT_ALLOCATION: "units",
}
_PRECISION = {
    Metric.WATER_WARM: Decimal("0.001"),
    Metric.WATER_COLD: Decimal("0.001"),
    Metric.HEAT: Decimal("1"),
    Metric.HEAT_ALLOCATION: Decimal("1"),
}


class Quality(StrEnum):
    MEASURED = "measured"
    ESTIMATED = "estimated"
    INTERPOLATED = "interpolated"


class Reason(StrEnum):
    PERIODIC = "periodic"
    INSTALLATION = "installation"
    REMOVAL = "removal"
    BILLING_DATE_RESET = "billing_date_reset"
    WINDOW_BOUNDARY = "window_boundary"


@dataclass(frozen=True, slots=True)
class DemoUser:
    id: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    demo_users: tuple[DemoUser, ...]


@dataclass(frozen=True, slots=True)
class Property:
    id: str
    tenant_id: str
    name: str
    street: str
    postal_code: str
    city: str
    timezone: str
    heating: str


class Category(StrEnum):
    """The user category of HeizkostenV §6a(2) Nr. 3: a unit is compared within its own."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"


@dataclass(frozen=True, slots=True)
class UsageUnit:
    id: str
    property_id: str
    name: str
    kind: str
    floor: str
    area_m2: Decimal
    category: Category = Category.RESIDENTIAL


@dataclass(frozen=True, slots=True)
class MeasuringPoint:
    """A place where a metric is measured, in service from commissioning to decommissioning.

    Outside its service the point does not exist, so no device there is no gap.
    `service_start`/`service_end` are those days as instants (None: unbounded),
    tightened to the first installation and last removal when they fall on them.
    """

    id: str
    # None for a point of the whole property (its central heat meter): then `property_id`.
    usage_unit_id: str | None
    metric: Metric
    location: str
    commissioned_on: date | None = None
    decommissioned_on: date | None = None
    service_start: datetime | None = field(default=None, compare=False)
    service_end: datetime | None = field(default=None, compare=False)
    property_id: str | None = None

    @property
    def unit(self) -> str:
        return self.metric.unit

    def in_service_during(self, start: datetime, end: datetime) -> bool:
        """Tell whether the point existed at any instant of [start, end)."""
        return (self.service_start is None or _after(end, self.service_start)) and (
            self.service_end is None or _after(self.service_end, start)
        )


def _after(later: datetime, earlier: datetime) -> bool:
    return later.astimezone(UTC) > earlier.astimezone(UTC)


class Reading(NamedTuple):
    """One register value. A named tuple: a large data set holds millions of these,
    and a tuple is built several times faster than a frozen dataclass."""

    timestamp: datetime
    value: Decimal
    quality: Quality
    reason: Reason
    # When the reading reached the system (a radio reading some hours after its instant,
    # an estimate days later); None: at its timestamp. Before it the reading does not exist.
    recorded_at: datetime | None = None

    @property
    def recorded(self) -> datetime:
        return self.timestamp if self.recorded_at is None else self.recorded_at


@dataclass(frozen=True, slots=True)
class RegisterRun:
    """Readings of one device during which its register only counts up.

    Most meters have one run for their whole life; a heat cost allocator
    starts a new one at every billing date reset.
    """

    readings: tuple[Reading, ...]
    timestamps: tuple[datetime, ...]

    @property
    def start(self) -> datetime:
        return self.timestamps[0]

    @property
    def end(self) -> datetime:
        return self.timestamps[-1]


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    measuring_point_id: str
    metric: Metric
    serial_number: str
    manufacturer: str
    model: str
    installed_at: datetime
    removed_at: datetime | None
    readings: tuple[Reading, ...] = field(repr=False)
    # Parallel to `readings`, for bisection: each with a fixed offset or in UTC, because
    # two datetimes sharing a ZoneInfo compare by wall clock (wrong in the autumn hour).
    timestamps: tuple[datetime, ...] = field(repr=False)
    runs: tuple[RegisterRun, ...] = field(repr=False)
    billing_zone: tzinfo = field(default=BERLIN, repr=False, compare=False)
    # The latest instant a reading of it was recorded (None: no readings), in UTC.
    latest_record: datetime | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        *,
        id: str,
        measuring_point_id: str,
        metric: Metric,
        serial_number: str,
        manufacturer: str,
        model: str,
        installed_at: datetime,
        removed_at: datetime | None,
        readings: tuple[Reading, ...],
        billing_zone: tzinfo = BERLIN,
    ) -> Device:
        """Build a device from readings in time order, deriving its register runs.

        `billing_zone` places the 1 January billing date of heat cost allocators.
        """
        timestamps = _instants(readings)
        if any(a >= b for a, b in pairwise(timestamps)):
            raise ValueError(f"device {id}: readings must be in strictly increasing time order")
        if not metric.resets_at_billing_date:
            for before, after in pairwise(readings):
                if after.value < before.value:
                    raise ValueError(
                        f"device {id}: the register runs backwards at "
                        f"{after.timestamp.isoformat()} ({before.value} -> {after.value})"
                    )
        return cls(
            id=id,
            measuring_point_id=measuring_point_id,
            metric=metric,
            serial_number=serial_number,
            manufacturer=manufacturer,
            model=model,
            installed_at=installed_at,
            removed_at=removed_at,
            readings=readings,
            timestamps=timestamps,
            runs=_register_runs(readings, timestamps, metric, billing_zone),
            billing_zone=billing_zone,
            latest_record=_latest_record(readings, timestamps),
        )

    def revised(self, readings: tuple[Reading, ...], removed_at: datetime | None) -> Device:
        """The same device with other readings and removal (its runs derived anew)."""
        return Device.create(
            id=self.id,
            measuring_point_id=self.measuring_point_id,
            metric=self.metric,
            serial_number=self.serial_number,
            manufacturer=self.manufacturer,
            model=self.model,
            installed_at=self.installed_at,
            removed_at=removed_at,
            readings=readings,
            billing_zone=self.billing_zone,
        )

    def is_installed_on(self, start: datetime, end: datetime) -> bool:
        """Tell whether the device was installed at any instant of [start, end)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        installed, removed = self.installed_at.astimezone(UTC), self.removed_at
        return installed < end and (removed is None or removed.astimezone(UTC) > start)


def _latest_record(
    readings: tuple[Reading, ...], timestamps: tuple[datetime, ...]
) -> datetime | None:
    """Return when the last of the readings was recorded, in UTC."""
    if not readings:
        return None
    latest = timestamps[-1].astimezone(UTC)
    for reading in readings:
        if reading.recorded_at is not None:
            latest = max(latest, reading.recorded_at.astimezone(UTC))
    return latest


def _register_runs(
    readings: tuple[Reading, ...],
    timestamps: tuple[datetime, ...],
    metric: Metric,
    zone: tzinfo,
) -> tuple[RegisterRun, ...]:
    """Split readings where the register restarts from zero."""
    if not readings:
        return ()
    if not metric.resets_at_billing_date:
        return (RegisterRun(readings, timestamps),)
    zero = Decimal(0).quantize(metric.precision)
    runs: list[RegisterRun] = []
    current: list[Reading] = []
    for reading in readings:
        if current:
            reset = _billing_date_between(current[-1].timestamp, reading.timestamp, zone)
            if reset is not None or reading.value < current[-1].value:
                # The reset reading is missing (a radio outage). The register restarted
                # at the billing date in between: the run after it starts there from
                # zero, and the unknown stretch before it stays a gap. A drop with no
                # billing date in between is a restart we cannot place: only a gap.
                runs.append(_run(current))
                current = []
                if reset is not None:
                    current.append(
                        Reading(reset, zero, Quality.ESTIMATED, Reason.BILLING_DATE_RESET)
                    )
        current.append(reading)
        if reading.reason is Reason.BILLING_DATE_RESET:
            # The reset reading closes one run at the year's count and opens
            # the next at zero, at the same instant.
            runs.append(_run(current))
            current = [Reading(reading.timestamp, zero, reading.quality, reading.reason)]
    runs.append(_run(current))
    return tuple(run for run in runs if run.start < run.end)


def _billing_date_between(after: datetime, before: datetime, zone: tzinfo) -> datetime | None:
    """Return the last 1 January 00:00 strictly between two instants, if there is one.

    With several, the register restarted at each; only the last restart's count is known.
    """
    instant = datetime(before.astimezone(zone).year, 1, 1, tzinfo=zone)
    if instant.astimezone(UTC) >= before.astimezone(UTC):
        instant = datetime(instant.year - 1, 1, 1, tzinfo=zone)
    return instant if instant.astimezone(UTC) > after.astimezone(UTC) else None


def _run(readings: list[Reading]) -> RegisterRun:
    return RegisterRun(tuple(readings), _instants(readings))


def _instants(readings: Sequence[Reading]) -> tuple[datetime, ...]:
    """Return the readings' timestamps in a form that compares as instants.

    Fixed offsets and UTC (the loader stores every reading in UTC) already do
    and are kept as they are. A ZoneInfo does not (wall-clock comparison), so
    those become UTC.
    """
    timestamps = tuple(map(_timestamp, readings))
    if {type(t.tzinfo) for t in timestamps} <= {timezone}:
        return timestamps
    return tuple(t if type(t.tzinfo) is timezone else t.astimezone(UTC) for t in timestamps)


_timestamp = itemgetter(0)  # Reading.timestamp, at C speed
