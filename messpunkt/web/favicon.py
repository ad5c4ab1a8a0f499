"""/favicon.ico: the sandbox's icon where browsers look for it unasked."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_from_directory

bp = Blueprint("favicon", __name__)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Send the SVG icon itself: browsers go by its content type, not the .ico name."""
    static = current_app.static_folder
    assert static is not None
    return send_from_directory(static, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
