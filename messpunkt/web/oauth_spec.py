"""The OpenAPI description of /oauth and /.well-known, whose views are plain Flask.

Written out as the views answer, without changing them. A constraint is
documented only where breaking it is refused: with a 4xx, or, at the
authorization endpoint once the client and its redirect URI are trusted, by a
redirect to the client with `error` (RFC 6749 §4.1.2.1). Errors are RFC 6749 §5.2
JSON on the token, revocation and introspection endpoints, HTML pages on the
authorization endpoint. The examples are the fixtures' public sandbox clients.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from apispec import APISpec
from flask import Flask

from . import outage
from .registration_spec import document_registration

FORM, JSON, HTML = "application/x-www-form-urlencoded", "application/json", "text/html"
OAUTH, DISCOVERY = "OAuth", "Discovery"
STRING, INTEGER = {"type": "string"}, {"type": "integer"}
STRINGS = {"type": "array", "items": STRING}
DEMO = "sandbox-demo-client"


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _object(properties: dict[str, Any], *required: str, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:  # a response: nothing beyond what is listed
        schema["additionalProperties"] = False
    return schema


# RFC 6749 §5.2; temporarily_unavailable is the 503 (README "Hosting", "Sandbox controls").
OAUTH_ERROR = _object({
    "error": _enum("invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                   "unsupported_grant_type", "invalid_scope", "temporarily_unavailable"),
    "error_description": STRING,
}, "error", "error_description")  # fmt: skip
TOKEN = _object({
    "access_token": _string("An ES256 JWT (RFC 9068)."),
    "token_type": _enum("Bearer"),
    "expires_in": {"type": "integer", "minimum": 0, "example": 3600},
    "refresh_token": _string("Not for client credentials. Rotated on every use."),
    "scope": _string("The granted scopes, space-separated."),
}, "access_token", "token_type", "expires_in", "scope")  # fmt: skip
INTROSPECTION = _object({
    "active": {"type": "boolean"}, "token_type": _enum("Bearer", "refresh_token"),
    "scope": STRING, "client_id": STRING, "sub": STRING, "iss": STRING, "aud": STRING,
    "iat": INTEGER, "exp": INTEGER, "jti": STRING, "sid": STRING, "tenant_id": STRING,
    "property_scope": STRINGS,
}, "active") | {"description": "Only `active` when it is false (RFC 7662 §2.2)."}  # fmt: skip
JWKS = _object({"keys": {"type": "array", "items": _object({
    "kty": _enum("EC"), "crv": _enum("P-256"), "x": STRING, "y": STRING, "kid": STRING,
    "use": _enum("sig"), "alg": _enum("ES256"),
}, "kty", "crv", "x", "y", "kid", "use", "alg")}}, "keys")  # fmt: skip
METADATA_FIELDS = {
    "issuer": STRING, "authorization_endpoint": STRING, "token_endpoint": STRING,
    "jwks_uri": STRING, "revocation_endpoint": STRING, "introspection_endpoint": STRING,
    "scopes_supported": STRINGS, "response_types_supported": STRINGS,
    "response_modes_supported": STRINGS, "grant_types_supported": STRINGS,
    "token_endpoint_auth_methods_supported": STRINGS,
    "revocation_endpoint_auth_methods_supported": STRINGS,
    "introspection_endpoint_auth_methods_supported": STRINGS,
    "code_challenge_methods_supported": STRINGS,
    "authorization_response_iss_parameter_supported": {"type": "boolean"},
    "service_documentation": STRING,
    "registration_endpoint": STRING,  # RFC 7591 §3, the sandbox's admin key to call it
}  # fmt: skip
# Without the sandbox controls there is no registration (it takes the admin key), and no
# registration_endpoint (RFC 8414 §2: OPTIONAL).
METADATA = _object(METADATA_FIELDS, *(f for f in METADATA_FIELDS if f != "registration_endpoint"))

# The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3), with the quickstart's values.
AUTHORIZATION = {
    "response_type": _string("Only `code`.", enum=["code"], example="code"),
    "client_id": _string("A registered client.", example=DEMO),
    "redirect_uri": _string(
        "Exactly as registered; may be left out by a client with one registered URI.",
        example="http://localhost:3000/callback",
    ),
    "scope": _string(
        "Space-separated; every scope of the client when left out.",
        example="read:units read:devices read:readings",
    ),
    "state": _string("Echoed in the redirect.", example="xyz"),
    "code_challenge": _string(
        "BASE64URL(SHA-256(code_verifier)) without padding.",
        pattern="^[A-Za-z0-9_-]{43}$",
        example="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    ),
    "code_challenge_method": _string("Only `S256`.", enum=["S256"], example="S256"),
    "tenant": _string("Sign in as a demo user of this tenant (the page's switch links)."),
    "user": _string("Sign in as this demo user (the page's switch links)."),
}
REQUIRED = ("client_id", "code_challenge", "code_challenge_method")
CONSENT = _object({
    **AUTHORIZATION,
    "response_type": _string("`code` when given."),
    "decision": _string("The user's answer.", enum=["approve", "deny"], example="approve"),
    "property": {"type": "array", "items": STRING, "example": [
        "6fb74d25-5517-4dcc-ae8b-0914579ab036"],
        "description": "The properties granted, of one tenant; at least one to approve."},
    "consent_form": _string("`1` from the rendered page: approving none shows it again."),
}, *REQUIRED, "decision", closed=False)  # fmt: skip
CLIENT = {
    "client_id": _string("client_secret_post, or a public client."),
    "client_secret": _string("client_secret_post; never together with Basic credentials."),
}
TOKEN_REQUEST = _object({
    "grant_type": _enum("authorization_code", "refresh_token", "client_credentials"),
    "code": _string("authorization_code: the code from the redirect."),
    "redirect_uri": _string("authorization_code: as in the authorization request."),
    "code_verifier": _string("authorization_code: the PKCE verifier (RFC 7636 §4.5)."),
    "refresh_token": _string("refresh_token: the newest refresh token."),
    "scope": _string("refresh_token, client_credentials: fewer scopes than granted."),
    **CLIENT,
}, "grant_type", closed=False)  # fmt: skip
TOKEN_OF_CLIENT = _object({
    "token": _string("An access token or a refresh token of the calling client."),
    "token_type_hint": _string("`access_token` or `refresh_token`; both are looked up anyway."),
    **CLIENT,
}, "token", closed=False)  # fmt: skip
SERVICE = {"client_id": "sandbox-service-client",
           "client_secret": "sandbox-service-client-secret-change-me"}  # fmt: skip
WEB = {"client_id": "sandbox-web-client", "client_secret": "sandbox-web-client-secret-change-me"}


def _body(schema: dict[str, Any], example: dict[str, Any] | None = None) -> dict[str, Any]:
    """A request body: a form, and the same as a JSON object of strings when `example`."""
    if example is None:  # the consent form, as a browser sends it
        encoding = {"property": {"style": "form", "explode": True}}
        return {"required": True, "content": {FORM: {"schema": schema, "encoding": encoding}}}
    media = {"schema": schema, "example": example}
    return {"required": True, "content": {FORM: media, JSON: media}}


def _json(description: str, schema: Any, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": {HTML: {"schema": STRING}}}


ERROR = {"$ref": "#/components/schemas/OAuthError"}
NO_STORE = {"Cache-Control": {"schema": _enum("no-store"), "required": True}}
REDIRECT = {
    "description": "To the redirect URI, with `code`, `state` and `iss`, or with `error`, "
    "`error_description`, `state` and `iss` (RFC 6749 §4.1.2, RFC 9207).",
    "headers": {"Location": {"schema": STRING, "required": True}},
}
CLIENT_ERRORS = {
    "400": _json("invalid_request, invalid_grant, invalid_scope, …", ERROR),
    "401": _json("invalid_client; a `WWW-Authenticate: Basic` challenge if Basic was sent.", ERROR),
    "413": _json("The body is over the limit (64 KiB by default).", ERROR),
    "503": _json(outage.DOCUMENTED, ERROR),
}
BY_CLIENT: dict[str, Any] = {"security": [{"clientSecretBasic": []}, {}]}


def _operation(summary: str, description: str, **rest: Any) -> dict[str, Any]:
    return {"tags": [OAUTH], "summary": summary, "description": description, **rest}


AUTHORIZE = {
    "get": _operation(
        "Show the consent page",
        "An unknown client or redirect URI is an error page; every other error is "
        "redirected to the client.",
        security=[],
        parameters=[
            {"in": "query", "name": name, "required": name in ("response_type", *REQUIRED),
             "description": schema["description"],
             "schema": {key: value for key, value in schema.items() if key != "description"}}
            for name, schema in AUTHORIZATION.items()
        ],
        responses={"200": _page("The consent page."), "302": REDIRECT,
                   "400": _page("Unknown client or redirect URI: an error page.")},
    ),
    "post": _operation(
        "Answer the consent",
        "What the consent page's form sends; the quickstart posts it headlessly.",
        security=[], requestBody=_body(CONSENT),
        responses={"302": REDIRECT, "413": _page("The body is over the limit."),
                   "400": _page("Unknown client or redirect URI, or on the page no property "
                                "ticked: a page.")},
    ),
}  # fmt: skip
TOKEN_OPERATION = _operation(
    "Issue tokens",
    "authorization_code (with PKCE), refresh_token (rotated; a replay revokes the session) "
    "and client_credentials. Never parameters in the URL.",
    requestBody=_body(TOKEN_REQUEST, {"grant_type": "client_credentials", **SERVICE}),
    responses={"200": _json("Tokens.", {"$ref": "#/components/schemas/TokenResponse"},
                            headers=NO_STORE), **CLIENT_ERRORS},
    **BY_CLIENT,
)  # fmt: skip
REVOKE = _operation(
    "Revoke a token (RFC 7009)",
    "A refresh token ends its session; an access token stops at once. `{}` whether or not "
    "the token was known.",
    requestBody=_body(TOKEN_OF_CLIENT, {"token": "not-a-token", "client_id": DEMO}),
    responses={"200": _json("Revoked, or unknown.", _object({})), **CLIENT_ERRORS},
    **BY_CLIENT,
)  # fmt: skip
INTROSPECT = _operation(
    "Describe a token (RFC 7662)",
    "For confidential clients and their own tokens.",
    requestBody=_body(TOKEN_OF_CLIENT, {"token": "not-a-token", **WEB}),
    responses={"200": _json("The token's state.",
                            {"$ref": "#/components/schemas/IntrospectionResponse"}),
               **CLIENT_ERRORS},
    **BY_CLIENT,
)  # fmt: skip


def _discovery(summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"tags": [DISCOVERY], "summary": summary, "security": [],
                    "responses": {"200": _json(summary, schema)}}}  # fmt: skip


def _partner_discovery() -> dict[str, Any]:
    """A partner sandbox's metadata at the host's well-known URI (RFC 8414 §3.1)."""
    operations = _discovery("A partner sandbox's server metadata (RFC 8414 §3.1)", METADATA)
    operations["get"]["responses"]["404"] = {"$ref": "#/components/responses/NOT_FOUND"}
    return operations


def document_oauth(spec: APISpec, app: Flask) -> None:
    """Add /oauth and /.well-known to the OpenAPI document `spec`, at the views' own rules."""
    spec.tag({"name": OAUTH, "description": "The authorization server (OAuth 2.1)."})
    spec.tag({"name": DISCOVERY, "description": "RFC 8414 metadata and the signing keys."})
    spec.components.security_scheme(
        "clientSecretBasic",
        {"type": "http", "scheme": "basic", "description": "A confidential client's secret."},
    )
    # apispec cleans what it is given in place, and every app documents these afresh.
    spec.components.schema("OAuthError", deepcopy(OAUTH_ERROR))
    spec.components.schema("TokenResponse", deepcopy(TOKEN))
    spec.components.schema("IntrospectionResponse", deepcopy(INTROSPECTION))
    for endpoint, operations in (
        ("oauth.consent", AUTHORIZE),
        ("oauth.token", {"post": TOKEN_OPERATION}),
        ("oauth.revoke", {"post": REVOKE}),
        ("oauth.introspect", {"post": INTROSPECT}),
        ("wellknown.metadata", _discovery("Server metadata (RFC 8414)", METADATA)),
        ("wellknown.partner_metadata", _partner_discovery()),
        ("wellknown.jwks", _discovery("The signing keys (RFC 7517)", JWKS)),
    ):
        (rule,) = app.url_map.iter_rules(endpoint)
        spec.path(rule=rule, operations=deepcopy(operations))
    if "registration.register" in app.view_functions:  # off with the sandbox controls
        document_registration(spec, app)
