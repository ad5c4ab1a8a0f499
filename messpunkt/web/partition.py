"""/s/<id>/…: a partner's sandbox, served by the same blueprints as the default one.

A WSGI middleware moves `/s/<id>` from PATH_INFO to SCRIPT_NAME (PEP 3333),
as a proxy that mounts the app under a prefix would, and names the sandbox
in the environ. Routing, `url_for` (the consent form's action, the docs'
assets) and `request.path` then work under the prefix unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, Request, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from ..oauth.registrations import SandboxGone
from ..sandboxes import NoSuchSandbox, is_sandbox_id
from .context import SANDBOX_KEY, sandbox

PREFIX = "/s/"


class SandboxPartition:
    """Serve `/s/<id>/<path>` as `<path>` of the sandbox `<id>`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX):
            sandbox_id, slash, rest = path[len(PREFIX) :].partition("/")
            if is_sandbox_id(sandbox_id):
                # Named in the server's own environ too, where whoever wraps the app (the
                # access log) reads it; /s/default and the like name no sandbox.
                environ[SANDBOX_KEY] = sandbox_id
            # A copy: whoever wraps the app (the access log) still sees the path requested.
            environ = {
                **environ,
                SANDBOX_KEY: sandbox_id,
                "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + PREFIX + sandbox_id,
                "PATH_INFO": slash + rest,
            }
        return self.app(environ, start_response)  # type: ignore[no-any-return]


def register(app: Flask) -> None:
    """Serve partner sandboxes under /s/<id>; an unknown one is 404 on every path."""
    app.wsgi_app = SandboxPartition(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(_open_partner_sandbox)
    app.register_error_handler(SandboxGone, _gone)


def _gone(error: SandboxGone) -> ResponseReturnValue:
    """Deleted or expired while this request ran: answered as any request to it now is."""
    return current_app.handle_http_exception(NotFound())


def _open_partner_sandbox() -> None:
    # Before any view, so /docs and /openapi.json are 404 too. The answer is any 404's:
    # unknown, malformed, deleted and expired look alike, so ids cannot be probed.
    sandbox_id = request._get_current_object().environ.get(SANDBOX_KEY)  # type: ignore[attr-defined]
    if sandbox_id is None:
        return
    if not is_sandbox_id(sandbox_id):  # /s/default too: the default sandbox has no prefix
        raise NotFound()
    if request.path.startswith("/v1/") and _reaches_a_view(request):
        return  # its view opens it with the token's session: one round trip (api.security)
    try:
        sandbox()
    except NoSuchSandbox:
        raise NotFound() from None


def _reaches_a_view(request: Request) -> bool:
    """Tell whether a /v1 request reaches a view that reads its sandbox: a preflight
    (answered before the token is read) and a path or method that routes nowhere do not."""
    return request.method != "OPTIONS" and request.routing_exception is None
