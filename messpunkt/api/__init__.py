"""/v1: the resource API, built with flask-smorest so that it documents itself.

Errors under /v1 are RFC 9457 problem details, never HTML.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_smorest import Api

from ..oauth.errors import OAuthError
from .problems import problem, problem_from_http_exception, problem_from_oauth_error

OPENAPI_CONFIG = {
    "API_TITLE": "messpunkt.io Partner API (sandbox)",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
}


class ProblemApi(Api):
    """flask-smorest's Api, answering every HTTP error with problem+json."""

    def handle_http_exception(self, error: Any) -> Any:
        return problem_from_http_exception(error)


def init_api(app: Flask) -> Api:
    from . import usage_units, whoami  # the blueprints, imported where they are wired

    app.config.update(OPENAPI_CONFIG)
    api = ProblemApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Submetering data of German properties for ERP partners. "
                "Every call needs an OAuth 2.1 access token (`Authorization: Bearer …`).",
            },
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "oauth2",
            "description": "Access token from the sandbox's authorization server.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize",
                    "tokenUrl": "/oauth/token",
                    "refreshUrl": "/oauth/token",
                    "scopes": {
                        "read:units": "properties and usage units",
                        "read:devices": "measuring points and devices",
                        "read:readings": "readings and consumption",
                    },
                }
            },
        },
    )
    for module in (whoami, usage_units):
        api.register_blueprint(module.blp)

    @app.errorhandler(OAuthError)
    def _oauth_error(error: OAuthError) -> Any:
        if request.path.startswith("/v1"):
            return problem_from_oauth_error(error)
        return problem(error.status, error.description)

    return api
