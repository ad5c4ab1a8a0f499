"""The data follows the sandbox clock: what is not yet installed, done or recorded is absent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import Api

from messpunkt.testing import QUICKSTART_PROPERTY, obtain_tokens

BERLIN = ZoneInfo("Europe/Berlin")
# WE 01's warm water meters around the quickstart's swap at 2026-09-15 10:30 (Berlin).
OLD_WARM = "693d19b0-d4d9-5a06-93ec-fe8384a405f8"
NEW_WARM = "b3fa3d76-b1b9-5a18-ab85-ce2feebfb774"


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    # A partner rehearsing a nightly sync freezes the clock at 2026-06-01 10:00 (Berlin).
    return {"MESSPUNKT_FROZEN_AT": "2026-06-01T08:00:00+00:00"}


def move(api: Api, clock, instant: datetime) -> None:
    """Move the sandbox clock forward, and sign in again (the old token has expired)."""
    clock.advance_to(instant)
    api.tokens = obtain_tokens(api.client)


def we01() -> str:
    return "389e7867-1c83-5ae4-884f-dd7c246a0e90"


def warm_2026(api: Api) -> dict:
    query = {"from": "2026-01-01", "to": "2026-12-31", "metric": "water_warm"}
    status, body = api.get(f"/v1/usage-units/{we01()}/consumption", **query)
    assert status == 200, body
    return body


def test_before_the_swap_the_new_meter_does_not_exist_and_the_year_is_incomplete(api):
    # At 2026-06-01 10:00 the old meter's latest reading is 2026-06-01 00:00, 156.812 m³:
    # 2026 so far is 156.812 - 145.642 = 11.170 m³, and the rest of the year is unknown.
    body = warm_2026(api)
    [point] = body["measuring_points"]
    [segment] = point["segments"]
    assert segment["device"]["id"] == OLD_WARM
    assert (segment["from"], segment["to"]) == (
        "2026-01-01T00:00:00+01:00", "2026-06-01T00:00:00+02:00")  # fmt: skip
    assert segment["consumption"] == Decimal("11.170")
    assert point["complete"] is False
    assert body["totals"]["water_warm"]["value"] == Decimal("11.170")
    assert body["totals"]["water_warm"]["complete"] is False
    assert [(w["code"], w["from"], w["to"]) for w in body["warnings"]] == [
        ("no_readings", "2026-06-01T00:00:00+02:00", "2027-01-01T00:00:00+01:00")]  # fmt: skip
    # The old meter is not removed yet, and the new one is not there at all.
    assert api.get(f"/v1/devices/{OLD_WARM}")[1]["removed_at"] is None
    assert api.get(f"/v1/devices/{NEW_WARM}")[0] == 404
    _, listed = api.get("/v1/devices", usage_unit_id=we01(), metric="water_warm")
    assert [d["id"] for d in listed["data"]] == [OLD_WARM]
    _, readings = api.get(f"/v1/devices/{OLD_WARM}/readings", **{"from": "2026-05-01"})
    assert [r["timestamp"] for r in readings["data"]] == [
        "2026-05-01T00:00:00+02:00", "2026-06-01T00:00:00+02:00"]  # fmt: skip


def test_moving_the_clock_forward_makes_the_swap_and_the_next_readings_appear(api, clock):
    # 2026-09-15 11:00: the swap (10:30) is done, but the fitter's removal and installation
    # readings reach messpunkt only at 12:30. The old meter's segment ends at its
    # 2026-09-01 reading (162.883) and the new one has none yet: both are gaps.
    move(api, clock, datetime(2026, 9, 15, 11, tzinfo=BERLIN))
    assert api.get(f"/v1/devices/{OLD_WARM}")[1]["removed_at"] == "2026-09-15T10:30:00+02:00"
    assert api.get(f"/v1/devices/{NEW_WARM}")[0] == 200
    [point] = warm_2026(api)["measuring_points"]
    assert [(s["device"]["id"], s["to"]) for s in point["segments"]] == [
        (OLD_WARM, "2026-09-01T00:00:00+02:00")]  # fmt: skip

    # 2026-12-05 (the real date of this change): the removal (163.774), the installation
    # (0.012) and the new meter's readings through 2026-12-01 (5.524) are in:
    # (163.774 - 145.642) + (5.524 - 0.012) = 18.132 + 5.512 = 23.644 m³, December unknown.
    move(api, clock, datetime(2026, 12, 5, 9, tzinfo=BERLIN))
    body = warm_2026(api)
    [point] = body["measuring_points"]
    assert [s["consumption"] for s in point["segments"]] == [Decimal("18.132"), Decimal("5.512")]
    assert (point["consumption"], point["complete"]) == (Decimal("23.644"), False)

    # From 2027-01-01 the 1 January reading (7.874) is in: 18.132 + 7.862 = 25.994 m³.
    move(api, clock, datetime(2027, 1, 1, tzinfo=BERLIN))
    [point] = warm_2026(api)["measuring_points"]
    assert (point["consumption"], point["complete"]) == (Decimal("25.994"), True)


def test_since_returns_only_readings_recorded_after_it(api, clock):
    move(api, clock, datetime(2026, 10, 2, tzinfo=BERLIN))
    path = f"/v1/devices/{OLD_WARM}/readings"
    # Last synced at 2026-08-15: since then the 2026-09-01 reading (recorded at once) and
    # the removal (taken 10:30, recorded 12:30) arrived.
    status, body = api.get(path, since="2026-08-15T00:00:00+02:00")
    assert status == 200
    assert [(r["timestamp"], r["recorded_at"]) for r in body["data"]] == [
        ("2026-09-01T00:00:00+02:00", "2026-09-01T00:00:00+02:00"),
        ("2026-09-15T10:30:00+02:00", "2026-09-15T12:30:00+02:00"),
    ]
    # A sync that ran at 12:00 on the swap day already had the 2026-09-01 reading; the
    # removal reading, taken before that sync but recorded after it, still comes.
    _, body = api.get(path, since="2026-09-15T12:00:00+02:00")
    assert [r["reason"] for r in body["data"]] == ["removal"]
    # Passing the latest recorded_at seen gives nothing new.
    _, body = api.get(path, since="2026-09-15T12:30:00+02:00")
    assert body["data"] == []


def test_a_late_estimate_appears_only_once_recorded(api, clock):
    # WE 03's Wohnzimmer allocator: radio outage June-August 2025; its 2025-09-01 value is
    # an estimate recorded on 2025-09-03 at 10:00. The clock cannot go back to 2025 in this
    # app, so the test reads it through `since` from the fixture's recorded_at.
    _, units = api.get("/v1/usage-units", property_id=QUICKSTART_PROPERTY)
    we03 = next(u["id"] for u in units["data"] if u["name"] == "WE 03")
    _, devices = api.get("/v1/devices", usage_unit_id=we03, metric="heat_allocation")
    since = {"since": "2025-09-02T00:00:00+02:00", "to": "2025-09-30"}
    found = [
        r
        for d in devices["data"]
        for r in api.get(f"/v1/devices/{d['id']}/readings", **since)[1]["data"]
    ]
    assert [(r["timestamp"], r["recorded_at"], r["quality"]) for r in found] == [
        ("2025-09-01T00:00:00+02:00", "2025-09-03T10:00:00+02:00", "estimated")]  # fmt: skip


@pytest.mark.parametrize("since", ["2026-08-15T00:00:00", "yesterday", "2026-13-01T00:00:00Z"])
def test_since_needs_an_instant_with_its_utc_offset(api, since):
    status, body = api.get(f"/v1/devices/{OLD_WARM}/readings", since=since)
    assert status == 400
    assert list(body["errors"]) == ["since"]


def test_the_clock_is_read_once_for_the_request_not_inside_the_metering_code():
    # The metering domain takes `now` as a value: it never asks the machine what time it is.
    import inspect

    import messpunkt.metering as metering

    for module in ("catalogue", "consumption", "energy", "model", "monthly", "scope", "timeline"):
        source = inspect.getsource(__import__(f"{metering.__name__}.{module}", fromlist=["_"]))
        assert "datetime.now" not in source and "system_time" not in source, module
