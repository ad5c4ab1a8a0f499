"""/v1/usage-units/{id}/consumption: per segment, and per month for a consumption notice."""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any

from flask import Response

from ..metering.consumption import GapCause, UnitConsumption, Window, unit_consumption
from ..metering.model import Metric, UsageUnit
from ..metering.monthly import MonthAmount, monthly_report
from .blueprint import ApiBlueprint
from .consumption_schemas import (
    ConsumptionQueryArgsSchema,
    ConsumptionSchema,
    MonthlyConsumptionSchema,
    MonthlyQueryArgsSchema,
)
from .render import local, ok
from .security import visible_catalogue
from .usage_units import visible_unit

blp = ApiBlueprint(
    "consumption", __name__, url_prefix="/v1/usage-units", description="Consumption of a unit"
)

_GAP_DETAIL = {
    GapCause.NO_READINGS: "no readings cover this period; its use is unknown (never extrapolated)",
    GapCause.NO_DEVICE_INSTALLED: "no device was installed at this measuring point",
}


@blp.route("/<unit_id>/consumption", methods=["GET"])
@blp.requires("read:readings")
@blp.arguments(ConsumptionQueryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ConsumptionSchema)
@blp.errors(404)
def show_consumption(unit_id: str, from_: date, to: date, metric: str | None = None) -> Response:
    """Compute a unit's consumption per measuring point and device segment"""
    catalogue = visible_catalogue()
    unit = visible_unit(unit_id, catalogue)
    zone = catalogue.zone(unit.id)
    window = Window.from_dates(from_, to, zone)
    metrics = [Metric(metric)] if metric else list(Metric)
    report = unit_consumption(catalogue.points_with_devices(unit, metrics), window, metrics)
    return ok(consumption_document(unit, from_, to, report, zone))


@blp.route("/<unit_id>/consumption/monthly", methods=["GET"])
@blp.requires("read:readings")
@blp.arguments(MonthlyQueryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, MonthlyConsumptionSchema)
@blp.errors(404)
def show_monthly_consumption(unit_id: str, year: int, metric: str) -> Response:
    """Give a year's months with the comparisons HeizkostenV §6a asks for"""
    catalogue = visible_catalogue()
    unit = visible_unit(unit_id, catalogue)
    chosen = Metric(metric)
    neighbours = [
        (other, catalogue.points_with_devices(other, [chosen]))
        for other in catalogue.usage_units(unit.property_id)
    ]
    months = monthly_report(
        unit,
        catalogue.points_with_devices(unit, [chosen]),
        neighbours,
        chosen,
        year,
        catalogue.zone(unit.id),
        catalogue.central_heat(unit.property_id),
    )
    return ok(
        {
            "usage_unit_id": unit.id,
            "year": year,
            "metric": chosen.value,
            "unit": chosen.unit,
            "area_m2": unit.area_m2,
            "category": unit.category.value,
            "months": [
                {
                    "month": _month(m.month),
                    "consumption": _amount(m.consumption),
                    "previous_month": _amount(m.previous_month),
                    "same_month_last_year": _amount(m.same_month_last_year),
                    "property_average": {
                        "value": m.property_average.value,
                        "kwh": m.property_average.kwh,
                        "status": m.property_average.status.value,
                        "units_compared": m.property_average.units_compared,
                        "category": m.property_average.category.value,
                    },
                }
                for m in months
            ],
        }
    )


def consumption_document(
    unit: UsageUnit, first: date, last: date, report: UnitConsumption, zone: tzinfo
) -> dict[str, Any]:
    """Shape a consumption report as the API returns it, times in the property's zone."""
    points: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for point in report.points:
        mp = point.measuring_point
        points.append(
            {
                "id": mp.id,
                "metric": mp.metric.value,
                "unit": mp.unit,
                "location": mp.location,
                "segments": [
                    {
                        "device": {"id": s.device.id, "serial_number": s.device.serial_number},
                        "from": local(s.start, zone),
                        "to": local(s.end, zone),
                        "readings": [
                            {
                                "timestamp": local(r.timestamp, zone),
                                "value": r.value,
                                "quality": r.quality.value,
                                "reason": r.reason.value,
                            }
                            for r in s.readings
                        ],
                        "consumption": s.consumption,
                    }
                    for s in point.segments
                ],
                "consumption": point.consumption,
                "complete": point.complete,
            }
        )
        warnings.extend(
            {
                "code": gap.cause.value,
                "measuring_point_id": mp.id,
                "from": local(gap.start, zone),
                "to": local(gap.end, zone),
                "detail": _GAP_DETAIL[gap.cause],
            }
            for gap in point.gaps
        )
    return {
        "usage_unit_id": unit.id,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "measuring_points": points,
        "totals": {
            metric.value: {
                "value": total.value,
                "unit": metric.unit,
                "complete": total.complete,
                "uncovered": [
                    {
                        "measuring_point_id": point.id,
                        "from": local(gap.start, zone),
                        "to": local(gap.end, zone),
                        "code": gap.cause.value,
                    }
                    for point, gap in total.uncovered
                ],
            }
            for metric, total in report.totals().items()
        },
        "warnings": warnings,
    }


def _amount(amount: MonthAmount) -> dict[str, Any]:
    return {
        "month": _month(amount.month),
        "value": amount.value,
        "kwh": amount.kwh,
        "status": amount.status.value,
    }


def _month(first_day: date) -> str:
    return first_day.strftime("%Y-%m")
