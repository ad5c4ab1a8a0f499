"""Load and validate a sandbox data set: a directory of JSON fixtures.

Every problem is reported with the file, the JSON path and the reason, and
nothing is returned until the whole set is valid, so a bad directory never
replaces good data.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .metering.catalogue import InMemoryCatalogue
from .metering.model import (
    Category,
    DemoUser,
    Device,
    MeasuringPoint,
    Metric,
    Property,
    Quality,
    Reading,
    Reason,
    Tenant,
    UsageUnit,
)
from .oauth.client_metadata import check_redirect_uri
from .oauth.clients import MAX_ACCESS_TOKEN_TTL, Client, ClientType
from .oauth.errors import InvalidRedirectUri
from .records import DataSetError, Record, in_range

FILES = (
    "tenants.json",
    "properties.json",
    "usage_units.json",
    "measuring_points.json",
    "devices.json",
    "readings.json",
    "clients.json",
)


@dataclass(frozen=True)
class DataSet:
    directory: Path
    catalogue: InMemoryCatalogue
    clients: dict[str, Client]
    # Each file's (mtime, size) as loaded (`files_signature`); none for an upload.
    signature: tuple[tuple[int, int], ...] = ()


def load_dataset(directory: str | Path) -> DataSet:
    """Load a data set, reusing an earlier load of the same unchanged files.

    The data is immutable, so apps created per test share one parsed copy.
    """
    try:
        root = Path(directory).resolve()
    except ValueError:  # a NUL byte: no file system has a file of that name
        raise DataSetError(str(directory), "$", "not a directory") from None
    return _load_cached(root, files_signature(root))


def files_signature(root: Path) -> tuple[tuple[int, int], ...]:
    """Each data set file's (mtime, size), or (0, 0) where it cannot be read: a changed
    file changes it."""
    return tuple(_stat(root / name) for name in FILES)


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4)
def _load_cached(root: Path, signature: tuple[tuple[int, int], ...]) -> DataSet:
    # Millions of objects that all live as long as the data set: a collection
    # in between only walks them again and again (a third of a large load).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return replace(_Loader(root).load(), signature=signature)
    finally:
        if collecting:
            gc.enable()


class _Loader:
    def __init__(self, root: Path) -> None:
        try:
            found = root.is_dir()
        except OSError:  # e.g. a name longer than the file system allows
            found = False
        if not found:
            raise DataSetError(str(root), "$", "not a directory")
        self.root = root

    def load(self) -> DataSet:
        tenants = {r.text("id"): self._tenant(r) for r in self._records("tenants.json")}
        properties = {}
        for r in self._records("properties.json"):
            r.reference("tenant_id", tenants)
            properties[r.text("id")] = self._property(r)
        units = {}
        for r in self._records("usage_units.json"):
            r.reference("property_id", properties)
            units[r.text("id")] = self._unit(r)
        points = {}
        for r in self._records("measuring_points.json"):
            points[r.text("id")] = self._point(r, units, properties)
        readings = self._readings()
        devices = []
        for r in self._records("devices.json"):
            point = points[r.reference("measuring_point_id", points)]
            zone = ZoneInfo(properties[_property_of(point, units)].timezone)
            devices.append(self._device(r, point.metric, zone, readings.pop(r.text("id"), ())))
        if readings:
            orphan = next(iter(readings))
            raise DataSetError("readings.json", "$", f"readings of unknown device {orphan!r}")
        points = self._in_service(points, devices, units, properties)
        clients = {}
        for r in self._records("clients.json"):
            client = self._client(r)
            if client.tenant_id is not None:
                r.reference("tenant_id", tenants)
            clients[client.client_id] = client
        catalogue = InMemoryCatalogue(
            tenants.values(), properties.values(), units.values(), points.values(), devices
        )
        return DataSet(self.root, catalogue, clients)

    def _array(self, name: str) -> list[Any]:
        """Read one fixture file, which must be a JSON array."""
        try:
            with (self.root / name).open("rb") as handle:
                document = json.load(handle, parse_float=Decimal)
        except FileNotFoundError:
            raise DataSetError(name, "$", "file is missing") from None
        except OSError as exc:  # a directory of that name, no permission, …
            raise DataSetError(name, "$", f"cannot be read: {exc.strerror}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise DataSetError(name, "$", f"not valid JSON: {exc}") from None
        if not isinstance(document, list):
            raise DataSetError(name, "$", "must be a JSON array of objects")
        return document

    def _records(self, name: str) -> Iterator[Record]:
        seen: set[str] = set()
        for index, raw in enumerate(self._array(name)):
            record = Record(name, f"$[{index}]", raw)
            key = record.text("client_id" if name == "clients.json" else "id")
            if key in seen:
                raise DataSetError(name, f"$[{index}]", f"duplicate id {key!r}")
            seen.add(key)
            yield record

    def _tenant(self, r: Record) -> Tenant:
        users = tuple(
            DemoUser(u.text("id"), u.text("name"), u.text("email")) for u in r.objects("demo_users")
        )
        if not users:
            raise DataSetError(r.file, f"{r.path}.demo_users", "needs at least one demo user")
        return Tenant(r.text("id"), r.text("name"), users)

    def _property(self, r: Record) -> Property:
        zone = r.text("timezone")
        try:
            ZoneInfo(zone)
        # OSError: a name ZoneInfo opens as a file and cannot, a directory of the tz
        # database ("Europe") or one longer than the file system allows.
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise DataSetError(
                r.file, f"{r.path}.timezone", f"unknown time zone {zone!r}"
            ) from None
        return Property(
            r.text("id"), r.text("tenant_id"), r.text("name"), r.text("street"),
            r.text("postal_code"), r.text("city"), zone, r.text("heating"),
        )  # fmt: skip

    def _unit(self, r: Record) -> UsageUnit:
        category = r.choice("category", Category) if "category" in r.raw else Category.RESIDENTIAL
        return UsageUnit(
            r.text("id"), r.text("property_id"), r.text("name"), r.text("kind"), r.text("floor"),
            r.decimal("area_m2"), category,
        )  # fmt: skip

    def _point(
        self, r: Record, units: dict[str, UsageUnit], properties: dict[str, Property]
    ) -> MeasuringPoint:
        # A point belongs to a unit, or (the central heat meter) to a whole property.
        if r.raw.get("usage_unit_id") is None and r.raw.get("property_id") is not None:
            unit_id, property_id = None, r.reference("property_id", properties)
            if r.raw.get("metric") != Metric.HEAT.value:
                raise r.fail("metric", "a property's own point is its central heat meter: heat")
        else:
            unit_id, property_id = r.reference("usage_unit_id", units), None
            if r.raw.get("property_id") is not None:
                raise r.fail("property_id", "a unit's point has none (it has usage_unit_id)")
        metric = r.choice("metric", Metric)
        if r.text("unit") != metric.unit:
            raise DataSetError(r.file, f"{r.path}.unit", f"{metric} is measured in {metric.unit}")
        commissioned = r.day("commissioned_on", optional=True)
        decommissioned = r.day("decommissioned_on", optional=True)
        if commissioned and decommissioned and decommissioned < commissioned:
            raise r.fail("decommissioned_on", "must not be before commissioned_on")
        return MeasuringPoint(
            r.text("id"), unit_id, metric, r.text("location"), commissioned, decommissioned,
            property_id=property_id,
        )  # fmt: skip

    def _in_service(
        self,
        points: dict[str, MeasuringPoint],
        devices: list[Device],
        units: dict[str, UsageUnit],
        properties: dict[str, Property],
    ) -> dict[str, MeasuringPoint]:
        """Give each point its service as instants; refuse a device outside it."""
        by_point: dict[str, list[Device]] = {}
        position = {}
        for index, device in enumerate(devices):
            by_point.setdefault(device.measuring_point_id, []).append(device)
            position[device.id] = index
        for point_id, point in points.items():
            zone = ZoneInfo(properties[_property_of(point, units)].timezone)
            start, end = service_instants(point, by_point.get(point_id, ()), zone)
            for device in by_point.get(point_id, ()):
                removed = device.removed_at
                if (start is not None and device.installed_at.astimezone(UTC) < start) or (
                    end is not None and (removed is None or removed.astimezone(UTC) > end)
                ):
                    raise DataSetError(
                        "devices.json", f"$[{position[device.id]}]", "installed outside the "
                        f"service of measuring point {point_id} (commissioned_on, "
                        "decommissioned_on)",
                    )  # fmt: skip
            points[point_id] = replace(point, service_start=start, service_end=end)
        return points

    def _device(
        self, r: Record, metric: Metric, zone: ZoneInfo, readings: tuple[Reading, ...]
    ) -> Device:
        installed, removed = r.instant("installed_at"), r.instant("removed_at", optional=True)
        if removed is not None and removed < installed:
            raise r.fail("removed_at", "must not be before installed_at")
        try:
            return Device.create(
                id=r.text("id"),
                measuring_point_id=r.text("measuring_point_id"),
                metric=metric,
                serial_number=r.text("serial_number"),
                manufacturer=r.text("manufacturer"),
                model=r.text("model"),
                installed_at=installed,
                removed_at=removed,
                readings=_at_precision(r.text("id"), metric, readings),
                billing_zone=zone,
            )
        except ValueError as exc:
            if isinstance(exc, DataSetError):
                raise
            raise DataSetError("readings.json", "$", str(exc)) from None

    def _readings(self) -> dict[str, tuple[Reading, ...]]:
        # The hot path of a large data set: plain dict access, checked in one place.
        by_device: dict[str, list[Reading]] = {}
        qualities = {q.value: q for q in (Quality.MEASURED, Quality.ESTIMATED)}
        reasons = {r.value: r for r in Reason if r is not Reason.WINDOW_BOUNDARY}
        instant = _Instants()
        for index, raw in enumerate(self._array("readings.json")):
            try:
                timestamp = instant(raw["timestamp"])
                value = raw["value"]
                if type(value) is int:
                    value = Decimal(value)
                recorded = raw.get("recorded_at")
                if recorded is not None:
                    recorded = instant(recorded)
                    if recorded < timestamp:
                        raise DataSetError(
                            "readings.json", f"$[{index}].recorded_at", "must not be before "
                            "the reading's timestamp (a reading is recorded once taken)",
                        )  # fmt: skip
                reading = Reading(
                    timestamp, value, qualities[raw["quality"]], reasons[raw["reason"]], recorded
                )
                if type(value) is not Decimal or value < 0:
                    raise ValueError
                by_device.setdefault(raw["device_id"], []).append(reading)
            except DataSetError:
                raise
            except (KeyError, TypeError, ValueError):
                record = Record("readings.json", f"$[{index}]", raw)
                record.text("device_id")
                record.instant("timestamp")
                record.decimal("value")
                record.choice("quality", qualities)
                record.choice("reason", reasons)
                record.instant("recorded_at", optional=True)
                raise DataSetError("readings.json", f"$[{index}]", "invalid reading") from None
        return {device: tuple(items) for device, items in by_device.items()}

    def _client(self, r: Record) -> Client:
        client_type = r.choice("type", ClientType)
        secret_hash = r.text("secret_hash", optional=True)
        if (client_type is ClientType.CONFIDENTIAL) != (secret_hash is not None):
            raise DataSetError(
                r.file, f"{r.path}.secret_hash", "confidential clients, and only they, have one"
            )
        ttl = r.raw.get("access_token_ttl")
        if ttl is not None and (type(ttl) is not int or not 0 < ttl <= MAX_ACCESS_TOKEN_TTL):
            raise r.fail(
                "access_token_ttl",
                f"must be 1 to {MAX_ACCESS_TOKEN_TTL} seconds (30 days, a session's cap)",
            )
        redirect_uris = tuple(r.strings("redirect_uris"))
        for index, uri in enumerate(redirect_uris):
            try:
                check_redirect_uri(uri)
            except InvalidRedirectUri as error:
                raise r.fail(f"redirect_uris[{index}]", error.description) from None
        return Client(
            client_id=r.text("client_id"),
            name=r.text("name"),
            type=client_type,
            redirect_uris=redirect_uris,
            grant_types=frozenset(r.strings("grant_types")),
            scopes=tuple(r.strings("scopes")),
            secret_hash=secret_hash,
            tenant_id=r.text("tenant_id", optional=True),
            property_ids=tuple(r.strings("property_ids")),
            access_token_ttl=ttl,
        )


def _property_of(point: MeasuringPoint, units: dict[str, UsageUnit]) -> str:
    if point.usage_unit_id is None:
        assert point.property_id is not None
        return point.property_id
    return units[point.usage_unit_id].property_id


def service_instants(
    point: MeasuringPoint, devices: Sequence[Device], zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """Return the instants a point's service starts and ends (in UTC; None: unbounded).

    It starts at 00:00 of `commissioned_on`, or at its first device's installation
    when that is on the same day (the meter fitter commissions the point); it ends
    at 00:00 of `decommissioned_on`, or at the last removal on that day.
    """
    start = end = None
    if point.commissioned_on is not None:
        start = datetime.combine(point.commissioned_on, time(), zone).astimezone(UTC)
        first = min((d.installed_at.astimezone(UTC) for d in devices), default=None)
        if first is not None and first.astimezone(zone).date() == point.commissioned_on:
            start = first
    if point.decommissioned_on is not None:
        end = datetime.combine(point.decommissioned_on, time(), zone).astimezone(UTC)
        removals = [d.removed_at.astimezone(UTC) for d in devices if d.removed_at is not None]
        last = max(removals, default=None)
        if last is not None and last.astimezone(zone).date() == point.decommissioned_on:
            end = last
    return start, end


class _Instants:
    """Parse readings' RFC 3339 timestamps to UTC, each distinct text once.

    Readings fall on the same instants across devices (month starts, billing
    dates): the 10,000-unit data set's 1.6 million timestamps are a few
    hundred texts, and parsing each once made its load 0.8-1.5 s faster (of
    6.6-7.5 s). Kept in UTC: comparing two datetimes whose tzinfo is one
    object is a field comparison, any other pair first asks both for their
    offset (bisecting a device's readings took 3 µs instead of 0.6). At most
    `KEPT` texts are remembered, so a data set of all distinct instants costs
    no more memory than parsing each.
    """

    KEPT = 65_536

    def __init__(self) -> None:
        self._parsed: dict[str, datetime] = {}

    def __call__(self, text: str) -> datetime:
        """The instant `text` names, in UTC; ValueError without an offset, TypeError
        for what is not a string."""
        parsed = self._parsed.get(text)
        if parsed is None:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None or not in_range(parsed):
                raise ValueError(f"{text!r} has no offset or lies outside the data's years")
            parsed = parsed.astimezone(UTC)
            if len(self._parsed) < self.KEPT:
                self._parsed[text] = parsed
        return parsed


def _at_precision(
    device_id: str, metric: Metric, readings: tuple[Reading, ...]
) -> tuple[Reading, ...]:
    """Write every value at the metric's precision; refuse finer values and a register
    that runs backwards (only heat cost allocators restart, at their billing date)."""
    exponent = metric.precision.as_tuple().exponent
    result = []
    for reading in readings:
        value = reading.value
        if value.as_tuple().exponent != exponent:
            value = value.quantize(metric.precision)
            if value != reading.value:
                raise ValueError(
                    f"device {device_id}: {reading.value} at {reading.timestamp.isoformat()} is "
                    f"finer than the {metric} precision {metric.precision}"
                )
            reading = reading._replace(value=value)
        result.append(reading)
    return tuple(result)
