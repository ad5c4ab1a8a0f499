"""Each sandbox's request log: what a partner's calls looked like to the sandbox.

One entry per request to `/oauth`, `/.well-known`, `/v1` and `/sandbox` that
reached its sandbox (not the log's own reads, which would push out what they
look for), kept in the
sandbox's store, the newest MESSPUNKT_REQUEST_LOG_SIZE. It is written once the
answer has been handed to the server (`call_on_close`), so the client never
waits for it. Secrets never reach it: no header is kept, and every member or
parameter that carries a token, code, verifier, secret or key is redacted,
in the query string and in the `/oauth` bodies, the only bodies kept.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Response, g, request

from .bodies import READ
from .json import loads

REDACTED = "[redacted]"
# Members and parameters whose value is a secret, wherever they appear (RFC 6749 §4.1.3,
# §5.1, §6, §2.3.1; RFC 7636 §4.5; RFC 7009 §2.1; RFC 7662 §2.1; RFC 7591 §3.2.1).
SECRETS = frozenset({
    "access_token", "refresh_token", "registration_access_token", "id_token", "code",
    "code_verifier", "client_secret", "token", "password", "client_assertion", "assertion",
    "admin_key",
})  # fmt: skip
LOGGED = ("/oauth/", "/.well-known/", "/v1/", "/sandbox/")
NOT_LOGGED = "/sandbox/requests"
BODY_KEPT = 8192  # bytes of an /oauth body kept; a longer one is noted, not kept


def register(app: Flask) -> None:
    """Log every sandbox request the partner may want to see again."""
    keep = app.config["MESSPUNKT"]["MESSPUNKT_REQUEST_LOG_SIZE"]
    if keep <= 0:
        return

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        path = request.path
        if not path.startswith(LOGGED) or path.startswith(NOT_LOGGED):
            return response
        served = g.get("sandbox")  # never read here: a store that failed would fail again
        if served is None:
            return response  # it never reached a sandbox (unknown, or a path of none)
        entry = _entry(response, served.wall.isoformat(timespec="milliseconds"),
                       served.now.isoformat(timespec="milliseconds"))  # fmt: skip
        store = served.store
        response.call_on_close(lambda: _write(store, entry, keep))
        return response


def _write(store: Any, entry: dict[str, Any], keep: int) -> None:
    # The answer is sent: a store that fails now loses the entry, never the answer.
    with contextlib.suppress(Exception):
        store.log_request(entry, keep)


def _entry(response: Response, wall: str, now: str) -> dict[str, Any]:
    principal = g.get("principal")
    oauth = request.path.startswith("/oauth/")
    request_body = _request_body() if oauth else None
    answer = _json(response)
    error = None
    detail = None
    if isinstance(answer, dict) and response.status_code >= 400:
        error = answer.get("error") or answer.get("type")
        detail = answer.get("error_description") or answer.get("detail")
    return {
        "time": wall,
        "sandbox_time": now,
        "method": request.method,
        "path": request.path,
        "query": _query(),
        "status": response.status_code,
        "duration_ms": round(
            (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1
        ),
        "client_id": principal.client_id if principal else _client_id(request_body),
        "session_id": principal.session_id if principal else None,
        "error": error,
        "detail": detail,
        "injected_fault": g.get("injected_fault"),
        "request_body": request_body,
        "response_body": redact(answer) if oauth else None,
    }


def redact(value: Any) -> Any:
    """Return `value` with every secret member's value replaced, however deep."""
    if isinstance(value, dict):
        return {k: REDACTED if k in SECRETS else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _query() -> str:
    raw = request.query_string.decode("latin-1")
    if not raw:
        return ""
    pairs = parse_qsl(raw, keep_blank_values=True)
    return urlencode([(k, REDACTED if k in SECRETS else v) for k, v in pairs], safe="[]/:*")


def _request_body() -> Any:
    """The /oauth body as read (form or JSON), redacted; None when none was read."""
    raw = request.environ.get(READ)
    if not raw:
        return None
    if len(raw) > BODY_KEPT:
        return f"[{len(raw)} bytes, not kept]"
    if request.mimetype == "application/json":
        try:
            return redact(loads(raw, object_pairs_hook=dict))  # bounded in depth
        except ValueError:
            return "[not JSON]"
    try:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return "[not UTF-8]"
    form: dict[str, Any] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return redact({k: v[0] if len(v) == 1 else v for k, v in form.items()})


def _json(response: Response) -> Any:
    if not response.is_json or response.is_streamed:
        return None
    data = response.get_data()
    if len(data) > BODY_KEPT:
        return f"[{len(data)} bytes, not kept]"
    try:
        return json.loads(data)
    except ValueError:
        return None


def _client_id(body: Any) -> str | None:
    """Who an /oauth request says it is: client_id in the body, or HTTP Basic's user."""
    if isinstance(body, dict) and isinstance(body.get("client_id"), str):
        return body["client_id"]  # type: ignore[no-any-return]
    authorization = request.authorization
    if authorization is not None and authorization.type == "basic":
        return authorization.username
    return None
