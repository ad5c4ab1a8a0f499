"""/v1/usage-units: the flats and shops of the caller's properties, and their meters."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response
from flask_smorest import abort

from ..metering.model import MeasuringPoint, UsageUnit
from ..metering.scope import ScopedCatalogue
from ..web.pagination import by_id, paginate
from .blueprint import ApiBlueprint
from .render import ok
from .schemas import (
    ListQueryArgsSchema,
    MeasuringPointListSchema,
    UsageUnitListSchema,
    UsageUnitQueryArgsSchema,
    UsageUnitSchema,
)
from .security import visible_catalogue

blp = ApiBlueprint(
    "usage_units", __name__, url_prefix="/v1/usage-units", description="Usage units (flats, shops)"
)


@blp.route("", methods=["GET"])
@blp.requires("read:units")
@blp.arguments(UsageUnitQueryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, UsageUnitListSchema)
def list_usage_units(
    limit: int, cursor: str | None = None, property_id: str | None = None
) -> Response:
    """List the usage units of the properties the token may see"""
    units = visible_catalogue().usage_units(property_id)
    page = paginate(units, limit, cursor, key=by_id, property_id=property_id)
    page["data"] = [unit_document(u) for u in page["data"]]
    return ok(page)


@blp.route("/<unit_id>", methods=["GET"])
@blp.requires("read:units")
@blp.response(200, UsageUnitSchema)
@blp.errors(404)
def show_usage_unit(unit_id: str) -> Response:
    """Show one usage unit"""
    return ok(unit_document(visible_unit(unit_id)))


@blp.route("/<unit_id>/measuring-points", methods=["GET"])
@blp.requires("read:devices")
@blp.arguments(ListQueryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, MeasuringPointListSchema)
@blp.errors(404)
def list_measuring_points(unit_id: str, limit: int, cursor: str | None = None) -> Response:
    """List a unit's measuring points (where a meter sits, and for what)"""
    unit = visible_unit(unit_id)
    page = paginate(visible_catalogue().measuring_points(unit.id), limit, cursor, key=by_id)
    page["data"] = [measuring_point_document(p) for p in page["data"]]
    return ok(page)


def visible_unit(unit_id: str, catalogue: ScopedCatalogue | None = None) -> UsageUnit:
    """Return a unit the caller may see, or answer 404 as if it did not exist."""
    unit = (catalogue or visible_catalogue()).usage_unit(unit_id)
    if unit is None:
        abort(404, message="no usage unit with this id in the token's property scope")
    assert unit is not None
    return unit


def unit_document(unit: UsageUnit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "property_id": unit.property_id,
        "name": unit.name,
        "kind": unit.kind,
        "category": unit.category.value,
        "floor": unit.floor,
        "area_m2": unit.area_m2,
    }


def measuring_point_document(point: MeasuringPoint) -> dict[str, Any]:
    return {
        "id": point.id,
        "usage_unit_id": point.usage_unit_id,
        "metric": point.metric.value,
        "unit": point.unit,
        "location": point.location,
        "commissioned_on": _day(point.commissioned_on),
        "decommissioned_on": _day(point.decommissioned_on),
        "device_ids": [d.id for d in visible_catalogue().devices(point.id)],
    }


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None
