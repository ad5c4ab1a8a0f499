"""/docs: Swagger UI for /openapi.json, served from the installed swagger-ui-bundle (no CDN).

Its Authorize button runs the authorization code flow with PKCE as the public
client sandbox-docs-client (messpunkt/oauth/docs_client.py), whose popup ends on
/docs/oauth2-redirect.html and hands the code back to the page that opened it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from flask import Blueprint, Response, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

from ..oauth.docs_client import DOCS_CLIENT_ID, DOCS_SCOPES

bp = Blueprint("docs", __name__, url_prefix="/docs")

# Swagger UI sets inline styles, so this page allows them; scripts stay same-origin only.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
REDIRECT_PAGE = Path(swagger_ui_path, "oauth2-redirect.html").read_bytes()


def _script_hashes(html: bytes) -> str:
    """Return CSP hash-sources (CSP Level 3) of a page's inline scripts."""
    # The browser hashes the text after HTML's input stream preprocessing: CR LF becomes LF.
    html = html.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    scripts = re.findall(rb"<script>(.*?)</script>", html, re.DOTALL)
    digests = (base64.b64encode(hashlib.sha256(script).digest()).decode() for script in scripts)
    return " ".join(f"'sha256-{digest}'" for digest in digests)


# The bundle's redirect page is one inline script: it alone may run there, by its hash,
# so the page is served as shipped and a new bundle version brings its own hash.
REDIRECT_CSP = (
    f"default-src 'none'; script-src {_script_hashes(REDIRECT_PAGE)}; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@bp.get("")
def page() -> Response:
    html = render_template(
        "docs.html",
        client_id=DOCS_CLIENT_ID,
        scopes=" ".join(DOCS_SCOPES),
        # Under a partner's `/s/<id>` (SCRIPT_NAME), where its docs client's URI points.
        redirect_path=url_for("docs.oauth2_redirect"),
    )
    return Response(html, mimetype="text/html", headers={"Content-Security-Policy": DOCS_CSP})


@bp.get("/oauth2-redirect.html")
def oauth2_redirect() -> Response:
    """Hand the authorization response in the URL to the Swagger UI window that opened it."""
    # no-store: the URL carries the authorization code.
    headers = {"Content-Security-Policy": REDIRECT_CSP, "Cache-Control": "no-store"}
    return Response(REDIRECT_PAGE, mimetype="text/html", headers=headers)


@bp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    response = send_from_directory(swagger_ui_path, filename, max_age=3600)
    return response
