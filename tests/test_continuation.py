"""Past the end of the fixtures, readings continue from a deterministic model per device."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from conftest import DATA, TENANT, Api

from messpunkt.dataset import load_dataset
from messpunkt.metering.consumption import Window, measuring_point_consumption
from messpunkt.metering.model import Metric, Reason
from messpunkt.metering.scope import ScopedCatalogue
from messpunkt.testing import QUICKSTART_PROPERTY, obtain_tokens

BERLIN = ZoneInfo("Europe/Berlin")
# WE 02's warm water meter, fitted in A1's campaign of 2025-10-14: valid until 2030-12-31.
WE02_WARM = "8b2d746b"


def catalogue_at(now: datetime) -> ScopedCatalogue:
    return ScopedCatalogue(load_dataset(DATA).catalogue, TENANT, [QUICKSTART_PROPERTY], now)


def point_of(catalogue: ScopedCatalogue, unit_name: str, metric: Metric, location: str):
    unit = next(u for u in catalogue.usage_units(QUICKSTART_PROPERTY) if u.name == unit_name)
    return next(
        (point, devices)
        for point, devices in catalogue.points_with_devices(unit, [metric])
        if point.location == location
    )


def readings_in(devices, year: int) -> list:
    return [
        r
        for d in devices
        for r in d.readings
        if r.timestamp.astimezone(BERLIN).year == year and r.reason is not Reason.REMOVAL
    ]


def test_a_meter_still_read_at_the_end_keeps_its_monthly_radio_reading():
    # WE 02's warm water used 17.886 - 3.353 = 14.533 m³ in 2026 (twelve whole months).
    # January weighs 1.1 of the year's 11.92 and the noise is ±10 %: January 2027 is
    # 14.533 × 1.1 / 11.92 × [0.9, 1.1] = [1.207, 1.475] m³ on top of 17.886.
    catalogue = catalogue_at(datetime(2027, 2, 1, 12, tzinfo=BERLIN))
    _, devices = point_of(catalogue, "WE 02", Metric.WATER_WARM, "Bad")
    meter = devices[-1]
    assert meter.id.startswith(WE02_WARM)
    january, february = meter.readings[-2:]
    assert january.timestamp == datetime(2027, 1, 1, tzinfo=BERLIN)
    assert january.value == Decimal("17.886")
    assert february.timestamp == datetime(2027, 2, 1, tzinfo=BERLIN)
    assert (february.reason, february.quality.value) == (Reason.PERIODIC, "measured")
    assert Decimal("1.207") <= february.value - january.value <= Decimal("1.475")
    assert february.value.as_tuple().exponent == -3


def test_the_same_date_always_gives_the_same_values():
    early = catalogue_at(datetime(2027, 6, 2, tzinfo=UTC))
    late = catalogue_at(datetime(2029, 11, 20, tzinfo=UTC))
    for name, metric, location in [("WE 03", Metric.HEAT_ALLOCATION, "Wohnzimmer"),
                                   ("WE 01", Metric.WATER_COLD, "Küche")]:  # fmt: skip
        seen_early = readings_in(point_of(early, name, metric, location)[1], 2027)
        seen_late = readings_in(point_of(late, name, metric, location)[1], 2027)
        # Up to 2027-06-01 both agree reading for reading; the later clock shows more.
        assert seen_early == seen_late[: len(seen_early)]
        assert [r.timestamp.astimezone(BERLIN).month for r in seen_early] == [1, 2, 3, 4, 5, 6]


def test_allocators_reset_on_1_january_and_follow_the_heating_season():
    catalogue = catalogue_at(datetime(2028, 3, 15, tzinfo=UTC))
    point, devices = point_of(catalogue, "WE 03", Metric.HEAT_ALLOCATION, "Wohnzimmer")
    (allocator,) = devices
    reset = next(r for r in allocator.readings
                 if r.timestamp == datetime(2028, 1, 1, tzinfo=BERLIN))  # fmt: skip
    # The 1 January reading holds 2027's count, then the register restarts from 0.
    assert reset.reason is Reason.BILLING_DATE_RESET
    february = next(r for r in allocator.readings
                    if r.timestamp == datetime(2028, 2, 1, tzinfo=BERLIN))  # fmt: skip
    assert february.value < reset.value
    year = measuring_point_consumption(point, devices, Window.from_dates(
        date(2027, 1, 1), date(2027, 12, 31), BERLIN))  # fmt: skip
    assert year.consumption == reset.value and year.complete
    # Heating weights: January 0.17 of the year, July 0.005: January uses far more.
    january, july = (
        measuring_point_consumption(
            point, devices, Window.from_dates(date(2027, m, 1), date(2027, m, 28), BERLIN)
        ).consumption
        for m in (1, 7)
    )
    assert january > 10 * july


def test_a_meter_whose_readings_stopped_stays_silent():
    # WE 05's kitchen cold water meter lost its radio after 2026-10-01: nothing follows.
    catalogue = catalogue_at(datetime(2028, 1, 10, tzinfo=UTC))
    _, devices = point_of(catalogue, "WE 05", Metric.WATER_COLD, "Küche")
    assert devices[-1].readings[-1].timestamp == datetime(2026, 10, 1, tzinfo=BERLIN)


def test_the_calibration_replacement_comes_in_the_last_valid_year():
    # WE 02's warm water meter of 2025-10-14 is valid until 2030-12-31: by 2031 a new meter
    # has replaced it during 2030, reading on from its installation value without a gap.
    catalogue = catalogue_at(datetime(2031, 1, 15, tzinfo=UTC))
    point, devices = point_of(catalogue, "WE 02", Metric.WATER_WARM, "Bad")
    old, new = devices[-2:]
    assert old.id.startswith(WE02_WARM)
    assert old.removed_at == new.installed_at
    assert old.removed_at.year == 2030 and 3 <= old.removed_at.month <= 11
    assert (old.readings[-1].reason, new.readings[0].reason) == (
        Reason.REMOVAL, Reason.INSTALLATION)  # fmt: skip
    assert Decimal(0) <= new.readings[0].value <= Decimal("0.050")
    year = measuring_point_consumption(point, devices, Window.from_dates(
        date(2030, 1, 1), date(2030, 12, 31), BERLIN))  # fmt: skip
    assert year.complete and len(year.segments) == 2
    # Each device's registers only count up.
    for device in (old, new):
        assert all(a.value <= b.value for a, b in pairwise(device.readings))


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    return {"MESSPUNKT_FROZEN_AT": "2027-01-15T09:00:00+00:00"}


def test_moving_the_clock_past_the_fixtures_brings_the_next_reading(api: Api, clock):
    status, units = api.get("/v1/usage-units", property_id=QUICKSTART_PROPERTY)
    we02 = next(u["id"] for u in units["data"] if u["name"] == "WE 02")
    _, devices = api.get("/v1/devices", usage_unit_id=we02, metric="water_warm")
    device = devices["data"][-1]["id"]
    path = f"/v1/devices/{device}/readings"
    # 2027-01-15: the fixtures end with the 2027-01-01 reading.
    assert api.get(path, **{"from": "2027-01-01"})[1]["data"][-1]["timestamp"] == (
        "2027-01-01T00:00:00+01:00")  # fmt: skip
    clock.advance_to(datetime(2027, 2, 1, 6, tzinfo=BERLIN))
    api.tokens = obtain_tokens(api.client)
    _, body = api.get(path, since="2027-01-15T00:00:00+01:00")
    assert [(r["timestamp"], r["reason"]) for r in body["data"]] == [
        ("2027-02-01T00:00:00+01:00", "periodic")]  # fmt: skip
    assert status == 200


def test_the_continued_histories_kept_stay_within_their_readings_budget(monkeypatch):
    # Each month asked for keeps every continued meter's whole history once more: kept by
    # entries (100,000 of them), a clock walked month by month to 2066 held 1.8 GB.
    from messpunkt.bounded import BoundedCache
    from messpunkt.metering import continuation

    budget = 500
    kept = BoundedCache(budget, weigh=continuation._readings)
    monkeypatch.setattr(continuation, "_CACHE", kept)
    put, held = [], []
    keep = kept.put
    monkeypatch.setattr(
        kept, "put", lambda k, v: (put.append(continuation._readings(v)), keep(k, v))
    )
    for year in range(2027, 2037):
        for month in (1, 7):
            now = datetime(year, month, 15, tzinfo=BERLIN)
            devices = point_of(catalogue_at(now), "WE 02", Metric.WATER_WARM, "Bad")[1]
            held.append(kept.held)
            # The same histories as the model gives with nothing kept.
            monkeypatch.setattr(continuation, "_CACHE", BoundedCache(0))
            assert point_of(catalogue_at(now), "WE 02", Metric.WATER_WARM, "Bad")[1] == devices
            monkeypatch.setattr(continuation, "_CACHE", kept)
    assert max(held) <= budget < sum(put)  # the budget held, and it had to
    assert held[-1] > len(kept)  # readings, not entries


def test_a_replacement_meter_is_found_cutting_only_its_own_history_to_now(monkeypatch):
    # Found by cutting every meter's history to the sandbox's now: 88 ms a request with the
    # clock at 2099, growing with every month past the fixtures.
    from messpunkt.metering import scope

    catalogue = catalogue_at(datetime(2032, 3, 15, tzinfo=BERLIN))
    replacement = point_of(catalogue, "WE 02", Metric.WATER_WARM, "Bad")[1][-1]
    assert catalogue.catalogue.device(replacement.id) is None  # fitted in 2030, no fixture
    cut, as_of = [], scope.device_as_of
    monkeypatch.setattr(scope, "device_as_of", lambda d, now: (cut.append(d.id), as_of(d, now))[1])

    assert catalogue.device(replacement.id) == replacement
    assert cut == [replacement.id]
