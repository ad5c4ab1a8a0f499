"""A tenant's view of the catalogue: what a token may see, and nothing else.

Every /v1 lookup goes through here, so isolation is enforced in one place:
anything outside the tenant or the property scope is simply absent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from .catalogue import Catalogue
from .continuation import continued_to_month
from .model import Device, MeasuringPoint, Metric, Property, UsageUnit
from .timeline import device_as_of, point_as_of


class ScopedCatalogue:
    """The catalogue as one token sees it, at one instant (`now`, the sandbox clock's).

    A device not yet installed, a removal not yet done, a reading not yet recorded and a
    point not yet commissioned at `now` are absent, as in production.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        tenant_id: str,
        property_ids: Collection[str],
        now: datetime,
    ) -> None:
        self.catalogue = catalogue
        self.tenant_id = tenant_id
        self.property_ids = frozenset(property_ids)
        self.now = now

    def property(self, property_id: str) -> Property | None:
        found = self.catalogue.property(property_id)
        if found is None or found.tenant_id != self.tenant_id or found.id not in self.property_ids:
            return None
        return found

    def properties(self) -> Sequence[Property]:
        return [p for p in self.catalogue.properties() if self.property(p.id) is not None]

    def usage_unit(self, unit_id: str) -> UsageUnit | None:
        unit = self.catalogue.usage_unit(unit_id)
        if unit is None or self.property(unit.property_id) is None:
            return None
        return unit

    def usage_units(self, property_id: str | None = None) -> Iterator[UsageUnit]:
        """Yield the visible units, of one property or all, in the stable order."""
        properties = self.properties() if property_id is None else [self.property(property_id)]
        for prop in properties:
            if prop is not None:
                yield from self.catalogue.usage_units(prop.id)

    def zone(self, unit_id: str) -> ZoneInfo:
        """Return the time zone of a visible unit's property: every day is drawn in it."""
        unit = self.usage_unit(unit_id)
        prop = self.property(unit.property_id) if unit else None
        if prop is None:
            raise LookupError(f"usage unit {unit_id!r} is not visible")
        return ZoneInfo(prop.timezone)

    def measuring_point(self, point_id: str) -> MeasuringPoint | None:
        point = self.catalogue.measuring_point(point_id)
        # A property's own points (its central heat meter) are read only through the
        # §6a months of its units (`central_heat`), never listed as a unit's.
        if point is None or point.usage_unit_id is None:
            return None
        if self.usage_unit(point.usage_unit_id) is None:
            return None
        return point_as_of(point, self.now)

    def measuring_points(self, unit_id: str) -> Sequence[MeasuringPoint]:
        if self.usage_unit(unit_id) is None:
            return ()
        return self._as_of(self.catalogue.measuring_points(unit_id))

    def device(self, device_id: str) -> Device | None:
        device = self.catalogue.device(device_id)
        if device is None:
            return self._successor(device_id)
        if self.measuring_point(device.measuring_point_id) is None:
            return None
        return next(
            (d for d in self._devices(device.measuring_point_id) if d.id == device_id), None
        )

    def points_with_devices(
        self, unit: UsageUnit, metrics: Collection[Metric] | None = None
    ) -> list[tuple[MeasuringPoint, Sequence[Device]]]:
        """Return a visible unit's measuring points (of some metrics) with their devices."""
        if self.usage_unit(unit.id) is None:
            return []
        return [
            (point, self._devices(point.id))
            for point in self._as_of(self.catalogue.measuring_points(unit.id))
            if metrics is None or point.metric in metrics
        ]

    def central_heat(self, property_id: str) -> list[tuple[MeasuringPoint, Sequence[Device]]]:
        """Return a visible property's central heat meter points with their devices."""
        if self.property(property_id) is None:
            return []
        return [
            (point, self._devices(point.id))
            for point in self._as_of(self.catalogue.property_points(property_id))
            if point.metric is Metric.HEAT
        ]

    def devices(self, point_id: str) -> Sequence[Device]:
        if self.measuring_point(point_id) is None:
            return ()
        return self._devices(point_id)

    def _devices(self, point_id: str) -> list[Device]:
        known = (device_as_of(d, self.now) for d in self._read_on(point_id))
        return [device for device in known if device is not None]

    def _read_on(self, point_id: str) -> Sequence[Device]:
        """A point's devices; past the data set's end, read on from a model, with the meters
        their calibration swaps fitted (all of it up to the end of now's month)."""
        devices = self.catalogue.devices(point_id)
        horizon = self.catalogue.horizon
        if horizon is None or self.now <= horizon:
            return devices
        return [d for device in devices for d in continued_to_month(device, horizon, self.now)]

    def _successor(self, device_id: str) -> Device | None:
        """Find a meter that replaced a fixture device after the data set's end."""
        horizon = self.catalogue.horizon
        if horizon is None or self.now <= horizon:
            return None
        # Matched before it is cut to the sandbox's now, and only the one found is: cutting
        # every meter's history to find one took 88 ms a request with the clock at 2099.
        for unit in self.usage_units():
            for point in self.measuring_points(unit.id):
                for device in self._read_on(point.id):
                    if device.id == device_id:
                        return device_as_of(device, self.now)
        return None

    def _as_of(self, points: Sequence[MeasuringPoint]) -> list[MeasuringPoint]:
        known = (point_as_of(p, self.now) for p in points)
        return [point for point in known if point is not None]
