"""The read-only repository of tenants, properties, units, measuring points and devices."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from .model import Device, MeasuringPoint, Property, Tenant, UsageUnit


class Catalogue(ABC):
    """What the API reads; another store can replace the in-memory one behind this."""

    # The data set's last reading: past it, readings continue from a model (continuation.py).
    horizon: datetime | None = None

    @abstractmethod
    def tenant(self, tenant_id: str) -> Tenant | None: ...

    @abstractmethod
    def tenants(self) -> Sequence[Tenant]: ...

    @abstractmethod
    def property(self, property_id: str) -> Property | None: ...

    @abstractmethod
    def properties(self) -> Sequence[Property]:
        """Return every property in the stable list order."""

    @abstractmethod
    def usage_unit(self, unit_id: str) -> UsageUnit | None: ...

    @abstractmethod
    def usage_units(self, property_id: str) -> Sequence[UsageUnit]:
        """Return a property's units in the stable list order."""

    @abstractmethod
    def measuring_point(self, point_id: str) -> MeasuringPoint | None: ...

    @abstractmethod
    def measuring_points(self, unit_id: str) -> Sequence[MeasuringPoint]: ...

    @abstractmethod
    def property_points(self, property_id: str) -> Sequence[MeasuringPoint]:
        """Return the points of a whole property (its central heat meter), of no unit."""

    @abstractmethod
    def device(self, device_id: str) -> Device | None: ...

    @abstractmethod
    def devices(self, point_id: str) -> Sequence[Device]:
        """Return a measuring point's devices by installation time."""


class InMemoryCatalogue(Catalogue):
    """Indexes built once at load; every lookup is a dictionary access."""

    def __init__(
        self,
        tenants: Iterable[Tenant],
        properties: Iterable[Property],
        units: Iterable[UsageUnit],
        points: Iterable[MeasuringPoint],
        devices: Iterable[Device],
    ) -> None:
        self._tenants = {t.id: t for t in tenants}
        self._properties = {p.id: p for p in properties}
        self._units = {u.id: u for u in units}
        self._points = {p.id: p for p in points}
        self._devices = {d.id: d for d in devices}
        self._units_by_property = _group(self._units.values(), lambda u: u.property_id)
        self._points_by_unit = _group(
            (p for p in self._points.values() if p.usage_unit_id is not None),
            lambda p: p.usage_unit_id,
        )
        self._points_by_property = _group(
            (p for p in self._points.values() if p.usage_unit_id is None),
            lambda p: p.property_id,
        )
        self.horizon = max(
            (d.timestamps[-1].astimezone(UTC) for d in self._devices.values() if d.timestamps),
            default=None,
        )
        self._devices_by_point = {
            key: tuple(sorted(group, key=lambda d: d.installed_at))
            for key, group in _group(self._devices.values(), lambda d: d.measuring_point_id).items()
        }

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)

    def tenants(self) -> Sequence[Tenant]:
        return tuple(self._tenants.values())

    def property(self, property_id: str) -> Property | None:
        return self._properties.get(property_id)

    def properties(self) -> Sequence[Property]:
        return tuple(self._properties.values())

    def usage_unit(self, unit_id: str) -> UsageUnit | None:
        return self._units.get(unit_id)

    def usage_units(self, property_id: str) -> Sequence[UsageUnit]:
        return self._units_by_property.get(property_id, ())

    def measuring_point(self, point_id: str) -> MeasuringPoint | None:
        return self._points.get(point_id)

    def measuring_points(self, unit_id: str) -> Sequence[MeasuringPoint]:
        return self._points_by_unit.get(unit_id, ())

    def property_points(self, property_id: str) -> Sequence[MeasuringPoint]:
        return self._points_by_property.get(property_id, ())

    def device(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    def devices(self, point_id: str) -> Sequence[Device]:
        return self._devices_by_point.get(point_id, ())


def _group(items, key) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    groups: dict[str, list] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return {k: tuple(v) for k, v in groups.items()}
