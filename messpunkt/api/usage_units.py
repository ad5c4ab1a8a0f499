"""/v1/usage-units: the flats and shops of the caller's properties, and their consumption."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask.views import MethodView
from flask_smorest import abort

from ..metering.consumption import GapCause, UnitConsumption, Window, unit_consumption
from ..metering.model import Metric, UsageUnit
from .blueprint import Blueprint
from .pagination import paginate
from .schemas import (
    ConsumptionQueryArgsSchema,
    ConsumptionSchema,
    UsageUnitListSchema,
    UsageUnitQueryArgsSchema,
    UsageUnitSchema,
)
from .security import requires, visible_catalogue

blp = Blueprint(
    "usage_units", __name__, url_prefix="/v1/usage-units", description="Usage units (flats, shops)"
)

_GAP_DETAIL = {
    GapCause.NO_READINGS: "no readings cover this period; its use is unknown (never extrapolated)",
    GapCause.NO_DEVICE_INSTALLED: "no device was installed at this measuring point",
}


@blp.route("")
class UsageUnits(MethodView):
    @requires("read:units")
    @blp.arguments(UsageUnitQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, UsageUnitListSchema)
    @blp.alt_response(400, description="Invalid parameter or cursor")
    def get(self, limit: int, cursor: str | None, property_id: str | None) -> dict[str, Any]:
        """List the usage units of the properties the token may see"""
        units = visible_catalogue().usage_units(property_id)
        return paginate(units, limit, cursor, property_id=property_id)


@blp.route("/<unit_id>")
class UsageUnitById(MethodView):
    @requires("read:units")
    @blp.response(200, UsageUnitSchema)
    @blp.alt_response(404, description="No such unit in the token's property scope")
    def get(self, unit_id: str) -> UsageUnit:
        """Show one usage unit"""
        return visible_unit(unit_id)


@blp.route("/<unit_id>/consumption")
class UsageUnitConsumption(MethodView):
    @requires("read:readings")
    @blp.arguments(ConsumptionQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ConsumptionSchema)
    @blp.alt_response(400, description="Invalid dates or metric")
    @blp.alt_response(404, description="No such unit in the token's property scope")
    def get(self, unit_id: str, from_: Any, to: Any, metric: str | None) -> dict[str, Any]:
        """Compute a unit's consumption per measuring point and device segment"""
        catalogue = visible_catalogue()
        unit = visible_unit(unit_id)
        prop = catalogue.property(unit.property_id)
        assert prop is not None
        zone = ZoneInfo(prop.timezone)
        window = Window.from_dates(from_, to, zone)
        metrics = [Metric(metric)] if metric else list(Metric)
        points = [(p, catalogue.devices(p.id)) for p in catalogue.measuring_points(unit.id)]
        report = unit_consumption(points, window, metrics)
        return consumption_document(unit, from_, to, report, zone)


def visible_unit(unit_id: str) -> UsageUnit:
    unit = visible_catalogue().usage_unit(unit_id)
    if unit is None:
        abort(404, message="no usage unit with this id in the token's property scope")
    assert unit is not None  # abort raised
    return unit


def consumption_document(
    unit: UsageUnit, first: Any, last: Any, report: UnitConsumption, zone: tzinfo
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
                        "from_": s.start.astimezone(zone),
                        "to": s.end.astimezone(zone),
                        "readings": [
                            {
                                "timestamp": r.timestamp.astimezone(zone),
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
                "from_": gap.start.astimezone(zone),
                "to": gap.end.astimezone(zone),
                "detail": _GAP_DETAIL[gap.cause],
            }
            for gap in point.gaps
        )
    return {
        "usage_unit_id": unit.id,
        "from_": first,
        "to": last,
        "measuring_points": points,
        "totals": {
            metric.value: {"value": value, "unit": metric.unit}
            for metric, value in report.totals().items()
        },
        "warnings": warnings,
    }
