"""The sandbox as pytest fixtures (a `pytest11` plugin, active once the package is installed).

    def test_my_erp_imports_units(messpunkt_server):
        tokens = obtain_tokens(messpunkt_server.url)
        ...

Fixtures: `messpunkt_config` (override it to change settings),
`messpunkt_app` (a fresh app with a frozen clock), `messpunkt_client`
(its Flask test client), `messpunkt_server` (waitress in a background thread
on a free port, with `.url`), and `messpunkt_tokens` (tokens for the
quickstart's grant, from the real authorize → token flow).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from waitress import wasyncore

from . import create_app
from .config import resolve
from .connections import Limits, waitress_server

FROZEN_AT = "2026-11-23T09:00:00+00:00"
# The data follows the sandbox clock: frozen here, every reading of the fixtures
# (2024-01-01 .. 2027-01-01) is recorded and none of their continuation yet (2027-02-01).
FIXTURES_COMPLETE_AT = "2027-01-15T09:00:00+00:00"
DEMO_CLIENT = "sandbox-demo-client"
DEMO_REDIRECT_URI = "http://localhost:3000/callback"
DEMO_SCOPES = ("read:units", "read:devices", "read:readings")
QUICKSTART_PROPERTY = "6fb74d25-5517-4dcc-ae8b-0914579ab036"


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    scope: str
    expires_in: int

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class TokenRequestFailed(AssertionError):
    """The authorize → token flow did not produce tokens."""


def obtain_tokens(
    target: FlaskClient | str,
    *,
    properties: tuple[str, ...] = (QUICKSTART_PROPERTY,),
    scopes: tuple[str, ...] = DEMO_SCOPES,
    client_id: str = DEMO_CLIENT,
    redirect_uri: str = DEMO_REDIRECT_URI,
    client_secret: str | None = None,
) -> Tokens:
    """Run the real authorize (approve) → token exchange against a client or a URL."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    status, headers, _ = _post(
        target,
        "/oauth/authorize",
        [
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", " ".join(scopes)),
            ("state", secrets.token_urlsafe(8)),
            ("code_challenge", challenge.rstrip(b"=").decode()),
            ("code_challenge_method", "S256"),
            ("decision", "approve"),
            *(("property", p) for p in properties),
        ],
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(headers.get("Location", "")).query)
    if status != 302 or "code" not in query:
        raise TokenRequestFailed(f"authorize answered {status} {headers.get('Location')}")
    form = [
        ("grant_type", "authorization_code"),
        ("code", query["code"][0]),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ]
    if client_secret is not None:
        form.append(("client_secret", client_secret))
    status, _, body = _post(target, "/oauth/token", form)
    if status != 200:
        raise TokenRequestFailed(f"token endpoint answered {status}: {body}")
    return Tokens(
        body["access_token"], body.get("refresh_token"), body["scope"], body["expires_in"]
    )


def _post(
    target: FlaskClient | str, path: str, form: list[tuple[str, str]]
) -> tuple[int, Any, Any]:
    if isinstance(target, str):
        if not target.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {target}")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            target.rstrip("/") + path,
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.headers, _json(response.headers, response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, _json(error.headers, error.read())
    response = target.post(path, data=urllib.parse.urlencode(form),
                           content_type="application/x-www-form-urlencoded")  # fmt: skip
    return response.status_code, response.headers, response.get_json(silent=True)


def _json(headers: Any, body: bytes) -> Any:
    return json.loads(body) if "json" in headers.get("Content-Type", "") else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class LiveServer:
    """The sandbox served by waitress from a background thread on a free port."""

    def __init__(self, config: Mapping[str, Any] | None = None, threads: int = 4) -> None:
        # The app knows its threads (half of them may wait in injected delays).
        settings = {"MESSPUNKT_THREADS": threads, **(config or {})}
        # Checked before anything is bound, and held to the limits the command keeps
        # (the declared body over the limit refused at once, the header, timeout and
        # connection limits); a setting refused here leaves nothing open.
        resolved = resolve(settings)
        limits = Limits.from_config(resolved)
        late_app = _LateApp()
        # Our own socket map (create_server's `map`), so stopping needs no private attribute.
        self._sockets: dict[int, Any] = {}
        threads = resolved["MESSPUNKT_THREADS"]
        self._server = waitress_server(late_app, host="127.0.0.1", port=0, threads=threads,
                                       ident="waitress", limits=limits,
                                       sockets=self._sockets)  # fmt: skip
        self._thread = threading.Thread(
            target=self._server.run, name="messpunkt-server", daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        try:
            self.app: Flask = create_app({**settings, "MESSPUNKT_ISSUER": self.url})
        except BaseException:
            self.stop()  # the socket, the trigger's pipe and waitress's threads
            raise
        late_app.app = self.app

    @property
    def admin_key(self) -> str:
        """The key for /sandbox (header X-Sandbox-Admin-Key)."""
        return str(self.app.extensions["messpunkt"].admin_key)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every socket from the server's own thread, then wait for it to end.

        waitress has no stop(); closing its sockets from here while its loop
        selects on them can kill that loop with EBADF, so the closing runs as a
        trigger thunk inside the loop, which then finds nothing left to serve.
        The thunk only unregisters the trigger's pipe: the loop may run it before
        our own wake-up byte is written, so the pipe is closed after the join.
        """
        trigger = self._server.trigger

        def close_everything() -> None:
            for dispatcher in list(self._sockets.values()):
                if dispatcher is trigger:
                    dispatcher.del_channel()
                elif dispatcher is self._server:
                    # The server's own close() would close the trigger too.
                    wasyncore.dispatcher.close(dispatcher)
                else:
                    dispatcher.close()

        app = getattr(self, "app", None)  # (none when it could not be built)
        if app is not None:  # a request waiting in an injected delay ends it now
            app.extensions["messpunkt"].delays.end()
        # Workers first, so no request still in flight writes to a closed socket.
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        if self._thread.is_alive():
            trigger.pull_trigger(close_everything)
            self._thread.join(timeout=5)
        else:
            close_everything()
        trigger.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _LateApp:
    """Lets the server bind first, so the app can be built with the server's own URL."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture
def messpunkt_config() -> dict[str, Any]:
    """Settings for the sandbox under test; override this fixture to change them."""
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT}


@pytest.fixture
def messpunkt_app(messpunkt_config: dict[str, Any]) -> Flask:
    """A fresh sandbox app: fixture data, no sessions, the clock frozen at FROZEN_AT."""
    return create_app(messpunkt_config)


@pytest.fixture
def messpunkt_client(messpunkt_app: Flask) -> FlaskClient:
    return messpunkt_app.test_client()


@pytest.fixture
def messpunkt_tokens(messpunkt_client: FlaskClient) -> Tokens:
    """Tokens of the quickstart's grant (demo client, the quickstart property)."""
    return obtain_tokens(messpunkt_client)


@pytest.fixture
def messpunkt_server(messpunkt_config: dict[str, Any]) -> Iterator[LiveServer]:
    """A live sandbox on 127.0.0.1 and a free port; stopped after the test."""
    with LiveServer(messpunkt_config) as server:
        yield server
