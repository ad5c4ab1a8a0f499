"""The built sdist and wheel, installed in a fresh venv outside the checkout, serve and test.

Slow (a build, a venv and two pip installs), and part of `make test` all the same: an
editable install finds everything in the checkout, so only this shows what a partner's
`pip install` gets.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import we01_warm_water_2026_from_fixtures

ROOT = Path(__file__).resolve().parents[1]
CLIENT = "sandbox-demo-client"
REDIRECT_URI = "http://localhost:3000/callback"
SCOPE = "read:units read:devices read:readings"
PROPERTY = "6fb74d25-5517-4dcc-ae8b-0914579ab036"
# README "Quickstart against localhost", step 3 and step 4.
WHOAMI = {
    "tenant_id": "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a",
    "tenant_name": "Musterhausverwaltung GmbH",
    "client_id": CLIENT,
    "granted_scopes": ["read:units", "read:devices", "read:readings"],
    "property_scope": [PROPERTY],
}
WE_01_WARM_WATER_2026 = Decimal("25.994")

# What the checkout holds that is not the package: never copied into the build.
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
              ".hypothesis", "token.json")  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.live]


def shipped(root: Path) -> set[str]:
    """Return what the package must carry, as paths inside an installed `messpunkt`."""
    package = root / "messpunkt"
    files = {p.relative_to(root).as_posix() for p in package.rglob("*.py")}
    files |= {f"messpunkt/templates/{p.name}" for p in (package / "templates").glob("*.html")}
    files |= {f"messpunkt/static/{p.name}" for p in (package / "static").iterdir()}
    data = [*(root / "sandbox_data").glob("*.json"), root / "sandbox_data" / "README.md"]
    return files | {f"messpunkt/sandbox_data/{p.name}" for p in data}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the sdist from a copy of the checkout, and the wheel from that sdist."""
    work = tmp_path_factory.mktemp("dist")
    # A copy, so setuptools writes its build/ and egg-info there, never in the checkout.
    source = shutil.copytree(ROOT, work / "source", ignore=shutil.ignore_patterns(*NOT_SOURCE))
    run([sys.executable, "-m", "build", "--outdir", str(work / "out"), str(source)], cwd=work)
    return work / "out"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, dist: Path) -> Path:
    """Return a fresh venv outside the checkout holding the wheel and its dependencies only."""
    home = tmp_path_factory.mktemp("partner")
    venv.create(home / "venv", with_pip=True)
    [wheel] = dist.glob("*.whl")
    run([str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        cwd=home)  # fmt: skip
    return home / "venv"


def run(command: list[str], cwd: Path) -> str:
    completed = subprocess.run(command, cwd=cwd, env=outside_environ(), capture_output=True,
                               text=True, timeout=300, check=False)  # fmt: skip
    assert completed.returncode == 0, f"{command}\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def outside_environ() -> dict[str, str]:
    """Return this environment without anything that points into the checkout."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MESSPUNKT_", "PYTEST_", "PYTHON", "VIRTUAL_ENV"))
    }


def test_the_sdist_carries_the_fixtures_templates_and_static_files(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {name.replace("messpunkt/sandbox_data/", "sandbox_data/") for name in shipped(ROOT)}
    assert expected - names == set()


def test_the_wheel_carries_every_module_fixture_template_and_static_file(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert shipped(ROOT) - names == set()


# The installed command, started from outside the checkout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    def __init__(self, url: str, stdout: Path, stderr: Path) -> None:
        self.url, self.stdout, self.stderr = url, stdout, stderr

    def call(
        self, path: str, form: dict[str, str] | None = None, token: str | None = None
    ) -> tuple[int, Any, bytes]:
        """Send a GET (or a form POST), never following a redirect."""
        data = None if form is None else urllib.parse.urlencode(form).encode()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture(scope="module")
def served(installed: Path) -> Iterator[Served]:
    """Run the venv's `messpunkt-sandbox` on a free port, from a directory outside the checkout."""
    home = installed.parent
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", home / "stdout", home / "stderr")
    with served.stdout.open("w") as stdout, served.stderr.open("w") as stderr:
        process = subprocess.Popen(
            [str(installed / "bin" / "messpunkt-sandbox"), "--port", str(port), "--threads", "2"],
            cwd=home, env=outside_environ(), stdout=stdout, stderr=stderr,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            failed = process.poll() is not None or time.monotonic() > deadline
            assert not failed, f"the sandbox did not answer: {served.stderr.read_text()}"
            try:
                served.call("/.well-known/oauth-authorization-server")
                break
            except (ConnectionError, urllib.error.URLError):
                time.sleep(0.05)
        yield served
    finally:
        process.kill()
        process.wait(timeout=10)


def test_the_installed_command_serves_the_fixtures_installed_with_it(
    served: Served, installed: Path
) -> None:
    [data] = [line for line in served.stdout.read_text().splitlines() if "data:" in line]
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = run([str(installed / "bin" / "python"), "-c", where], cwd=installed).strip()
    assert data.split("data:")[1].strip() == f"{purelib}/messpunkt/sandbox_data"


def test_the_installed_sandbox_answers_the_readme_quickstart(served: Served) -> None:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    status, headers, _ = served.call("/oauth/authorize", {
        "client_id": CLIENT, "redirect_uri": REDIRECT_URI, "scope": SCOPE, "state": "quickstart",
        "code_challenge": challenge, "code_challenge_method": "S256", "property": PROPERTY,
        "decision": "approve",
    })  # fmt: skip
    assert status == 302
    [code] = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["code"]
    status, _, body = served.call("/oauth/token", {
        "grant_type": "authorization_code", "code": code, "client_id": CLIENT,
        "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
    })  # fmt: skip
    assert status == 200
    token = json.loads(body)["access_token"]

    status, _, body = served.call("/v1/whoami", token=token)
    assert (status, json.loads(body)) == (200, WHOAMI)
    status, _, body = served.call("/v1/usage-units", token=token)
    unit = json.loads(body)["data"][0]
    assert (status, unit["name"]) == (200, "WE 01")
    query = "from=2026-01-01&to=2026-12-31&metric=water_warm"
    started = datetime.now(UTC)
    status, _, body = served.call(f"/v1/usage-units/{unit['id']}/consumption?{query}", token=token)
    report = json.loads(body, parse_float=Decimal)
    # The installed sandbox runs on the wall clock, and its data follows it: the README's
    # 25.994 m³ from 2027-01-01, before that what is recorded (23.644 m³ in December 2026).
    expected, readings_end = we01_warm_water_2026_from_fixtures(started)
    assert status == 200
    assert report["totals"]["water_warm"]["value"] == expected
    assert report["totals"]["water_warm"]["complete"] is (readings_end is None)
    assert (expected == WE_01_WARM_WATER_2026) is (readings_end is None)


CONSENT = "/oauth/authorize?" + urllib.parse.urlencode({
    "response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT_URI, "scope": SCOPE,
    "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
})  # fmt: skip


@pytest.mark.parametrize(("path", "content_type", "text"), [
    (CONSENT, "text/html", b'<strong id="tenant-name">Musterhausverwaltung GmbH</strong>'),
    ("/docs", "text/html", b'<div id="swagger-ui"'),
    ("/static/sandbox.css", "text/css", b"body { font-family"),
    ("/static/docs.js", "text/javascript", b"SwaggerUIBundle"),
])  # fmt: skip
def test_the_installed_sandbox_serves_its_pages_and_static_files(
    served: Served, path: str, content_type: str, text: bytes
) -> None:
    status, headers, body = served.call(path)
    assert (status, headers.get_content_type()) == (200, content_type)
    assert text in body


# A partner's own test suite, using the plugin's documented fixtures

PARTNER_TESTS = """
import json
import sys
import urllib.request
from pathlib import Path

import messpunkt
from messpunkt.testing import obtain_tokens


def test_the_package_is_the_installed_one():
    assert Path(messpunkt.__file__).is_relative_to(sys.prefix)


def test_my_erp_sees_we_01(messpunkt_server):
    tokens = obtain_tokens(messpunkt_server.url)
    request = urllib.request.Request(
        messpunkt_server.url + "/v1/usage-units", headers=tokens.bearer
    )
    units = json.load(urllib.request.urlopen(request))["data"]
    assert units[0]["name"] == "WE 01"


def test_the_quickstart_tokens_identify_the_tenant(messpunkt_client, messpunkt_tokens):
    response = messpunkt_client.get("/v1/whoami", headers=messpunkt_tokens.bearer)
    assert response.status_code == 200
    assert response.get_json()["tenant_name"] == "Musterhausverwaltung GmbH"
"""


def test_a_partner_suite_passes_with_the_plugins_fixtures(installed: Path) -> None:
    home = installed.parent
    python = str(installed / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", "pytest"], cwd=home)
    (home / "test_partner.py").write_text(PARTNER_TESTS, encoding="utf-8")
    completed = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_partner.py"],
        cwd=home, env=outside_environ(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.stdout.splitlines()[-1].startswith("3 passed"), completed.stdout
