"""Each sandbox's request log: what a partner's calls looked like to the sandbox.

One entry per request to `/oauth`, `/.well-known`, `/v1` and `/sandbox` that
reached its sandbox (not the log's own reads, which would push out what they
look for), kept in the sandbox's store, the newest MESSPUNKT_REQUEST_LOG_SIZE.
Writing one costs a request little: the in-memory store keeps what was taken
and shapes the entry only when the log is read; a shared store's entries are
sent by the process's log writer (`stores.redis_log`), off the request's thread.
Secrets never reach it: no header is kept, and every member or parameter that
carries a token, code, verifier, secret or key is redacted while the request
is there, in the query string and in the `/oauth` bodies, the only bodies kept.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Response, g, request

from .bodies import FORM_READ, READ, wsgi_text
from .json import DocumentResponse, loads

REDACTED = "[redacted]"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Members and parameters whose value is a secret, wherever they appear (RFC 6749 §4.1.3,
# §5.1, §6, §2.3.1; RFC 7636 §4.5; RFC 7009 §2.1; RFC 7662 §2.1; RFC 7591 §3.2.1), and the
# keys' headers named as parameters; matched in any case, "-" as "_" (`_secret`).
SECRETS = frozenset({
    "access_token", "refresh_token", "registration_access_token", "id_token", "code",
    "code_verifier", "client_secret", "token", "password", "client_assertion", "assertion",
    "admin_key", "x_sandbox_admin_key", "x_operator_key",
})  # fmt: skip
LOGGED = ("/oauth/", "/.well-known/", "/v1/", "/sandbox/")
NOT_LOGGED = "/sandbox/requests"
QUERY_KEPT_RAW = 512  # characters of a query kept as sent until the log is read
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
        current = request._get_current_object()  # type: ignore[attr-defined]
        path = current.path
        if not path.startswith(LOGGED) or path.startswith(NOT_LOGGED):
            return response
        served = g.get("sandbox")  # never read here: a store that failed would fail again
        if served is None:
            return response  # it never reached a sandbox (unknown, or a path of none)
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        seen = _Seen(current, response, served.wall, served.now, elapsed, g)
        store = served.store
        # Kept once the answer is on its way: the client never waits for it.
        response.call_on_close(lambda: _keep(store, seen, keep))
        return response


def _keep(store: Any, seen: _Seen, keep: int) -> None:
    # The answer is sent: a store that fails now loses the entry, never the answer.
    with contextlib.suppress(Exception):
        store.log_request(seen, keep)


class _Seen:
    """A request as its entry needs it, taken while the request is there.

    Whatever could hold a secret (the query, the /oauth bodies, a Basic user) is read
    and redacted here, so no secret outlives the request; the entry itself is shaped
    only when the log is read or written (`entry`): most entries never are.
    """

    __slots__ = (
        "answer",
        "basic_user",
        "elapsed",
        "injected_fault",
        "method",
        "now",
        "oauth",
        "path",
        "principal",
        "query",
        "request_body",
        "status",
        "wall",
    )  # fmt: skip

    def __init__(
        self, current: Any, response: Response, wall: datetime, now: datetime, elapsed: float,
        context: Any,
    ) -> None:  # fmt: skip
        self.wall, self.now, self.elapsed = wall, now, elapsed
        self.method, self.path, self.status = current.method, current.path, response.status_code
        query = current.environ.get("QUERY_STRING", "")
        # Shaped now if a secret could be in it, or if it is long (100 KB of `&` shape to
        # nothing: kept raw, 500 of them would hold 50 MB); else shaped, the same, when read.
        kept_raw = len(query) <= QUERY_KEPT_RAW and not _may_hold_secret(query)
        self.query = query if kept_raw else _query(query)
        self.principal = context.get("principal")
        self.injected_fault = context.get("injected_fault")
        self.oauth = oauth = self.path.startswith("/oauth/")
        self.request_body: Any = None
        self.basic_user: str | None = None
        environ = current.environ
        if oauth:
            self.request_body = _request_body(environ)
            header = environ.get("HTTP_AUTHORIZATION", "")
            if header[:6].lower() == "basic " and _names_a_user(header[6:]):
                try:
                    credentials = current.authorization
                except ValueError:  # werkzeug's base64 of a header that is not ASCII
                    credentials = None
                self.basic_user = credentials.username if credentials is not None else None
        # Read only where it is logged or tells the error: a /v1 success is never parsed.
        self.answer = None
        if (oauth or self.status >= 400) and response.is_json and not response.is_streamed:
            self.answer = redact(_answer(response))

    def entry(self) -> dict[str, Any]:
        answer, error, detail = self.answer, None, None
        if isinstance(answer, dict) and self.status >= 400:
            error = answer.get("error") or answer.get("type")
            detail = answer.get("error_description") or answer.get("detail")
        principal = self.principal
        return {
            "time": self.wall.isoformat(timespec="milliseconds"),
            "sandbox_time": self.now.isoformat(timespec="milliseconds"),
            "method": self.method,
            "path": self.path,
            "query": _query(self.query),  # idempotent: a redacted query stays as it is
            "status": self.status,
            "duration_ms": round(self.elapsed * 1000, 1),
            "client_id": principal.client_id if principal else self._client_id(),
            "session_id": principal.session_id if principal else None,
            "error": error,
            "detail": detail,
            "injected_fault": self.injected_fault,
            "request_body": self.request_body,
            "response_body": answer if self.oauth else None,
        }

    def _client_id(self) -> str | None:
        """Who an /oauth request says it is: client_id in its body, or HTTP Basic's user."""
        body = self.request_body
        if isinstance(body, dict) and isinstance(body.get("client_id"), str):
            return body["client_id"]  # type: ignore[no-any-return]
        return self.basic_user


def _names_a_user(credentials: str) -> bool:
    """Whether Basic credentials hold `user-id ":" password` (RFC 7617 §2). Without the
    colon the whole is no user-id, and may well be a secret: it is never logged."""
    try:
        return b":" in base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False


def _request_body(environ: dict[str, Any]) -> Any:
    """The /oauth body as read (form or JSON), redacted; None when none was read."""
    raw = environ.get(READ)
    if not raw:
        return None
    if len(raw) > BODY_KEPT:
        return f"[{len(raw)} bytes, not kept]"
    mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if mimetype == "application/json":
        try:
            return redact(loads(raw, object_pairs_hook=dict))  # bounded in depth
        except ValueError:
            return "[not JSON]"
    form = environ.get(FORM_READ)  # as the endpoint parsed it, or parsed here
    if form is None:
        try:
            form = {}
            for key, value in parse_qsl(raw.decode(), keep_blank_values=True):
                form.setdefault(key, []).append(value)
        except UnicodeDecodeError:
            return "[not UTF-8]"
    return redact({k: v[0] if len(v) == 1 else v for k, v in form.items()})


def _answer(response: Response) -> Any:
    """The JSON answer as rendered (`DocumentResponse`), else as parsed; None if not JSON."""
    data = response.get_data()
    if len(data) > BODY_KEPT:
        return f"[{len(data)} bytes, not kept]"
    if isinstance(response, DocumentResponse):
        return response.document
    try:
        return json.loads(data)
    except ValueError:
        return None


def redact(value: Any) -> Any:
    """Return `value` with every secret member's value replaced, however deep, and every
    lone surrogate (JSON may escape one, UTF-8 cannot hold it) replaced by U+FFFD, so
    that every store can write the entry."""
    if isinstance(value, dict):
        return {_text(k): REDACTED if _secret(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _text(value)
    return value


def _text(text: str) -> str:
    return text if text.isascii() else LONE_SURROGATE.sub("\ufffd", text)


def _secret(name: str) -> bool:
    """Whether a member or parameter of this name holds a secret (`SECRETS`)."""
    return name.lower().replace("-", "_") in SECRETS


def _may_hold_secret(query: str) -> bool:
    """Whether a query string could name a secret parameter (percent-encoded, perhaps)."""
    named = query.lower().replace("-", "_")
    return "%" in query or any(name in named for name in SECRETS)


def _query(raw: str) -> str:
    """The query string with every secret parameter's value redacted (WSGI's latin-1 str)."""
    if not raw:
        return ""
    pairs = parse_qsl(wsgi_text(raw), keep_blank_values=True)
    return urlencode([(k, REDACTED if _secret(k) else v) for k, v in pairs], safe="[]/:*")
