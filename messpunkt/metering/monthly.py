"""Monthly consumption as a HeizkostenV §6a consumption notice needs it.

For each month of a year: the unit's consumption, the previous month, the
same month a year before, and the comparison user (§6a(2) Nr. 3: the average
of the other units of the same category in the property, per m², scaled to
the unit's area), each heat-related one also in kWh (Nr. 1, see energy.py).
A month without data says so (`no_data`) instead of showing 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from .consumption import Window, measuring_point_consumption
from .energy import kwh
from .model import Category, Device, MeasuringPoint, Metric, UsageUnit

PointDevices = Sequence[tuple[MeasuringPoint, Sequence[Device]]]


class Status(StrEnum):
    COMPLETE = "complete"
    # Complete, but some point's use rests on no measured reading (a radio outage bridged).
    ESTIMATED = "estimated"
    INCOMPLETE = "incomplete"
    NO_DATA = "no_data"

    @property
    def covered(self) -> bool:
        return self in (Status.COMPLETE, Status.ESTIMATED)


@dataclass(frozen=True, slots=True)
class MonthAmount:
    month: date
    value: Decimal | None
    status: Status
    kwh: Decimal | None = None  # the value in kWh (see energy.py); None for cold water
    # NO_DATA only: a point of the metric was in service, without a reading; its use is
    # unknown. Otherwise none was, and it used nothing (`_central_share` counts it as 0).
    in_service: bool = False


@dataclass(frozen=True, slots=True)
class PropertyAverage:
    """The comparison user of §6a(2) Nr. 3: the same category's average per m², scaled."""

    value: Decimal | None
    status: Status
    units_compared: int
    category: Category
    kwh: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MonthReport:
    month: date
    consumption: MonthAmount
    previous_month: MonthAmount
    same_month_last_year: MonthAmount
    property_average: PropertyAverage


def month_start(year: int, month: int) -> date:
    """Return the first day of a month, counting months past December into later years."""
    years, index = divmod(month - 1, 12)
    return date(year + years, index + 1, 1)


def month_amount(points: PointDevices, metric: Metric, month: date, zone: tzinfo) -> MonthAmount:
    """Sum a unit's measuring points of one metric over one calendar month."""
    window = Window.from_dates(month, _last_day(month), zone)
    results = [
        measuring_point_consumption(point, devices, window)
        for point, devices in points
        if point.metric is metric
    ]
    if not any(result.segments for result in results):
        in_service = not all(result.complete for result in results)  # gaps: it was, unread
        return MonthAmount(month, None, Status.NO_DATA, in_service=in_service)
    total = sum((r.consumption for r in results), Decimal(0).quantize(metric.precision))
    if not all(r.complete for r in results):
        return MonthAmount(month, total, Status.INCOMPLETE)
    estimated = any(r.estimated for r in results)
    return MonthAmount(month, total, Status.ESTIMATED if estimated else Status.COMPLETE)


def monthly_report(
    unit: UsageUnit,
    points: PointDevices,
    neighbours: Sequence[tuple[UsageUnit, PointDevices]],
    metric: Metric,
    year: int,
    zone: tzinfo,
    central_heat: PointDevices = (),
) -> list[MonthReport]:
    """Build the twelve months of `year` for one unit.

    `neighbours` are the property's units (the unit itself among them is skipped);
    `central_heat` is the property's central heat meter, which turns allocator units
    into kWh.
    """
    offsets = range(-11, 13)  # the year before too, for the comparisons
    months = {offset: month_start(year, offset) for offset in offsets}
    own = {o: month_amount(points, metric, months[o], zone) for o in offsets}
    # The other units' months: the twelve compared, and the year before only where a
    # month's kWh needs the property's allocator total (`_central_share`).
    sharing = metric is Metric.HEAT_ALLOCATION and bool(central_heat)
    theirs = offsets if sharing else range(1, 13)
    others = [
        (other, {o: month_amount(their, metric, months[o], zone) for o in theirs})
        for other, their in neighbours
        if other.id != unit.id
    ]
    shares = {o: _central_share(metric, central_heat, own, others, o, months[o], zone)
              for o in offsets}  # fmt: skip
    own = {o: _with_kwh(amount, metric, shares[o]) for o, amount in own.items()}
    return [
        MonthReport(
            month=months[offset],
            consumption=own[offset],
            previous_month=own[offset - 1],
            same_month_last_year=own[offset - 12],
            property_average=_comparison(unit, others, metric, offset, shares[offset]),
        )
        for offset in range(1, 13)
    ]


Share = tuple[Decimal, Decimal] | None


def _central_share(
    metric: Metric,
    central_heat: PointDevices,
    own: dict[int, MonthAmount],
    others: list[tuple[UsageUnit, dict[int, MonthAmount]]],
    offset: int,
    month: date,
    zone: tzinfo,
) -> Share:
    """Return (central heat meter kWh, all allocator units of the property) for a month.

    Only when both are whole: a unit's share of a partly known sum is unknown.
    """
    if metric is not Metric.HEAT_ALLOCATION or not central_heat:
        return None
    central = month_amount(central_heat, Metric.HEAT, month, zone)
    amounts = [own[offset], *(theirs[offset] for _, theirs in others)]
    if not central.status.covered or central.value is None:
        return None
    # A unit with no allocator in service used none; one whose allocators went unread, unknown.
    if not all(a.status.covered or (a.status is Status.NO_DATA and not a.in_service)
               for a in amounts):  # fmt: skip
        return None
    return central.value, sum((a.value or Decimal(0) for a in amounts), Decimal(0))


def _with_kwh(amount: MonthAmount, metric: Metric, share: Share) -> MonthAmount:
    if amount.value is None:
        return amount
    return replace(amount, kwh=kwh(metric, amount.value, share))


def _comparison(
    unit: UsageUnit,
    others: list[tuple[UsageUnit, dict[int, MonthAmount]]],
    metric: Metric,
    offset: int,
    share: Share,
) -> PropertyAverage:
    """Average the other units of the same category per m², times this unit's area.

    Only units with data for the whole month count (complete or estimated), so a
    broken meter does not pull the average down; the unit itself is not its own yardstick.
    """
    total, area, counted = Decimal(0), Decimal(0), 0
    for other, amounts in others:
        amount = amounts[offset]
        if other.category is not unit.category or other.area_m2 <= 0:
            continue
        if amount.status.covered and amount.value is not None:
            total += amount.value
            area += other.area_m2
            counted += 1
    if counted == 0:
        return PropertyAverage(None, Status.NO_DATA, 0, unit.category)
    exact = total / area * unit.area_m2
    scaled = exact.quantize(metric.precision, rounding=ROUND_HALF_UP)
    return PropertyAverage(
        scaled, Status.COMPLETE, counted, unit.category, kwh(metric, exact, share)
    )


def _last_day(month: date) -> date:
    following = month_start(month.year, month.month + 1)
    return date.fromordinal(following.toordinal() - 1)
