"""Monthly consumption as a HeizkostenV §6a consumption notice needs it.

For each month of a year: the unit's consumption, the previous month, the
same month a year before, and the property's average scaled to the unit's
area. A month without data says so (`no_data`) instead of showing 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from .consumption import Window, measuring_point_consumption
from .model import Device, MeasuringPoint, Metric, UsageUnit

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


@dataclass(frozen=True, slots=True)
class PropertyAverage:
    value: Decimal | None
    status: Status
    units_compared: int


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
        return MonthAmount(month, None, Status.NO_DATA)
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
) -> list[MonthReport]:
    """Build the twelve months of `year` for one unit; `neighbours` are the property's units."""
    own = {
        offset: month_amount(points, metric, month_start(year, offset), zone)
        for offset in range(-11, 13)  # the year before, for the comparisons
    }
    reports = []
    for offset in range(1, 13):
        month = month_start(year, offset)
        reports.append(
            MonthReport(
                month=month,
                consumption=own[offset],
                previous_month=own[offset - 1],
                same_month_last_year=own[offset - 12],
                property_average=_property_average(unit, neighbours, metric, month, zone),
            )
        )
    return reports


def _property_average(
    unit: UsageUnit,
    neighbours: Sequence[tuple[UsageUnit, PointDevices]],
    metric: Metric,
    month: date,
    zone: tzinfo,
) -> PropertyAverage:
    # Only units with data for the whole month count (complete or estimated), so a
    # broken meter does not pull the average down.
    total, area, counted = Decimal(0), Decimal(0), 0
    for other, points in neighbours:
        amount = month_amount(points, metric, month, zone)
        if amount.status.covered and amount.value is not None and other.area_m2 > 0:
            total += amount.value
            area += other.area_m2
            counted += 1
    if counted == 0:
        return PropertyAverage(None, Status.NO_DATA, 0)
    scaled = (total / area * unit.area_m2).quantize(metric.precision, rounding=ROUND_HALF_UP)
    return PropertyAverage(scaled, Status.COMPLETE, counted)


def _last_day(month: date) -> date:
    following = month_start(month.year, month.month + 1)
    return date.fromordinal(following.toordinal() - 1)
