"""messpunkt.io Partner API sandbox: an OAuth 2.1 authorization server and a metering API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from . import config as settings
from .platform import Platform


class SandboxFlask(Flask):
    def make_default_options_response(self) -> Response:
        """Answer OPTIONS with 204 and Allow, not an empty page labelled text/html."""
        response = super().make_default_options_response()
        response.status_code = 204
        response.headers.pop("Content-Type", None)
        return response


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app from a mapping of `MESSPUNKT_*` settings (defaults for the rest)."""
    from . import api, controls, operator
    from .web import (
        cors,
        docs,
        fault_injection,
        favicon,
        json,
        oauth,
        openapi,
        outage,
        partition,
        registration,
        request_log,
        security_headers,
        wellknown,
    )
    from .web.body_limit import limit_bodies
    from .web.caching import forbid_storing

    resolved = settings.resolve(config)
    app = SandboxFlask(__name__)
    # A doubled slash is a 404 problem, not a redirect with an HTML body.
    app.url_map.merge_slashes = False
    app.json = json.DecimalJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = resolved["MESSPUNKT_MAX_BODY_BYTES"]
    app.config["MAX_FORM_MEMORY_SIZE"] = resolved["MESSPUNKT_MAX_BODY_BYTES"]
    app.config["MESSPUNKT"] = resolved
    app.extensions["messpunkt"] = platform = Platform(resolved)
    request_log.register(app)  # first, so that its clock starts before every other hook
    app.register_blueprint(oauth.bp)
    if platform.controls_enabled:  # the admin key registers clients: a sandbox control
        app.register_blueprint(registration.bp)
    app.register_blueprint(wellknown.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(favicon.bp)
    documented = openapi.make_api(app)
    api.register(documented)
    if platform.controls_enabled:
        controls.register(documented)
    if platform.operator_key_hash is not None:
        operator.register(documented)
    partition.register(app)
    fault_injection.register(app)  # after the partner's sandbox is known to be served
    security_headers.register(app)
    limit_bodies(app)
    forbid_storing(app)
    cors.register(app)
    outage.register(app, resolved["MESSPUNKT_STORE_URL"])
    return app
