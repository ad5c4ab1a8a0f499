"""The `messpunkt-sandbox` command: options, banner, and a real process with its access log."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from messpunkt import cli, create_app
from messpunkt.cli import banner, main, parse_args
from messpunkt.config import DEFAULT_DATA_DIR, SETTINGS
from messpunkt.testing import DEMO_CLIENT, DEMO_REDIRECT_URI, QUICKSTART_PROPERTY, obtain_tokens

KEY = "test-admin-key"
DEFAULTS = {"MESSPUNKT_HOST": "127.0.0.1", "MESSPUNKT_PORT": 8000, "MESSPUNKT_THREADS": 8,
            "MESSPUNKT_WORKERS": 1,
            "MESSPUNKT_DATA_DIR": str(DEFAULT_DATA_DIR),
            "MESSPUNKT_ISSUER": "http://localhost:8000"}  # fmt: skip
ACCESS_LINE = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:,\d{3})? "  # the wall time of the line
    r"(?P<method>[A-Z]+) (?P<path>/\S*) (?P<status>\d{3}) \d+\.\dms"
)

QUEUE_WARNING = re.compile(r"\S+ \S+ waitress\.queue Task queue depth is \d+")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environ(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MESSPUNKT_")}
    return {**environ, **extra}


# parse_args: options over MESSPUNKT_* variables over defaults


@pytest.mark.parametrize(("argv", "environ", "expected"), [
    ([], {}, {}),
    (["--port", "9001"], {}, {"MESSPUNKT_PORT": 9001, "MESSPUNKT_ISSUER": "http://localhost:9001"}),
    ([], {"MESSPUNKT_PORT": "9002"},
     {"MESSPUNKT_PORT": 9002, "MESSPUNKT_ISSUER": "http://localhost:9002"}),
    (["--port", "9003"], {"MESSPUNKT_PORT": "9002"},
     {"MESSPUNKT_PORT": 9003, "MESSPUNKT_ISSUER": "http://localhost:9003"}),
    (["--threads", "3"], {"MESSPUNKT_THREADS": "5"}, {"MESSPUNKT_THREADS": 3}),
    ([], {"MESSPUNKT_THREADS": "5"}, {"MESSPUNKT_THREADS": 5}),
    (["--data", "/from/cli"], {"MESSPUNKT_DATA_DIR": "/from/env"},
     {"MESSPUNKT_DATA_DIR": "/from/cli"}),
    (["--host", "0.0.0.0", "--port", "9004"], {},
     {"MESSPUNKT_HOST": "0.0.0.0", "MESSPUNKT_PORT": 9004,
      "MESSPUNKT_ISSUER": "http://localhost:9004"}),
    (["--host", "sandbox.test", "--port", "9005"], {},
     {"MESSPUNKT_HOST": "sandbox.test", "MESSPUNKT_PORT": 9005,
      "MESSPUNKT_ISSUER": "http://sandbox.test:9005"}),
    (["--port", "9006", "--issuer", "https://cli.test"], {},
     {"MESSPUNKT_PORT": 9006, "MESSPUNKT_ISSUER": "https://cli.test"}),
    (["--port", "9007"], {"MESSPUNKT_ISSUER": "https://env.test"},
     {"MESSPUNKT_PORT": 9007, "MESSPUNKT_ISSUER": "https://env.test"}),
    (["--issuer", "https://cli.test"], {"MESSPUNKT_ISSUER": "https://env.test"},
     {"MESSPUNKT_ISSUER": "https://cli.test"}),
    pytest.param(["--issuer", "http://localhost:8000", "--port", "9008"], {},
                 {"MESSPUNKT_PORT": 9008, "MESSPUNKT_ISSUER": "http://localhost:8000"},
                 id="explicit-default-issuer"),
    (["--port", "65535", "--threads", "1"], {},
     {"MESSPUNKT_PORT": 65535, "MESSPUNKT_THREADS": 1,
      "MESSPUNKT_ISSUER": "http://localhost:65535"}),
    ([], {"MESSPUNKT_PORT": "1", "MESSPUNKT_THREADS": "1"},
     {"MESSPUNKT_PORT": 1, "MESSPUNKT_THREADS": 1, "MESSPUNKT_ISSUER": "http://localhost:1"}),
    # An IPv6 address in a URL is bracketed (RFC 3986 §3.2.2); "::" is every address.
    (["--host", "::1", "--port", "59215"], {},
     {"MESSPUNKT_HOST": "::1", "MESSPUNKT_PORT": 59215, "MESSPUNKT_ISSUER": "http://[::1]:59215"}),
    ([], {"MESSPUNKT_HOST": "2001:db8::5", "MESSPUNKT_PORT": "9009"},
     {"MESSPUNKT_HOST": "2001:db8::5", "MESSPUNKT_PORT": 9009,
      "MESSPUNKT_ISSUER": "http://[2001:db8::5]:9009"}),
    (["--host", "::", "--port", "9010"], {},
     {"MESSPUNKT_HOST": "::", "MESSPUNKT_PORT": 9010, "MESSPUNKT_ISSUER": "http://localhost:9010"}),
])  # fmt: skip
def test_options_override_environment_which_overrides_defaults(argv, environ, expected):
    config = parse_args(argv, environ)
    assert {key: config[key] for key in DEFAULTS} == {**DEFAULTS, **expected}


def test_other_messpunkt_variables_pass_through_parsed():
    config = parse_args([], {"MESSPUNKT_CODE_TTL": "60", "MESSPUNKT_SANDBOX_CONTROLS": "off"})
    assert (config["MESSPUNKT_CODE_TTL"], config["MESSPUNKT_SANDBOX_CONTROLS"]) == (60, "off")


def test_a_bad_environment_number_names_the_variable():
    with pytest.raises(ValueError, match=r"^MESSPUNKT_PORT='eighty': invalid literal"):
        parse_args([], {"MESSPUNKT_PORT": "eighty"})


PORT_RANGE = "must be from 1 to 65535"


@pytest.mark.parametrize(("argv", "environ", "message"), [
    (["--port", "0"], {}, f"argument --port: {PORT_RANGE}, not 0 (see --help)"),
    (["--port", "65536"], {}, f"argument --port: {PORT_RANGE}, not 65536 (see --help)"),
    (["--port", "73642"], {}, f"argument --port: {PORT_RANGE}, not 73642 (see --help)"),
    (["--port", "-1"], {}, f"argument --port: {PORT_RANGE}, not -1 (see --help)"),
    (["--port", "abc"], {}, "argument --port: must be a whole number, not 'abc' (see --help)"),
    (["--threads", "0"], {}, "argument --threads: must be at least 1, not 0 (see --help)"),
    ([], {"MESSPUNKT_PORT": "0"}, f"MESSPUNKT_PORT {PORT_RANGE}, not 0"),
    ([], {"MESSPUNKT_PORT": "65536"}, f"MESSPUNKT_PORT {PORT_RANGE}, not 65536"),
    ([], {"MESSPUNKT_PORT": "73642"}, f"MESSPUNKT_PORT {PORT_RANGE}, not 73642"),
    ([], {"MESSPUNKT_PORT": "-1"}, f"MESSPUNKT_PORT {PORT_RANGE}, not -1"),
    ([], {"MESSPUNKT_PORT": "abc"},
     "MESSPUNKT_PORT='abc': invalid literal for int() with base 10: 'abc'"),
    ([], {"MESSPUNKT_THREADS": "0"}, "MESSPUNKT_THREADS must be at least 1, not 0"),
])  # fmt: skip
def test_a_port_outside_1_to_65535_or_no_threads_exits_2_with_one_line_naming_it(
    argv, environ, message, monkeypatch, capsys
):
    for key in [key for key in os.environ if key.startswith("MESSPUNKT_")]:
        monkeypatch.delenv(key)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    # Past the checks it would build an app and serve: fail at once instead.
    monkeypatch.setattr(cli, "create_app", lambda config: pytest.fail(f"accepted: {config}"))
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's way out
        status = exit.code
    assert (status, *capsys.readouterr()) == (2, "", f"messpunkt-sandbox: {message}\n")


@pytest.mark.parametrize(("environ", "message"), [
    ({"MESSPUNKT_MAX_HEADER_BYTES": "-1"}, "MESSPUNKT_MAX_HEADER_BYTES must be at least 1, not -1"),
    ({"MESSPUNKT_MAX_BODY_BYTES": "0"}, "MESSPUNKT_MAX_BODY_BYTES must be at least 1, not 0"),
    ({"MESSPUNKT_CODE_TTL": "-5"}, "MESSPUNKT_CODE_TTL must be from 1 to 1000000000, not -5"),
    ({"MESSPUNKT_ACCESS_TOKEN_TTL": "-5"},
     "MESSPUNKT_ACCESS_TOKEN_TTL must be from 1 to 1000000000, not -5"),
    ({"MESSPUNKT_STORE_GRACE": "-1"}, "MESSPUNKT_STORE_GRACE must be from 0 to 1000000000, not -1"),
    ({"MESSPUNKT_SESSION_MAX_AGE": "100000000000000"},
     "MESSPUNKT_SESSION_MAX_AGE must be from 1 to 1000000000, not 100000000000000"),
    ({"MESSPUNKT_MAX_FAULT_DELAY_MS": "-1"},
     "MESSPUNKT_MAX_FAULT_DELAY_MS must be at least 0, not -1"),
    ({"MESSPUNKT_REQUEST_LOG_SIZE": "-1"}, "MESSPUNKT_REQUEST_LOG_SIZE must be at least 0, not -1"),
    ({"MESSPUNKT_FROZEN_AT": "garbage"},
     "MESSPUNKT_FROZEN_AT must be an ISO 8601 instant with its UTC offset, such as "
     "2026-11-23T09:00:00+00:00, at the latest 9000-01-01T00:00:00+00:00, or empty for real "
     "time, not 'garbage'"),
    ({"MESSPUNKT_ISSUER": ""}, "MESSPUNKT_ISSUER must be an absolute http or https URL "
     "without query or fragment, not ''"),
], ids=["header-bytes", "body-bytes", "code-ttl", "access-token-ttl", "store-grace",
        "session-max-age-overflow", "fault-delay", "request-log", "frozen-at", "empty-issuer"],
)  # fmt: skip
def test_a_setting_out_of_its_range_exits_2_with_one_line_naming_it(
    environ, message, monkeypatch, capsys
):
    for key in [key for key in os.environ if key.startswith("MESSPUNKT_")]:
        monkeypatch.delenv(key)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    # Refused while the app is built: past it, it would bind a port and serve.
    monkeypatch.setattr(cli, "waitress_server", lambda *a, **k: pytest.fail("accepted"))
    assert (main([]), *capsys.readouterr()) == (2, "", f"messpunkt-sandbox: {message}\n")


# The banner


def banner_lines(issuer: str, admin: str | None) -> list[str]:
    return [
        f"messpunkt sandbox on {issuer}",
        f"  docs:          {issuer}/docs   (OpenAPI: {issuer}/openapi.json)",
        f"  data:          {DEFAULT_DATA_DIR}",
        "  demo client:   sandbox-demo-client, redirect http://localhost:3000/callback",
        f"  admin key:     {admin}   (header X-Sandbox-Admin-Key)" if admin
        else "  controls:      off",
        "  first step of the quickstart (README.md):",
        "    VERIFIER=$(openssl rand -base64 48 | tr -d '=+/' | head -c 64)",
    ]  # fmt: skip


@pytest.mark.parametrize(("controls", "admin"), [("on", KEY), ("off", None)])
def test_the_banner_lists_url_docs_key_demo_client_and_first_command(controls, admin):
    issuer = "http://localhost:8123"
    app = create_app({"MESSPUNKT_ISSUER": issuer, "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY,
                      "MESSPUNKT_SANDBOX_CONTROLS": controls})  # fmt: skip
    assert banner(app).splitlines() == banner_lines(issuer, admin)


# A real process


def _call(url: str, *, data: dict[str, str] | None = None, headers=None) -> tuple[int, str]:
    body = None if data is None else urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def start(port: int, cwd: Path, stdout, stderr) -> subprocess.Popen:
    command = [sys.executable, "-m", "messpunkt", "--port", str(port), "--threads", "2"]
    environ = clean_environ(MESSPUNKT_SANDBOX_ADMIN_KEY=KEY)
    return subprocess.Popen(command, cwd=cwd, env=environ, stdout=stdout, stderr=stderr)


def wait_until_answering(process: subprocess.Popen, url: str) -> int:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "the sandbox exited before answering"
        assert time.monotonic() < deadline, "the sandbox did not answer within 30 s"
        try:
            return _call(url + "/.well-known/oauth-authorization-server")[0]
        except (ConnectionError, urllib.error.URLError):
            time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root, port = tmp_path_factory.mktemp("served"), free_port()
    url = f"http://127.0.0.1:{port}"
    out, err = root / "stdout", root / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = start(port, root, stdout, stderr)
    try:
        status = wait_until_answering(process, url)
        expected = [("GET", "/.well-known/oauth-authorization-server", status)]
        tokens = obtain_tokens(url)
        expected += [("POST", "/oauth/authorize", 302), ("POST", "/oauth/token", 200)]
        status, location = _call(url + "/oauth/authorize", data={
            "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI, "scope": "read:units",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWuqEQbFH5jhU", "decision": "approve",
            "code_challenge_method": "S256", "property": QUICKSTART_PROPERTY, "state": "cli",
        })  # fmt: skip
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
        expected.append(("POST", "/oauth/authorize", status))
        calls = [
            ("/v1/whoami", tokens.bearer), ("/v1/usage-units?limit=1", tokens.bearer),
            ("/sandbox/clock", {"X-Sandbox-Admin-Key": KEY}), ("/v1/whoami?access_token=x", {}),
        ]  # fmt: skip
        answers = [_call(url + path, headers=headers) for path, headers in calls]
        expected += [("GET", path.split("?")[0], status) for (path, _), (status, _) in
                     zip(calls, answers, strict=True)]  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=15)
    return SimpleNamespace(port=port, stdout=out.read_text(), stderr=err.read_text(),
                           tokens=tokens, code=code, expected=expected,
                           whoami=json.loads(answers[0][1]))  # fmt: skip


@pytest.mark.live
def test_terminating_the_process_still_writes_every_request_line(tmp_path):
    port, log = free_port(), tmp_path / "stderr"
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as stderr:
        process = start(port, tmp_path, subprocess.DEVNULL, stderr)
    try:
        wait_until_answering(process, url)
        for _ in range(20):
            assert _call(url + "/nowhere")[0] == 404
    finally:
        # At once: the log writes every 0.1 s, so the last lines are still queued here.
        process.terminate()
        process.wait(timeout=15)
    logged = [m for line in log.read_text().splitlines() if (m := ACCESS_LINE.fullmatch(line))]
    assert [m["path"] for m in logged][1:] == ["/nowhere"] * 20
    assert process.returncode == 0


@pytest.mark.live
def test_the_process_prints_the_banner_with_the_admin_key_from_the_environment(served):
    assert served.stdout.splitlines() == banner_lines(f"http://localhost:{served.port}", KEY)


@pytest.mark.live
def test_the_process_serves_a_token_exchange_and_whoami(served):
    assert served.whoami["client_id"] == DEMO_CLIENT
    assert served.whoami["property_scope"] == [QUICKSTART_PROPERTY]
    assert [status for *_, status in served.expected] == [200, 302, 200, 302, 200, 200, 200, 401]


@pytest.mark.live
def test_the_access_log_has_one_line_per_request_and_nothing_else(served):
    lines = served.stderr.splitlines()
    # waitress's own warning when both threads are busy is the one other line allowed.
    others = [line for line in lines if not ACCESS_LINE.fullmatch(line)]
    assert [line for line in others if not QUEUE_WARNING.fullmatch(line)] == []
    logged = [match for line in lines if (match := ACCESS_LINE.fullmatch(line))]
    assert [(m["method"], m["path"], int(m["status"])) for m in logged] == served.expected


@pytest.mark.live
def test_the_access_log_never_shows_a_secret_or_a_query_string(served):
    secrets = [served.tokens.access_token, served.tokens.refresh_token, served.code]
    assert not [s for s in secrets if s in served.stderr or s in served.stdout]
    assert "?" not in served.stderr and "limit=" not in served.stderr


def help_text() -> str:
    command = shutil.which("messpunkt-sandbox", path=str(Path(sys.executable).parent))
    assert command is not None, "messpunkt-sandbox is not installed next to this Python"
    done = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60,
                          check=False, env=clean_environ())  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


def test_help_lists_every_option():
    options = set(re.findall(r"--[a-z-]*[a-z]", help_text()))
    assert options == {"--help", "--host", "--port", "--threads", "--workers", "--store-url",
                       "--data", "--issuer"}  # fmt: skip


def test_help_lists_every_setting_with_its_default_and_meaning():
    text = help_text()
    for key, setting in SETTINGS.items():
        default = "(empty)" if setting.default == "" else str(setting.default)
        entry = re.search(rf"^  {key}=(\S+).*\n((?:      .*\n)+)", text, re.MULTILINE)
        assert entry is not None, f"{key} is missing from --help"
        assert entry[1] == default
        assert " ".join(entry[2].split()) == setting.meaning


def run_sandbox(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "messpunkt", *argv], capture_output=True,
                          text=True, timeout=60, check=False, env=clean_environ())  # fmt: skip


def test_a_port_in_use_exits_2_with_one_line_and_no_banner():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = run_sandbox("--port", str(port))
    # No banner: it would print an admin key that belongs to no running server.
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"messpunkt-sandbox: cannot listen on 127.0.0.1:{port}: {os.strerror(errno.EADDRINUSE)}\n"
    )


def _lookup_error(name: str) -> str:
    try:
        socket.getaddrinfo(name, None)
    except socket.gaierror as error:
        return error.strerror
    pytest.skip(f"{name} resolves on this machine")


@pytest.mark.parametrize(("host", "reason"), [
    # RFC 5737 TEST-NET-3: no interface of this machine has it.
    ("203.0.113.1", lambda: os.strerror(errno.EADDRNOTAVAIL)),
    # RFC 6761 §6.4: names under .invalid never resolve.
    ("nowhere.invalid", lambda: _lookup_error("nowhere.invalid")),
])  # fmt: skip
def test_an_address_that_cannot_be_bound_exits_2_with_one_line_and_no_banner(host, reason):
    port = free_port()
    done = run_sandbox("--host", host, "--port", str(port))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"messpunkt-sandbox: cannot listen on {host}:{port}: {reason()}\n"


def _break_timezone(root: Path) -> Path:
    data = shutil.copytree(DEFAULT_DATA_DIR, root / "broken")
    records = json.loads((data / "properties.json").read_text(encoding="utf-8"))
    records[1]["timezone"] = "Mars/Olympus"
    (data / "properties.json").write_text(json.dumps(records), encoding="utf-8")
    return data


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: root / "missing", "{data} at $: not a directory"),
    (_break_timezone, "properties.json at $[1].timezone: unknown time zone 'Mars/Olympus'"),
])  # fmt: skip
def test_an_invalid_data_directory_exits_2_with_one_clear_line(tmp_path, make, message):
    data = make(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "messpunkt", "--data", str(data), "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, check=False, env=clean_environ(),
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"messpunkt-sandbox: {message.format(data=data.resolve())}\n"


def test_the_readme_configuration_table_names_every_setting():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(MESSPUNKT_[A-Z_]+)` \|", readme, re.MULTILINE))
    assert rows == set(SETTINGS)
