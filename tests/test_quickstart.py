"""The README's quickstart and clock walk-through, run in order in one bash session, live.

Each runs twice: with the base URL the server's own, and a partner sandbox's
(`<server>/s/<id>`, created through the operator's API), nothing else changed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from conftest import NEW_YEAR_2027, OPERATOR, OPERATOR_KEY, we01_warm_water_2026_from_fixtures

from messpunkt.testing import LiveServer

ROOT = Path(__file__).resolve().parents[1]
SH_BLOCK = r"```sh\n(.*?)```"
STEP = "@@readme-step@@"
# The walk-through's placeholder for the key `make sandbox` prints; the live server's here.
PRINTED_KEY = "<the printed key>"

WHOAMI = {
    "tenant_id": "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a",
    "tenant_name": "Musterhausverwaltung GmbH",
    "client_id": "sandbox-demo-client",
    "granted_scopes": ["read:units", "read:devices", "read:readings"],
    "property_scope": ["6fb74d25-5517-4dcc-ae8b-0914579ab036"],
}

pytestmark = pytest.mark.live
SHELL_SECTIONS = ("quickstart", "walkthrough", "registration", "selfservice")


def readme_blocks() -> list[str]:
    """Return every shell block between the README's begin/end markers, in page order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- (\w+):begin -->(.*?)<!-- \1:end -->", text, re.DOTALL)
    # Other marked sections hold other languages (the authlib snippet, run by test_interop).
    sections = [(name, section) for name, section in found if name in SHELL_SECTIONS]
    assert [name for name, _ in sections] == list(SHELL_SECTIONS)
    return [block for _, section in sections for block in re.findall(SH_BLOCK, section, re.DOTALL)]


def bash(script: str, server: LiveServer, cwd: Path, **env: str) -> str:
    """Run `script` against `server` the way a reader would: silent on stderr, exit 0."""
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        pytest.fail("the quickstart needs curl and openssl (.ci/run installs them)")
    script = re.sub(r"(?:http://)?localhost:8000", server.url, script)
    script = script.replace(PRINTED_KEY, server.admin_key)
    completed = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={**_python_path(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (completed.returncode, completed.stderr) == (0, "")
    return completed.stdout


def _python_path() -> dict[str, str]:
    # `python3` in the quickstart may be any Python; prefer the one on the caller's PATH.
    python = shutil.which("python3")
    assert python is not None, "the quickstart needs python3"
    return {"PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin"}


def run_in_one_shell(blocks: list[str], server: LiveServer, cwd: Path) -> list[str]:
    """Run `blocks` in one bash session; return each one's output.

    After each block token.json is copied to token.<n>.json, so a test can read
    what the block left there before a later block overwrites it.
    """
    marks = [f"\ncp token.json token.{n}.json 2>/dev/null || true; echo {STEP}\n"
             for n in range(len(blocks))]  # fmt: skip
    script = "".join(block + mark for block, mark in zip(blocks, marks, strict=True))
    steps = bash(script, server, cwd).split(f"{STEP}\n")
    assert steps[-1] == ""
    return steps[:-1]


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    # Real time at first (the walk-through freezes it), known admin and operator keys.
    return {
        "MESSPUNKT_SANDBOX_ADMIN_KEY": "readme-admin-key",
        "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY,
    }


@pytest.fixture(params=["default", "partner"])
def sandbox(request, messpunkt_server: LiveServer) -> SimpleNamespace:
    """The base URL the README's blocks are run against (`.url`), and its `.admin_key`."""
    if request.param == "default":
        return SimpleNamespace(url=messpunkt_server.url, admin_key="readme-admin-key")
    created = requests.post(messpunkt_server.url + "/sandboxes", headers=OPERATOR, timeout=10)
    assert created.status_code == 201, created.text
    return SimpleNamespace(url=created.json()["issuer"], admin_key=created.json()["admin_key"])


def test_every_readme_block_runs_in_page_order_in_one_shell(
    sandbox: SimpleNamespace, tmp_path: Path
) -> None:
    readme_runs_in_order(sandbox, tmp_path)


def readme_runs_in_order(server: Any, tmp_path: Path) -> None:
    """Run every README block in page order against `server` (`.url`, `.admin_key`)."""
    blocks = readme_blocks()
    # The quickstart runs on the wall clock (the walk-through freezes it only later).
    started = datetime.now(UTC)
    steps = run_in_one_shell(blocks, server, tmp_path)
    [pkce, code, token, whoami, consumption, refresh_variable, refresh, admin_key, walk,
     *registration, upload, log, faults] = steps  # fmt: skip
    left = [json.loads((tmp_path / f"token.{n}.json").read_text()) for n in (2, 6, 8)]
    first, rotated, renewed = left

    assert re.fullmatch(r"Verifier:  [A-Za-z0-9]{43,64}\nChallenge: [A-Za-z0-9_-]{43}\n", pkce)
    assert re.fullmatch(r"Got authorization code: [A-F0-9]{32,}\n", code)
    assert token == f"Access token (first 30 chars): {first['access_token'][:30]}...\n"

    assert json.loads(whoami) == WHOAMI
    assert_we01_warm_water_2026(json.loads(consumption, parse_float=Decimal), started)

    # The refresh step keeps the new pair (in token.json and both variables).
    assert refresh_variable == ""
    for answer in (first, rotated, renewed):
        assert set(answer) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
        assert (answer["token_type"], answer["expires_in"]) == ("Bearer", 3600)
        assert answer["scope"] == "read:units read:devices read:readings"
    assert refresh == f"New access token (first 30 chars): {rotated['access_token'][:30]}...\n"
    assert len({answer["refresh_token"] for answer in left}) == 3
    assert len({answer["access_token"] for answer in left}) == 3

    assert admin_key == ""
    frozen, advanced, status, advanced_again, refused, sessions = _json_documents(walk)
    assert frozen["frozen"] is True
    assert _seconds_between(frozen["now"], advanced["now"]) == 3600
    # The refresh step's token is an hour old once the clock has moved an hour.
    assert status == 401
    assert _seconds_between(advanced["now"], advanced_again["now"]) == 31 * 86400
    assert refused == {"error": "invalid_grant", "error_description": "refresh token has expired"}
    [session] = sessions["data"]
    assert session["state"] == "expired"
    # The code's redemption, the quickstart's refresh, the walk-through's; no replay.
    assert [e["kind"] for e in session["events"]] == ["issued", "rotated", "rotated", "expired"]

    # Partner self-service: the renamed data set, its upload in the log, a 503 armed.
    uploaded = json.loads(upload)
    assert uploaded["data_set"].startswith("upload-")
    renamed = json.loads((tmp_path / "data.json").read_text(encoding="utf-8"))
    assert renamed["properties"][0]["name"] == "Lindenhof (renamed)"
    assert json.loads((tmp_path / "data-set.schema.json").read_text())["type"] == "object"
    uploads, refused = _json_documents(log)
    assert [(e["method"], e["status"]) for e in uploads["data"]][:1] == [("POST", 200)]
    assert {e["status"] for e in refused["data"]} == {401}
    listed, injected, disarmed = _json_documents(faults)
    [rule] = listed["data"]
    assert (rule["status"], rule["retry_after"], rule["count"]) == (503, 1, 2)
    assert (injected, disarmed) == (503, 204)
    assert_registration_runs(registration, server, tmp_path)


def assert_registration_runs(steps: list[str], server: Any, tmp_path: Path) -> None:
    """Check what the README's "Registering your own client" blocks printed."""
    [registered, flow, managed, service] = steps
    client = json.loads(registered)
    assert client == json.loads((tmp_path / "client.json").read_text())
    client_id = client["client_id"]
    assert client["registration_client_uri"] == f"{server.url}/oauth/register/{client_id}"
    assert (client["redirect_uris"], client["token_endpoint_auth_method"]) == (
        ["https://erp.example.com/callback"], "client_secret_basic")  # fmt: skip
    assert client["client_secret_expires_at"] == 0 and client["client_secret"]

    assert json.loads(flow) == {**WHOAMI, "client_id": client_id}

    read, replaced, *statuses = _json_documents(managed)
    assert read == {key: value for key, value in client.items() if key != "client_secret"}
    assert replaced["client_name"] == "Meine Hausverwaltung ERP (test)"
    assert replaced["redirect_uris"] == [
        "https://erp.example.com/callback", "http://localhost:3000/callback"]  # fmt: skip
    assert statuses == [204, 401]

    scope, listing = service.split("\n", 1)
    assert scope == "read:units"
    [listed] = json.loads(listing)["data"]  # the first client was deleted
    assert (listed["origin"], listed["client_name"]) == ("registered", "Abrechnungsdienst")
    assert listed["client_id"] == json.loads((tmp_path / "service.json").read_text())["client_id"]


def assert_we01_warm_water_2026(report: dict, now: datetime) -> None:
    """Check the quickstart's consumption call for the clock it ran at (the wall clock).

    The data follows the sandbox clock: from 2027-01-01 it is the README's 25.994 m³,
    complete; before, the new meter's readings end at its latest monthly one (in December
    2026: 18.132 + 5.512 = 23.644 m³ through 2026-12-01), and the rest is a gap.
    """
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
    expected, readings_end = we01_warm_water_2026_from_fixtures(now)
    assert sum(differences) == point["consumption"] == expected
    uncovered = (
        []
        if readings_end is None
        else [{"measuring_point_id": point["id"], "from": readings_end, "to": NEW_YEAR_2027,
               "code": "no_readings"}]
    )  # fmt: skip
    assert report["totals"] == {
        "water_warm": {"value": expected, "unit": "m3", "complete": readings_end is None,
                       "uncovered": uncovered}}  # fmt: skip
    assert point["complete"] is (readings_end is None)
    assert [(w["code"], w["from"], w["to"]) for w in report["warnings"]] == [
        (u["code"], u["from"], u["to"]) for u in uncovered]  # fmt: skip


def test_the_refresh_token_from_before_a_rotation_revokes_the_session(
    sandbox: SimpleNamespace, tmp_path: Path
) -> None:
    pkce, code, token, whoami, _, refresh_variable, refresh, *_ = readme_blocks()
    # The published request, without the README's saving of its answer.
    [request, keeping] = refresh.split(" > token.json\n")
    assert "REFRESH_TOKEN=$(" in keeping
    bash("\n".join([pkce, code, token]), sandbox, tmp_path)
    first = json.loads((tmp_path / "token.json").read_text())
    bash("\n".join([refresh_variable, refresh]), sandbox, tmp_path)
    rotated = json.loads((tmp_path / "token.json").read_text())
    assert rotated["refresh_token"] != first["refresh_token"]

    # The new refresh token works once …
    again = json.loads(bash(request, sandbox, tmp_path, REFRESH_TOKEN=rotated["refresh_token"]))
    assert "access_token" in again
    # … the pre-rotation one presented again is refused as theft …
    replay = json.loads(bash(request, sandbox, tmp_path, REFRESH_TOKEN=first["refresh_token"]))
    assert replay == {
        "error": "invalid_grant",
        "error_description": "refresh token was already used; the session is revoked",
    }
    # … and the session is revoked: the newest refresh token and its access token are dead.
    newest = json.loads(bash(request, sandbox, tmp_path, REFRESH_TOKEN=again["refresh_token"]))
    assert newest == {"error": "invalid_grant", "error_description": "the session is revoked"}
    status = bash(
        whoami.replace("| python3 -m json.tool", "-o /dev/null -w '%{http_code}'"),
        sandbox,
        tmp_path,
        TOKEN=again["access_token"],
    )
    assert status == "401"


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
