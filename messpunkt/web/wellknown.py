"""/.well-known: authorization server metadata (RFC 8414) and the JWKS (RFC 7517)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request

from ..oauth.server import AuthorizationServer
from ..sandboxes import NoSuchSandbox, is_sandbox_id
from .context import SANDBOX_KEY, platform, sandbox

bp = Blueprint("wellknown", __name__, url_prefix="/.well-known")


@bp.get("/oauth-authorization-server")
def metadata() -> Response:
    return _metadata(sandbox().auth)


@bp.get("/oauth-authorization-server/s/<sandbox_id>")
def partner_metadata(sandbox_id: str) -> Response:
    """Describe the issuer `<base>/s/<id>` where RFC 8414 §3.1 puts it.

    An issuer with a path has its metadata at the host's well-known URI with
    that path appended, not below the issuer; it is served below it too.
    """
    # Only at the host's root, and only for a partner: no sandbox describes another.
    if SANDBOX_KEY in request.environ or not is_sandbox_id(sandbox_id):
        abort(404)
    try:
        served = platform().open(sandbox_id)
    except NoSuchSandbox:
        abort(404)
    return _metadata(served.auth)


@bp.get("/jwks.json")
def jwks() -> Response:
    response = jsonify(platform().key.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _metadata(auth: AuthorizationServer) -> Response:
    response = jsonify(auth.metadata())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
