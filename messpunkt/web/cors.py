"""Cross-origin reads for browser apps (the CORS protocol of the WHATWG Fetch standard).

A single-page app calls the token, revocation and introspection endpoints and /v1 from
its own origin. The authorization endpoint is a top-level navigation, not a fetch, and
/sandbox takes the admin key, so it stays same-origin: neither answers cross-origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import Flask, Response, request

from ..oauth.clients import Client
from ..sandboxes import NoSuchSandbox
from .context import sandbox

# Metadata and keys are public documents, the same for every caller and read without
# credentials, so any origin may read them: a browser client discovers the server there.
PUBLIC = frozenset({"/.well-known/oauth-authorization-server", "/.well-known/jwks.json"})
# A partner sandbox's metadata, where RFC 8414 §3.1 puts it: `<this>/s/<id>`.
PUBLIC_UNDER = "/.well-known/oauth-authorization-server/"
TOKEN_PATHS = frozenset({"/oauth/token", "/oauth/revoke", "/oauth/introspect"})
API_PREFIX = "/v1/"
ALLOW_HEADERS = "Authorization, Content-Type"
# Headers a page on an allowed origin may read beyond the Fetch standard's safelist: the
# challenges of a 401 (RFC 6750 §3, RFC 6749 §5.2), and when to try again after a 429 or
# 503 (a rehearsed fault, the store away).
EXPOSE_HEADERS = "WWW-Authenticate, Retry-After"
MAX_AGE = "600"  # seconds a browser may reuse a preflight's answer
DEFAULT_PORTS = {"http": 80, "https": 443}


def register(app: Flask) -> None:
    """Answer preflights and label responses for the origins MESSPUNKT_CORS_ORIGINS allows."""
    origins = Origins(app.config["MESSPUNKT"]["MESSPUNKT_CORS_ORIGINS"])

    @app.after_request
    def _cors(response: Response) -> Response:
        environ = request.environ
        path = environ.get("PATH_INFO", "")
        if path in PUBLIC or path.startswith(PUBLIC_UNDER):
            # Fetch, "CORS protocol and HTTP caches": a fixed "*" on every response, no Vary.
            response.headers["Access-Control-Allow-Origin"] = "*"
            if _is_preflight(environ):
                _preflight(response, "GET")
            return response
        if path in TOKEN_PATHS:
            methods = "POST"
        elif path.startswith(API_PREFIX):
            methods = "GET"
        else:
            return response
        # Same section: an answer that depends on Origin says so, with or without one.
        response.headers.add("Vary", "Origin")
        origin = environ.get("HTTP_ORIGIN")
        if origin is None or not origins.allow(origin):
            return response  # no CORS headers: the browser keeps the answer from the page
        # The caller's origin, never "*": only listed origins may read tokens and data.
        response.headers["Access-Control-Allow-Origin"] = origin
        if _is_preflight(environ):
            _preflight(response, methods)
        else:
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response


class Origins:
    """The origins that may call the token endpoints and /v1 from a browser.

    Configured as comma-separated origins, or `*` for any; empty means the origins of
    every registered client's redirect URIs, which follow the loaded data set.
    """

    def __init__(self, setting: str) -> None:
        entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
        self.any = "*" in entries
        self.configured = (
            frozenset(_configured_origin(e) for e in entries if e != "*") if entries else None
        )
        self._derived: tuple[Mapping[str, Client] | None, frozenset[str]] = (None, frozenset())

    def allow(self, origin: str) -> bool:
        if self.any:
            return True
        if self.configured is not None:
            return origin in self.configured
        try:
            clients = sandbox().data.clients
        except NoSuchSandbox:  # its answer is the 404 of a sandbox not served: no origin's
            return False
        return origin in self._of_clients(clients)

    def _of_clients(self, clients: Mapping[str, Client]) -> frozenset[str]:
        """The clients' origins, computed once per loaded set of clients."""
        known, derived = self._derived
        if known is not clients:
            derived = frozenset(
                origin
                for client in clients.values()
                for uri in client.redirect_uris
                if (origin := origin_of(uri)) is not None
            )
            self._derived = (clients, derived)
        return derived


def origin_of(uri: str) -> str | None:
    """Return the origin of an http(s) URI as a browser sends it, or None.

    Serialised as in the Fetch standard's Origin header: lower-case scheme and host,
    the port only when it is not the scheme's default.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    suffix = "" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{host}{suffix}"


def _configured_origin(entry: str) -> str:
    parts = urlsplit(entry)
    origin = origin_of(entry)
    if origin is None or parts.path not in ("", "/") or parts.query or parts.username:
        raise ValueError(
            f"MESSPUNKT_CORS_ORIGINS: {entry!r} is not an origin (scheme://host[:port]) or *"
        )
    return origin


def _is_preflight(environ: Mapping[str, object]) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "OPTIONS"
        and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
    )


def _preflight(response: Response, methods: str) -> None:
    headers = response.headers
    headers["Access-Control-Allow-Methods"] = methods
    headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    headers["Access-Control-Max-Age"] = MAX_AGE
