"""The OpenAPI description of /oauth/register (RFC 7591) and its client configuration
endpoint (RFC 7592), whose views are plain Flask, written out as they answer."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from apispec import APISpec
from flask import Flask

from ..oauth.client_metadata import AUTH_METHODS, GRANT_TYPES, MAX_REDIRECT_URIS
from . import outage

JSON, OAUTH = "application/json", "OAuth"
STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
NO_STORE = {"Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]},
                              "required": True}}  # fmt: skip
CHALLENGE = {
    "WWW-Authenticate": {
        "description": 'Bearer realm="messpunkt", with error="invalid_token" when a token '
        "was sent (RFC 6750 §3.1)",
        "schema": STRING,
        "required": True,
    }
}

METADATA_FIELDS: dict[str, Any] = {
    "client_name": {"type": "string", "maxLength": 200, "example": "Hausverwaltung ERP"},
    "redirect_uris": {
        **STRINGS, "maxItems": MAX_REDIRECT_URIS,
        "description": "Required with authorization_code. Exact URIs: https, or http on "
        "127.0.0.1, [::1] or localhost; no fragment.",
        "example": ["https://erp.example.com/callback"],
    },
    "token_endpoint_auth_method": {
        "type": "string", "enum": list(AUTH_METHODS), "default": "client_secret_basic",
        "description": "`none` is a public client, with no secret.",
    },
    "grant_types": {
        "type": "array", "items": {"type": "string", "enum": list(GRANT_TYPES)},
        "default": ["authorization_code"],
        "description": "authorization_code (with refresh_token, if wanted), or "
        "client_credentials alone.",
    },
    "response_types": {
        "type": "array", "items": {"type": "string", "enum": ["code"]},
        "description": '`["code"]` with authorization_code, `[]` without (RFC 7591 §2.1).',
    },
    "scope": {
        "type": "string", "example": "read:units read:devices read:readings",
        "description": "Space-separated, among the server's scopes_supported; all of them "
        "when left out.",
    },
    "tenant_id": {
        "type": "string", "example": "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a",
        "description": "messpunkt extension, as in the fixtures' clients.json: the tenant the "
        "client acts for. Required with client_credentials; with authorization_code it "
        "limits the consent to that tenant.",
    },
    "property_ids": {
        **STRINGS, "example": ["6fb74d25-5517-4dcc-ae8b-0914579ab036"],
        "description": "messpunkt extension, client_credentials only: the tenant's "
        "properties its tokens reach.",
    },
}  # fmt: skip
METADATA = {"type": "object", "properties": METADATA_FIELDS}
UPDATE = {
    "type": "object",
    "properties": {
        "client_id": {"type": "string", "description": "This client's id (RFC 7592 §2.2)."},
        "client_secret": {"type": "string", "description": "If given, the current secret."},
        **METADATA_FIELDS,
    },
    "required": ["client_id"],
}
INFORMATION = {
    "type": "object",
    "properties": {
        "client_id": STRING,
        "client_secret": {"type": "string", "description": "In the answer that issues it only."},
        "client_id_issued_at": {"type": "integer"},
        "client_secret_expires_at": {"type": "integer", "enum": [0]},
        "registration_access_token": STRING,
        "registration_client_uri": STRING,
        **{name: {k: v for k, v in schema.items() if k not in ("default", "maxItems")}
           for name, schema in METADATA_FIELDS.items()},
    },
    "required": [
        "client_id", "client_id_issued_at", "registration_access_token",
        "registration_client_uri", "redirect_uris", "token_endpoint_auth_method",
        "grant_types", "response_types", "scope",
    ],
    "additionalProperties": False,
}  # fmt: skip
ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": [
            "invalid_redirect_uri", "invalid_client_metadata", "invalid_token",
            "invalid_request", "temporarily_unavailable", "server_error"]},
        "error_description": STRING,
    },
    "required": ["error", "error_description"],
    "additionalProperties": False,
}  # fmt: skip
EXAMPLE = {
    "client_name": "Hausverwaltung ERP",
    "redirect_uris": ["https://erp.example.com/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": "read:units read:devices read:readings",
}


def _json(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


_ERR = {"$ref": "#/components/schemas/RegistrationError"}
_INFO = {"$ref": "#/components/schemas/ClientInformation"}
UNAUTHORIZED = _json("No token, or not this one: a Bearer challenge.", _ERR, headers=CHALLENGE)
UNAVAILABLE = _json(outage.DOCUMENTED, _ERR)
BAD_METADATA = _json(
    "invalid_redirect_uri or invalid_client_metadata (RFC 7591 §3.2.2); nothing is stored.", _ERR
)
TOO_LARGE = _json("The body is over the limit (64 KiB by default).", _ERR)
FULL = _json("The sandbox keeps 100 registered clients, the most: invalid_request.", _ERR)


def _operation(summary: str, description: str, security: str, **rest: Any) -> dict[str, Any]:
    return {"tags": [OAUTH], "summary": summary, "description": description,
            "security": [{security: []}], **rest}  # fmt: skip


REGISTER = _operation(
    "Register a client (RFC 7591)",
    "The sandbox's admin key is the initial access token. The answer holds the client's "
    "secret (not for `none`), shown this once, and its registration access token.",
    "initialAccessToken",
    requestBody={"required": True, "content": {JSON: {"schema": {
        "$ref": "#/components/schemas/ClientMetadata"}, "example": EXAMPLE}}},
    responses={"201": _json("The client is registered.", _INFO, headers=NO_STORE),
               "400": BAD_METADATA, "401": UNAUTHORIZED, "409": FULL, "413": TOO_LARGE,
               "503": UNAVAILABLE},
)  # fmt: skip
CLIENT_ID = [{"in": "path", "name": "client_id", "required": True, "schema": STRING}]
CONFIGURATION = {
    "get": _operation(
        "Read a registration (RFC 7592 §2.1)", "Never the client's secret.",
        "registrationAccessToken",
        responses={"200": _json("The registration.", _INFO, headers=NO_STORE),
                   "401": UNAUTHORIZED, "503": UNAVAILABLE},
    ),
    "put": _operation(
        "Replace a registration (RFC 7592 §2.2)",
        "Every field is replaced; one left out takes its default. A client that turns "
        "confidential gets a secret in this answer; open sessions keep what they granted, "
        "unless the secret changes (turning public or confidential): then every session "
        "of the client is revoked.",
        "registrationAccessToken",
        requestBody={"required": True, "content": {JSON: {"schema": {
            "$ref": "#/components/schemas/ClientUpdate"}}}},
        responses={"200": _json("The registration as it now stands.", _INFO, headers=NO_STORE),
                   "400": BAD_METADATA, "401": UNAUTHORIZED, "413": TOO_LARGE,
                   "503": UNAVAILABLE},
    ),
    "delete": _operation(
        "Delete a registration (RFC 7592 §2.3)",
        "The client can no longer get tokens, and every session of it is revoked: its "
        "refresh and access tokens stop working at once.",
        "registrationAccessToken",
        responses={"204": {"description": "Deleted."}, "401": UNAUTHORIZED,
                   "503": UNAVAILABLE},
    ),
}  # fmt: skip


def document_registration(spec: APISpec, app: Flask) -> None:
    """Add /oauth/register and /oauth/register/{client_id} to the OpenAPI document `spec`."""
    spec.components.security_scheme(
        "initialAccessToken",
        {"type": "http", "scheme": "bearer",
         "description": "The sandbox's admin key, as RFC 7591 §3's initial access token."},
    )  # fmt: skip
    spec.components.security_scheme(
        "registrationAccessToken",
        {"type": "http", "scheme": "bearer",
         "description": "The registration_access_token of the client (RFC 7592 §1)."},
    )  # fmt: skip
    spec.components.schema("ClientMetadata", deepcopy(METADATA))
    spec.components.schema("ClientUpdate", deepcopy(UPDATE))
    spec.components.schema("ClientInformation", deepcopy(INFORMATION))
    spec.components.schema("RegistrationError", deepcopy(ERROR))
    for endpoint, operations in (
        ("registration.register", {"post": REGISTER}),
        ("registration.configuration", CONFIGURATION),
    ):
        (rule,) = app.url_map.iter_rules(endpoint)
        parameters = CLIENT_ID if rule.arguments else None
        spec.path(rule=rule, operations=deepcopy(operations), parameters=deepcopy(parameters))
