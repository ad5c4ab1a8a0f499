"""Loading the sandbox data set: promised facts, validation errors, a deterministic generator."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from messpunkt.dataset import FILES, DataSet, DataSetError, load_dataset
from messpunkt.metering.consumption import Window, unit_consumption
from messpunkt.metering.model import Metric, Quality, Reading, Reason
from messpunkt.oauth.clients import ClientType

SANDBOX_DATA = Path(__file__).resolve().parent.parent / "sandbox_data"
BERLIN = ZoneInfo("Europe/Berlin")
TENANT_A = "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a"
PROPERTY_A1 = "6fb74d25-5517-4dcc-ae8b-0914579ab036"


@pytest.fixture(scope="module")
def dataset() -> DataSet:
    return load_dataset(SANDBOX_DATA)


def test_the_default_data_set_loads_from_sandbox_data(dataset):
    assert type(dataset) is DataSet
    assert dataset.directory == SANDBOX_DATA
    assert len(dataset.catalogue.tenants()) == 2
    assert len(dataset.catalogue.properties()) == 3
    assert sorted(dataset.clients) == [
        "beispiel-erp-client",
        "sandbox-demo-client",
        "sandbox-service-client",
        "sandbox-web-client",
    ]


def test_loading_the_same_unchanged_directory_again_reuses_the_parsed_data(dataset):
    assert load_dataset(str(SANDBOX_DATA)) is dataset


def test_the_quickstart_tenant_is_musterhausverwaltung(dataset):
    tenant = dataset.catalogue.tenant(TENANT_A)

    assert tenant is not None
    assert tenant.name == "Musterhausverwaltung GmbH"
    assert [user.name for user in tenant.demo_users] == ["Erika Mustermann", "Max Mustermann"]


def test_the_quickstart_property_belongs_to_the_quickstart_tenant(dataset):
    prop = dataset.catalogue.property(PROPERTY_A1)

    assert prop is not None
    assert prop.tenant_id == TENANT_A
    assert prop.name == "Wohnanlage Lindenhof"
    assert prop.timezone == "Europe/Berlin"


def test_the_first_unit_of_the_quickstart_property_is_we_01(dataset):
    units = dataset.catalogue.usage_units(PROPERTY_A1)

    assert units[0].name == "WE 01"
    assert units[0].property_id == PROPERTY_A1
    assert [unit.name for unit in units] == [f"WE 0{n}" for n in range(1, 9)]


def test_we_01_has_one_warm_water_point_whose_meter_is_swapped_in_2026(dataset):
    catalogue = dataset.catalogue
    we01 = catalogue.usage_units(PROPERTY_A1)[0]
    warm = [p for p in catalogue.measuring_points(we01.id) if p.metric is Metric.WATER_WARM]

    assert len(warm) == 1
    old, new = catalogue.devices(warm[0].id)
    swap = datetime(2026, 9, 15, 10, 30, tzinfo=BERLIN)
    assert old.removed_at == new.installed_at
    assert (
        datetime(2026, 1, 1, tzinfo=BERLIN) <= old.removed_at < datetime(2027, 1, 1, tzinfo=BERLIN)
    )
    assert old.removed_at == swap
    assert old.removed_at.isoformat() == "2026-09-15T10:30:00+02:00"
    assert new.removed_at is None
    assert old.installed_at < swap
    assert (old.readings[-1].timestamp, old.readings[-1].reason) == (swap, Reason.REMOVAL)
    # The fitter's handheld synced the installation reading two hours later.
    synced = datetime(2026, 9, 15, 12, 30, tzinfo=BERLIN)
    assert new.readings[0] == Reading(
        swap, Decimal("0.012"), Quality.MEASURED, Reason.INSTALLATION, synced
    )


def test_the_demo_client_is_public_with_the_quickstart_redirect_and_scopes(dataset):
    client = dataset.clients["sandbox-demo-client"]

    assert client.type is ClientType.PUBLIC
    assert client.is_confidential is False
    assert client.secret_hash is None
    assert client.redirect_uris == ("http://localhost:3000/callback",)
    assert client.scopes == ("read:units", "read:devices", "read:readings")
    assert client.grant_types == frozenset({"authorization_code", "refresh_token"})


def test_the_quickstart_tenant_has_a_second_property_and_a_second_tenant_exists(dataset):
    catalogue = dataset.catalogue
    own = [p.name for p in catalogue.properties() if p.tenant_id == TENANT_A]
    others = [t for t in catalogue.tenants() if t.id != TENANT_A]

    assert own == ["Wohnanlage Lindenhof", "Hafenstraße 3"]
    assert [t.name for t in others] == ["Beispiel Wohnbau eG"]
    assert [p.name for p in catalogue.properties() if p.tenant_id == others[0].id] == [
        "Karl-Heine-Straße 40"
    ]


@pytest.mark.parametrize(
    "metric",
    [
        Metric.WATER_WARM,
        Metric.WATER_COLD,
        Metric.HEAT,
        Metric.HEAT_ALLOCATION,
    ],
)
def test_every_loaded_reading_value_has_its_metrics_precision(dataset, metric):
    catalogue = dataset.catalogue
    exponents = {
        reading.value.as_tuple().exponent
        for prop in catalogue.properties()
        for unit in catalogue.usage_units(prop.id)
        for point in catalogue.measuring_points(unit.id)
        if point.metric is metric
        for device in catalogue.devices(point.id)
        for reading in device.readings
    }

    assert exponents == {metric.precision.as_tuple().exponent}


def test_consumption_computed_from_the_loaded_data_keeps_three_decimals(dataset):
    catalogue = dataset.catalogue
    leipzig = next(p for p in catalogue.properties() if p.name == "Karl-Heine-Straße 40")
    we02 = next(u for u in catalogue.usage_units(leipzig.id) if u.name == "WE 02")
    points = [(p, catalogue.devices(p.id)) for p in catalogue.measuring_points(we02.id)]
    year = Window.from_dates(date(2024, 1, 1), date(2024, 12, 31), BERLIN)

    report = unit_consumption(points, year, {Metric.WATER_COLD})

    (point,) = report.points
    (segment,) = point.segments
    # Recorded 2024-01-01: 142.94 m³, 2025-01-01: 182.14 m³ (JSON drops the trailing zeros).
    assert [str(r.value) for r in segment.readings] == ["142.940", "182.140"]
    assert str(segment.consumption) == "39.200"


# Validation ------------------------------------------------------------------------------------


def edit(name: str, change: Callable[[list[dict[str, Any]]], Any]) -> Callable[[Path], None]:
    """Rewrite one fixture file after `change` has modified its records in place."""

    def apply(root: Path) -> None:
        path = root / name
        records = json.loads(path.read_text(encoding="utf-8"))
        change(records)
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")

    return apply


def write(name: str, text: str) -> Callable[[Path], None]:
    return lambda root: (root / name).write_text(text, encoding="utf-8")


def remove(name: str) -> Callable[[Path], None]:
    return lambda root: (root / name).unlink()


def set_field(index: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(records: list[dict[str, Any]]) -> None:
        records[index][key] = value

    return change


def swap_readings(first: int, second: int) -> Callable[[list[dict[str, Any]]], None]:
    def change(records: list[dict[str, Any]]) -> None:
        records[first], records[second] = records[second], records[first]

    return change


def duplicate(index: int) -> Callable[[list[dict[str, Any]]], None]:
    return lambda records: records.append(dict(records[index]))


FIRST_DEVICE = "693d19b0-d4d9-5a06-93ec-fe8384a405f8"

BREAKAGES = [
    pytest.param(
        remove("measuring_points.json"),
        ("measuring_points.json", "$", "file is missing"),
        id="missing-file",
    ),
    pytest.param(
        remove("readings.json"), ("readings.json", "$", "file is missing"), id="missing-readings"
    ),
    pytest.param(
        write("properties.json", '[{"id": "x",'),
        ("properties.json", "$", "not valid JSON"),
        id="invalid-json",
    ),
    pytest.param(
        write("readings.json", "[1, 2"),
        ("readings.json", "$", "not valid JSON"),
        id="invalid-json-readings",
    ),
    pytest.param(
        write("tenants.json", '{"tenants": []}'),
        ("tenants.json", "$", "must be a JSON array of objects"),
        id="not-an-array",
    ),
    pytest.param(
        edit("usage_units.json", set_field(3, "property_id", "no-such-property")),
        ("usage_units.json", "$[3].property_id", "refers to an unknown id 'no-such-property'"),
        id="unknown-property",
    ),
    pytest.param(
        edit("measuring_points.json", set_field(0, "unit", "kWh")),
        ("measuring_points.json", "$[0].unit", "water_warm is measured in m3"),
        id="wrong-unit",
    ),
    pytest.param(
        edit("readings.json", set_field(5, "timestamp", "2024-06-01T00:00:00")),
        ("readings.json", "$[5].timestamp", "must be an ISO 8601 timestamp with a UTC offset"),
        id="naive-timestamp",
    ),
    pytest.param(
        edit("readings.json", set_field(5, "value", -1.5)),
        ("readings.json", "$[5].value", "must be a non-negative number"),
        id="negative-value",
    ),
    pytest.param(
        edit("readings.json", swap_readings(1, 2)),
        ("readings.json", "$", f"device {FIRST_DEVICE}: readings must be in strictly increasing"),
        id="readings-out-of-order",
    ),
    pytest.param(
        edit("measuring_points.json", duplicate(2)),
        ("measuring_points.json", "$[86]", "duplicate id '512ff79e-3a55-55ee-ab24-a51a81458431'"),
        id="duplicate-id",
    ),
    pytest.param(
        edit("clients.json", set_field(1, "secret_hash", None)),
        ("clients.json", "$[1].secret_hash", "confidential clients, and only they, have one"),
        id="confidential-client-without-secret",
    ),
    pytest.param(
        edit("measuring_points.json", set_field(0, "commissioned_on", "2020-03-02T08:00")),
        ("measuring_points.json", "$[0].commissioned_on", "must be an ISO 8601 calendar date"),
        id="commissioned-on-not-a-date",
    ),
    pytest.param(
        # WE 01's warm water point; its first meter was installed 2021-02-08 09:40, the day
        # before: a device cannot be in place before its point is in service.
        edit("measuring_points.json", set_field(0, "commissioned_on", "2021-02-09")),
        ("devices.json", "$[0]", "installed outside the service of measuring point"),
        id="device-before-commissioning",
    ),
    pytest.param(
        # Decommissioned on 2026-06-30, but its first meter is removed only on 2026-09-15.
        edit("measuring_points.json", set_field(0, "decommissioned_on", "2026-06-30")),
        ("devices.json", "$[0]", "installed outside the service of measuring point"),
        id="device-after-decommissioning",
    ),
    pytest.param(
        edit("measuring_points.json", set_field(0, "decommissioned_on", "2019-12-31")),
        ("measuring_points.json", "$[0].decommissioned_on", "must not be before commissioned_on"),
        id="decommissioned-before-commissioned",
    ),
    pytest.param(
        edit("properties.json", set_field(1, "timezone", "Europe/Atlantis")),
        ("properties.json", "$[1].timezone", "unknown time zone 'Europe/Atlantis'"),
        id="unknown-time-zone",
    ),
    pytest.param(
        # A directory of the tz database, not a zone: ZoneInfo fails opening it.
        edit("properties.json", set_field(1, "timezone", "Europe")),
        ("properties.json", "$[1].timezone", "unknown time zone 'Europe'"),
        id="time-zone-that-is-a-directory",
    ),
    pytest.param(
        edit("properties.json", set_field(1, "timezone", "A" * 5000)),
        ("properties.json", "$[1].timezone", f"unknown time zone '{'A' * 5000}'"),
        id="time-zone-longer-than-a-file-name",
    ),
    pytest.param(
        # An access token never outlives its session, whose cap is 30 days (API.md).
        edit("clients.json", set_field(2, "access_token_ttl", 30 * 86400 + 1)),
        ("clients.json", "$[2].access_token_ttl", "must be 1 to 2592000 seconds (30 days"),
        id="access-token-ttl-past-a-session",
    ),
    pytest.param(
        edit("clients.json", set_field(2, "access_token_ttl", 0)),
        ("clients.json", "$[2].access_token_ttl", "must be 1 to 2592000 seconds (30 days"),
        id="access-token-ttl-zero",
    ),
    pytest.param(
        # WE 01's first warm water meter, installed 2021-02-08 09:40: removed a minute earlier.
        edit("devices.json", set_field(0, "removed_at", "2021-02-08T09:39:00+01:00")),
        ("devices.json", "$[0].removed_at", "must not be before installed_at"),
        id="removed-before-installed",
    ),
    pytest.param(  # a double (as the API writes numbers) would make it …568
        edit("usage_units.json", set_field(0, "area_m2", 12345678901234567)),
        ("usage_units.json", "$[0].area_m2", "cannot be kept exactly"),
        id="a-whole-number-longer-than-a-double",
    ),
    # A data set's redirect URIs are held to the rule a registered client's are: the host
    # goes into the consent page's CSP, and a browser must redirect where it was checked.
    pytest.param(
        edit(
            "clients.json",
            set_field(1, "redirect_uris", ["http://localhost:3000/cb", "https://a;sandbox/cb"]),
        ),
        ("clients.json", "$[1].redirect_uris[1]", "the host must be a DNS name or an IP"),
        id="redirect-uri-host-with-a-semicolon",
    ),
    pytest.param(
        edit("clients.json", set_field(0, "redirect_uris", ["http://erp.example/callback"])),
        ("clients.json", "$[0].redirect_uris[0]", "http only on a loopback host"),
        id="redirect-uri-plain-http-elsewhere",
    ),
    pytest.param(
        edit("clients.json", set_field(0, "redirect_uris", ["https://erp.example/cb#top"])),
        ("clients.json", "$[0].redirect_uris[0]", "a redirect URI has no fragment"),
        id="redirect-uri-with-a-fragment",
    ),
]


@pytest.mark.parametrize(("breakage", "expected"), BREAKAGES)
def test_a_broken_file_is_reported_with_its_file_json_path_and_reason(tmp_path, breakage, expected):
    root = tmp_path / "data"
    shutil.copytree(SANDBOX_DATA, root)
    breakage(root)

    with pytest.raises(DataSetError) as caught:
        load_dataset(root)

    file, path, reason = expected
    assert (caught.value.file, caught.value.path) == (file, path)
    assert reason in caught.value.reason
    assert str(caught.value) == f"{file} at {path}: {caught.value.reason}"


@pytest.mark.parametrize("name", ["tenants.json", "readings.json"])
def test_a_fixture_that_is_a_directory_is_refused_not_a_crash(tmp_path, name):
    root = tmp_path / "data"
    shutil.copytree(SANDBOX_DATA, root)
    (root / name).unlink()
    (root / name).mkdir()

    with pytest.raises(DataSetError) as caught:
        load_dataset(root)

    assert (caught.value.file, caught.value.path) == (name, "$")
    assert caught.value.reason == "cannot be read: Is a directory"


def test_a_client_may_have_access_tokens_of_a_whole_session_30_days(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(SANDBOX_DATA, root)
    edit("clients.json", set_field(2, "access_token_ttl", 30 * 86400))(root)

    assert load_dataset(root).clients["sandbox-service-client"].access_token_ttl == 2592000


def test_a_directory_that_does_not_exist_is_refused(tmp_path):
    missing = tmp_path / "nowhere"

    with pytest.raises(DataSetError) as caught:
        load_dataset(missing)

    assert (caught.value.file, caught.value.path, caught.value.reason) == (
        str(missing),
        "$",
        "not a directory",
    )


# Generator -------------------------------------------------------------------------------------


def test_the_generator_reproduces_the_committed_files_byte_for_byte(tmp_path):
    out = tmp_path / "generated"

    completed = subprocess.run(
        [sys.executable, str(SANDBOX_DATA / "generate.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert sorted(p.name for p in SANDBOX_DATA.glob("*.json")) == sorted(FILES)
    for name in FILES:
        generated = (out / name).read_bytes()
        committed = (SANDBOX_DATA / name).read_bytes()
        assert generated == committed, f"{name} differs from the committed file"


def test_units_carry_their_section_6a_category_and_a1_has_a_central_heat_meter(dataset):
    catalogue = dataset.catalogue
    a2 = next(p for p in catalogue.properties() if p.name == "Hafenstraße 3")
    categories = {u.name: u.category.value for u in catalogue.usage_units(a2.id)}
    # The shop on the ground floor is commercial; the four flats above it residential.
    assert categories == {"GE 01": "commercial", "WE 01": "residential", "WE 02": "residential",
                          "WE 03": "residential", "WE 04": "residential"}  # fmt: skip
    # A1 shares its heat by allocators: one heat meter of the whole property, of no unit.
    (central,) = catalogue.property_points("6fb74d25-5517-4dcc-ae8b-0914579ab036")
    assert (central.metric.value, central.usage_unit_id, central.location) == (
        "heat", None, "Heizraum")  # fmt: skip
    # Properties with heat meters in every unit need none.
    assert catalogue.property_points(a2.id) == ()


# MessEV/MessEG calibration validity: warm water and heat meters 5 years, cold water 6,
# each until the end of that year (a warm water meter of 2020 until 2025-12-31).
VALID_YEARS = {Metric.WATER_WARM: 5, Metric.HEAT: 5, Metric.WATER_COLD: 6}


def test_no_meter_is_read_past_its_calibration_validity(dataset):
    catalogue = dataset.catalogue
    checked = 0
    for prop in catalogue.properties():
        points = [
            p for u in catalogue.usage_units(prop.id) for p in catalogue.measuring_points(u.id)
        ]
        for point in [*points, *catalogue.property_points(prop.id)]:
            if point.metric not in VALID_YEARS:
                continue  # heat cost allocators are not calibrated
            for device in catalogue.devices(point.id):
                end = datetime(device.installed_at.year + VALID_YEARS[point.metric] + 1, 1, 1,
                               tzinfo=BERLIN)  # fmt: skip
                if end <= datetime(2027, 1, 1, tzinfo=BERLIN):
                    assert device.removed_at is not None and device.removed_at < end, device.id
                    checked += 1
    # Due by 2026: A1's 2020 warm water and central heat meter (11) and cold water (16),
    # WE 01's warm water meter of 2021 (1); A2's and B1's 2019 warm water and heat (16) and
    # cold water (8): 52 meters.
    assert checked == 52


@pytest.mark.parametrize(
    ("point_key", "installed"),
    [
        # A2 WE 02's heat meter of 2019-06-17 is valid until 2024-12-31: replaced in A2's
        # campaign of 2024-03-12 (its 6th meter, 08:25), that one in turn on 2025-05-20.
        (("Hafenstraße 3", "WE 02", Metric.HEAT),
         ["2019-06-17T08:40:00+02:00", "2024-03-12T08:25:00+01:00", "2025-05-20T08:00:00+02:00"]),
        # WE 01's warm water meter of 2021 is valid until 2026-12-31: the quickstart's swap.
        (("Wohnanlage Lindenhof", "WE 01", Metric.WATER_WARM),
         ["2021-02-08T09:40:00+01:00", "2026-09-15T10:30:00+02:00"]),
    ],
)  # fmt: skip
def test_the_replacement_campaign_follows_the_calibration_periods(dataset, point_key, installed):
    catalogue = dataset.catalogue
    name, unit_name, metric = point_key
    prop = next(p for p in catalogue.properties() if p.name == name)
    unit = next(u for u in catalogue.usage_units(prop.id) if u.name == unit_name)
    (point,) = [p for p in catalogue.measuring_points(unit.id) if p.metric is metric]
    devices = catalogue.devices(point.id)
    assert [d.installed_at.isoformat() for d in devices] == installed
    for old, new in pairwise(devices):
        assert old.removed_at == new.installed_at


def test_reading_timestamps_are_parsed_to_utc_once_per_text(monkeypatch):
    from datetime import UTC

    from messpunkt.dataset import _Instants

    instant = _Instants()
    winter = instant("2024-01-01T00:00:00+01:00")
    # The same wall clock at another offset is another instant: 23:00 and 22:00 UTC.
    assert winter == datetime(2023, 12, 31, 23, tzinfo=UTC)
    assert instant("2024-01-01T00:00:00+02:00") == datetime(2023, 12, 31, 22, tzinfo=UTC)
    assert winter.tzinfo is UTC
    assert instant("2024-01-01T00:00:00+01:00") is winter  # parsed once, shared
    with pytest.raises(ValueError):
        instant("2024-01-01T00:00:00")
    with pytest.raises(TypeError):
        instant(20240101)  # type: ignore[arg-type]
    # Past KEPT texts, each is parsed again, and still right.
    monkeypatch.setattr(_Instants, "KEPT", 1)
    bounded = _Instants()
    bounded("2024-01-01T00:00:00+01:00")
    later = bounded("2024-02-01T00:00:00+01:00")
    assert later == datetime(2024, 1, 31, 23, tzinfo=UTC)
    assert bounded("2024-02-01T00:00:00+01:00") is not later
    assert bounded("2024-02-01T00:00:00+01:00") == later
