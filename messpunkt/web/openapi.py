"""The OpenAPI document of /v1 and /sandbox (flask-smorest), and problem+json for every error.

Errors under /v1 and /sandbox are RFC 9457 problem details, never HTML.
"""

from __future__ import annotations

import http
import threading
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from flask import Flask, Response, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from ..oauth.errors import OAuthError
from .json import json_response
from .oauth_spec import document_oauth
from .problems import MEDIA_TYPE, problem, problem_from_http_exception, problem_from_oauth_error
from .schemas import ProblemSchema

OPENAPI_CONFIG = {
    "API_TITLE": "messpunkt.io Partner API (sandbox)",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
}
# The operator's paths belong to the host, never to one sandbox.
OPERATOR_PATH = "/sandboxes"
PARTNER_METADATA_PATH = "/.well-known/oauth-authorization-server/s/"
SCOPES = {
    "read:units": "properties and usage units",
    "read:devices": "measuring points and devices",
    "read:readings": "readings and consumption",
}
DESCRIPTION = """Submetering data of German properties for ERP partners: warm and cold
water, heat, heat cost allocators.

Every call needs an access token from the sandbox's OAuth 2.1 authorization server
(`Authorization: Bearer …`). To try calls here, use **Authorize**, then **Authorize** under
`oauth2` (authorizationCode with PKCE) and approve on the consent page; or run the README's
quickstart and paste the `access_token` under `bearerAuth`.

Errors are `application/problem+json` (RFC 9457). Lists are
`{"data": [...], "pagination": {"next_cursor": ...}}`."""


class ProblemApi(Api):
    """flask-smorest's Api, answering and documenting every HTTP error as problem+json.

    The document is written when it is first read, not when the app is built:
    `register_blueprint` registers the views at once and queues their
    documentation, and every other contribution goes through `document`. Every
    reader of `spec` (the /openapi.json view, /docs, a test) finds it complete.
    `make bench`, create_app() (median of 200): 28.6 ms eager, 12.7 ms deferred; the
    views' documentation (apispec resolving the marshmallow schemas, and the
    deepcopy flask-smorest takes of it) was half of building an app, and
    apps are built per test, per pytest-plugin fixture and per worker.
    """

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pending: list[Callable[[APISpec], object]] = []
        self._written = True  # False while contributions wait
        # Not reentrant: a contribution reads the `spec` it is handed, never `api.spec`.
        self._writing = threading.Lock()
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def spec(self) -> APISpec:
        """The document, with every queued contribution written into it, in order."""
        if not self._written:
            with self._writing:  # another thread reads it only once it is whole
                while self._pending:
                    # Taken off first: one that raises is never written twice (apispec
                    # refuses a component named twice, which would hide the first error).
                    self._pending.pop(0)(self._spec)
                self._written = True
        return self._spec

    @spec.setter
    def spec(self, value: APISpec) -> None:
        self._spec = value

    def document(self, contribution: Callable[[APISpec], object]) -> None:
        """Queue `contribution(spec)` to write into the document when it is first read."""
        self._pending.append(contribution)
        self._written = False

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """flask-smorest's `register_blueprint` (as of 0.47), its documentation queued."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)

        def write(spec: APISpec) -> None:
            blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})

        self.document(write)

    def handle_http_exception(self, error: Any) -> Any:
        return problem_from_http_exception(error)

    def _openapi_json(self) -> Response:
        """Serve the document; under /s/<id>, one that points at that sandbox."""
        root = request.script_root
        if not root:
            return super()._openapi_json()  # type: ignore[no-any-return]
        return json_response(partner_document(self.spec.to_dict(), root))

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            if status == 401:
                response["headers"] = {
                    "WWW-Authenticate": {
                        "description": 'Bearer realm="messpunkt", and error="invalid_token" '
                        "when a token was sent (RFC 6750 §3.1)",
                        "schema": {"type": "string"},
                    }
                }
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


def partner_document(document: dict[str, Any], root: str) -> dict[str, Any]:
    """Point the document at the sandbox under `root`, without the operator's paths.

    Swagger UI sends calls to the first server, and resolves the OAuth URLs
    against it (an absolute path keeps the host only), so both carry `root`.
    """
    schemes = dict(document["components"]["securitySchemes"])
    schemes.pop("operatorKey", None)
    oauth2 = schemes["oauth2"]
    flows = {
        name: {key: root + value if key.endswith("Url") else value for key, value in flow.items()}
        for name, flow in oauth2["flows"].items()
    }
    schemes["oauth2"] = {**oauth2, "flows": flows}
    return {
        **document,
        "servers": [{"url": root}],
        "paths": {
            path: item
            for path, item in document["paths"].items()
            # Neither the operator's paths, nor the host's RFC 8414 entries of partners.
            if not path.startswith((OPERATOR_PATH, PARTNER_METADATA_PATH))
        },
        "components": {**document["components"], "securitySchemes": schemes},
    }


def make_api(app: Flask) -> ProblemApi:
    """Create the documented API of `app`, its security schemes and its error handling."""
    app.config.update(OPENAPI_CONFIG)
    api = ProblemApi(app, spec_kwargs={"info": {"description": DESCRIPTION}})
    api.spec.components.security_scheme(
        "oauth2",
        {
            "type": "oauth2",
            "description": "The sandbox's authorization server (authorization code + PKCE).",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize",
                    "tokenUrl": "/oauth/token",
                    "refreshUrl": "/oauth/token",
                    "scopes": SCOPES,
                },
                "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": SCOPES},
            },
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token obtained from /oauth/token; same scope rules.",
        },
    )
    api.document(lambda spec: document_oauth(spec, app))

    @app.errorhandler(OAuthError)
    def _oauth_error(error: OAuthError) -> Any:
        if request.path.startswith("/v1"):
            return problem_from_oauth_error(error)
        return problem(error.status, error.description)

    return api
