"""/.well-known: authorization server metadata (RFC 8414) and the JWKS (RFC 7517)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .context import platform, sandbox

bp = Blueprint("wellknown", __name__, url_prefix="/.well-known")


@bp.get("/oauth-authorization-server")
def metadata() -> Response:
    response = jsonify(sandbox().auth.metadata())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/jwks.json")
def jwks() -> Response:
    response = jsonify(platform().key.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
