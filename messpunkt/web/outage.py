"""503 while the shared store cannot be reached: never a 500, never a stack trace.

On /oauth/* the answer is RFC 6749 §5.2 JSON (`temporarily_unavailable`, the code
§4.1.2.1 defines for this), everywhere else problem+json; both say when to try again.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from .json import json_response
from .problems import problem

RETRY_AFTER = "5"  # seconds: a restarted Redis answers again within a few
DETAIL = "the sandbox's store cannot be reached; try again shortly"


def register(app: Flask, store_url: str) -> None:
    """Answer the store's connection failures with 503 (only a hosted sandbox has them)."""
    if not store_url:
        return
    import redis  # a hosted sandbox only

    for error in (redis.ConnectionError, redis.TimeoutError):
        app.register_error_handler(error, unavailable)


def unavailable(error: Exception) -> Response:
    headers = {"Retry-After": RETRY_AFTER}
    if request.path.startswith("/oauth/"):
        body: Any = {"error": "temporarily_unavailable", "error_description": DETAIL}
        return json_response(body, 503, {**headers, "Cache-Control": "no-store"}.items())
    return problem(503, DETAIL, headers=headers)
