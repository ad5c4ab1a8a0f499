"""Answer a request with the fault a partner armed for it (`messpunkt.faults`).

Checked once the request's sandbox is open, against the rules its state
brought along: with none armed, nothing more is read. A matching rule that
counts is counted down in the store first, so that 20 requests at once
against `count: 5` get exactly 5 faults. The answer is the endpoint's own:
problem+json on /v1, RFC 6749 §5.2 JSON on /oauth (the consent's error page
on /oauth/authorize), and for `invalid_token` the very 401 of a revoked token.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Flask, Response, abort, g, render_template, request
from werkzeug.http import HTTP_STATUS_CODES

from ..faults import PATHS, RETRY_STATUSES, Fault
from ..oauth.bearer import revoked_token
from ..sandbox import Sandbox
from .context import platform, sandbox
from .json import json_response
from .problems import problem, problem_from_oauth_error

DETAIL = "an injected fault (sandbox rule {id})"
# RFC 6749 §4.1.2.1 names these two for a server that fails or is overloaded.
OAUTH_ERRORS = {500: "server_error"}
OAUTH_UNAVAILABLE = "temporarily_unavailable"


def register(app: Flask) -> None:
    """Apply faults to /oauth (here) and /v1 (`api.security`, once the token is read)."""

    @app.before_request
    def _oauth_faults() -> None:
        if request.path.startswith("/oauth/"):
            inject(sandbox())


def inject(served: Sandbox) -> None:
    """Answer with the first armed rule that matches this request, or wait as it says."""
    if not served.state.faults:
        return  # nearly every request: nothing armed, nothing read
    method, path = request.method, request.path
    if not path.startswith(PATHS) or method == "OPTIONS":
        return  # a CORS preflight is the browser's, not the partner's request
    for fault in served.state.faults:
        if not fault.matches(method, path, served.now):
            continue
        if fault.delay_ms is not None:
            if _delay(served, fault):
                return
            continue  # another request took its last one
        if fault.count is not None and not served.store.take_fault(fault.id):
            continue  # another request took its last one
        g.injected_fault = fault.id
        _answer(fault)


def _delay(served: Sandbox, fault: Fault) -> bool:
    """Wait as `fault` says, holding one of the process's places for a delayed request.

    A delay holds a server thread: one partner's delays on every thread kept every other
    partner (every sandbox of the process) waiting. At most half the threads wait at
    once; past that the request is a 503 with Retry-After, and the rule's count is kept.
    Return False when another request took the rule's last count first.
    """
    places = platform().delays
    if not places.acquire(blocking=False):
        g.injected_fault = fault.id  # its rule's answer, though not the one it asked for
        detail = (
            f"an injected delay (sandbox rule {fault.id}) was not held: {places.most} delayed "
            "requests already wait in this process, the most it holds (half its threads)"
        )
        _respond(503, detail, retry_after=1)
    try:
        if fault.count is not None and not served.store.take_fault(fault.id):
            return False
        g.injected_fault = fault.id
        assert fault.delay_ms is not None
        places.wait(fault.delay_ms / 1000)  # a real delay, on the machine's clock
        return True
    finally:
        places.release()


def _answer(fault: Fault) -> NoReturn:
    detail = DETAIL.format(id=fault.id)
    if fault.invalid_token:
        abort(problem_from_oauth_error(revoked_token()))
    _respond(fault.status or 500, detail, fault.retry_after)


def _respond(status: int, detail: str, retry_after: int | None) -> NoReturn:
    """Answer `status` in the endpoint's own format, with Retry-After where it belongs."""
    headers = {"Retry-After": str(retry_after)} if status in RETRY_STATUSES else {}
    if request.path == "/oauth/authorize":
        html = render_template("error.html", description=detail, status=status)
        abort(Response(html, status=status, headers=headers, mimetype="text/html"))
    if request.path.startswith("/oauth/"):
        body = {"error": OAUTH_ERRORS.get(status, OAUTH_UNAVAILABLE), "error_description": detail}
        headers["Cache-Control"] = "no-store"
        abort(json_response(body, status, headers.items()))
    abort(problem(status, detail, headers=headers))
    raise AssertionError(HTTP_STATUS_CODES[status])  # abort raises
