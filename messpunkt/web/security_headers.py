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
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", HTML_CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
