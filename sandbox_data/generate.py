#!/usr/bin/env python3
"""Generate the JSON fixtures of the messpunkt.io sandbox (German submetering data API).

The data set holds tenants (property managers), their properties and usage units, the
measuring points of each unit (warm/cold water, heat, heat cost allocators), the devices
installed at those points and the devices' cumulative register readings 2024-01..2027-01.

The output is byte-identical on every run: each random draw comes from a ``random.Random``
seeded with a descriptive string, ids are ``uuid5`` values of descriptive names (except the
fixed ids below) and the clock is never read. See README.md in this folder for the contents.

    python sandbox_data/generate.py                          # default data set, this folder
    python sandbox_data/generate.py --units 10000 --out /tmp/large   # scale benchmark set
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import textwrap
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

# Public sandbox secrets (documented in README.md); clients.json stores only their SHA-256.
WEB_CLIENT_SECRET = "sandbox-web-client-secret-change-me"  # noqa: S105
SERVICE_CLIENT_SECRET = "sandbox-service-client-secret-change-me"  # noqa: S105

NAMESPACE = uuid.UUID("5caf4d6a-9147-4348-8349-5efd502eb131")
TZ = ZoneInfo("Europe/Berlin")
TENANT_A = "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a"
PROPERTY_A1 = "6fb74d25-5517-4dcc-ae8b-0914579ab036"
SCOPES = ["read:units", "read:devices", "read:readings"]

# The 37 monthly reading instants 2024-01-01 00:00 ... 2027-01-01 00:00, local time.
MONTHS = [datetime(2024 + k // 12, k % 12 + 1, 1, tzinfo=TZ) for k in range(37)]
MONTHS_ISO = [t.isoformat() for t in MONTHS]
FIRST, LAST = MONTHS[0], MONTHS[-1]

METRIC_ORDER = ["water_warm", "water_cold", "heat", "heat_allocation"]
UNIT_OF = {"water_warm": "m3", "water_cold": "m3", "heat": "kWh", "heat_allocation": "units"}
DECIMALS = {"water_warm": 3, "water_cold": 3, "heat": 0, "heat_allocation": 0}
HEATING_WEIGHTS = [0.17, 0.15, 0.12, 0.08, 0.04, 0.01, 0.005, 0.005, 0.03, 0.08, 0.13, 0.16]
MONTH_WEIGHTS = {  # relative consumption January..December
    "water_warm": [1.1, 1.08, 1.05, 1.0, 0.95, 0.9, 0.88, 0.88, 0.93, 1.0, 1.05, 1.1],
    "water_cold": [0.94, 0.94, 0.97, 1.0, 1.04, 1.08, 1.1, 1.1, 1.03, 0.98, 0.95, 0.94],
    "heat": HEATING_WEIGHTS,
    "heat_allocation": HEATING_WEIGHTS,
}
MONTH_NOISE = {"water_warm": 0.10, "water_cold": 0.10, "heat": 0.15, "heat_allocation": 0.15}
WATER_SHARE = {"Bad": 0.6, "Küche": 0.4, "WC": 1.0}  # split of a unit's water between taps
# Heat cost allocators count rated units (bewertete Einheiten): the radiator's rating factors
# are programmed in, so units of different radiators add up, and one unit stands for about
# 2 kWh of heat (a unit's allocators sum to intensity × area / RATED_KWH_PER_UNIT a year).
RATED_KWH_PER_UNIT = 2.0
RADIATOR_WEIGHT = {
    "Wohnzimmer": 1.0,
    "Kinderzimmer": 0.7,
    "Schlafzimmer": 0.6,
    "Bad": 0.55,
    "Küche": 0.45,
    "Flur": 0.4,
}
VENDORS = {  # per metric: (manufacturer, model, serial number pattern); picked per property
    "water_warm": [
        ("Techem", "radio 5", "{:08d}"),
        ("Diehl Metering", "HYDRUS 2.0", "3WZ-{:08d}"),
        ("ista", "istameter m", "{:08d}"),
    ],
    "heat": [
        ("Kamstrup", "MULTICAL 403", "{:08d}"),
        ("Diehl Metering", "SHARKY 775", "6SH-{:08d}"),
    ],
    "heat_allocation": [("Qundis", "Q caloric 5.5", "{:08d}"), ("Brunata", "HCA Futura", "{:08d}")],
}
VENDORS["water_cold"] = VENDORS["water_warm"]

# MessEV Anlage 7: calibration validity in years, each to the end of the year.
CALIBRATION_YEARS = {"water_warm": 5, "heat": 5, "water_cold": 6}

HEAT_METER_LAYOUT = [("water_warm", "Bad"), ("water_cold", "Bad"), ("heat", "Flur")]
FILLER_LAYOUTS = {
    "heat_cost_allocators": [
        ("water_warm", "Bad"),
        ("water_cold", "Bad"),
        ("heat_allocation", "Schlafzimmer"),
        ("heat_allocation", "Wohnzimmer"),
    ],
    "heat_meters": [
        ("water_warm", "Bad"),
        ("water_cold", "Bad"),
        ("water_cold", "Küche"),
        ("heat", "Flur"),
    ],
}
FILLER_STREETS = [
    "Ahornweg",
    "Birkenallee",
    "Kastanienstraße",
    "Goethestraße",
    "Schillerplatz",
    "Uhlandstraße",
    "Mozartstraße",
    "Eichendorffweg",
]
FILLER_CITIES = [
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("04109", "Leipzig"),
    ("50667", "Köln"),
    ("80331", "München"),
    ("60311", "Frankfurt am Main"),
]
FILLER_FLOORS = ["EG", "1. OG", "2. OG", "3. OG", "4. OG"]
FILLER_UNITS_PER_PROPERTY = 20


def make_id(name: str) -> str:
    """Deterministic UUID for a descriptive name."""
    return str(uuid.uuid5(NAMESPACE, name))


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Europe/Berlin."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def month_index(t: datetime) -> int:
    """Index into MONTHS of the month containing t."""
    return (t.year - 2024) * 12 + t.month - 1


def to_number(value: float, decimals: int) -> int | float:
    """Round a register value to the metric's precision, as int or a noise-free float."""
    if decimals == 0:
        return int(Decimal(value).quantize(Decimal(1), ROUND_HALF_UP))
    quantized = Decimal(value).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    number = float(quantized)
    assert Decimal(repr(number)) == quantized, (value, quantized)
    return number


TENANT_B = make_id("tenant:beispiel-wohnbau")


@dataclass
class Property:
    key: str
    id: str
    tenant_id: str
    name: str
    street: str
    postal_code: str
    city: str
    heating: str
    campaign: datetime  # day the original devices were installed, 08:00 local
    vendor: int


@dataclass
class Unit:
    key: str
    id: str
    property: Property
    name: str
    kind: str
    floor: str
    area: float
    factor: float  # household size factor for water
    intensity: float  # heating demand in kWh per m2 and year


@dataclass
class Device:
    key: str
    id: str
    serial_number: str
    manufacturer: str
    model: str
    installed_at: datetime
    start_value: float  # register at installation, or at 2024-01-01 for older devices
    removed_at: datetime | None = None
    skipped: set[int] = field(default_factory=set)  # MONTHS indices without a reading
    estimated: set[int] = field(default_factory=set)  # MONTHS indices read as "estimated"
    stop_after: int | None = None  # last MONTHS index that still has a reading


@dataclass
class Point:
    key: str
    id: str
    unit: Unit | None  # None for a property's central heat meter (see `owner`)
    owner: Property
    metric: str
    location: str
    curve: list[float]  # cumulative consumption at each MONTHS instant (0 at 2024-01-01)
    prior_year: float  # consumption in 2023 (for the heat cost allocator reset)
    devices: list[Device] = field(default_factory=list)
    decommissioned_on: datetime | None = None  # the day its service ends, if it does
    commissioned_at: datetime | None = None  # with the property's first campaign

    @property
    def commissioned_on(self) -> datetime:
        """The point is commissioned with its first device, on that day."""
        return self.commissioned_at or min(d.installed_at for d in self.devices)


def yearly_amount(
    metric: str, location: str, unit: Unit, share: float, rng: random.Random
) -> float:
    """Typical consumption of one measuring point per year."""
    if metric == "water_warm":
        return 0.36 * unit.area * unit.factor * share
    if metric == "water_cold":
        return 0.70 * unit.area * unit.factor * share
    if metric == "heat":
        return unit.intensity * unit.area
    # `share` is this radiator's part of the unit's radiators (RADIATOR_WEIGHT): the rated
    # units scale with the flat's heat demand, so they are plausible per m².
    heat = unit.intensity * unit.area * share
    return heat / RATED_KWH_PER_UNIT * rng.uniform(0.85, 1.15)


def consumption_curve(metric: str, yearly: float, rng: random.Random) -> tuple[list[float], float]:
    """Cumulative consumption at the 37 monthly instants, and the 2023 total."""
    weights = MONTH_WEIGHTS[metric]
    noise = MONTH_NOISE[metric]
    curve = [0.0]
    for _year in range(3):
        year_amount = yearly * rng.uniform(0.95, 1.05)
        for weight in weights:
            month_amount = year_amount * weight / sum(weights)
            curve.append(curve[-1] + month_amount * rng.uniform(1 - noise, 1 + noise))
    return curve, yearly * rng.uniform(0.95, 1.05)


class Builder:
    """Collects properties, units, measuring points and devices in creation order."""

    def __init__(self) -> None:
        self.properties: list[Property] = []
        self.units: list[Unit] = []
        self.points: dict[str, Point] = {}
        self.serial_rng = random.Random("serial-numbers")
        self.serials: set[str] = set()
        self.campaign_slots: dict[str, int] = {}

    def add_property(
        self,
        key: str,
        name: str,
        street: str,
        postal_code: str,
        city: str,
        heating: str,
        campaign: datetime,
        vendor: int,
        tenant_id: str = TENANT_A,
        property_id: str | None = None,
    ) -> Property:
        prop = Property(
            key,
            property_id or make_id(f"property:{key}"),
            tenant_id,
            name,
            street,
            postal_code,
            city,
            heating,
            campaign,
            vendor,
        )
        self.properties.append(prop)
        return prop

    def add_unit(
        self,
        prop: Property,
        name: str,
        floor: str,
        area: float,
        kind: str = "residential",
        factor: float | None = None,
    ) -> Unit:
        key = f"{prop.key}/{name}"
        rng = random.Random(f"household:{key}")
        random_factor, intensity = rng.uniform(0.7, 1.3), rng.uniform(70, 110)
        unit = Unit(
            key,
            make_id(f"unit:{key}"),
            prop,
            name,
            kind,
            floor,
            area,
            random_factor if factor is None else factor,
            intensity,
        )
        self.units.append(unit)
        return unit

    def add_point(self, unit: Unit, metric: str, location: str, share: float = 1.0) -> Point:
        key = f"{unit.key}/{metric}/{location}"
        rng = random.Random(f"consumption:{key}")
        yearly = yearly_amount(metric, location, unit, share, rng)
        curve, prior_year = consumption_curve(metric, yearly, rng)
        point = Point(
            key,
            make_id(f"measuring-point:{key}"),
            unit,
            unit.property,
            metric,
            location,
            curve,
            prior_year,
        )
        self.points[key] = point
        return point

    def add_central_heat_meter(self, prop: Property) -> Point:
        """Add the property's central heat meter: the heat its radiators gave, in kWh.

        Heat cost allocators only share it out: a unit's rated units over all the
        property's units is its share of this meter's kWh (HeizkostenV §6a, §7).
        """
        key = f"{prop.key}/central/heat/Heizraum"
        rng = random.Random(f"consumption:{key}")
        units = [unit for unit in self.units if unit.property is prop]
        # What the flats' radiators gave, plus some 8 % lost in the building's pipes.
        yearly = sum(unit.intensity * unit.area for unit in units) * rng.uniform(1.06, 1.10)
        curve, prior_year = consumption_curve("heat", yearly, rng)
        point = Point(
            key, make_id(f"measuring-point:{key}"), None, prop, "heat", "Heizraum", curve,
            prior_year,
        )  # fmt: skip
        self.points[key] = point
        self.install_original(point)
        return point

    def add_layout(self, unit: Unit, layout: list[tuple[str, str]]) -> None:
        """Add the unit's measuring points, each with a device from the installation campaign."""
        for metric, location in layout:
            same_metric = [loc for m, loc in layout if m == metric]
            share = 1.0
            if metric.startswith("water") and len(same_metric) > 1:
                share = WATER_SHARE[location] / sum(WATER_SHARE[loc] for loc in same_metric)
            if metric == "heat_allocation":
                share = RADIATOR_WEIGHT[location] / sum(RADIATOR_WEIGHT[r] for r in same_metric)
            self.install_original(self.add_point(unit, metric, location, share))

    def add_device(self, point: Point, installed_at: datetime, start_value: float) -> Device:
        key = f"{point.key}/{len(point.devices) + 1}"
        options = VENDORS[point.metric]
        manufacturer, model, pattern = options[point.owner.vendor % len(options)]
        serial = pattern.format(self.serial_rng.randrange(10_000_000, 100_000_000))
        while serial in self.serials:
            serial = pattern.format(self.serial_rng.randrange(10_000_000, 100_000_000))
        self.serials.add(serial)
        device = Device(
            key, make_id(f"device:{key}"), serial, manufacturer, model, installed_at, start_value
        )
        point.devices.append(device)
        return device

    def install_original(self, point: Point) -> Device:
        """Device from the property's installation campaign (before 2023), 5 minutes apart."""
        prop = point.owner
        slot = self.campaign_slots.get(prop.key, 0)
        self.campaign_slots[prop.key] = slot + 1
        installed_at = prop.campaign + timedelta(minutes=5 * slot)
        assert installed_at < berlin(2023, 1, 1)
        years = (FIRST - installed_at).days / 365.25
        rng = random.Random(f"initial-register:{point.key}")
        yearly = point.curve[12]  # consumption in 2024 as a stand-in for earlier years
        start = years * yearly * rng.uniform(0.85, 1.15)
        if point.metric == "heat_allocation":
            start = 0.0  # allocators count from the last 1 January instead
        point.commissioned_at = installed_at
        return self.add_device(point, installed_at, start)

    def replace_at(self, point: Point, at: datetime, start_value: float) -> Device:
        """Replace the device installed at `at` by a new one, which takes over its future."""
        current = next(
            d for d in point.devices
            if d.installed_at < at and (d.removed_at is None or d.removed_at > at)
        )  # fmt: skip
        new = self.add_device(point, at, start_value)
        new.removed_at, current.removed_at = current.removed_at, at
        return new

    def calibration_campaign(self, dates: dict[tuple[str, int], datetime]) -> None:
        """Replace every meter whose calibration runs out by the end of 2026, in its last year.

        MessEV/MessEG: warm water and heat meters are valid 5 years, cold water meters 6,
        each to the end of the year (a meter of 2020 warm water until 2025-12-31). Heat
        cost allocators are not calibrated. `dates` gives each property's campaign day of a
        year (08:00 local), the meters 5 minutes apart.
        """
        slots: dict[tuple[str, int], int] = {}
        for point in list(self.points.values()):
            period = CALIBRATION_YEARS.get(point.metric)
            due = True
            while period and due:
                due = False
                for device in list(point.devices):
                    year = device.installed_at.year + period
                    valid_until = berlin(year + 1, 1, 1)
                    if year > LAST.year - 1 or (
                        device.removed_at is not None and device.removed_at < valid_until
                    ):
                        continue
                    key = (point.owner.key, year)
                    slot = slots.get(key, 0)
                    slots[key] = slot + 1
                    at = dates[key] + timedelta(minutes=5 * slot)
                    rng = random.Random(f"calibration:{device.key}")
                    start = 0.0 if point.metric == "heat" else rng.uniform(0.0, 0.05)
                    self.replace_at(point, at, start)
                    due = True
                    break

    def swap(self, point: Point, at: datetime, start_value: float) -> Device:
        """Remove the point's current device at `at` and install a new one at the same instant."""
        point.devices[-1].removed_at = at
        return self.add_device(point, at, start_value)

    def sorted_points(self) -> list[Point]:
        """Measuring points by unit (file order), metric, location."""
        unit_pos = {unit.id: i for i, unit in enumerate(self.units)}
        prop_pos = {prop.id: len(unit_pos) + i for i, prop in enumerate(self.properties)}

        def position(p: Point) -> int:  # a property's own points after every unit's
            return unit_pos[p.unit.id] if p.unit else prop_pos[p.owner.id]

        return sorted(
            self.points.values(),
            key=lambda p: (position(p), METRIC_ORDER.index(p.metric), p.location),
        )


def build_default(b: Builder) -> None:
    """The default data set: properties A1, A2 (tenant A) and B1 (tenant B), with scenarios."""
    a1 = b.add_property(
        "A1",
        "Wohnanlage Lindenhof",
        "Lindenstraße 12",
        "10969",
        "Berlin",
        "heat_cost_allocators",
        berlin(2020, 3, 2, 8),
        0,
        property_id=PROPERTY_A1,
    )
    for name, floor, area, factor, rooms in [
        ("WE 01", "EG", 72.4, 1.0, "Wohnzimmer Schlafzimmer Küche Bad"),
        ("WE 02", "EG", 48.15, 0.8, "Wohnzimmer Schlafzimmer Bad"),
        ("WE 03", "1. OG", 95.3, 1.2, "Wohnzimmer Schlafzimmer Kinderzimmer Küche Bad"),
        ("WE 04", "1. OG", 42.6, 0.75, "Wohnzimmer Schlafzimmer Bad"),
        ("WE 05", "2. OG", 84.75, 1.1, "Wohnzimmer Schlafzimmer Kinderzimmer Bad"),
        ("WE 06", "2. OG", 61.2, 0.9, "Wohnzimmer Schlafzimmer Küche Bad"),
        ("WE 07", "3. OG", 105.8, 1.25, "Wohnzimmer Schlafzimmer Kinderzimmer Küche Bad"),
        ("WE 08", "DG", 118.35, 1.05, "Wohnzimmer Schlafzimmer Kinderzimmer Küche Bad"),
    ]:
        unit = b.add_unit(a1, name, floor, area, factor=factor)
        warm = [("water_warm", "Bad")] + ([("water_warm", "Küche")] if area >= 90 else [])
        cold = [("water_cold", "Bad"), ("water_cold", "Küche")]
        b.add_layout(unit, warm + cold + [("heat_allocation", room) for room in rooms.split()])

    a2 = b.add_property(
        "A2",
        "Hafenstraße 3",
        "Hafenstraße 3",
        "20457",
        "Hamburg",
        "heat_meters",
        berlin(2019, 6, 17, 8),
        1,
    )
    shop = b.add_unit(a2, "GE 01", "EG", 86.5, kind="commercial", factor=0.5)
    b.add_layout(shop, [("water_warm", "WC"), ("water_cold", "WC"), ("heat", "Hausanschlussraum")])
    for name, floor, area in [
        ("WE 01", "1. OG", 64.2),
        ("WE 02", "1. OG", 78.9),
        ("WE 03", "2. OG", 64.35),
        ("WE 04", "2. OG", 79.1),
    ]:
        b.add_layout(b.add_unit(a2, name, floor, area), HEAT_METER_LAYOUT)

    b1 = b.add_property(
        "B1",
        "Karl-Heine-Straße 40",
        "Karl-Heine-Straße 40",
        "04229",
        "Leipzig",
        "heat_meters",
        berlin(2019, 10, 7, 8),
        2,
        tenant_id=TENANT_B,
    )
    for name, floor, area in [
        ("WE 01", "EG", 58.6),
        ("WE 02", "1. OG", 74.25),
        ("WE 03", "2. OG", 91.8),
    ]:
        b.add_layout(b.add_unit(b1, name, floor, area), HEAT_METER_LAYOUT)

    # Scenario "meter swap": WE 01's only warm water meter is replaced (quickstart).
    b.swap(b.points["A1/WE 01/water_warm/Bad"], berlin(2026, 9, 15, 10, 30), start_value=0.012)
    # Scenario "device installed mid-year": new cold water point in WE 07.
    we07 = next(unit for unit in b.units if unit.key == "A1/WE 07")
    guest_wc = b.add_point(we07, "water_cold", "Gäste-WC", share=0.12)
    b.add_device(guest_wc, berlin(2025, 4, 10, 9, 15), start_value=0.0)
    # Scenario "gap in readings": radio outage June-August 2025, September estimated.
    gap = b.points["A1/WE 03/heat_allocation/Wohnzimmer"].devices[0]
    gap.skipped = {month_index(berlin(2025, m, 1)) for m in (6, 7, 8)}
    gap.estimated = {month_index(berlin(2025, 9, 1))}
    # Heat meter swap in Hamburg.
    b.swap(b.points["A2/WE 02/heat/Flur"], berlin(2025, 5, 20, 8), start_value=0.0)
    # A1 shares its heat through allocators: its central heat meter gives their kWh.
    b.add_central_heat_meter(a1)
    # WE 01's first warm water meter failed in 2021 and was replaced then (before the data):
    # its meter of 2021 is valid until 2026-12-31, and the quickstart's swap of 2026-09-15
    # is its calibration replacement. Its registers are those of the data as published.
    b.points["A1/WE 01/water_warm/Bad"].devices[0].installed_at = berlin(2021, 2, 8, 9, 40)
    # Scenario "calibration campaign" (MessEV): every meter due by 2026 is replaced in its
    # last valid year, property by property.
    b.calibration_campaign(
        {
            ("A1", 2025): berlin(2025, 10, 14, 8),  # warm water and the central heat meter
            ("A1", 2026): berlin(2026, 3, 10, 8),  # cold water
            ("A2", 2024): berlin(2024, 3, 12, 8),  # warm water and heat
            ("A2", 2025): berlin(2025, 3, 18, 8),  # cold water
            ("B1", 2024): berlin(2024, 4, 16, 8),
            ("B1", 2025): berlin(2025, 4, 8, 8),
        }
    )
    # Scenario "readings stop": radio module failure after 2026-10-01, device still installed.
    b.points["A1/WE 05/water_cold/Küche"].devices[-1].stop_after = month_index(berlin(2026, 10, 1))


def add_fillers(b: Builder, total_units: int) -> None:
    """Add tenant A properties of up to 20 units (4 devices each) until total_units exist."""
    index = 0
    while len(b.units) < total_units:
        size = min(FILLER_UNITS_PER_PROPERTY, total_units - len(b.units))
        rng = random.Random(f"filler-property:{index}")
        street = f"{FILLER_STREETS[index % len(FILLER_STREETS)]} {1 + index // len(FILLER_STREETS)}"
        postal_code, city = FILLER_CITIES[index % len(FILLER_CITIES)]
        heating = "heat_cost_allocators" if index % 2 == 0 else "heat_meters"
        campaign = berlin(2019, 1, 7, 8) + timedelta(days=rng.randrange(0, 1260))
        campaign += timedelta(days=(7 - campaign.weekday()) % 7 if campaign.weekday() >= 5 else 0)
        prop = b.add_property(
            f"F{index:04d}", street, street, postal_code, city, heating, campaign, vendor=index // 2
        )
        for n in range(1, size + 1):
            unit = b.add_unit(
                prop, f"WE {n:02d}", FILLER_FLOORS[(n - 1) // 4], round(rng.uniform(38, 125), 2)
            )
            b.add_layout(unit, FILLER_LAYOUTS[heating])
        if heating == "heat_cost_allocators":
            b.add_central_heat_meter(prop)
        # Its calibration campaigns: a weekday between March and November of each year.
        b.calibration_campaign(
            {(prop.key, year): filler_campaign_day(prop.key, year) for year in (2024, 2025, 2026)}
        )
        index += 1


def filler_campaign_day(key: str, year: int) -> datetime:
    """A filler property's calibration campaign of a year: a Tuesday, March to November."""
    rng = random.Random(f"calibration-day:{key}:{year}")
    day = berlin(year, 3, 3, 8) + timedelta(weeks=rng.randrange(0, 36))
    return day + timedelta(days=(1 - day.weekday()) % 7)


def cumulative(point: Point, t: datetime) -> float:
    """Cumulative consumption of a measuring point at t, interpolated within a month."""
    if t < FIRST:
        assert t == berlin(2023, 1, 1), t
        return -point.prior_year
    k = month_index(t)
    if t == MONTHS[k]:
        return point.curve[k]
    start, end = MONTHS[k].timestamp(), MONTHS[k + 1].timestamp()
    fraction = (t.timestamp() - start) / (end - start)
    fraction *= random.Random(f"interpolation:{point.key}:{t.isoformat()}").uniform(0.97, 1.03)
    fraction = min(0.98, max(0.02, fraction))
    return point.curve[k] + (point.curve[k + 1] - point.curve[k]) * fraction


def register_value(point: Point, device: Device, t: datetime, reason: str) -> float:
    """Register of the device at t; heat cost allocators count since the last 1 January."""
    if point.metric != "heat_allocation":
        reference = max(device.installed_at, FIRST)
        return device.start_value + (cumulative(point, t) - cumulative(point, reference))
    year = t.year - 1 if reason == "billing_date_reset" else t.year
    since = max(berlin(year, 1, 1), device.installed_at)
    return cumulative(point, t) - cumulative(point, since)


def device_events(point: Point, device: Device) -> Iterator[tuple[datetime, str, str]]:
    """(timestamp, reason, quality) of every reading of the device, in time order."""
    if device.installed_at >= FIRST:
        yield device.installed_at, "installation", "measured"
    for k, t in enumerate(MONTHS):
        if device.removed_at is not None and t >= device.removed_at:
            break
        if device.stop_after is not None and k > device.stop_after:
            break
        if t <= device.installed_at or k in device.skipped:
            continue
        reset = point.metric == "heat_allocation" and t.month == 1
        quality = "estimated" if k in device.estimated else "measured"
        yield t, "billing_date_reset" if reset else "periodic", quality
    if device.removed_at is not None and device.removed_at <= LAST:
        yield device.removed_at, "removal", "measured"


def readings(points: list[Point]) -> Iterator[dict]:
    """All readings, by device (file order) then timestamp."""
    for point in points:
        for device in point.devices:
            for t, reason, quality in device_events(point, device):
                value = register_value(point, device, t, reason)
                k = month_index(t)
                record = {
                    "device_id": device.id,
                    "timestamp": MONTHS_ISO[k] if t == MONTHS[k] else t.isoformat(),
                    "value": to_number(value, DECIMALS[point.metric]),
                    "quality": quality,
                    "reason": reason,
                }
                recorded = recorded_at(t, reason, quality)
                if recorded != t:
                    record["recorded_at"] = recorded.isoformat()
                yield record


def recorded_at(t: datetime, reason: str, quality: str) -> datetime:
    """When a reading reached messpunkt: radio readings at once, others later.

    A fitter's installation or removal reading is synced from the handheld two hours
    later; an estimate (a radio outage bridged) is made two days later at 10:00.
    """
    if quality == "estimated":
        return (t + timedelta(days=2)).replace(hour=10, minute=0)
    if reason in ("installation", "removal"):
        return t + timedelta(hours=2)
    return t


def tenant_records() -> list[dict]:
    def user(name: str, email: str) -> dict:
        return {"id": make_id(f"user:{email}"), "name": name, "email": email}

    return [
        {
            "id": TENANT_A,
            "name": "Musterhausverwaltung GmbH",
            "demo_users": [
                user("Erika Mustermann", "erika.mustermann@musterhausverwaltung.example"),
                user("Max Mustermann", "max.mustermann@musterhausverwaltung.example"),
            ],
        },
        {
            "id": TENANT_B,
            "name": "Beispiel Wohnbau eG",
            "demo_users": [user("Jonas Beispiel", "jonas.beispiel@beispiel-wohnbau.example")],
        },
    ]


def client_records() -> list[dict]:
    def secret_hash(secret: str) -> str:
        return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()

    def client(
        client_id: str,
        name: str,
        kind: str,
        redirect_uris: list[str],
        grant_types: list[str],
        secret: str | None = None,
        tenant_id: str | None = None,
        property_ids: list[str] | None = None,
        ttl: int | None = None,
    ) -> dict:
        return {
            "client_id": client_id,
            "name": name,
            "type": kind,
            "redirect_uris": redirect_uris,
            "grant_types": grant_types,
            "scopes": list(SCOPES),
            "secret_hash": secret_hash(secret) if secret else None,
            "tenant_id": tenant_id,
            "property_ids": property_ids or [],
            "access_token_ttl": ttl,
        }

    code_flow = ["authorization_code", "refresh_token"]
    return [
        client(
            "sandbox-demo-client",
            "Sandbox Demo ERP",
            "public",
            ["http://localhost:3000/callback"],
            code_flow,
        ),
        client(
            "sandbox-web-client",
            "Hausverwaltung Web ERP (confidential)",
            "confidential",
            ["http://localhost:3000/callback", "http://127.0.0.1:3000/callback"],
            code_flow,
            secret=WEB_CLIENT_SECRET,
        ),
        client(
            "sandbox-service-client",
            "Abrechnungsdienst (service)",
            "confidential",
            [],
            ["client_credentials"],
            secret=SERVICE_CLIENT_SECRET,
            tenant_id=TENANT_A,
            property_ids=[PROPERTY_A1, make_id("property:A2")],
            ttl=1800,
        ),
        client(
            "beispiel-erp-client",
            "Beispiel ERP",
            "public",
            ["http://localhost:4000/callback"],
            code_flow,
            tenant_id=TENANT_B,
        ),
    ]


def data_files(b: Builder) -> dict[str, Iterable[dict]]:
    """File name -> records, in the API's list order."""
    points = b.sorted_points()
    for point in points:
        point.devices.sort(key=lambda d: d.installed_at.timestamp())
    return {
        "tenants.json": tenant_records(),
        "properties.json": [
            {
                "id": p.id,
                "tenant_id": p.tenant_id,
                "name": p.name,
                "street": p.street,
                "postal_code": p.postal_code,
                "city": p.city,
                "timezone": "Europe/Berlin",
                "heating": p.heating,
            }
            for p in b.properties
        ],
        "usage_units.json": [
            {
                "id": u.id,
                "property_id": u.property.id,
                "name": u.name,
                "kind": u.kind,
                "floor": u.floor,
                "area_m2": u.area,
                "category": "commercial" if u.kind == "commercial" else "residential",
            }
            for u in b.units
        ],
        "measuring_points.json": [
            {
                "id": p.id,
                **({"usage_unit_id": p.unit.id} if p.unit else {"property_id": p.owner.id}),
                "metric": p.metric,
                "unit": UNIT_OF[p.metric],
                "location": p.location,
                "commissioned_on": p.commissioned_on.date().isoformat(),
                **(
                    {"decommissioned_on": p.decommissioned_on.date().isoformat()}
                    if p.decommissioned_on
                    else {}
                ),
            }
            for p in points
        ],
        "devices.json": [
            {
                "id": d.id,
                "measuring_point_id": p.id,
                "serial_number": d.serial_number,
                "manufacturer": d.manufacturer,
                "model": d.model,
                "installed_at": d.installed_at.isoformat(),
                "removed_at": d.removed_at.isoformat() if d.removed_at else None,
            }
            for p in points
            for d in p.devices
        ],
        "readings.json": readings(points),
        "clients.json": client_records(),
    }


def write_json(path: Path, records: Iterable[dict], indent: int | None) -> int:
    """Stream a JSON array, one record at a time; same text as json.dumps(list, indent=indent)."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("[")
        for record in records:
            out.write("\n" if count == 0 else ",\n")
            if indent:
                text = json.dumps(record, ensure_ascii=False, indent=indent)
                out.write(textwrap.indent(text, " " * indent))
            else:
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            count += 1
        out.write("\n]\n" if count else "]\n")
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="output folder")
    parser.add_argument("--units", type=int, help="total usage units (adds filler properties)")
    args = parser.parse_args(argv)

    builder = Builder()
    build_default(builder)
    if args.units is not None:
        if args.units < len(builder.units):
            parser.error(f"--units must be at least {len(builder.units)}")
        add_fillers(builder, args.units)
    args.out.mkdir(parents=True, exist_ok=True)
    indent = None if args.units is not None else 1
    for name, records in data_files(builder).items():
        count = write_json(args.out / name, records, indent)
        print(f"{args.out / name}: {count} records")


if __name__ == "__main__":
    main()
