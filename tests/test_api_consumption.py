"""Consumption over HTTP: segments, gaps, resets, interpolation, exact decimals and months."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from conftest import Api, load

from messpunkt.testing import FIXTURES_COMPLETE_AT, QUICKSTART_PROPERTY

BERLIN = ZoneInfo("Europe/Berlin")
RESET = "billing_date_reset"
PRECISION = {"m3": Decimal("0.001"), "kWh": Decimal(1), "units": Decimal(1)}


UNITS, POINTS, DEVICES, READINGS = (
    load(n) for n in ("usage_units", "measuring_points", "devices", "readings")
)
NEW_YEAR_2026, NEW_YEAR_2027 = "2026-01-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00"
A1_UNITS = [u for u in UNITS if u["property_id"] == QUICKSTART_PROPERTY]


def unit(name: str) -> str:
    return next(u["id"] for u in A1_UNITS if u["name"] == name)


def points_of(unit_id: str, metric: str | None = None) -> list[dict]:
    mine = [p for p in POINTS if p.get("usage_unit_id") == unit_id]
    return [p for p in mine if metric in (None, p["metric"])]


def point(unit_name: str, metric: str, location: str) -> dict:
    return next(p for p in points_of(unit(unit_name), metric) if p["location"] == location)


def devices_at(point_id: str) -> list[dict]:
    return [d for d in DEVICES if d["measuring_point_id"] == point_id]


def readings_of(device_id: str) -> list[dict]:
    return [r for r in READINGS if r["device_id"] == device_id]


def recorded(device_id: str, timestamp: str) -> dict:
    """A reading as the consumption call shows it, straight from readings.json."""
    r = next(r for r in readings_of(device_id) if r["timestamp"] == timestamp)
    return {k: r[k] for k in ("timestamp", "value", "quality", "reason")}


class ConsumptionApi(Api):
    """`Api` with the consumption calls, which must answer 200."""

    def consumption(self, unit_name: str, first: str, last: str, metric: str | None = None):
        query = {"from": first, "to": last, **({"metric": metric} if metric else {})}
        status, _, body = self.call(f"/v1/usage-units/{unit(unit_name)}/consumption", **query)
        assert status == 200, body
        return body

    def monthly(self, unit_name: str, year: int, metric: str) -> dict:
        path = f"/v1/usage-units/{unit(unit_name)}/consumption/monthly"
        status, _, body = self.call(path, year=year, metric=metric)
        assert status == 200, body
        return body


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    # Every fixture reading is recorded by then (the data follows the sandbox clock).
    return {"MESSPUNKT_FROZEN_AT": FIXTURES_COMPLETE_AT}


@pytest.fixture
def api(messpunkt_client, messpunkt_tokens) -> ConsumptionApi:
    return ConsumptionApi(messpunkt_client, messpunkt_tokens)


def test_the_quickstart_call_gives_two_segments_that_sum_to_the_total(api):
    mp = point("WE 01", "water_warm", "Bad")
    old, new = devices_at(mp["id"])
    first = [recorded(old["id"], NEW_YEAR_2026), recorded(old["id"], old["removed_at"])]
    second = [recorded(new["id"], new["installed_at"]), recorded(new["id"], NEW_YEAR_2027)]
    used = [first[1]["value"] - first[0]["value"], second[1]["value"] - second[0]["value"]]
    segments = [
        {
            "device": {"id": d["id"], "serial_number": d["serial_number"]},
            "from": rs[0]["timestamp"],
            "to": rs[1]["timestamp"],
            "readings": rs,
            "consumption": c,
        }
        for d, rs, c in ((old, first, used[0]), (new, second, used[1]))
    ]
    body = api.consumption("WE 01", "2026-01-01", "2026-12-31", "water_warm")
    assert body == {
        "usage_unit_id": unit("WE 01"),
        "from": "2026-01-01",
        "to": "2026-12-31",
        "measuring_points": [
            {
                "id": mp["id"],
                "metric": "water_warm",
                "unit": "m3",
                "location": "Bad",
                "segments": segments,
                "consumption": sum(used),
                "complete": True,
            }
        ],
        "totals": {
            "water_warm": {"value": sum(used), "unit": "m3", "complete": True, "uncovered": []}
        },
        "warnings": [],
    }
    assert used == [Decimal("18.132"), Decimal("7.862")]  # the README's numbers
    assert sum(used) == Decimal("25.994")


def test_without_a_metric_every_measuring_point_counts_and_totals_sum_per_metric(api):
    body = api.consumption("WE 01", "2026-01-01", "2026-12-31")
    expected_points = [p["id"] for p in points_of(unit("WE 01"))]
    assert [p["id"] for p in body["measuring_points"]] == expected_points
    assert list(body["totals"]) == ["water_warm", "water_cold", "heat_allocation"]
    for metric, total in body["totals"].items():
        mine = [p for p in body["measuring_points"] if p["metric"] == metric]
        assert total == {
            "value": sum(p["consumption"] for p in mine),
            "unit": mine[0]["unit"],
            "complete": True,
            "uncovered": [],
        }
        alone = api.consumption("WE 01", "2026-01-01", "2026-12-31", metric)
        assert alone["measuring_points"] == mine
    for mp in body["measuring_points"]:
        assert mp["consumption"] == sum(s["consumption"] for s in mp["segments"])
        for s in mp["segments"]:
            assert s["consumption"] == s["readings"][1]["value"] - s["readings"][0]["value"]


def test_heat_cost_allocators_split_at_1_january_and_restart_from_zero(api):
    body = api.consumption("WE 01", "2025-12-01", "2026-01-31", "heat_allocation")
    assert len(body["measuring_points"]) == len(points_of(unit("WE 01"), "heat_allocation")) == 4
    for mp in body["measuring_points"]:
        (device,) = devices_at(mp["id"])
        december, january = mp["segments"]
        assert december["device"]["id"] == january["device"]["id"] == device["id"]
        new_year = "2026-01-01T00:00:00+01:00"
        assert (december["from"], december["to"]) == ("2025-12-01T00:00:00+01:00", new_year)
        assert (january["from"], january["to"]) == (new_year, "2026-02-01T00:00:00+01:00")
        assert december["readings"] == [
            recorded(device["id"], "2025-12-01T00:00:00+01:00"),
            recorded(device["id"], new_year),
        ]
        assert december["readings"][1]["reason"] == RESET
        assert january["readings"] == [
            {"timestamp": new_year, "value": 0, "quality": "measured", "reason": RESET},
            recorded(device["id"], "2026-02-01T00:00:00+01:00"),
        ]
        assert mp["consumption"] == december["consumption"] + january["consumption"]
        assert mp["complete"] is True


def interpolate(device_id: str, instant: datetime, precision: Decimal) -> Decimal:
    history = [(datetime.fromisoformat(r["timestamp"]), r["value"]) for r in readings_of(device_id)]
    (t0, v0), (t1, v1) = next((a, b) for a, b in pairwise(history) if a[0] < instant < b[0])
    tick = timedelta(microseconds=1)
    share = Decimal((instant - t0) // tick) / Decimal((t1 - t0) // tick)
    return (v0 + (v1 - v0) * share).quantize(precision, rounding=ROUND_HALF_UP)


def test_a_boundary_between_readings_is_interpolated_and_says_so(api):
    body = api.consumption("WE 01", "2026-01-10", "2026-01-20", "water_cold")
    start, end = datetime(2026, 1, 10, tzinfo=BERLIN), datetime(2026, 1, 21, tzinfo=BERLIN)
    for mp in body["measuring_points"]:
        ((segment),) = mp["segments"]
        device = segment["device"]["id"]
        assert segment["readings"] == [
            {
                "timestamp": t.isoformat(),
                "value": interpolate(device, t, Decimal("0.001")),
                "quality": "interpolated",
                "reason": "window_boundary",
            }
            for t in (start, end)
        ]


def test_a_boundary_on_a_recorded_reading_is_not_interpolated(api):
    # After the cold water meters' calibration replacement of 2026-03-10.
    body = api.consumption("WE 01", "2026-04-01", "2026-04-15", "water_cold")
    for mp in body["measuring_points"]:
        first, last = mp["segments"][0]["readings"]
        assert first == recorded(mp["segments"][0]["device"]["id"], "2026-04-01T00:00:00+02:00")
        assert (last["timestamp"], last["quality"]) == ("2026-04-16T00:00:00+02:00", "interpolated")


def test_readings_that_stop_end_the_segment_and_warn_about_the_rest(api):
    kitchen = point("WE 05", "water_cold", "Küche")
    # Its meter of 2020 was replaced on 2026-03-10 (calibration); the new one's radio failed.
    _, device = devices_at(kitchen["id"])
    last = max(readings_of(device["id"]), key=lambda r: datetime.fromisoformat(r["timestamp"]))
    assert last["timestamp"] == "2026-10-01T00:00:00+02:00"
    body = api.consumption("WE 05", "2026-01-01", "2026-12-31", "water_cold")
    mp = next(p for p in body["measuring_points"] if p["id"] == kitchen["id"])
    assert mp["complete"] is False
    replaced, segment = mp["segments"]  # the old meter's until 2026-03-10, then the new one's
    assert replaced["to"] == segment["from"] == "2026-03-10T08:45:00+01:00"  # 10th slot
    assert segment["to"] == last["timestamp"]
    assert segment["readings"][1] == recorded(device["id"], last["timestamp"])
    assert body["warnings"] == [
        {
            "code": "no_readings",
            "measuring_point_id": kitchen["id"],
            "from": "2026-10-01T00:00:00+02:00",
            "to": "2027-01-01T00:00:00+01:00",
            "detail": "no readings cover this period; its use is unknown (never extrapolated)",
        }
    ]
    others = [p for p in body["measuring_points"] if p["id"] != kitchen["id"]]
    assert others and all(p["complete"] for p in others)
    # The total is the sum of what was read (kitchen until 2026-10-01, Bad all year) and
    # says what it leaves out, so an ERP reading only totals sees the gap too.
    assert body["totals"]["water_cold"] == {
        "value": sum(p["consumption"] for p in body["measuring_points"]),
        "unit": "m3",
        "complete": False,
        "uncovered": [
            {
                "measuring_point_id": kitchen["id"],
                "from": "2026-10-01T00:00:00+02:00",
                "to": "2027-01-01T00:00:00+01:00",
                "code": "no_readings",
            }
        ],
    }


def test_a_point_before_its_commissioning_is_neither_listed_nor_a_gap(api):
    # WE 07's "Gäste-WC" cold water point is commissioned with its meter on 2025-04-10 09:15.
    guest = point("WE 07", "water_cold", "Gäste-WC")
    assert guest["commissioned_on"] == "2025-04-10"
    (device,) = devices_at(guest["id"])
    body = api.consumption("WE 07", "2025-01-01", "2025-12-31", "water_cold")
    assert body["warnings"] == []
    mp = next(p for p in body["measuring_points"] if p["id"] == guest["id"])
    assert mp["complete"] is True
    assert mp["segments"][0]["from"] == "2025-04-10T09:15:00+02:00"
    assert mp["segments"][0]["readings"][0] == recorded(device["id"], "2025-04-10T09:15:00+02:00")
    assert mp["segments"][0]["readings"][0]["value"] == 0
    # In 2024 the point did not exist: WE 07 has its Bad and Küche points only, complete.
    earlier = api.consumption("WE 07", "2024-01-01", "2024-12-31", "water_cold")
    assert [p["location"] for p in earlier["measuring_points"]] == ["Bad", "Küche"]
    assert earlier["warnings"] == []


def test_the_property_average_of_january_2024_counts_we_07_before_its_new_point(api):
    # Cold water, January 2024 (readings 2024-02-01 minus 2024-01-01, Bad + Küche), A1:
    #   WE 01 72.4 m²: 2.569 + 1.547 = 4.116    WE 05 84.75 m²: 3.017 + 2.318 = 5.335
    #   WE 02 48.15 m²: 1.143 + 0.794 = 1.937   WE 06 61.2 m²:  1.959 + 1.218 = 3.177
    #   WE 03 95.3 m²:  3.929 + 2.313 = 6.242   WE 07 105.8 m²: 4.802 + 3.057 = 7.859
    #   WE 04 42.6 m²:  0.916 + 0.650 = 1.566   WE 08 118.35 m²: 3.987 + 2.879 = 6.866
    # All eight: 37.098 m³ over 628.55 m², times WE 01's 72.4 m² = 4.27316… -> 4.273 (the
    # issue's figure). Leaving WE 07 out, as when its Gäste-WC point counted as a missing
    # meter: 29.239 / 522.75 * 72.4 = 4.0495… -> 4.050, about 5 % low.
    # The comparison user of §6a(2) Nr. 3 leaves WE 01 itself out too: the seven others,
    # (37.098 - 4.116) / (628.55 - 72.4) * 72.4 = 32.982 / 556.15 * 72.4 = 4.29364… -> 4.294.
    january = api.monthly("WE 01", 2024, "water_cold")["months"][0]
    assert january["property_average"] == {
        "value": Decimal("4.294"), "kwh": None, "status": "complete", "units_compared": 7,
        "category": "residential"}  # fmt: skip


def test_a_metric_the_unit_does_not_have_is_an_empty_answer(api):
    assert points_of(unit("WE 01"), "heat") == []
    body = api.consumption("WE 01", "2026-01-01", "2026-12-31", "heat")
    assert body == {
        "usage_unit_id": unit("WE 01"),
        "from": "2026-01-01",
        "to": "2026-12-31",
        "measuring_points": [],
        "totals": {},
        "warnings": [],
    }


RANGE = "Must be greater than or equal to {} and less than or equal to {}."
DAYS = ("2000-01-01", "2099-12-31")
METRIC = "Must be one of: water_warm, water_cold, heat, heat_allocation."
MISSING = "Missing data for required field."
NOT_INTEGER = "Not a valid integer: digits 0-9 only, without sign, spaces or leading zeros."


@pytest.mark.parametrize(
    ("call", "query", "field", "message"),
    [
        ("", {"from": "2026-13-01", "to": "2026-12-31"}, "from", "Not a valid date."),
        ("", {"from": "2026-02-30", "to": "2026-12-31"}, "from", "Not a valid date."),
        ("", {"from": "2026-01-01", "to": "soon"}, "to", "Not a valid date."),
        ("", {"from": "2026-02-01", "to": "2026-01-31"}, "to", "must not be before from"),
        ("", {"to": "2026-12-31"}, "from", MISSING),
        ("", {"from": "2026-01-01"}, "to", MISSING),
        ("", {"from": "1999-12-31", "to": "2026-12-31"}, "from", RANGE.format(*DAYS)),
        ("", {"from": "2026-01-01", "to": "2026-12-31", "metric": "gas"}, "metric", METRIC),
        ("/monthly", {"year": "1999", "metric": "heat"}, "year", RANGE.format(2001, 2099)),
        ("/monthly", {"year": "2100", "metric": "heat"}, "year", RANGE.format(2001, 2099)),
        ("/monthly", {"year": "2026.5", "metric": "heat"}, "year", NOT_INTEGER),
        ("/monthly", {"metric": "heat"}, "year", MISSING),
        ("/monthly", {"year": "2026"}, "metric", MISSING),
        ("/monthly", {"year": "2026", "metric": "gas"}, "metric", METRIC),
    ],
)
def test_bad_parameters_are_a_400_problem_naming_the_field(api, call, query, field, message):
    path = f"/v1/usage-units/{unit('WE 01')}/consumption{call}"
    expected = (
        400,
        "application/problem+json",
        {
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": "some parameters are invalid; see errors",
            "errors": {field: [message]},
        },
    )
    assert api.call(path, **query) == expected
    # Parsed query strings are remembered; a bad one is not, and fails again.
    assert api.call(path, **query) == expected


def test_a_query_string_seen_before_still_answers_for_its_own_unit_and_metric(api):
    metrics = ["water_warm", "water_cold", "water_warm", "water_cold"]
    for name in ("WE 01", "WE 02"):
        for metric in metrics:
            body = api.consumption(name, "2026-01-01", "2026-12-31", metric)
            expected = [p["id"] for p in points_of(unit(name), metric)]
            assert body["usage_unit_id"] == unit(name)
            assert [p["id"] for p in body["measuring_points"]] == expected
            assert {p["metric"] for p in body["measuring_points"]} == {metric}


def amounts(node, unit_name=None):
    """Yield (unit, amount) for every "value" and "consumption" below `node`."""
    if isinstance(node, list):
        for item in node:
            yield from amounts(item, unit_name)
    elif isinstance(node, dict):
        unit_name = node.get("unit", unit_name)
        for key, item in node.items():
            if key in ("value", "consumption") and not isinstance(item, dict | list):
                yield unit_name, item
            else:
                yield from amounts(item, unit_name)


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("WE 01", "2026-01-10", "2026-01-20"),
        ("WE 03", "2025-06-07", "2025-08-13"),
        ("WE 07", "2025-02-03", "2025-11-29"),
        ("WE 05", "2026-09-17", "2026-12-31"),
    ],
)
def test_values_are_json_numbers_at_the_metrics_precision(api, name, first, last):
    body = api.consumption(name, first, last)
    found = list(amounts(body))
    assert {u for u, _ in found} == {"m3", "units"}
    for unit_name, amount in found:
        assert type(amount) in (int, Decimal), amount  # a JSON number, never a string
        assert Decimal(amount) == Decimal(amount).quantize(PRECISION[unit_name])
        assert unit_name == "m3" or type(amount) is int


# Monthly ---------------------------------------------------------------------------------------


def days_of(month: str) -> tuple[str, str]:
    first = date.fromisoformat(month + "-01")
    following = (first + timedelta(days=31)).replace(day=1)
    return first.isoformat(), (following - timedelta(days=1)).isoformat()


def test_each_month_equals_the_consumption_call_for_that_month(api):
    body = api.monthly("WE 01", 2026, "heat_allocation")
    months = body["months"]
    assert [m["month"] for m in months] == [f"2026-{n:02}" for n in range(1, 13)]
    assert (body["unit"], body["area_m2"]) == ("units", A1_UNITS[0]["area_m2"])
    for m in months:
        per_segment = api.consumption("WE 01", *days_of(m["month"]), "heat_allocation")
        value = sum(p["consumption"] for p in per_segment["measuring_points"])
        assert value == per_segment["totals"]["heat_allocation"]["value"]
        shown = {k: m["consumption"][k] for k in ("month", "value", "status")}
        assert shown == {"month": m["month"], "value": value, "status": "complete"}
    for before, after in pairwise(months):
        assert after["previous_month"] == before["consumption"]
    last_year = api.monthly("WE 01", 2025, "heat_allocation")
    assert months[0]["previous_month"] == last_year["months"][11]["consumption"]
    for this, then in zip(months, last_year["months"], strict=True):
        assert this["same_month_last_year"] == then["consumption"]


@pytest.mark.parametrize(
    ("metric", "year", "incomplete_months"),
    [
        ("heat_allocation", 2026, set()),
        ("water_cold", 2026, {10, 11, 12}),  # WE 05 Küche stops
        ("water_cold", 2025, set()),  # WE 07 Gäste-WC: not yet commissioned is no gap
    ],
)
def test_the_property_average_compares_only_units_with_complete_data(
    api, metric, year, incomplete_months
):
    body = api.monthly("WE 01", year, metric)
    for number, m in enumerate(body["months"], start=1):
        complete = []
        for other in A1_UNITS[1:]:  # every flat but WE 01 itself, all residential
            c = api.consumption(other["name"], *days_of(m["month"]), metric)
            if c["measuring_points"] and all(p["complete"] for p in c["measuring_points"]):
                complete.append((other["area_m2"], c["totals"][metric]["value"]))
        assert len(complete) == len(A1_UNITS) - 1 - (number in incomplete_months)
        share = sum(v for _, v in complete) / sum(a for a, _ in complete)
        expected = (share * body["area_m2"]).quantize(PRECISION[body["unit"]], ROUND_HALF_UP)
        average = {"value": expected, "status": "complete", "units_compared": len(complete),
                   "category": "residential"}  # fmt: skip
        assert {k: v for k, v in m["property_average"].items() if k != "kwh"} == average


def no_data(month: str) -> dict:
    return {"month": month, "value": None, "kwh": None, "status": "no_data"}


@pytest.mark.parametrize(
    ("name", "year", "metric"),
    [("WE 01", 2023, "heat_allocation"), ("WE 01", 2026, "heat"), ("WE 08", 2023, "water_cold")],
)
def test_a_month_without_data_is_no_data_and_null_never_zero(api, name, year, metric):
    body = api.monthly(name, year, metric)
    for number, m in enumerate(body["months"], start=1):
        assert m == {
            "month": f"{year}-{number:02}",
            "consumption": no_data(f"{year}-{number:02}"),
            "previous_month": no_data(f"{year - (number == 1)}-{(number - 2) % 12 + 1:02}"),
            "same_month_last_year": no_data(f"{year - 1}-{number:02}"),
            "property_average": {
                "value": None,
                "kwh": None,
                "status": "no_data",
                "units_compared": 0,
                "category": "residential",
            },
        }


def test_the_first_year_of_readings_has_no_data_only_in_its_comparisons(api):
    january = api.monthly("WE 01", 2024, "water_cold")["months"][0]
    assert january["consumption"]["status"] == "complete"
    assert january["consumption"]["value"] > 0
    assert january["previous_month"] == no_data("2023-12")
    assert january["same_month_last_year"] == no_data("2023-01")


def test_a_month_with_a_broken_meter_is_incomplete_but_keeps_its_value(api):
    october = api.monthly("WE 05", 2026, "water_cold")["months"][9]
    per_segment = api.consumption("WE 05", "2026-10-01", "2026-10-31", "water_cold")
    value = per_segment["totals"]["water_cold"]["value"]
    assert october["consumption"] == {
        "month": "2026-10", "value": value, "kwh": None, "status": "incomplete"}  # fmt: skip


def test_months_bridged_by_interpolation_alone_are_estimated(api):
    # WE 03's "Wohnzimmer" allocator has no readings on 2025-06-01, 07-01 and 08-01 (radio
    # outage), and its 2025-09-01 reading is itself estimated. June and July lie wholly
    # between interpolated bounds, August between an interpolated one and the estimate:
    # no measured reading at all, so those months are "estimated". May ends interpolated
    # but starts on a measured reading, September ends on one: both stay "complete".
    months = api.monthly("WE 03", 2025, "heat_allocation")["months"]
    statuses = {m["month"]: m["consumption"]["status"] for m in months}
    assert statuses == {
        f"2025-{n:02}": "estimated" if n in (6, 7, 8) else "complete" for n in range(1, 13)
    }
    # An estimated month still has a value and counts in its neighbours' property average.
    june = months[5]
    assert june["consumption"]["value"] is not None
    neighbour = api.monthly("WE 01", 2025, "heat_allocation")["months"][5]
    assert neighbour["property_average"]["units_compared"] == 7  # the 8 flats but WE 01


def test_the_monthly_notice_gives_heat_related_values_in_kwh(api):
    # WE 01, January 2026. Warm water: 147.908 - 145.642 = 2.266 m³; HeizkostenV §9(2):
    # 2.5 kWh/(m³·K) × 2.266 m³ × (60 - 10) K = 283.25 -> 283 kWh.
    warm = api.monthly("WE 01", 2026, "water_warm")["months"][0]["consumption"]
    assert (warm["value"], warm["kwh"]) == (Decimal("2.266"), Decimal(283))
    # Allocators (all restart at 0 on 1 January, so the 1 February values are January's):
    #   WE 01 111 + 67 + 119 + 164 = 461     WE 05 155 + 142 + 147 + 246 = 690
    #   WE 02 108 + 125 + 211 = 444          WE 06 95 + 93 + 113 + 182 = 483
    #   WE 03 125 + 178 + 108 + 171 + 266 = 848   WE 07 151 + 150 + 109 + 150 + 315 = 875
    #   WE 04 114 + 108 + 211 = 433          WE 08 144 + 179 + 116 + 167 + 203 = 809
    # 5,043 rated units in all. The central heat meter: 29,017 - 19,629 = 9,388 kWh.
    # WE 01: 9,388 × 461 / 5,043 = 858.19 -> 858 kWh.
    # Its comparison user, the seven other flats: (5,043 - 461) / (628.55 - 72.4) m² × 72.4 m²
    # = 4,582 / 556.15 × 72.4 = 596.488 -> 596 units,
    # 9,388 × 596.488 / 5,043 = 1,110.4 -> 1,110 kWh (from the unrounded average).
    heat = api.monthly("WE 01", 2026, "heat_allocation")["months"][0]
    assert (heat["consumption"]["value"], heat["consumption"]["kwh"]) == (461, 858)
    average = heat["property_average"]
    assert (average["value"], average["kwh"], average["units_compared"]) == (596, 1110, 7)
    # Cold water has no energy.
    cold = api.monthly("WE 01", 2026, "water_cold")["months"][0]
    assert (cold["consumption"]["kwh"], cold["property_average"]["kwh"]) == (None, None)
