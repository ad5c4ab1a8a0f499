"""Answers that no cache may keep (RFC 9111 §5.2.2.5 `no-store`).

Every /v1 answer holds a tenant's data or says something about a bearer
token; the token endpoint (RFC 6749 §5.1) and a new personal access token's
secret set the header themselves.
"""

from __future__ import annotations

from flask import Flask, Response, request


def forbid_storing(app: Flask) -> None:
    """Mark every /v1 answer `Cache-Control: no-store`."""

    @app.after_request
    def _no_store(response: Response) -> Response:
        path = request.path
        if path == "/v1" or path.startswith("/v1/"):
            response.headers["Cache-Control"] = "no-store"
        return response
