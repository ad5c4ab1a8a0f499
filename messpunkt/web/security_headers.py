"""Headers every response carries (OWASP secure headers; CSP Level 3)."""

from __future__ import annotations

from flask import Flask, Response

# HTML pages are self-contained: no script, no external asset, never framed.
HTML_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def register(app: Flask) -> None:
    @app.after_request
    def _secure(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", HTML_CSP)
            headers["X-Frame-Options"] = "DENY"
            # same-origin, not no-referrer: under no-referrer a browser posts the consent
            # with `Origin: null`, which the consent check must take for another site.
            headers["Referrer-Policy"] = "same-origin"
        return response
