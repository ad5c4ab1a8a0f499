"""/v1 catalogue over HTTP: properties, units, measuring points, devices, readings, pagination."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import Api, load

from messpunkt import create_app
from messpunkt.testing import FIXTURES_COMPLETE_AT, QUICKSTART_PROPERTY, obtain_tokens

BERLIN = ZoneInfo("Europe/Berlin")


TENANTS, PROPERTIES, UNITS = load("tenants"), load("properties"), load("usage_units")
POINTS, DEVICES, READINGS = load("measuring_points"), load("devices"), load("readings")
HAFEN = next(p["id"] for p in PROPERTIES if p["name"] == "Hafenstraße 3")
OTHER_TENANTS_PROPERTY = next(p["id"] for p in PROPERTIES if p["tenant_id"] != TENANTS[0]["id"])
A1_UNITS = [u for u in UNITS if u["property_id"] == QUICKSTART_PROPERTY]
POINT = {p["id"]: p for p in POINTS}
A1_DEVICES = [
    d
    for d in DEVICES
    if POINT[d["measuring_point_id"]].get("usage_unit_id") in {u["id"] for u in A1_UNITS}
]


def unit(name: str) -> str:
    return next(u["id"] for u in A1_UNITS if u["name"] == name)


def point(unit_name: str, metric: str, location: str) -> str:
    wanted = (unit(unit_name), metric, location)
    return next(
        p["id"] for p in POINTS if (p.get("usage_unit_id"), p["metric"], p["location"]) == wanted
    )


def devices_at(point_id: str) -> list[str]:
    return [d["id"] for d in DEVICES if d["measuring_point_id"] == point_id]


def berlin(text: str | None) -> str | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(BERLIN).isoformat()


WARM_WE01 = point("WE 01", "water_warm", "Bad")
OLD_WARM, NEW_WARM = devices_at(WARM_WE01)
ALLOCATORS = [d["id"] for d in A1_DEVICES if POINT[d["measuring_point_id"]]["unit"] == "units"]
GAP_ALLOCATOR = devices_at(point("WE 03", "heat_allocation", "Wohnzimmer"))[0]


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    # Every fixture reading is recorded by then (the data follows the sandbox clock).
    return {"MESSPUNKT_FROZEN_AT": FIXTURES_COMPLETE_AT}


@pytest.fixture
def wide(messpunkt_client) -> Api:
    """The demo client granted both properties of the quickstart tenant."""
    return Api(
        messpunkt_client, obtain_tokens(messpunkt_client, properties=(QUICKSTART_PROPERTY, HAFEN))
    )


def page(data: list) -> dict:
    return {"data": data, "pagination": {"next_cursor": None}}


def device_document(device: dict) -> dict:
    mp = POINT[device["measuring_point_id"]]
    return {
        **{k: device[k] for k in ("id", "serial_number", "manufacturer", "model")},
        "measuring_point_id": mp["id"],
        "usage_unit_id": mp.get("usage_unit_id"),
        "metric": mp["metric"],
        "unit": mp["unit"],
        "installed_at": berlin(device["installed_at"]),
        "removed_at": berlin(device["removed_at"]),
    }


def test_properties_list_and_show_the_granted_property_with_its_unit_count(api):
    prop = next(p for p in PROPERTIES if p["id"] == QUICKSTART_PROPERTY)
    expected = {k: v for k, v in prop.items() if k != "tenant_id"} | {"usage_unit_count": 8}
    assert api.get("/v1/properties") == (200, page([expected]))
    assert api.get(f"/v1/properties/{QUICKSTART_PROPERTY}") == (200, expected)


@pytest.mark.parametrize(
    ("query", "property_ids"),
    [
        ({}, [QUICKSTART_PROPERTY, HAFEN]),
        ({"property_id": QUICKSTART_PROPERTY}, [QUICKSTART_PROPERTY]),
        ({"property_id": HAFEN}, [HAFEN]),
        ({"property_id": "no-such-property"}, []),
    ],
)
def test_usage_units_are_listed_in_fixture_order_and_filtered_by_property(
    wide, query, property_ids
):
    expected = [u for pid in property_ids for u in UNITS if u["property_id"] == pid]
    assert wide.get("/v1/usage-units", **query) == (200, page(expected))
    for one in expected:
        assert wide.get(f"/v1/usage-units/{one['id']}") == (200, one)


def test_measuring_points_of_a_unit_list_their_devices_in_installation_order(api):
    mine = [p for p in POINTS if p.get("usage_unit_id") == unit("WE 01")]
    # A point still in service has no decommissioned_on in the fixtures: null in the API.
    expected = [{"decommissioned_on": None, **p, "device_ids": devices_at(p["id"])} for p in mine]
    status, body = api.get(f"/v1/usage-units/{unit('WE 01')}/measuring-points")
    assert (status, body) == (200, page(expected))
    assert body["data"][0]["device_ids"] == [OLD_WARM, NEW_WARM]


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2026-09-14", [OLD_WARM]), ("2026-09-15", [OLD_WARM, NEW_WARM]), ("2026-09-16", [NEW_WARM])],
)
def test_active_on_picks_the_warm_water_meters_around_the_swap(api, day, expected):
    query = {"usage_unit_id": unit("WE 01"), "metric": "water_warm", "active_on": day}
    status, body = api.get("/v1/devices", **query)
    assert (status, [d["id"] for d in body["data"]]) == (200, expected)


def installed_on(device: dict, day: str) -> bool:
    first = date.fromisoformat(day)
    start, end = (datetime.combine(first + timedelta(days=n), time(), BERLIN) for n in (0, 1))
    removed = device["removed_at"]
    return datetime.fromisoformat(device["installed_at"]) < end and (
        removed is None or datetime.fromisoformat(removed) > start
    )


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"usage_unit_id": unit("WE 01")},
        {"measuring_point_id": WARM_WE01},
        {"metric": "water_cold"},
        {"metric": "heat"},
        {"active_on": "2025-04-09", "usage_unit_id": unit("WE 07")},
        {"active_on": "2025-04-10", "usage_unit_id": unit("WE 07")},
        {"active_on": "2026-09-16", "metric": "water_warm"},
        {"usage_unit_id": unit("WE 02"), "measuring_point_id": WARM_WE01},
    ],
)
def test_device_filters_match_the_fixtures(api, query):
    def passes(device: dict) -> bool:
        mp = POINT[device["measuring_point_id"]]
        return (
            query.get("usage_unit_id", mp.get("usage_unit_id")) == mp.get("usage_unit_id")
            and query.get("measuring_point_id", mp["id"]) == mp["id"]
            and query.get("metric", mp["metric"]) == mp["metric"]
            and ("active_on" not in query or installed_on(device, query["active_on"]))
        )

    expected = [device_document(d) for d in A1_DEVICES if passes(d)]
    assert api.get("/v1/devices", limit=200, **query) == (200, page(expected))


def test_a_device_is_shown_with_its_removal_in_berlin_time(api):
    status, body = api.get(f"/v1/devices/{OLD_WARM}")
    assert (status, body) == (200, device_document(next(d for d in DEVICES if d["id"] == OLD_WARM)))
    assert body["removed_at"] == "2026-09-15T10:30:00+02:00"


def fixture_readings(device_id: str, first: str, last: str) -> list[dict]:
    device = next(d for d in DEVICES if d["id"] == device_id)
    unit_name = POINT[device["measuring_point_id"]]["unit"]
    return [
        {k: r[k] for k in ("value", "quality", "reason")}
        | {"timestamp": berlin(r["timestamp"]), "unit": unit_name}
        # Recorded at its timestamp unless the fixture says when (a fitter's or an estimate).
        | {"recorded_at": berlin(r.get("recorded_at", r["timestamp"]))}
        for r in READINGS
        if r["device_id"] == device_id and first <= berlin(r["timestamp"])[:10] <= last
    ]


@pytest.mark.parametrize(
    ("device_id", "first", "last", "count"),
    [
        (OLD_WARM, "2026-09-15", "2026-09-15", 1),  # the removal at 10:30
        (NEW_WARM, "2026-09-15", "2026-09-15", 1),  # the installation at 10:30
        (NEW_WARM, "2026-10-01", "2026-11-01", 2),
        (OLD_WARM, "2026-02-02", "2026-02-28", 0),
        (OLD_WARM, "2024-01-01", "2026-12-31", 34),
    ],
)
def test_readings_cover_whole_berlin_days_from_to_inclusive(api, device_id, first, last, count):
    status, body = api.get(f"/v1/devices/{device_id}/readings", **{"from": first, "to": last})
    assert (status, body) == (200, page(fixture_readings(device_id, first, last)))
    assert len(body["data"]) == count


def summary(readings: list[dict]) -> list[tuple[str, ...]]:
    return [(r["timestamp"], r["quality"], r["reason"]) for r in readings]


@pytest.mark.parametrize(
    ("device_id", "first", "last", "expected"),
    [
        (NEW_WARM, "2026-09-15", "2026-11-01", [
            ("2026-09-15T10:30:00+02:00", "measured", "installation"),
            ("2026-10-01T00:00:00+02:00", "measured", "periodic"),
            ("2026-11-01T00:00:00+01:00", "measured", "periodic"),
        ]),
        (GAP_ALLOCATOR, "2025-05-01", "2025-09-30", [  # no June, July or August
            ("2025-05-01T00:00:00+02:00", "measured", "periodic"),
            ("2025-09-01T00:00:00+02:00", "estimated", "periodic"),
        ]),
    ],
)  # fmt: skip
def test_readings_carry_their_berlin_offset_quality_and_reason(
    api, device_id, first, last, expected
):
    _, body = api.get(f"/v1/devices/{device_id}/readings", **{"from": first, "to": last})
    assert summary(body["data"]) == expected


@pytest.mark.parametrize("device_id", ALLOCATORS)
def test_an_allocator_reads_its_year_total_on_1_january_then_restarts(api, device_id):
    query = {"from": "2025-12-01", "to": "2026-02-01"}
    _, body = api.get(f"/v1/devices/{device_id}/readings", **query)
    december, reset, february = body["data"]
    assert summary([reset]) == [("2026-01-01T00:00:00+01:00", "measured", "billing_date_reset")]
    assert reset["value"] >= december["value"] > february["value"] >= 0


def test_whoami_shows_exactly_the_grant(api):
    assert api.get("/v1/whoami") == (
        200,
        {
            "tenant_id": TENANTS[0]["id"],
            "tenant_name": TENANTS[0]["name"],
            "client_id": "sandbox-demo-client",
            "granted_scopes": ["read:units", "read:devices", "read:readings"],
            "property_scope": [QUICKSTART_PROPERTY],
        },
    )


# Pagination ------------------------------------------------------------------------------------

LISTS = [
    ("/v1/properties", {}),
    ("/v1/usage-units", {}),
    ("/v1/usage-units", {"property_id": HAFEN}),
    (f"/v1/usage-units/{unit('WE 07')}/measuring-points", {}),
    ("/v1/devices", {}),
    ("/v1/devices", {"metric": "heat_allocation", "active_on": "2026-01-01"}),
    (f"/v1/devices/{OLD_WARM}/readings", {"from": "2025-01-01", "to": "2026-12-31"}),
]
BAD = {"type": "about:blank", "title": "Bad Request", "status": 400}
INVALID_LIMIT = BAD | {"detail": "some parameters are invalid; see errors"}
OUT_OF_RANGE = "Must be greater than or equal to 1 and less than or equal to 200."
INVALID_CURSOR = BAD | {
    "detail": "the cursor is invalid",
    "errors": {"cursor": ["Invalid cursor."]},
}
OTHER_QUERY = BAD | {
    "detail": "the cursor belongs to another query",
    "errors": {"cursor": ["Cursor does not belong to this query."]},
}


def walk(api: Api, path: str, limit: int, query: dict) -> list[dict]:
    items, cursor = [], None
    for _ in range(200):
        status, body = api.get(path, limit=limit, **query, **({"cursor": cursor} if cursor else {}))
        assert status == 200
        items += body["data"]
        cursor = body["pagination"]["next_cursor"]
        if cursor is None:
            assert 0 < len(body["data"]) <= limit
            return items
        assert len(body["data"]) == limit
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("limit", [1, 7, 50])
@pytest.mark.parametrize(("path", "query"), LISTS)
def test_walking_every_page_yields_each_item_once_in_big_page_order(wide, path, query, limit):
    status, big = wide.get(path, limit=200, **query)
    assert (status, big["pagination"]["next_cursor"]) == (200, None)
    walked = walk(wide, path, limit, query)
    assert walked == big["data"]
    assert len({json.dumps(item, default=str) for item in walked}) == len(walked)


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", OUT_OF_RANGE),
        ("201", OUT_OF_RANGE),
        ("-1", OUT_OF_RANGE),
        ("ten", "Not a valid integer: digits 0-9 only, without sign, spaces or leading zeros."),
    ],
)
@pytest.mark.parametrize(("path", "query"), LISTS)
def test_a_limit_outside_1_to_200_is_a_400_naming_limit(wide, path, query, limit, message):
    expected = INVALID_LIMIT | {"errors": {"limit": [message]}}
    assert wide.get(path, limit=limit, **query) == (400, expected)


def test_the_default_page_has_50_items_and_the_next_page_the_rest(api):
    _, first = api.get("/v1/devices")
    cursor = first["pagination"]["next_cursor"]
    _, second = api.get("/v1/devices", cursor=cursor)
    assert (len(first["data"]), len(second["data"])) == (50, len(A1_DEVICES) - 50)
    assert cursor is not None and second["pagination"]["next_cursor"] is None
    assert [d["id"] for d in first["data"] + second["data"]] == [d["id"] for d in A1_DEVICES]


def first_cursor(api: Api, path: str, **query) -> str:
    status, body = api.get(path, limit=1, **query)
    assert status == 200 and body["pagination"]["next_cursor"]
    return body["pagination"]["next_cursor"]


def test_a_device_the_clock_brings_in_before_a_cursors_place_is_neither_repeated_nor_skipped():
    """The WE 01 swap (2026-09-15 10:30) puts the new warm water meter between two devices
    that page 1 gave before it: page 2 goes on after page 1's last device as the list now
    stands, so no device is given twice and none after the place is passed over."""
    app = create_app({"MESSPUNKT_FROZEN_AT": "2026-09-15T08:00:00+02:00"})
    client = app.test_client()
    query = {"usage_unit_id": unit("WE 01"), "limit": 2}
    status, first = Api(client, obtain_tokens(client)).get("/v1/devices", **query)
    given = [device["id"] for device in first["data"]]
    assert status == 200 and OLD_WARM in given and NEW_WARM not in given
    app.extensions["messpunkt"].clock.advance_to(datetime(2026, 9, 15, 10, 45, tzinfo=BERLIN))
    api = Api(client, obtain_tokens(client))  # the first token has expired by now
    cursor = first["pagination"]["next_cursor"]
    status, second = api.get("/v1/devices", cursor=cursor, **query)
    _, whole = api.get("/v1/devices", usage_unit_id=unit("WE 01"), limit=200)
    listed = [device["id"] for device in whole["data"]]
    assert listed.index(OLD_WARM) < listed.index(NEW_WARM) < listed.index(given[-1])
    after = listed.index(given[-1]) + 1
    assert status == 200
    assert [device["id"] for device in second["data"]] == listed[after : after + 2]


def with_offset(cursor: str, offset: int) -> str:
    """Rewrite the offset in a cursor's payload, keeping its (now wrong) signature."""
    payload, signature = cursor.rsplit(".", 1)
    assert not payload.startswith(".")  # not zlib-compressed
    bound_to, _, last = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps([bound_to, offset, last]).encode()).decode()
    return forged.rstrip("=") + "." + signature


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: with_offset(c, 0),
        lambda c: with_offset(c, 5),
        lambda c: c[:-4],
        lambda c: ("B" if c[0] == "A" else "A") + c[1:],
        lambda c: "not-a-cursor",
    ],
    ids=["offset-0", "offset-5", "truncated", "payload-byte", "garbage"],
)
def test_a_tampered_cursor_is_a_400(api, tamper):
    cursor = first_cursor(api, "/v1/devices")
    assert api.get("/v1/devices", cursor=tamper(cursor)) == (400, INVALID_CURSOR)


WE07_POINTS = f"/v1/usage-units/{unit('WE 07')}/measuring-points"
WE03_POINTS = f"/v1/usage-units/{unit('WE 03')}/measuring-points"
OLD_READINGS, NEW_READINGS = (f"/v1/devices/{d}/readings" for d in (OLD_WARM, NEW_WARM))


@pytest.mark.parametrize(
    ("made_at", "made_with", "used_at", "used_with"),
    [
        ("/v1/devices", {}, "/v1/usage-units", {}),
        ("/v1/usage-units", {}, "/v1/properties", {}),
        ("/v1/devices", {"metric": "water_cold"}, "/v1/devices", {"metric": "water_warm"}),
        ("/v1/devices", {"metric": "water_cold"}, "/v1/devices", {}),
        ("/v1/usage-units", {"property_id": HAFEN}, "/v1/usage-units", {}),
        (WE07_POINTS, {}, WE03_POINTS, {}),
        (OLD_READINGS, {"from": "2025-01-01"}, OLD_READINGS, {"from": "2025-02-01"}),
        (OLD_READINGS, {}, NEW_READINGS, {}),
    ],
)
def test_a_cursor_of_another_endpoint_or_filter_is_a_400(
    wide, made_at, made_with, used_at, used_with
):
    cursor = first_cursor(wide, made_at, **made_with)
    assert wide.get(used_at, cursor=cursor, **used_with) == (400, OTHER_QUERY)


@pytest.mark.parametrize("path", ["/v1/usage-units", "/v1/devices", "/v1/properties"])
def test_a_cursor_of_another_tenants_or_scopes_token_is_a_400(messpunkt_client, api, wide, path):
    other = obtain_tokens(
        messpunkt_client,
        properties=(OTHER_TENANTS_PROPERTY,),
        client_id="beispiel-erp-client",
        redirect_uri="http://localhost:4000/callback",
    )
    cursor = first_cursor(wide, path)
    assert Api(messpunkt_client, other).get(path, cursor=cursor) == (400, OTHER_QUERY)
    assert api.get(path, cursor=cursor) == (400, OTHER_QUERY)  # same tenant, fewer properties
