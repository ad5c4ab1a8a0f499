"""503 while the shared store cannot be reached, or when the sandbox moved under a request:
never a 500, never a stack trace.

On /oauth/* the answer is RFC 6749 §5.2 JSON (`temporarily_unavailable`, the code
§4.1.2.1 defines for this), everywhere else problem+json; both say when to try again.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from ..oauth.errors import TemporarilyUnavailable
from ..oauth.store import SandboxMoved
from .json import json_response
from .problems import problem

RETRY_AFTER = "5"  # seconds: a restarted Redis answers again within a few
DETAIL = "the sandbox's store cannot be reached; try again shortly"
# How the OpenAPI document describes both 503s.
DOCUMENTED = (
    "temporarily_unavailable: a hosted sandbox's store cannot be reached, or the sandbox was "
    "reset or its clock moved while the request was served (nothing was done); "
    "`Retry-After` says when to make it again."
)


def register(app: Flask, store_url: str) -> None:
    """Answer the store's connection failures with 503 (only a hosted sandbox has them),
    and a step refused because the sandbox moved under its request (any store)."""
    app.register_error_handler(SandboxMoved, moved)
    if not store_url:
        return
    import redis  # a hosted sandbox only

    for error in (redis.ConnectionError, redis.TimeoutError):
        app.register_error_handler(error, unavailable)


def unavailable(error: Exception) -> Response:
    return _unavailable(DETAIL, RETRY_AFTER)


def moved(error: SandboxMoved) -> Response:
    """Nothing was written; made again, the request is served at the sandbox's new instant."""
    return _unavailable(f"{error}; nothing was done, make the request again", "1")


def _unavailable(detail: str, retry_after: str) -> Response:
    headers = {"Retry-After": retry_after}
    if request.path.startswith("/oauth/"):
        body: Any = TemporarilyUnavailable(detail).as_dict()
        return json_response(body, 503, {**headers, "Cache-Control": "no-store"}.items())
    return problem(503, detail, headers=headers)
