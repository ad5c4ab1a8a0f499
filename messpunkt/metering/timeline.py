"""The data as it stood at an instant: production never shows what was not yet there.

A reading exists once recorded, a device once installed, a removal once done. A
request takes its sandbox's `now` once and asks for every device through here, so
moving the clock forward makes the next readings appear, as in production.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from .model import Device, MeasuringPoint


def device_as_of(device: Device, now: datetime) -> Device | None:
    """Return the device as known at `now`, or None when it was not yet installed."""
    now = now.astimezone(UTC)
    if device.installed_at.astimezone(UTC) > now:
        return None
    removed = device.removed_at
    removal_known = removed is None or removed.astimezone(UTC) <= now
    latest = device.latest_record
    if removal_known and (latest is None or latest <= now):
        return device  # everything about it is known already: the common case
    visible = tuple(r for r in device.readings if r.recorded.astimezone(UTC) <= now)
    return device.revised(visible, removed if removal_known else None)


def point_as_of(point: MeasuringPoint, now: datetime) -> MeasuringPoint | None:
    """Return the point as known at `now`: None before its service, open while it lasts."""
    now = now.astimezone(UTC)
    if point.service_start is not None and point.service_start.astimezone(UTC) > now:
        return None
    if point.service_end is not None and point.service_end.astimezone(UTC) > now:
        return replace(point, decommissioned_on=None, service_end=None)
    return point
