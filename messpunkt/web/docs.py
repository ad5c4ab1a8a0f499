"""/docs: Swagger UI for /openapi.json, served from the installed swagger-ui-bundle (no CDN)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs", __name__, url_prefix="/docs")

# Swagger UI sets inline styles, so this page allows them; scripts stay same-origin only.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@bp.get("")
def page() -> Response:
    html = render_template("docs.html")
    return Response(html, mimetype="text/html", headers={"Content-Security-Policy": DOCS_CSP})


@bp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    response = send_from_directory(swagger_ui_path, filename, max_age=3600)
    return response
