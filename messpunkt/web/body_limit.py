"""A body declared over the limit is refused before a byte of it is read.

The answer comes in the endpoint's own format: RFC 6749 §5.2 JSON on the
OAuth endpoints, the error page on the consent, problem+json elsewhere.
waitress and the gunicorn worker hand such a request over with its body
unread (`messpunkt.connections`, `messpunkt.hosting`), and close the
connection after the answer.
"""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_content_length

from ..oauth.errors import RequestTooLarge
from .oauth import oauth_error

TOO_LARGE = "the request body is too large"
DATA_PATH = "/sandbox/data"


def data_set_bytes(app: Flask) -> int:
    """Return the largest data set a partner may upload (never below any body's limit)."""
    return max(
        app.config["MAX_CONTENT_LENGTH"], app.config["MESSPUNKT"]["MESSPUNKT_MAX_DATA_SET_BYTES"]
    )


def limit_bodies(app: Flask) -> None:
    """Refuse every request whose declared body is over MAX_CONTENT_LENGTH, unread."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    data_set_limit = data_set_bytes(app)

    @app.before_request
    def _refuse_a_body_too_large() -> Response | None:
        # The declared length, as request.content_length reads it, without building headers.
        length = get_content_length(request.environ)
        if length is None or length <= limit:
            return None
        if request.path == DATA_PATH and length <= data_set_limit:
            return None  # a data set uploaded (controls.data), read with its own limit
        if request.path == "/oauth/authorize":
            html = render_template("error.html", description=TOO_LARGE, status=413)
            return Response(html, status=413, mimetype="text/html")
        if request.path.startswith("/oauth/"):
            return oauth_error(RequestTooLarge(TOO_LARGE))
        raise RequestEntityTooLarge()  # problem+json, as every other HTTP error
