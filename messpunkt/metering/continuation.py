"""Readings past the end of the fixtures, from a deterministic model seeded per device.

The sandbox must not go stale: a meter still installed and still read when the
data set ends keeps its monthly radio reading at 00:00 on the 1st, shaped like
the fixtures (its own yearly use, the metric's seasons, some noise), with the
1 January reset of heat cost allocators and the calibration replacement due
(MessEV: warm water and heat meters 5 years, cold water 6, each to the end of
the year). Every value is drawn from the device's id and the month alone, so
the same date always gives the same values, whatever the clock reads.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from ..bounded import BoundedCache
from .model import Device, Metric, Quality, Reading, Reason

# MessEV Anlage 7: calibration validity in years, each to the end of the year.
CALIBRATION_YEARS = {Metric.WATER_WARM: 5, Metric.HEAT: 5, Metric.WATER_COLD: 6}
# Relative use January..December, as the fixtures are drawn (sandbox_data/generate.py).
_HEATING = (0.17, 0.15, 0.12, 0.08, 0.04, 0.01, 0.005, 0.005, 0.03, 0.08, 0.13, 0.16)
SEASONS = {
    Metric.WATER_WARM: (1.1, 1.08, 1.05, 1.0, 0.95, 0.9, 0.88, 0.88, 0.93, 1.0, 1.05, 1.1),
    Metric.WATER_COLD: (0.94, 0.94, 0.97, 1.0, 1.04, 1.08, 1.1, 1.1, 1.03, 0.98, 0.95, 0.94),
    Metric.HEAT: _HEATING,
    Metric.HEAT_ALLOCATION: _HEATING,
}
NOISE = {Metric.WATER_WARM: 0.10, Metric.WATER_COLD: 0.10, Metric.HEAT: 0.15}
DEFAULT_NOISE = 0.15
# A fitter's reading reaches messpunkt two hours after it is taken (as in the fixtures).
FITTER_SYNC = timedelta(hours=2)
_NAMESPACE = uuid.UUID("5caf4d6a-9147-4348-8349-5efd502eb131")


@dataclass(frozen=True, slots=True)
class _Register:
    """Where a device's register stands: its value, and the instant of that value."""

    at: datetime  # a month start, local
    value: Decimal


def _readings(found: tuple[Device, list[Device]]) -> int:
    return sum(len(device.readings) for device in found[1])


# Devices read on to a month, kept for the requests of that month. A continued history
# repeats the whole past every month it is asked for, so the cache is bounded by the
# readings it holds, not by entries: 100,000 entries held 1.8 GB once a sandbox's clock had
# visited every other month from 2027 to 2066 (a review, in one process).
READINGS_KEPT = 500_000
_CACHE: BoundedCache[tuple[int, datetime, datetime], tuple[Device, list[Device]]] = BoundedCache(
    READINGS_KEPT, weigh=_readings
)


def continued_to_month(device: Device, horizon: datetime, now: datetime) -> list[Device]:
    """Return `continued` through the end of `now`'s month, computed once per month.

    What lies after `now` in it (a later reading, a swap to come) is left for
    `timeline.device_as_of` to hide.
    """
    local = now.astimezone(device.billing_zone)
    until = _next_month(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    key = (id(device), horizon, until)
    found = _CACHE.get(key)
    if found is None or found[0] is not device:
        found = (device, continued(device, horizon, until))
        _CACHE.put(key, found)
    return found[1]


def continued(device: Device, horizon: datetime, until: datetime) -> list[Device]:
    """Return the device read on up to `until`, then the meters that replace it.

    Only a device still installed and read at `horizon` (the data set's last reading)
    continues; any other is returned as it is.
    """
    zone = device.billing_zone
    if (
        device.removed_at is not None
        or not device.readings
        or device.timestamps[-1].astimezone(UTC) != horizon.astimezone(UTC)
    ):
        return [device]
    yearly = _yearly_use(device, zone)
    if yearly is None:
        return [device]
    last = device.readings[-1]
    start = _Register(last.timestamp.astimezone(zone), last.value)
    if device.metric.resets_at_billing_date and start.at.month == 1 and start.at.day == 1:
        start = _Register(start.at, Decimal(0))  # the reset reading closed the year
    chain: list[Device] = []
    current, register, history = device, start, list(device.readings)
    while True:
        swap = _swap_instant(current, horizon, zone)
        end = until if swap is None else min(until, swap)
        readings, register = _monthly(current, register, yearly, end, zone)
        history.extend(readings)
        if swap is None or swap > until:
            chain.append(current.revised(tuple(history), None))
            return chain
        removal = _value_between(current, register, yearly, swap, zone)
        history.append(Reading(swap, removal, Quality.MEASURED, Reason.REMOVAL, swap + FITTER_SYNC))
        chain.append(current.revised(tuple(history), swap))
        current, register, history = _successor(current, register, yearly, swap, zone)


def _yearly_use(device: Device, zone: tzinfo) -> float | None:
    """Estimate the device's yearly use from its last twelve whole months, season-weighted."""
    months: list[tuple[int, Decimal]] = []
    for run in device.runs:
        for before, after in zip(run.readings, run.readings[1:], strict=False):
            b, a = before.timestamp.astimezone(zone), after.timestamp.astimezone(zone)
            if b.day == 1 and b.hour == 0 and b.minute == 0 and _next_month(b) == a:
                months.append((b.month, after.value - before.value))
    recent = months[-12:]
    weights = SEASONS[device.metric]
    share = sum(weights[month - 1] for month, _ in recent) / sum(weights)
    if not recent or share <= 0:
        return None
    return float(sum(value for _, value in recent)) / share


def _monthly(
    device: Device, register: _Register, yearly: float, end: datetime, zone: tzinfo
) -> tuple[list[Reading], _Register]:
    """Read the device at each month start after `register` up to `end` (inclusive)."""
    readings = []
    while (following := _next_month(register.at)) <= end.astimezone(zone):
        value = register.value + _month_use(device, register.at, yearly)
        if device.metric.resets_at_billing_date and following.month == 1:
            readings.append(Reading(following, value, Quality.MEASURED, Reason.BILLING_DATE_RESET))
            register = _Register(following, Decimal(0))
        else:
            readings.append(Reading(following, value, Quality.MEASURED, Reason.PERIODIC))
            register = _Register(following, value)
    return readings, register


def _month_use(device: Device, month: datetime, yearly: float) -> Decimal:
    """Return the device's use in the month that starts at `month`: the same every time."""
    weights = SEASONS[device.metric]
    noise = NOISE.get(device.metric, DEFAULT_NOISE)
    draw = random.Random(f"{device.id}:{month.year:04d}-{month.month:02d}")  # noqa: S311 (a model, not a secret)
    amount = yearly * weights[month.month - 1] / sum(weights) * draw.uniform(1 - noise, 1 + noise)
    return _at_precision(amount, device.metric)


def _value_between(
    device: Device, register: _Register, yearly: float, instant: datetime, zone: tzinfo
) -> Decimal:
    """Return the register at an instant inside the month that starts at `register.at`."""
    month_end = _next_month(register.at)
    elapsed = (instant.astimezone(UTC) - register.at.astimezone(UTC)) / (
        month_end.astimezone(UTC) - register.at.astimezone(UTC)
    )
    used = _month_use(device, register.at, yearly) * Decimal(str(round(elapsed, 6)))
    return register.value + used.quantize(device.metric.precision, rounding=ROUND_HALF_UP)


def _swap_instant(device: Device, horizon: datetime, zone: tzinfo) -> datetime | None:
    """Return when the device's calibration replacement happens, if its metric has one.

    On a Tuesday at 08:00 between March and November of its last valid year, or two
    weeks after the data set ends when that year is already over.
    """
    period = CALIBRATION_YEARS.get(device.metric)
    if period is None:
        return None
    year = device.installed_at.astimezone(zone).year + period
    draw = random.Random(f"{device.id}:calibration:{year}")  # noqa: S311
    day = datetime(year, 3, 3, 8, tzinfo=zone) + timedelta(weeks=draw.randrange(0, 36))
    day += timedelta(days=(1 - day.weekday()) % 7, minutes=5 * draw.randrange(0, 24))
    earliest = horizon.astimezone(zone) + timedelta(days=14)
    if day <= earliest:
        day = datetime(earliest.year, earliest.month, earliest.day, 8, tzinfo=zone)
    if day <= device.installed_at:
        return None
    return day


def _successor(
    device: Device, register: _Register, yearly: float, swap: datetime, zone: tzinfo
) -> tuple[Device, _Register, list[Reading]]:
    """Fit the new meter at `swap`: a fresh register, and the rest of the month to read."""
    draw = random.Random(f"{device.id}:successor")  # noqa: S311
    start = (
        Decimal(0)
        if device.metric is Metric.HEAT
        else _at_precision(draw.uniform(0.0, 0.05), device.metric)
    )
    serial = f"{draw.randrange(10_000_000, 100_000_000):08d}"
    new = Device.create(
        id=str(uuid.uuid5(_NAMESPACE, f"{device.id}:calibration:{swap.year}")),
        measuring_point_id=device.measuring_point_id,
        metric=device.metric,
        serial_number=serial,
        manufacturer=device.manufacturer,
        model=device.model,
        installed_at=swap,
        removed_at=None,
        readings=(),
        billing_zone=zone,
    )
    installation = Reading(swap, start, Quality.MEASURED, Reason.INSTALLATION, swap + FITTER_SYNC)
    # The rest of the swap's month is the new meter's: at the next month start it reads
    # start + (what the old one would have read then - its removal value). Its register is
    # set back to the month start so that its own month draw lands exactly there.
    removal = _value_between(device, register, yearly, swap, zone)
    rest = register.value + _month_use(device, register.at, yearly) - removal
    virtual = start + rest - _month_use(new, register.at, yearly)
    return new, _Register(register.at, virtual), [installation]


def _next_month(instant: datetime) -> datetime:
    years, month = divmod(instant.month, 12)
    return instant.replace(year=instant.year + years, month=month + 1, day=1, hour=0, minute=0,
                           second=0, microsecond=0)  # fmt: skip


def _at_precision(amount: float, metric: Metric) -> Decimal:
    return Decimal(str(amount)).quantize(metric.precision, rounding=ROUND_HALF_UP)
