"""The access log: one line per request, what a client sent escaped, never a secret."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
import urllib.parse
from datetime import UTC, datetime

import pytest
import requests
from conftest import OPERATOR, OPERATOR_KEY, create_sandbox
from live_sandbox import LiveSandbox
from werkzeug.test import Client

from messpunkt import create_app
from messpunkt.access_log import AccessLog, escape
from messpunkt.testing import DEMO_CLIENT, DEMO_REDIRECT_URI, QUICKSTART_PROPERTY

AT = datetime(2026, 11, 23, 9, 0, 1, 250_000, tzinfo=UTC)


def _served(path: str, *, method: str = "GET", log_format: str = "text", **environ) -> str:
    """Log one request for `path` (as PATH_INFO: the decoded bytes as Latin-1, PEP 3333)."""

    def app(environ, start_response):
        start_response("404 NOT FOUND", [("Content-Type", "text/plain")])
        return [b""]

    stream = io.StringIO()
    log = AccessLog(app, stream, clock=lambda: AT, log_format=log_format)
    wsgi = {"REQUEST_METHOD": method, "PATH_INFO": path, **environ}
    log(wsgi, lambda *args: None)
    log.close()
    return stream.getvalue()


def _wsgi(raw: bytes) -> str:
    return raw.decode("latin-1")


@pytest.mark.parametrize(("sent", "logged"), [
    (b"/v1/whoami", "/v1/whoami"),
    (b"/a\r\n2026-11-23T09:00:00 GET /forged 200 0.1ms",
     r"/a\x0d\x0a2026-11-23T09:00:00\x20GET\x20/forged\x20200\x200.1ms"),
    (b"/\x1b[2J\x1b]0;owned\x07", r"/\x1b[2J\x1b]0;owned\x07"),
    (b"/del\x7f/nul\x00", r"/del\x7f/nul\x00"),
    ("/csi\u009b31m/nel\u0085".encode(), r"/csi\x9b31m/nel\x85"),  # C1 controls, as UTF-8
    ("/line\u2028para\u2029".encode(), r"/line\u2028para\u2029"),
    ("/bidi\u202egnp.exe".encode(), r"/bidi\u202egnp.exe"),
    ("/zähler/wärme".encode(), "/zähler/wärme"),  # UTF-8 shows as sent
    (b"/not-utf8\xff\xfe", r"/not-utf8\xff\xfe"),
    (b"/back\\slash", r"/back\x5cslash"),  # the escapes' own sign is escaped too
    (b"/tab\there", r"/tab\x09here"),
], ids=["plain", "cr-lf", "esc-bel", "del-nul", "c1", "separators", "bidi", "utf-8", "not-utf-8",
        "backslash", "tab"])  # fmt: skip
def test_what_a_client_sent_is_escaped_so_it_forges_no_line_and_drives_no_terminal(sent, logged):
    line = _served(_wsgi(sent))
    assert line == f"2026-11-23T09:00:01 GET {logged} 404 " + line.rsplit(" ", 1)[1]
    assert line.count("\n") == 1 and line.endswith("ms\n")


def test_escape_leaves_nothing_a_terminal_or_a_line_reader_acts_on():
    every_byte = bytes(range(256)).decode("latin-1")
    escaped = escape(every_byte)
    assert escaped.isprintable() and " " not in escaped
    assert escaped.isascii()  # 0x80-0xff alone are not UTF-8: each is written \xNN


def test_the_method_is_escaped_too():
    line = _served("/", method="GE\nT")
    assert line.startswith("2026-11-23T09:00:01 GE\\x0aT / 404 ")


def test_the_json_format_writes_one_object_a_line_with_time_method_path_status_duration():
    line = _served(_wsgi(b"/v1/units/\x1b[31m"), method="POST", log_format="json")
    assert line.endswith("\n") and line.count("\n") == 1
    entry = json.loads(line)
    assert entry == {
        "time": "2026-11-23T09:00:01.250+00:00",
        "method": "POST",
        "path": r"/v1/units/\x1b[31m",
        "status": 404,
        "duration_ms": entry["duration_ms"],
    }
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0


class _Sandbox:
    id = "partner-42"


@pytest.mark.parametrize("found", ["partner-42", _Sandbox()], ids=["id", "object"])
def test_the_json_format_names_the_sandbox_when_the_app_says_which(found):
    entry = json.loads(_served("/v1/whoami", log_format="json", **{"messpunkt.sandbox": found}))
    assert entry["sandbox"] == "partner-42"


@pytest.mark.parametrize("found", [None, 42, object()], ids=["none", "number", "other"])
def test_the_json_format_leaves_the_sandbox_out_when_it_cannot_tell(found):
    entry = json.loads(_served("/v1/whoami", log_format="json", **{"messpunkt.sandbox": found}))
    assert "sandbox" not in entry


def test_a_request_to_a_partner_sandbox_is_logged_with_its_id_through_the_whole_app():
    # The app as the command serves it: create_app's own middleware under the access log.
    app = create_app({"MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY})
    sandbox_id = create_sandbox(app.test_client())["id"]
    stream = io.StringIO()
    log = AccessLog(app, stream, clock=lambda: AT, log_format="json")
    client = Client(log)
    paths = [f"/s/{sandbox_id}/.well-known/oauth-authorization-server",
             f"/s/{sandbox_id}/v1/whoami", "/v1/whoami", "/s/default/v1/whoami"]  # fmt: skip
    statuses = [client.get(path).status_code for path in paths]
    client.post("/sandboxes", headers=OPERATOR, json={}).close()
    log.close()
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert statuses == [200, 401, 401, 404]
    assert [(e["path"], e["status"], e.get("sandbox")) for e in logged] == [
        (paths[0], 200, sandbox_id),
        (paths[1], 401, sandbox_id),
        ("/v1/whoami", 401, None),  # the default sandbox is named by no request
        ("/s/default/v1/whoami", 404, None),  # not a sandbox's id: it names none
        ("/sandboxes", 201, None),
    ]


# A live server: no secret reaches the log.

WEB_CLIENT, WEB_SECRET = "sandbox-web-client", "sandbox-web-client-secret-change-me"
TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d [A-Z]+ /\S* \d{3} \d+\.\dms")


def _flow(url: str, admin_key: str) -> tuple[list[str], list[int]]:
    """Run the quickstart flow, a refresh, an introspection, a personal access token and an
    admin call; return every secret it used and every status it got."""
    http = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    consent = http.post(url + "/oauth/authorize", allow_redirects=False, timeout=10, data={
        "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI, "scope": "read:units",
        "state": "log", "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256", "property": QUICKSTART_PROPERTY, "decision": "approve",
    })  # fmt: skip
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(consent.headers["Location"]).query)
    code = code["code"][0]
    tokens = http.post(url + "/oauth/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "client_id": DEMO_CLIENT,
        "redirect_uri": DEMO_REDIRECT_URI, "code_verifier": verifier,
    })  # fmt: skip
    first = tokens.json()
    refreshed = http.post(url + "/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "client_id": DEMO_CLIENT,
    })  # fmt: skip
    second = refreshed.json()
    whoami = http.get(url + "/v1/whoami", timeout=10,
                      headers={"Authorization": f"Bearer {second['access_token']}"})  # fmt: skip
    introspected = http.post(url + "/oauth/introspect", auth=(WEB_CLIENT, WEB_SECRET),
                             data={"token": second["access_token"]}, timeout=10)  # fmt: skip
    admin = {"X-Sandbox-Admin-Key": admin_key}
    created = http.post(url + "/sandbox/personal-access-tokens", headers=admin, timeout=10, json={
        "tenant_id": "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a", "name": "log check",
        "scopes": ["read:units"], "property_ids": [QUICKSTART_PROPERTY], "expires_in": 3600,
    })  # fmt: skip
    personal = created.json()["token"]
    by_personal = http.get(url + "/v1/properties", timeout=10,
                           headers={"Authorization": f"Bearer {personal}"})  # fmt: skip
    clock = http.get(url + "/sandbox/clock", headers=admin, timeout=10)
    used = [verifier, code, first["access_token"], first["refresh_token"], second["access_token"],
            second["refresh_token"], personal, admin_key, WEB_SECRET]  # fmt: skip
    statuses = [consent.status_code, tokens.status_code, refreshed.status_code,
                whoami.status_code, introspected.status_code, created.status_code,
                by_personal.status_code, clock.status_code]  # fmt: skip
    return used, statuses


@pytest.mark.live
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_whole_flow_leaves_no_code_token_verifier_admin_key_or_client_secret_in_the_log(
    tmp_path, log_format
):
    sandbox = LiveSandbox(tmp_path, MESSPUNKT_LOG_FORMAT=log_format)
    try:
        used, statuses = _flow(sandbox.url, sandbox.admin_key)
    finally:
        sandbox.stop()
    log = sandbox.log()

    assert statuses == [302, 200, 200, 200, 200, 201, 200, 200]
    assert [secret for secret in used if secret in log] == []
    lines = log.splitlines()
    if log_format == "json":
        assert [json.loads(line)["path"] for line in lines][-8:] == [
            "/oauth/authorize", "/oauth/token", "/oauth/token", "/v1/whoami", "/oauth/introspect",
            "/sandbox/personal-access-tokens", "/v1/properties", "/sandbox/clock",
        ]  # fmt: skip
    else:
        assert [line for line in lines if not TEXT_LINE.fullmatch(line)] == []
