"""/v1/devices: the meters and allocators, and their readings."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from flask import Response
from flask_smorest import abort

from ..metering.consumption import Window
from ..metering.model import Device, Metric, Reading
from ..metering.scope import ScopedCatalogue
from ..web.pagination import by_id, paginate
from .blueprint import ApiBlueprint
from .render import local, ok
from .schemas import (
    DeviceListSchema,
    DeviceQueryArgsSchema,
    DeviceSchema,
    ReadingListSchema,
    ReadingQueryArgsSchema,
)
from .security import visible_catalogue

blp = ApiBlueprint(
    "devices", __name__, url_prefix="/v1/devices", description="Devices and readings"
)


@blp.route("", methods=["GET"])
@blp.requires("read:devices")
@blp.arguments(DeviceQueryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, DeviceListSchema)
def list_devices(
    limit: int,
    cursor: str | None = None,
    usage_unit_id: str | None = None,
    measuring_point_id: str | None = None,
    metric: str | None = None,
    active_on: date | None = None,
) -> Response:
    """List devices, optionally of one unit, measuring point or metric, or active on a day"""
    catalogue = visible_catalogue()
    filters: dict[str, Any] = {
        "usage_unit_id": usage_unit_id,
        "measuring_point_id": measuring_point_id,
        "metric": metric,
        "active_on": active_on,
    }
    page = paginate(_devices(catalogue, **filters), limit, cursor, key=by_id, **filters)
    page["data"] = [device_document(catalogue, d) for d in page["data"]]
    return ok(page)


@blp.route("/<device_id>", methods=["GET"])
@blp.requires("read:devices")
@blp.response(200, DeviceSchema)
@blp.errors(404)
def show_device(device_id: str) -> Response:
    """Show one device"""
    catalogue = visible_catalogue()
    return ok(device_document(catalogue, visible_device(catalogue, device_id)))


@blp.route("/<device_id>/readings", methods=["GET"])
@blp.requires("read:readings")
@blp.arguments(ReadingQueryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ReadingListSchema)
@blp.errors(404)
def list_readings(
    device_id: str,
    limit: int,
    cursor: str | None = None,
    from_: date | None = None,
    to: date | None = None,
    since: datetime | None = None,
) -> Response:
    """List a device's readings between two days (inclusive), oldest first

    Only readings recorded by the sandbox's now exist; `since` keeps those recorded after it.
    """
    catalogue = visible_catalogue()
    device = visible_device(catalogue, device_id)
    point = catalogue.measuring_point(device.measuring_point_id)
    assert point is not None
    assert point.usage_unit_id is not None  # the scope shows only units' points
    zone = catalogue.zone(point.usage_unit_id)
    # Bisection on the sorted timestamps: a device's history is never scanned.
    low, high = 0, len(device.timestamps)
    if from_ is not None:
        low = bisect_left(device.timestamps, Window.from_dates(from_, from_, zone).start)
    if to is not None:
        high = bisect_left(device.timestamps, Window.from_dates(to, to, zone).end)
    readings: Sequence[Reading] = device.readings[low:high]
    if since is not None:
        readings = [r for r in readings if r.recorded > since]
    page = paginate(readings, limit, cursor, key=_at, from_=from_, to=to, since=since)
    page["data"] = [
        {
            "timestamp": local(r.timestamp, zone),
            "recorded_at": local(r.recorded, zone),
            "value": r.value,
            "unit": device.metric.unit,
            "quality": r.quality.value,
            "reason": r.reason.value,
        }
        for r in page["data"]
    ]
    return ok(page)


def visible_device(catalogue: ScopedCatalogue, device_id: str) -> Device:
    device = catalogue.device(device_id)
    if device is None:
        abort(404, message="no device with this id in the token's property scope")
    assert device is not None
    return device


def device_document(catalogue: ScopedCatalogue, device: Device) -> dict[str, Any]:
    point = catalogue.measuring_point(device.measuring_point_id)
    assert point is not None
    assert point.usage_unit_id is not None  # the scope shows only units' points
    zone = catalogue.zone(point.usage_unit_id)
    return {
        "id": device.id,
        "serial_number": device.serial_number,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "measuring_point_id": point.id,
        "usage_unit_id": point.usage_unit_id,
        "metric": device.metric.value,
        "unit": device.metric.unit,
        "installed_at": local(device.installed_at, zone),
        "removed_at": local(device.removed_at, zone) if device.removed_at else None,
    }


def _devices(
    catalogue: ScopedCatalogue,
    *,
    usage_unit_id: str | None,
    measuring_point_id: str | None,
    metric: str | None,
    active_on: date | None,
) -> Iterator[Device]:
    """Yield the visible devices that pass every filter, in the stable order."""
    points: Any
    if measuring_point_id is not None:
        found = catalogue.measuring_point(measuring_point_id)
        points = [found] if found is not None else []
    elif usage_unit_id is not None:
        points = catalogue.measuring_points(usage_unit_id)
    else:
        points = (p for u in catalogue.usage_units() for p in catalogue.measuring_points(u.id))
    for point in points:
        if usage_unit_id is not None and point.usage_unit_id != usage_unit_id:
            continue
        if metric is not None and point.metric is not Metric(metric):
            continue
        day = (
            Window.from_dates(active_on, active_on, catalogue.zone(point.usage_unit_id))
            if active_on
            else None
        )
        for device in catalogue.devices(point.id):
            if day is None or device.is_installed_on(day.start, day.end):
                yield device


def _at(reading: Reading) -> str:
    """A reading's key in its device's list: its instant (a device has one per instant)."""
    return reading.timestamp.isoformat()
