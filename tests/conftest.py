"""What many test files share: the fixture data, the quickstart tenant, the clock, `Api`,
partner sandboxes.

The sandbox's own fixtures (`messpunkt_app`, `messpunkt_client`, `messpunkt_tokens`,
`messpunkt_server`) come from its pytest plugin, `messpunkt.testing`.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis_server import RedisServer

from messpunkt.sandbox import SandboxClock

DATA = Path(__file__).resolve().parents[1] / "sandbox_data"
TENANT = "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a"
TENANT_NAME = "Musterhausverwaltung GmbH"


def load(name: str) -> list[dict[str, Any]]:
    """Read one fixture file as it lies in sandbox_data/, numbers as exact decimals."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"), parse_float=Decimal)


NEW_YEAR_2027 = "2027-01-01T00:00:00+01:00"


def we01_warm_water_2026_from_fixtures(now: datetime) -> tuple[Decimal, str | None]:
    """Compute WE 01's 2026 warm water use straight from the JSON fixtures, as known at `now`.

    Return the use and where the readings end when that is before 2027-01-01 (None once
    the 1 January 2027 reading is in: the README's 25.994 m³).
    """
    data = DATA
    load = lambda name: json.loads((data / name).read_text(), parse_float=Decimal)  # noqa: E731
    unit = load("usage_units.json")[0]
    point = next(
        p
        for p in load("measuring_points.json")
        if p.get("usage_unit_id") == unit["id"] and p["metric"] == "water_warm"
    )
    devices = [d for d in load("devices.json") if d["measuring_point_id"] == point["id"]]
    old, new = sorted(devices, key=lambda d: d["installed_at"])
    # A reading exists once recorded (the fitter's at the swap two hours after it).
    readings = [
        r for r in load("readings.json")
        if datetime.fromisoformat(r.get("recorded_at", r["timestamp"])) <= now
    ]  # fmt: skip
    values = {(r["device_id"], r["timestamp"]): r["value"] for r in readings}
    assert (new["id"], new["installed_at"]) in values, "the quickstart's swap is in the past"
    last = max(
        (r["timestamp"] for r in readings if r["device_id"] == new["id"]),
        key=datetime.fromisoformat,
    )
    used = (
        values[(old["id"], old["removed_at"])] - values[(old["id"], "2026-01-01T00:00:00+01:00")]
    ) + (values[(new["id"], min(last, NEW_YEAR_2027))] - values[(new["id"], new["installed_at"])])
    return used, (None if last == NEW_YEAR_2027 else last)


@pytest.fixture
def clock(messpunkt_app) -> SandboxClock:
    """The clock of the app under test (frozen at the plugin's FROZEN_AT)."""
    return messpunkt_app.extensions["messpunkt"].clock


class Api:
    """Calls /v1 with one token through a test client; bodies read with exact decimals."""

    def __init__(self, client, tokens) -> None:
        self.client, self.tokens = client, tokens

    def call(self, path: str, **query) -> tuple[int, str, Any]:
        response = self.client.get(path, query_string=query, headers=self.tokens.bearer)
        return (
            response.status_code,
            response.mimetype,
            json.loads(response.get_data(), parse_float=Decimal),
        )

    def get(self, path: str, **query) -> tuple[int, Any]:
        status, _, body = self.call(path, **query)
        return status, body


@pytest.fixture
def api(messpunkt_client, messpunkt_tokens) -> Api:
    return Api(messpunkt_client, messpunkt_tokens)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisServer:
    """One redis-server for the whole run; each test keeps to a sandbox of its own."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


OPERATOR_KEY = "test-operator-key"
OPERATOR = {"X-Operator-Key": OPERATOR_KEY}


class Prefixed:
    """A test client below a path prefix: one partner's sandbox as its partner calls it."""

    def __init__(self, client, prefix: str) -> None:
        self.client, self.prefix = client, prefix

    def open(self, path: str, **kwargs):
        return self.client.open(self.prefix + path, **kwargs)

    def get(self, path: str, **kwargs):
        return self.open(path, method="GET", **kwargs)

    def post(self, path: str, **kwargs):
        return self.open(path, method="POST", **kwargs)


def create_sandbox(client, **body) -> dict[str, Any]:
    """Create a partner sandbox through the operator's API; return its 201 document."""
    response = client.post("/sandboxes", headers=OPERATOR, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory) -> str:
    """A PEM file of a P-256 key, as hosted workers share one (MESSPUNKT_SIGNING_KEY)."""
    from cryptography.hazmat.primitives import serialization

    from messpunkt.oauth.access_tokens import SigningKey

    path = tmp_path_factory.mktemp("key") / "signing.pem"
    key = SigningKey.generate().private_key
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


@pytest.fixture
def store_url(redis_server) -> str:
    """Database 1 of the run's redis-server, emptied for each test."""
    import redis

    url = redis_server.url.rsplit("/", 1)[0] + "/1"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


@pytest.fixture(params=["memory", "redis"])
def store_config(request) -> dict[str, str]:
    """Settings for a sandbox in memory, then on the run's Redis (as hosted workers share it)."""
    if request.param == "memory":
        return {}
    return {
        "MESSPUNKT_STORE_URL": request.getfixturevalue("store_url"),
        "MESSPUNKT_SIGNING_KEY": request.getfixturevalue("signing_key"),
        "MESSPUNKT_SECRET_KEY": "cursor",
    }


class Logged(dict):
    """A logged request whose entry is these members (as `web.request_log` hands one over)."""

    def entry(self):
        return dict(self)
