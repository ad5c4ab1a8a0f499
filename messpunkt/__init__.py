"""messpunkt.io Partner API sandbox: an OAuth 2.1 authorization server and a metering API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import config as settings
from .sandbox import Sandbox


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app from a mapping of `MESSPUNKT_*` settings (defaults for the rest)."""
    from .api import init_api
    from .web import docs, json, oauth, security_headers, wellknown

    resolved = settings.resolve(config)
    app = Flask(__name__)
    app.json = json.DecimalJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = resolved["MESSPUNKT_MAX_BODY_BYTES"]
    app.config["MAX_FORM_MEMORY_SIZE"] = resolved["MESSPUNKT_MAX_BODY_BYTES"]
    app.config["MESSPUNKT"] = resolved
    app.extensions["messpunkt"] = Sandbox(resolved)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(wellknown.bp)
    app.register_blueprint(docs.bp)
    init_api(app)
    security_headers.register(app)
    return app
