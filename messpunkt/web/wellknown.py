"""/.well-known: authorization server metadata (RFC 8414) and the JWKS (RFC 7517)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .context import sandbox

bp = Blueprint("wellknown", __name__, url_prefix="/.well-known")


@bp.get("/oauth-authorization-server")
def metadata() -> Response:
    response = jsonify(sandbox().state.auth.metadata())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/jwks.json")
def jwks() -> Response:
    response = jsonify(sandbox().key.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
