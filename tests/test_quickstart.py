"""The README's quickstart, run block by block in bash against a live waitress server.

Each runs twice: with the base URL the server's own, and a partner sandbox's
(`<server>/s/<id>`, created through the operator's API), nothing else changed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from conftest import OPERATOR, OPERATOR_KEY

from messpunkt.testing import LiveServer

ROOT = Path(__file__).resolve().parents[1]
BASE_URL = "http://localhost:8000"
STEP = "@@quickstart-step@@"

WHOAMI = {
    "tenant_id": "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a",
    "tenant_name": "Musterhausverwaltung GmbH",
    "client_id": "sandbox-demo-client",
    "granted_scopes": ["read:units", "read:devices", "read:readings"],
    "property_scope": ["6fb74d25-5517-4dcc-ae8b-0914579ab036"],
}

pytestmark = pytest.mark.live


def quickstart_blocks() -> list[str]:
    """Return the shell blocks between the README's quickstart markers."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- quickstart:begin -->")[1].split("<!-- quickstart:end -->")[0]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    # Real time at first (the walk-through freezes it), known admin and operator keys.
    return {
        "MESSPUNKT_SANDBOX_ADMIN_KEY": "readme-admin-key",
        "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY,
    }


@pytest.fixture(params=["default", "partner"])
def sandbox(request, messpunkt_server: LiveServer) -> tuple[str, str]:
    """The base URL the README's blocks are run against, and its admin key."""
    if request.param == "default":
        return messpunkt_server.url, "readme-admin-key"
    created = requests.post(messpunkt_server.url + "/sandboxes", headers=OPERATOR, timeout=10)
    assert created.status_code == 201, created.text
    return created.json()["issuer"], created.json()["admin_key"]


def bash(script: str, base_url: str, cwd: Path, **env: str) -> str:
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        pytest.fail("the quickstart needs curl and openssl (.ci/run installs them)")
    completed = subprocess.run(
        ["bash", "-c", script.replace(BASE_URL, base_url)],
        cwd=cwd,
        env={**_python_path(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def _python_path() -> dict[str, str]:
    # `python3` in the quickstart may be any Python; prefer the one on the caller's PATH.
    python = shutil.which("python3")
    assert python is not None, "the quickstart needs python3"
    return {"PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin"}


def we01_warm_water_2026_from_fixtures() -> Decimal:
    """Compute WE 01's 2026 warm water use straight from the JSON fixtures."""
    data = ROOT / "sandbox_data"
    load = lambda name: json.loads((data / name).read_text(), parse_float=Decimal)  # noqa: E731
    unit = load("usage_units.json")[0]
    point = next(
        p
        for p in load("measuring_points.json")
        if p["usage_unit_id"] == unit["id"] and p["metric"] == "water_warm"
    )
    devices = [d for d in load("devices.json") if d["measuring_point_id"] == point["id"]]
    old, new = sorted(devices, key=lambda d: d["installed_at"])
    values = {(r["device_id"], r["timestamp"]): r["value"] for r in load("readings.json")}
    return (
        values[(old["id"], old["removed_at"])] - values[(old["id"], "2026-01-01T00:00:00+01:00")]
    ) + (
        values[(new["id"], "2027-01-01T00:00:00+01:00")] - values[(new["id"], new["installed_at"])]
    )


def test_readme_quickstart_runs_against_a_live_server(
    sandbox: tuple[str, str], tmp_path: Path
) -> None:
    base_url, _ = sandbox
    pkce, code, token, whoami, consumption, refresh_variable, refresh = quickstart_blocks()
    script = f"\necho {STEP}\n".join(
        [pkce, code, token, whoami, consumption, refresh_variable, refresh]
    )
    steps = bash(script, base_url, tmp_path).split(f"{STEP}\n")

    assert re.fullmatch(r"Verifier:  [A-Za-z0-9]{43,64}\nChallenge: [A-Za-z0-9_-]{43}\n", steps[0])
    assert re.fullmatch(r"Got authorization code: [A-F0-9]{32,}\n", steps[1])
    first = json.loads((tmp_path / "token.json").read_text())
    assert steps[2] == f"Access token (first 30 chars): {first['access_token'][:30]}...\n"
    assert first["token_type"] == "Bearer"
    assert first["expires_in"] == 3600
    assert first["scope"] == "read:units read:devices read:readings"

    assert json.loads(steps[3]) == WHOAMI

    report = json.loads(steps[4], parse_float=Decimal)
    [point] = report["measuring_points"]
    assert point["metric"] == "water_warm"
    old, new = point["segments"]
    assert old["device"]["id"] != new["device"]["id"]
    assert [len(old["readings"]), len(new["readings"])] == [2, 2]
    assert old["readings"][1]["reason"] == "removal"
    assert new["readings"][0]["reason"] == "installation"
    assert old["to"] == new["from"] == "2026-09-15T10:30:00+02:00"
    differences = [s["readings"][1]["value"] - s["readings"][0]["value"] for s in (old, new)]
    assert differences == [old["consumption"], new["consumption"]]
    expected = we01_warm_water_2026_from_fixtures()
    assert sum(differences) == point["consumption"] == expected
    assert report["totals"] == {"water_warm": {"value": expected, "unit": "m3"}}
    assert point["complete"] is True
    assert report["warnings"] == []

    rotated = json.loads(steps[6])
    assert set(rotated) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert rotated["refresh_token"] != first["refresh_token"]

    # The new refresh token works once …
    again = json.loads(bash(refresh, base_url, tmp_path, REFRESH_TOKEN=rotated["refresh_token"]))
    assert "access_token" in again
    # … the pre-rotation one presented again is refused as theft …
    replay = json.loads(bash(refresh, base_url, tmp_path, REFRESH_TOKEN=first["refresh_token"]))
    assert replay["error"] == "invalid_grant"
    # … and the session is revoked: the newest refresh token and its access token are dead.
    newest = json.loads(bash(refresh, base_url, tmp_path, REFRESH_TOKEN=again["refresh_token"]))
    assert newest["error"] == "invalid_grant"
    status = bash(
        whoami.replace("| python3 -m json.tool", "-o /dev/null -w '%{http_code}'"),
        base_url,
        tmp_path,
        TOKEN=again["access_token"],
    )
    assert status == "401"


def walkthrough_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- walkthrough:begin -->")[1].split("<!-- walkthrough:end -->")[0]
    [block] = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return block.replace("localhost:8000", BASE_URL)


def test_readme_clock_walkthrough_shows_each_expiry(
    sandbox: tuple[str, str], tmp_path: Path
) -> None:
    base_url, admin_key = sandbox
    pkce, code, token, *_ = quickstart_blocks()
    bash("\n".join([pkce, code, token]), base_url, tmp_path)
    first = json.loads((tmp_path / "token.json").read_text())

    output = bash(
        walkthrough_block(),
        base_url,
        tmp_path,
        A=f"X-Sandbox-Admin-Key: {admin_key}",
        TOKEN=first["access_token"],
        REFRESH_TOKEN=first["refresh_token"],
    )

    frozen, advanced, status, advanced_again, refused, sessions = _json_documents(output)
    assert frozen["frozen"] is True
    assert _seconds_between(frozen["now"], advanced["now"]) == 3600
    assert status == 401
    assert _seconds_between(advanced["now"], advanced_again["now"]) == 31 * 86400
    assert refused == {"error": "invalid_grant", "error_description": "refresh token has expired"}
    [session] = sessions["data"]
    assert session["state"] == "expired"
    assert [e["kind"] for e in session["events"]] == ["issued", "rotated", "expired"]


def _json_documents(output: str) -> list:
    """Split the concatenated answers (JSON documents and one bare status code)."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(output):
        if output[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(output, index)
        documents.append(document)
    return documents


def _seconds_between(earlier: str, later: str) -> int:
    delta = datetime.fromisoformat(later) - datetime.fromisoformat(earlier)
    return int(delta.total_seconds())
