"""A catalogue of bad input: one parametrised test per endpoint family.

Malformed and missing parameters, wrong types, huge values, bytes that are not UTF-8,
control characters, parameters given twice, wrong content types and bodies over the
limit. Each gets the status its endpoint documents, in that endpoint's error format:

- `/oauth/token`, `/oauth/revoke`, `/oauth/introspect`: RFC 6749 §5.2 JSON,
  `{"error", "error_description"}`, never cached;
- `/oauth/authorize`: an HTML error page when the request cannot be trusted to name its
  client and redirect URI, otherwise a redirect to that URI with `error=…` and no code;
- `/v1` and `/sandbox`: `application/problem+json` whose `status` is the HTTP status and
  whose `errors` names each bad parameter.

And each changes nothing: the sessions (personal access tokens among them), the clock and
the loaded data set are as they were, and the token obtained before still works.

Queries and bodies are sent exactly as written here, so `%FF%FE` and `limit=1&limit=2`
reach the server as they are. tests/test_hardening.py holds the token, authorize and
personal-access-token endpoints to the body limit byte for byte; here it is the others.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from conftest import TENANT, load

from messpunkt.clock import LATEST
from messpunkt.testing import DEMO_CLIENT, DEMO_REDIRECT_URI, QUICKSTART_PROPERTY, obtain_tokens

LIMIT = 8192
ADMIN_KEY = "bad-input-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": ADMIN_KEY}
ISSUER = "http://localhost:8000"
WEB_CLIENT, WEB_SECRET = "sandbox-web-client", "sandbox-web-client-secret-change-me"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
FORM, JSON = "application/x-www-form-urlencoded", "application/json"
PROBLEM = "application/problem+json"
HUGE = 10**30


UNIT = next(u["id"] for u in load("usage_units") if u["property_id"] == QUICKSTART_PROPERTY)
POINT = next(p["id"] for p in load("measuring_points") if p.get("usage_unit_id") == UNIT)
DEVICE = next(d["id"] for d in load("devices") if d["measuring_point_id"] == POINT)


@pytest.fixture
def messpunkt_config(messpunkt_config):
    limits = {"MESSPUNKT_MAX_BODY_BYTES": LIMIT, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}
    return {**messpunkt_config, **limits}


class Witness:
    """The sandbox as it was before a bad request, and a token obtained before it."""

    def __init__(self, app: Any, client: Any) -> None:
        self.app, self.client = app, client
        self.tokens = obtain_tokens(client)
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        sandbox = self.app.extensions["messpunkt"]
        return {
            "sessions": copy.deepcopy(list(sandbox.store.sessions())),
            "clock": (sandbox.clock.now(), sandbox.clock.frozen),
            "data set": (sandbox.store.state().generation, sandbox.open().data.directory),
        }

    def assert_nothing_changed(self) -> None:
        after = self.snapshot()
        assert after["sessions"] == self.before["sessions"]  # none created, revoked or rotated
        assert after == self.before
        assert self.client.get("/v1/whoami", headers=self.tokens.bearer).status_code == 200


@pytest.fixture
def witness(messpunkt_app, messpunkt_client) -> Witness:
    return Witness(messpunkt_app, messpunkt_client)


def case(name: str, *values: Any) -> Any:
    return pytest.param(*values, id=name)


def send(client, method: str, path: str, body: bytes | str | None = None, **kwargs):
    """Send `path` (with its raw query) and `body` exactly as given."""
    return client.open(path, method=method, data=body, **kwargs)


def encode(pairs: list[tuple[str, str]], raw: dict[str, str | None] | None = None) -> str:
    """URL-encode `pairs`, with the values in `raw` put in as written (None: left out)."""
    raw = raw or {}
    parts = [urlencode({name: value}) for name, value in pairs if name not in raw]
    parts += [f"{name}={value}" for name, value in raw.items() if value is not None]
    return "&".join(parts)


def problem(status: int, detail: str = "some parameters are invalid; see errors", **errors):
    title = {400: "Bad Request", 404: "Not Found", 413: "Request Entity Too Large",
             422: "Unprocessable Entity"}[status]  # fmt: skip
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors:
        body["errors"] = errors
    return body


# /oauth/authorize -------------------------------------------------------------------------------

REQUEST = [
    ("client_id", DEMO_CLIENT), ("redirect_uri", DEMO_REDIRECT_URI), ("scope", "read:units"),
    ("state", "s"), ("code_challenge", CHALLENGE), ("code_challenge_method", "S256"),
]  # fmt: skip
CONSENT = [*REQUEST, ("response_type", "code")]
APPROVE = [*REQUEST, ("property", QUICKSTART_PROPERTY), ("decision", "approve")]
CONTROL_CHARACTERS = "state contains control characters"


@dataclass(frozen=True)
class Page:
    """An HTML error page: the request cannot be trusted to say where to redirect."""

    description: str
    status: int = 400


@dataclass(frozen=True)
class Redirect:
    """A redirect to the registered URI with `error`; `state` only when it was sound."""

    error: str
    description: str
    state: str | None = "s"


def consent(**raw: str | None) -> tuple[str, str, str | bytes | None, str | None]:
    return "GET", "/oauth/authorize?" + encode(CONSENT, raw), None, None


def decide(body: str | bytes, content_type: str = FORM):
    return "POST", "/oauth/authorize", body, content_type


AUTHORIZE = [
    case("GET-nothing-names-the-client",
         consent(client_id=None, redirect_uri=None), Page("client_id is required")),
    case("GET-client_id-not-utf8",
         consent(client_id="%FF%FE"), Page("client_id is not UTF-8")),
    case("GET-a-hundred-and-one-fields",
         consent(client_id=DEMO_CLIENT + "&x=1" * 95), Page("a form has at most 100 fields")),
    case("GET-client_id-nul",
         consent(client_id=DEMO_CLIENT + "%00"), Page("client_id contains control characters")),
    case("GET-client_id-twice",
         consent(client_id=f"{DEMO_CLIENT}&client_id={DEMO_CLIENT}"),
         Page("client_id must not be repeated")),
    case("GET-redirect_uri-huge",
         consent(redirect_uri="http://localhost:3000/" + "a" * 20000),
         Page("redirect_uri is not registered for this client")),
    case("GET-redirect_uri-escape",
         consent(redirect_uri="http%3A%2F%2Flocalhost%3A3000%2Fcallback%1B"),
         Page("redirect_uri contains control characters")),
    case("GET-state-nul",
         consent(state="%00"), Redirect("invalid_request", CONTROL_CHARACTERS, None)),
    case("GET-state-escape-sequence",
         consent(state="%1B%5B31m"), Redirect("invalid_request", CONTROL_CHARACTERS, None)),
    case("GET-state-not-utf8",  # read with U+FFFD, the client got a state it never sent
         consent(state="%FF%FE"), Redirect("invalid_request", "state is not UTF-8", None)),
    case("GET-state-twice",
         consent(state="s&state=t"),
         Redirect("invalid_request", "state must not be repeated", None)),
    case("GET-response_type-not-utf8",
         consent(response_type="%FF%FE"),
         Redirect("invalid_request", "response_type is not UTF-8")),
    case("GET-response_type-missing",
         consent(response_type=None), Redirect("invalid_request", "response_type is required")),
    case("GET-code_challenge-huge",
         consent(code_challenge="A" * 20000),
         Redirect("invalid_request", "code_challenge must be 43 base64url characters (S256)")),
    case("GET-code_challenge_method-not-utf8",
         consent(code_challenge_method="%FF%FE"),
         Redirect("invalid_request", "code_challenge_method is not UTF-8")),
    case("GET-scope-nul",
         consent(scope="read%3Aunits%00"),
         Redirect("invalid_request", "scope contains control characters")),
    case("POST-raw-bytes-not-utf8",
         decide(encode(APPROVE).encode() + b"&user=\xff\xfe"), Page("the form body is not UTF-8")),
    case("POST-state-nul",
         decide(encode(APPROVE, {"state": "%00"})),
         Redirect("invalid_request", CONTROL_CHARACTERS, None)),
    case("POST-decision-not-utf8",
         decide(encode(APPROVE, {"decision": "%FF%FE"})),
         Redirect("invalid_request", "decision is not UTF-8")),
    case("POST-state-not-utf8",
         decide(encode(APPROVE, {"state": "%FF%FE"})),
         Redirect("invalid_request", "state is not UTF-8", None)),
    case("POST-decision-twice",
         decide(encode(APPROVE, {"decision": "approve&decision=deny"})),
         Redirect("invalid_request", "decision must not be repeated")),
    case("POST-decision-missing",
         decide(encode(APPROVE, {"decision": None})),
         Redirect("invalid_request", "decision is required")),
    case("POST-property-escape",
         decide(encode(APPROVE, {"property": "%1B"})),
         Redirect("invalid_request", "unknown property '\\x1b'")),
    case("POST-user-huge",
         decide(encode(APPROVE, {"user": "u" * 1500})),
         Redirect("invalid_request", "user is not a demo user of the granting tenant")),
    case("POST-text-plain",
         decide(encode(APPROVE), "text/plain"), Page("client_id is required")),
    case("POST-json",
         decide(json.dumps(dict(APPROVE)), JSON), Page("client_id is required")),
    case("POST-oversized",
         decide(encode(APPROVE, {"padding": "x" * LIMIT})),
         Page("the request body is too large", 413)),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "expected"), AUTHORIZE)
def test_bad_authorization_requests_get_an_error_page_or_an_error_redirect_and_no_code(
    witness, request_, expected
):
    method, path, body, content_type = request_
    response = send(witness.client, method, path, body, content_type=content_type)

    if isinstance(expected, Page):
        assert (response.status_code, response.mimetype) == (expected.status, "text/html")
        assert "Location" not in response.headers
        assert f'<p id="error-description">{expected.description}</p>' in response.text
    else:
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == DEMO_REDIRECT_URI
        query = {name: values[0] for name, values in parse_qs(location.query).items()}
        assert query == {
            "error": expected.error,
            "error_description": expected.description,
            "iss": ISSUER,
            **({"state": expected.state} if expected.state else {}),
        }  # and no code
    witness.assert_nothing_changed()


# /oauth/token -----------------------------------------------------------------------------------

CODE_GRANT = [
    ("grant_type", "authorization_code"), ("code", "A" * 40), ("client_id", DEMO_CLIENT),
    ("redirect_uri", DEMO_REDIRECT_URI), ("code_verifier", "v" * 43),
]  # fmt: skip
REFRESH = [("grant_type", "refresh_token"), ("refresh_token", "r"), ("client_id", DEMO_CLIENT)]
GRANT_TYPES = "grant_type must be one of authorization_code, refresh_token, client_credentials"
NOT_STRINGS = "the JSON body must be an object of string values"
CONTENT_TYPES = "use application/x-www-form-urlencoded or application/json"
NOT_UTF8 = "the form body is not UTF-8"
MULTIPART = "multipart/form-data; boundary=b"


def basic(credentials: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


TOKEN = [
    case("grant_type-not-utf8",
         encode(CODE_GRANT, {"grant_type": "%FF%FE"}), FORM, {},
         (400, "unsupported_grant_type", GRANT_TYPES)),
    case("grant_type-empty",
         encode(CODE_GRANT, {"grant_type": ""}), FORM, {},
         (400, "invalid_request", "grant_type is required")),
    case("code-nul",
         encode(CODE_GRANT, {"code": "%00"}), FORM, {},
         (400, "invalid_request", "code contains control characters")),
    case("refresh_token-escape-sequence",
         encode(REFRESH, {"refresh_token": "%1B%5B2J"}), FORM, {},
         (400, "invalid_request", "refresh_token contains control characters")),
    case("code-huge",
         encode(CODE_GRANT, {"code": "A" * 6000}), FORM, {},
         (400, "invalid_grant", "authorization code is unknown")),
    # Whether redirect_uri is required depends on the code's authorization request.
    case("redirect_uri-missing",
         encode(CODE_GRANT, {"redirect_uri": None}), FORM, {},
         (400, "invalid_grant", "authorization code is unknown")),
    case("raw-bytes-not-utf8",
         encode(CODE_GRANT).encode() + b"&code_verifier=\xff\xfe", FORM, {},
         (400, "invalid_request", NOT_UTF8)),
    case("latin-1-form",
         b"grant_type=client_credentials&client_id=sandbox-service-client\xe4",
         FORM + "; charset=latin-1", {}, (400, "invalid_request", NOT_UTF8)),
    case("json-member-twice",
         json.dumps(dict(REFRESH))[:-1] + ', "refresh_token": "s"}', JSON, {},
         (400, "invalid_request", "refresh_token must not be repeated")),
    case("json-number",
         json.dumps({**dict(REFRESH), "refresh_token": 5}), JSON, {},
         (400, "invalid_request", NOT_STRINGS)),
    case("json-list",
         json.dumps({**dict(REFRESH), "refresh_token": ["r"]}), JSON, {},
         (400, "invalid_request", NOT_STRINGS)),
    case("json-array-of-pairs",
         json.dumps([list(pair) for pair in REFRESH]), JSON, {},
         (400, "invalid_request", NOT_STRINGS)),
    case("json-not-utf8",
         b'{"grant_type": "\xff\xfe"}', JSON, {}, (400, "invalid_request", NOT_STRINGS)),
    case("json-nul",
         json.dumps({**dict(REFRESH), "refresh_token": "r\u0000"}), JSON, {},
         (400, "invalid_request", "refresh_token contains control characters")),
    case("multipart",
         b'--b\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\n'
         b"client_credentials\r\n--b--\r\n", MULTIPART, {},
         (400, "invalid_request", CONTENT_TYPES)),
    case("no-content-type",
         encode(REFRESH), None, {}, (400, "invalid_request", CONTENT_TYPES)),
    case("basic-not-utf8",
         "grant_type=client_credentials", FORM, basic(b"\xff\xfe:secret"),
         (401, "invalid_client", "malformed Basic credentials")),
    case("basic-not-base64",
         "grant_type=client_credentials", FORM, {"Authorization": "Basic %%%"},
         (401, "invalid_client", "malformed Basic credentials")),
    case("basic-not-ascii",  # a server reads header bytes as Latin-1 (PEP 3333)
         "grant_type=client_credentials", FORM, {"Authorization": "Basic \u00e4\u00e4\u00e4\u00e4"},
         (401, "invalid_client", "malformed Basic credentials")),
    case("basic-without-credentials",
         "grant_type=client_credentials", FORM, {"Authorization": "Basic"},
         (401, "invalid_client", "malformed Basic credentials")),
    case("basic-huge",
         "grant_type=client_credentials", FORM, basic(b"c" * 3000 + b":" + b"s" * 3000),
         (401, "invalid_client", "unknown client")),
]  # fmt: skip


@pytest.mark.parametrize(("body", "content_type", "headers", "expected"), TOKEN)
def test_bad_token_requests_get_an_rfc_6749_error_and_no_tokens(
    witness, body, content_type, headers, expected
):
    response = send(
        witness.client, "POST", "/oauth/token", body, content_type=content_type, headers=headers
    )

    status, error, description = expected
    assert (response.status_code, response.mimetype) == (status, JSON)
    assert response.get_json() == {"error": error, "error_description": description}
    assert response.headers["Cache-Control"] == "no-store"
    # RFC 6749 §5.2: a failed Authorization header is answered with a challenge.
    assert ("WWW-Authenticate" in response.headers) == ("Authorization" in headers)
    witness.assert_nothing_changed()


# /oauth/revoke and /oauth/introspect ------------------------------------------------------------

CLIENT = {
    "/oauth/revoke": [("client_id", DEMO_CLIENT)],
    "/oauth/introspect": [("client_id", WEB_CLIENT), ("client_secret", WEB_SECRET)],
}
# RFC 7009 §2.2, RFC 7662 §2.2: an unknown token is "revoked", and introspected as inactive.
UNKNOWN = {"/oauth/revoke": {}, "/oauth/introspect": {"active": False}}


def form(raw: dict[str, str | None] | None = None, tail: bytes = b""):
    """A form for either endpoint: its client's credentials, a token, and `raw` as written."""
    return lambda path: encode([*CLIENT[path], ("token", "t")], raw).encode() + tail


def json_body(members: str):
    """A JSON body for either endpoint: its client's credentials and `members` as written."""
    return lambda path: json.dumps(dict(CLIENT[path]))[:-1] + ", " + members + "}"


REVOCATION = [
    case("token-nul",
         form({"token": "%00"}), FORM,
         (400, "invalid_request", "token contains control characters")),
    case("token-missing",
         form({"token": None}), FORM, (400, "invalid_request", "token is required")),
    case("token_type_hint-escape",
         form({"token_type_hint": "%1B"}), FORM,
         (400, "invalid_request", "token_type_hint contains control characters")),
    case("token_type_hint-not-utf8",
         form({"token_type_hint": "%FF%FE"}), FORM, (200, None, None)),
    case("token-twice",
         form({"token": "t&token=u"}), FORM,
         (400, "invalid_request", "token must not be repeated")),
    case("raw-bytes-not-utf8",
         form(tail=b"&token_type_hint=\xff"), FORM, (400, "invalid_request", NOT_UTF8)),
    case("json-list",
         json_body('"token": ["t"]'), JSON, (400, "invalid_request", NOT_STRINGS)),
    case("json-member-twice",
         json_body('"token": "t", "token": "u"'), JSON,
         (400, "invalid_request", "token must not be repeated")),
    case("text-plain",
         form(), "text/plain", (400, "invalid_request", CONTENT_TYPES)),
    case("oversized",
         form({"padding": "x" * LIMIT}), FORM,
         (413, "invalid_request", "the request body is too large")),
    case("token-huge", form({"token": "t" * 6000}), FORM, (200, None, None)),
    case("token-not-utf8", form({"token": "%FF%FE"}), FORM, (200, None, None)),
]  # fmt: skip


@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect"])
@pytest.mark.parametrize(("body", "content_type", "expected"), REVOCATION)
def test_bad_revocation_and_introspection_requests_get_an_rfc_6749_error_and_revoke_nothing(
    witness, path, body, content_type, expected
):
    response = send(witness.client, "POST", path, body(path), content_type=content_type)

    status, error, description = expected
    assert (response.status_code, response.mimetype) == (status, JSON)
    if error is None:
        assert response.get_json() == UNKNOWN[path]
    else:
        assert response.get_json() == {"error": error, "error_description": description}
    assert response.headers["Cache-Control"] == "no-store"
    witness.assert_nothing_changed()


@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect"])
@pytest.mark.parametrize("authorization", ["Basic \u00e4\u00e4\u00e4\u00e4", "Basic"])
def test_a_malformed_basic_header_is_invalid_client_with_its_challenge_at_revoke_and_introspect(
    witness, path, authorization
):
    response = send(witness.client, "POST", path, "token=t", content_type=FORM,
                    headers={"Authorization": authorization})  # fmt: skip
    assert (response.status_code, response.mimetype) == (401, JSON)
    assert response.get_json() == {
        "error": "invalid_client",
        "error_description": "malformed Basic credentials",
    }
    # RFC 6749 §5.2: the client tried the Authorization header, so it gets a challenge.
    assert response.headers["WWW-Authenticate"] == 'Basic realm="messpunkt sandbox"'
    witness.assert_nothing_changed()


# /v1 lists and details --------------------------------------------------------------------------

LIMIT_RANGE = "Must be greater than or equal to 1 and less than or equal to 200."
DATE_RANGE = "Must be greater than or equal to 2000-01-01 and less than or equal to 2099-12-31."
METRIC = "Must be one of: water_warm, water_cold, heat, heat_allocation."
ID_LENGTH = "Length must be between 1 and 64."
# A parameter given twice: which one was meant? Neither is taken.
TWICE = "Given more than once."
NOT_INTEGER, NOT_DATE, NOT_STRING = (
    "Not a valid integer: digits 0-9 only, without sign, spaces or leading zeros.",
    "Not a valid date.",
    "Not a valid string.",
)
EMPTY = {"data": [], "pagination": {"next_cursor": None}}
LISTS = {
    "properties": "/v1/properties",
    "usage-units": "/v1/usage-units",
    "measuring-points": f"/v1/usage-units/{UNIT}/measuring-points",
    "devices": "/v1/devices",
    "readings": f"/v1/devices/{DEVICE}/readings",
}


def invalid(field: str, message: str) -> tuple[int, dict[str, Any]]:
    return 400, problem(400, **{field: [message]})


def not_found(kind: str) -> tuple[int, dict[str, Any]]:
    return 404, problem(404, f"no {kind} with this id in the token's property scope")


BAD_CURSOR = (400, problem(400, "the cursor is invalid", cursor=["Invalid cursor."]))
EVERY_LIST = {
    "limit-not-utf8": ("limit=%FF%FE", invalid("limit", NOT_INTEGER)),
    "limit-nul": ("limit=%00", invalid("limit", NOT_INTEGER)),
    "limit-twice": ("limit=1&limit=2", invalid("limit", TWICE)),
    "limit-huge": (f"limit={HUGE}", invalid("limit", LIMIT_RANGE)),
    "limit-fraction": ("limit=1.5", invalid("limit", NOT_INTEGER)),
    "limit-empty": ("limit=", invalid("limit", NOT_INTEGER)),
    "cursor-not-utf8": ("cursor=%FF%FE", BAD_CURSOR),
    "cursor-escape": ("cursor=%1B", BAD_CURSOR),
    "cursor-huge": ("cursor=" + "c" * 513, invalid("cursor", "Longer than maximum length 512.")),
    "unknown-parameter": ("limti=5", invalid("limti", "Unknown field.")),
    "unknown-parameter-twice": ("limti=5&limti=6", invalid("limti", "Unknown field.")),
    "cursor-twice": ("cursor=a&cursor=b", invalid("cursor", TWICE)),
}
CATALOGUE = [
    *(case(f"{name}-{bad}", f"{path}?{query}", *expected)
      for name, path in LISTS.items() for bad, (query, expected) in EVERY_LIST.items()),
    case("property_id-empty",
         "/v1/usage-units?property_id=", *invalid("property_id", ID_LENGTH)),
    case("property_id-huge",
         "/v1/usage-units?property_id=" + "p" * 65, *invalid("property_id", ID_LENGTH)),
    case("property_id-twice",
         f"/v1/usage-units?property_id={QUICKSTART_PROPERTY}&property_id=x",
         *invalid("property_id", TWICE)),
    case("active_on-huge",
         "/v1/devices?active_on=9999-12-31", *invalid("active_on", DATE_RANGE)),
    case("active_on-not-utf8",
         "/v1/devices?active_on=%FF%FE", *invalid("active_on", NOT_DATE)),
    case("metric-nul", "/v1/devices?metric=heat%00", *invalid("metric", METRIC)),
    case("metric-twice",
         "/v1/devices?metric=heat&metric=water_cold", *invalid("metric", TWICE)),
    # An id that names nothing filters down to nothing, like one outside the token's scope.
    case("property_id-nul", "/v1/usage-units?property_id=%00", 200, EMPTY),
    case("usage_unit_id-not-utf8", "/v1/devices?usage_unit_id=%FF%FE", 200, EMPTY),
    case("measuring_point_id-escape", "/v1/devices?measuring_point_id=%1B", 200, EMPTY),
    case("property-id-not-utf8", "/v1/properties/%FF%FE", *not_found("property")),
    case("unit-id-nul", "/v1/usage-units/%00", *not_found("usage unit")),
    case("unit-id-escape", "/v1/usage-units/%1B/measuring-points", *not_found("usage unit")),
    case("device-id-huge", "/v1/devices/" + "d" * 5000, *not_found("device")),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "body"), CATALOGUE)
def test_bad_list_and_detail_parameters_get_a_problem_naming_the_field(witness, url, status, body):
    response = send(witness.client, "GET", url, headers=witness.tokens.bearer)

    assert (response.status_code, response.mimetype) == (status, PROBLEM if status > 200 else JSON)
    assert response.get_json() == body
    witness.assert_nothing_changed()


# /v1 consumption and monthly --------------------------------------------------------------------

CONSUMPTION = f"/v1/usage-units/{UNIT}/consumption"
MONTHLY = f"/v1/usage-units/{UNIT}/consumption/monthly"
YEAR_RANGE = "Must be greater than or equal to 2001 and less than or equal to 2099."
MISSING = "Missing data for required field."
YEAR = "from=2026-01-01&to=2026-12-31"

READS = [
    case("window-huge",
         f"{CONSUMPTION}?from=9999-12-31&to=9999-12-31",
         {"from": [DATE_RANGE], "to": [DATE_RANGE]}),
    case("from-year-1", f"{CONSUMPTION}?from=0001-01-01&to=2026-01-01", {"from": [DATE_RANGE]}),
    case("from-not-utf8", f"{CONSUMPTION}?from=%FF%FE&to=2026-01-01", {"from": [NOT_DATE]}),
    case("from-nul", f"{CONSUMPTION}?from=2026-01-01%00&to=2026-01-02", {"from": [NOT_DATE]}),
    case("from-escape", f"{CONSUMPTION}?from=%1B&to=2026-01-02", {"from": [NOT_DATE]}),
    case("from-twice", f"{CONSUMPTION}?{YEAR}&from=2026-02-01", {"from": [TWICE]}),
    case("from-a-datetime",
         f"{CONSUMPTION}?from=2026-01-01T00:00:00Z&to=2026-01-02", {"from": [NOT_DATE]}),
    # ISO 8601's basic and week forms: Python reads them, `format: date` does not allow them.
    case("from-basic", f"{CONSUMPTION}?from=20260301&to=2026-03-31", {"from": [NOT_DATE]}),
    case("from-a-week-day", f"{CONSUMPTION}?from=2026-W10-1&to=2026-03-31", {"from": [NOT_DATE]}),
    case("from-arabic-indic-digits",
         f"{CONSUMPTION}?from=%D9%A2%D9%A0%D9%A2%D9%A6-03-01&to=2026-03-31", {"from": [NOT_DATE]}),
    case("window-empty", f"{CONSUMPTION}?from=&to=", {"from": [NOT_DATE], "to": [NOT_DATE]}),
    case("window-missing", CONSUMPTION, {"from": [MISSING], "to": [MISSING]}),
    case("metric-nul", f"{CONSUMPTION}?{YEAR}&metric=heat%00", {"metric": [METRIC]}),
    case("metric-twice",
         f"{CONSUMPTION}?{YEAR}&metric=heat&metric=heat", {"metric": [TWICE]}),
    case("unknown-parameter",
         f"{CONSUMPTION}?{YEAR}&From=2026-01-01", {"From": ["Unknown field."]}),
    case("year-huge", f"{MONTHLY}?year=1000000000&metric=heat", {"year": [YEAR_RANGE]}),
    case("year-huger", f"{MONTHLY}?year={HUGE}&metric=heat", {"year": [YEAR_RANGE]}),
    case("year-not-utf8", f"{MONTHLY}?year=%FF%FE&metric=heat", {"year": [NOT_INTEGER]}),
    case("year-nul", f"{MONTHLY}?year=2026%00&metric=heat", {"year": [NOT_INTEGER]}),
    case("year-twice", f"{MONTHLY}?year=2026&year=2025&metric=heat", {"year": [TWICE]}),
    case("year-boolean", f"{MONTHLY}?year=true&metric=heat", {"year": [NOT_INTEGER]}),
    case("metric-escape", f"{MONTHLY}?year=2026&metric=%1B", {"metric": [METRIC]}),
    case("metric-empty", f"{MONTHLY}?year=2026&metric=", {"metric": [METRIC]}),
]  # fmt: skip


@pytest.mark.parametrize(("url", "errors"), READS)
def test_bad_consumption_parameters_get_a_400_problem_naming_each_field(witness, url, errors):
    response = send(witness.client, "GET", url, headers=witness.tokens.bearer)

    assert (response.status_code, response.mimetype) == (400, PROBLEM)
    assert response.get_json() == problem(400, **errors)
    witness.assert_nothing_changed()


# /v1/devices/{id}/readings ----------------------------------------------------------------------

READINGS = f"/v1/devices/{DEVICE}/readings"
READING_CASES = [
    case("from-huge", f"{READINGS}?from=9999-12-31", *invalid("from", DATE_RANGE)),
    case("to-year-1", f"{READINGS}?to=0001-01-01", *invalid("to", DATE_RANGE)),
    case("from-twice", f"{READINGS}?from=2026-01-01&from=2026-02-01", *invalid("from", TWICE)),
    case("to-not-utf8", f"{READINGS}?to=%FF%FE", *invalid("to", NOT_DATE)),
    case("from-nul", f"{READINGS}?from=%00", *invalid("from", NOT_DATE)),
    case("to-before-from",
         f"{READINGS}?from=2026-02-01&to=2026-01-31", *invalid("to", "must not be before from")),
    case("limit-huge-and-to-before-from",
         f"{READINGS}?from=2026-02-01&to=2026-01-31&limit={HUGE}", *invalid("limit", LIMIT_RANGE)),
    case("unknown-parameter", f"{READINGS}?days=3", *invalid("days", "Unknown field.")),
    case("device-id-not-utf8", "/v1/devices/%FF%FE/readings?from=2026-01-01", *not_found("device")),
    case("bad-parameters-of-an-unknown-device",
         "/v1/devices/%00/readings?from=9999-12-31", *invalid("from", DATE_RANGE)),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "body"), READING_CASES)
def test_bad_reading_parameters_get_a_problem_naming_the_field(witness, url, status, body):
    response = send(witness.client, "GET", url, headers=witness.tokens.bearer)

    assert (response.status_code, response.mimetype) == (status, PROBLEM)
    assert response.get_json() == body
    witness.assert_nothing_changed()


# /sandbox controls ------------------------------------------------------------------------------

NOT_JSON = problem(400, "the body is not JSON", json=["Invalid JSON body."])
NOT_SENT_AS_JSON = problem(
    400, "the body is not JSON: send it as application/json", json=["Not sent as application/json."]
)
OUT_OF_RANGE = "that instant is out of range"
TOO_LARGE = problem(413, "The data value transmitted exceeds the capacity limit.")
PAT = {
    "tenant_id": TENANT, "name": "ERP import", "scopes": ["read:units"],
    "property_ids": [QUICKSTART_PROPERTY], "expires_in": 3600,
}  # fmt: skip
EXPIRES_IN = "Must be greater than or equal to 60 and less than or equal to 31622400."
LONG = "/" + "0" * 4095  # the longest directory the schema takes, too long for a file system
REFUSED = "the data set was refused and nothing changed: {} at $: not a directory"


def duration(text: str) -> dict[str, Any]:
    message = (
        "not a duration the clock takes: ISO 8601 weeks, days, hours, minutes and seconds (to "
        "the millisecond), such as P1W2D, PT1H30M or PT0.5S; not years or months, which have "
        f"no fixed length: {text!r}"
    )
    return problem(400, message, by=[message])


def refused(directory: str) -> dict[str, Any]:
    return problem(422, REFUSED.format(directory), **{directory: ["$: not a directory"]})


def control(path: str, body: Any = None, content_type: str = JSON, method: str = "POST"):
    if body is not None and not isinstance(body, bytes | str):
        body = json.dumps(body)
    return method, path, body, content_type


def listing(path: str):
    return control(path, method="GET")


CONTROLS = [
    case("advance-by-number",
         control("/sandbox/clock/advance", {"by": 5}), 400, problem(400, by=[NOT_STRING])),
    case("advance-to-number",
         control("/sandbox/clock/advance", {"to": 12}), 400,
         problem(400, to=["Not a valid datetime."])),
    case("advance-to-year-9999",
         control("/sandbox/clock/advance", {"to": "9999-12-31T23:59:59Z"}), 400,
         problem(400, OUT_OF_RANGE, to=["Out of range."])),
    case("advance-by-a-duration-to-year-9418",
         control("/sandbox/clock/advance", {"by": "P2700000D"}), 400,
         problem(400, OUT_OF_RANGE, by=["Out of range."])),
    case("advance-by-a-duration-too-large-for-python",
         control("/sandbox/clock/advance", {"by": f"P{HUGE}D"}), 400,
         problem(400, f"duration too large: 'P{HUGE}D'", by=[f"duration too large: 'P{HUGE}D'"])),
    case("advance-by-arabic-indic-digits",
         control("/sandbox/clock/advance", {"by": "PT\u0661H"}), 400, duration("PT\u0661H")),
    case("advance-to-basic-form",
         control("/sandbox/clock/advance", {"to": "20300101T000000Z"}), 400,
         problem(400, to=["Not a valid datetime."])),
    case("advance-by-nul",
         control("/sandbox/clock/advance", {"by": "PT1H\u0000"}), 400, duration("PT1H\x00")),
    case("advance-by-escape-sequence",
         control("/sandbox/clock/advance", {"by": "\u001b[2J"}), 400, duration("\x1b[2J")),
    case("advance-by-twice",
         control("/sandbox/clock/advance", '{"by": "PT1H", "by": "P31D"}'), 400,
         problem(400, by=["Given more than once."])),
    case("advance-not-utf8",
         control("/sandbox/clock/advance", b'{"by": "\xff\xfe"}'), 400, NOT_JSON),
    case("advance-text-plain",
         control("/sandbox/clock/advance", {"by": "PT1H"}, "text/plain"), 400, NOT_SENT_AS_JSON),
    case("advance-form",
         control("/sandbox/clock/advance", "by=PT1H", FORM), 400, NOT_SENT_AS_JSON),
    case("advance-oversized",
         control("/sandbox/clock/advance", {"by": "PT1H", "pad": "x" * LIMIT}), 413, TOO_LARGE),
    case("freeze-at-boolean",
         control("/sandbox/clock/freeze", {"at": True}), 400,
         problem(400, at=["Not a valid datetime."])),
    case("freeze-at-naive",
         control("/sandbox/clock/freeze", {"at": "2030-01-01T00:00:00"}), 400,
         problem(400, at=["Not a valid aware datetime."])),
    case("freeze-at-year-9999",
         control("/sandbox/clock/freeze", {"at": "9999-12-31T23:59:59+00:00"}), 400,
         problem(400, OUT_OF_RANGE, at=["Out of range."])),
    case("freeze-null",  # null is JSON, an object it is not
         control("/sandbox/clock/freeze", "null"), 400,
         problem(400, _schema=["Invalid input type."])),
    case("freeze-array",
         control("/sandbox/clock/freeze", [{"at": "2030-01-01T00:00:00Z"}]), 400,
         problem(400, _schema=["Invalid input type."])),
    case("token-every-type-wrong",
         control("/sandbox/personal-access-tokens", {"tenant_id": 1, "name": [],
                 "scopes": "read:units", "property_ids": {}, "expires_in": "soon"}), 400,
         problem(400, tenant_id=[NOT_STRING], name=[NOT_STRING], scopes=["Not a valid list."],
                 property_ids=["Not a valid list."], expires_in=["Not a valid integer."])),
    case("token-expires_in-huge",
         control("/sandbox/personal-access-tokens", {**PAT, "expires_in": HUGE}), 400,
         problem(400, expires_in=[EXPIRES_IN])),
    case("token-name-control-characters",
         control("/sandbox/personal-access-tokens", {**PAT, "name": "a\u0000\u001b[2J"}), 400,
         problem(400, name=["Must not contain control characters."])),
    case("token-name-lone-surrogate",  # memory kept it; Redis could not encode it: a 500
         control("/sandbox/personal-access-tokens", {**PAT, "name": "a\ud800"}), 400,
         problem(400, name=["Must be UTF-8 text (no lone surrogate)."])),
    case("token-name-huge",
         control("/sandbox/personal-access-tokens", {**PAT, "name": "n" * 101}), 400,
         problem(400, name=["Length must be between 1 and 100."])),
    case("token-name-twice",
         control("/sandbox/personal-access-tokens", json.dumps(PAT)[:-1] + ', "name": "x"}'), 400,
         problem(400, name=["Given more than once."])),
    case("token-tenant-not-utf8",
         control("/sandbox/personal-access-tokens", {**PAT, "tenant_id": "%FF%FE"}), 422,
         problem(422, "unknown tenant", tenant_id=["Unknown tenant."])),
    case("token-form",
         control("/sandbox/personal-access-tokens", urlencode(PAT, doseq=True), FORM), 400,
         NOT_SENT_AS_JSON),
    case("token-multipart",
         control("/sandbox/personal-access-tokens",
                 b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nn\r\n--b--\r\n',
                 MULTIPART), 400, NOT_SENT_AS_JSON),
    case("data-directory-number",
         control("/sandbox/data", {"directory": 5}), 400, problem(400, directory=[NOT_STRING])),
    case("data-neither-set-nor-directory",
         control("/sandbox/data", {}), 400,
         problem(400, data_set=["give exactly one of data_set and directory"])),
    case("data-set-and-directory",
         control("/sandbox/data", {"data_set": "default", "directory": "/tmp"}), 400,
         problem(400, data_set=["give exactly one of data_set and directory"])),
    case("data-set-nul",
         control("/sandbox/data", {"data_set": "default\u0000"}), 422,
         problem(422, "no data set of this name",
                 data_set=["Unknown data set; the known ones: default."])),
    case("data-directory-nul",
         control("/sandbox/data", {"directory": "/a\u0000b"}), 422, refused("/a\x00b")),
    case("data-directory-longer-than-a-file-name",
         control("/sandbox/data", {"directory": LONG}), 422, refused(LONG)),
    case("data-directory-lone-surrogate",  # the 422 naming it could not be written: a 500
         control("/sandbox/data", {"directory": "/tmp/\ud800"}), 400,
         problem(400, directory=["Must be UTF-8 text (no lone surrogate)."])),
    case("data-set-lone-surrogate",
         control("/sandbox/data", {"data_set": "default\ud800"}), 400,
         problem(400, data_set=["Must be UTF-8 text (no lone surrogate)."])),
    case("data-directory-huge",
         control("/sandbox/data", {"directory": LONG + "0"}), 400,
         problem(400, directory=["Length must be between 1 and 4096."])),
    case("sessions-limit-not-utf8",
         listing("/sandbox/sessions?limit=%FF%FE"), 400, problem(400, limit=[NOT_INTEGER])),
    case("sessions-limit-twice",
         listing("/sandbox/sessions?limit=1&limit=2"), 400, problem(400, limit=[TWICE])),
    case("sessions-state-nul",
         listing("/sandbox/sessions?state=active%00"), 400,
         problem(400, state=["Must be one of: active, revoked, expired."])),
    case("sessions-client_id-huge",
         listing("/sandbox/sessions?client_id=" + "c" * 101), 400,
         problem(400, client_id=["Length must be between 1 and 100."])),
    case("tokens-limit-huge",
         listing(f"/sandbox/personal-access-tokens?limit={HUGE}"), 400,
         problem(400, limit=[LIMIT_RANGE])),
    case("session-id-not-utf8",
         listing("/sandbox/sessions/%FF%FE"), 404, problem(404, "no session with this id")),
    case("revoke-session-id-nul",
         control("/sandbox/sessions/%00/revoke"), 404, problem(404, "no session with this id")),
    case("delete-token-id-huge",
         control("/sandbox/personal-access-tokens/" + "t" * 5000, method="DELETE"), 404,
         problem(404, "no personal access token with this id")),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "status", "body"), CONTROLS)
def test_bad_control_requests_get_a_problem_naming_the_field_and_change_nothing(
    witness, request_, status, body
):
    method, path, data, content_type = request_
    response = send(witness.client, method, path, data, content_type=content_type, headers=ADMIN)

    assert (response.status_code, response.mimetype) == (status, PROBLEM)
    assert response.get_json() == body
    witness.assert_nothing_changed()


def test_a_data_set_whose_file_cannot_be_read_is_a_422_and_changes_nothing(witness, tmp_path):
    (tmp_path / "tenants.json").mkdir()  # a directory where a file belongs
    body = json.dumps({"directory": str(tmp_path)})
    response = send(witness.client, "POST", "/sandbox/data", body, content_type=JSON, headers=ADMIN)

    assert (response.status_code, response.mimetype) == (422, PROBLEM)
    assert response.get_json()["errors"] == {"tenants.json": ["$: cannot be read: Is a directory"]}
    witness.assert_nothing_changed()


# POST /sandbox/data with a data set: each edit is of the exported default data set.


def replaced(collection: str, index: int, key: str, value: Any):
    """Set one field of one item of the exported document to `value`."""

    def apply(exported: bytes) -> bytes:
        document = json.loads(exported)
        document[collection][index][key] = value
        return json.dumps(document).encode()

    return apply


def number(collection: str, index: int, key: str, text: str):
    """Set one field to the JSON number `text` as written (json.dumps would round it)."""

    def apply(exported: bytes) -> bytes:
        edited = replaced(collection, index, key, "<number>")(exported)
        return edited.replace(b'"<number>"', text.encode())

    return apply


INEXACT = "cannot be kept exactly: the API writes numbers as doubles (about 15 significant digits)"


def upload_refused(collection: str, path: str, reason: str) -> dict[str, Any]:
    detail = f"the data set was refused and nothing changed: {collection} at {path}: {reason}"
    return problem(422, detail, **{collection: [f"{path}: {reason}"]})


UPLOADS = [
    case("client-access-token-ttl-past-a-session",  # every /oauth/token of it was a 500
         replaced("clients", 2, "access_token_ttl", 10**15),
         upload_refused("clients", "$.clients[2].access_token_ttl",
                        "must be 1 to 2592000 seconds (30 days, a session's cap)")),
    case("device-removed-before-installed",  # was accepted and served
         replaced("devices", 0, "removed_at", "2000-01-01T00:00:00+01:00"),
         upload_refused("devices", "$.devices[0].removed_at", "must not be before installed_at")),
    # JSON may escape a lone surrogate; UTF-8 cannot hold one (it was "an integer beyond 64 bits").
    case("a-lone-surrogate",
         replaced("tenants", 1, "name", "Beispiel \ud800"),
         upload_refused("tenants", "$.tenants[1].name", "not valid Unicode (a lone surrogate)")),
    case("a-lone-surrogate-in-a-member-name",
         replaced("tenants", 1, "\udc00", "x"),
         upload_refused("tenants", "$.tenants[1]",
                        "a member name is not valid Unicode (a lone surrogate)")),
    case("an-integer-beyond-64-bits",
         replaced("usage_units", 2, "area_m2", 2**64),
         upload_refused("usage_units", "$.usage_units[2].area_m2",
                        "an integer beyond 64 bits")),
    # Both were taken as 72.4 and 123456789012345680, which a directory does not do.
    case("a-number-finer-than-a-double",
         number("usage_units", 0, "area_m2", "72.40000000000000001"),
         upload_refused("usage_units", "$.usage_units[0].area_m2", INEXACT)),
    case("a-number-longer-than-a-double",
         number("usage_units", 1, "area_m2", "123456789012345678.5"),
         upload_refused("usage_units", "$.usage_units[1].area_m2", INEXACT)),
    # A whole number too: orjson writes it as given, the API as a double (…568).
    case("a-whole-number-longer-than-a-double",
         replaced("usage_units", 0, "area_m2", 12345678901234567),
         upload_refused("usage_units", "$.usage_units[0].area_m2", INEXACT)),
    case("a-reading-finer-than-a-double",
         number("readings", 1, "value", "97.8650000000000001"),
         upload_refused("readings", "$.readings[1].value", INEXACT)),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "body"), UPLOADS)
def test_a_bad_data_set_upload_is_a_422_naming_its_path_and_changes_nothing(witness, edit, body):
    exported = witness.client.get("/sandbox/data/export", headers=ADMIN).data
    data = edit(exported)
    response = send(witness.client, "POST", "/sandbox/data", data, content_type=JSON, headers=ADMIN)

    assert (response.status_code, response.mimetype) == (422, PROBLEM)
    assert response.get_json() == body
    witness.assert_nothing_changed()


def test_at_the_latest_instant_the_clock_takes_every_lifetime_still_fits(messpunkt_client):
    # The clock refuses instants past LATEST because from there a token, a session or a
    # personal access token of a year could end past year 9999; from LATEST they all fit.
    client = messpunkt_client

    def control_(path: str, document: dict[str, Any]) -> Any:
        return send(client, "POST", path, json.dumps(document), content_type=JSON, headers=ADMIN)

    moved = control_("/sandbox/clock/advance", {"to": LATEST.isoformat()})
    assert moved.get_json() == {"now": LATEST.isoformat(), "frozen": True}
    further = control_("/sandbox/clock/advance", {"by": "PT1S"})
    assert (further.status_code, further.get_json()["errors"]) == (400, {"by": ["Out of range."]})

    tokens = obtain_tokens(client)
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 200
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    assert (
        client.post("/oauth/token", data={**refresh, "client_id": DEMO_CLIENT}).status_code == 200
    )
    a_year = control_("/sandbox/personal-access-tokens", {**PAT, "expires_in": 366 * 86400})
    assert a_year.status_code == 201
    assert a_year.get_json()["expires_at"] == (LATEST + timedelta(days=366)).isoformat()


# Over the wire: what a test client cannot send --------------------------------------------------


def raw_request(server, request_line: bytes, headers: dict[str, str]) -> bytes:
    """Send a request line as it is (no client library normalises it) and read the answer."""
    url = urlsplit(server.url)
    head = b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items())
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(request_line + b"\r\nHost: x\r\nConnection: close\r\n" + head + b"\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.live
@pytest.mark.parametrize(
    ("target", "field", "message"),
    [
        (b"/v1/properties?limit=1\x00", "limit", NOT_INTEGER),
        (b"/v1/devices?active_on=\x1b[2J", "active_on", NOT_DATE),
    ],
    ids=["raw-nul", "raw-escape-sequence"],
)
def test_raw_control_bytes_in_the_query_reach_v1_and_get_a_400_problem(
    messpunkt_server, target, field, message
):
    tokens = obtain_tokens(messpunkt_server.url)
    answer = raw_request(messpunkt_server, b"GET " + target + b" HTTP/1.1", tokens.bearer)

    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 400 BAD REQUEST"
    assert b"Content-Type: application/problem+json" in lines
    assert json.loads(body) == problem(400, **{field: [message]})


@pytest.mark.live
def test_raw_bytes_that_are_not_ascii_in_the_request_line_are_refused_before_the_app(
    messpunkt_server,
):
    # RFC 9112 §3.2: a request-target is ASCII. waitress answers 400 itself, as text/plain,
    # before any route or error format of the sandbox is involved.
    tokens = obtain_tokens(messpunkt_server.url)
    sandbox = messpunkt_server.app.extensions["messpunkt"]
    before = copy.deepcopy(list(sandbox.store.sessions()))

    answer = raw_request(messpunkt_server, b"GET /v1/properties?limit=\xff\xfe HTTP/1.1", {})

    assert answer.split(b"\r\n")[0] == b"HTTP/1.1 400 Bad Request"
    assert answer.endswith(b"Bad URI\r\n\r\n(generated by waitress)")
    assert list(sandbox.store.sessions()) == before
    whoami = requests.get(messpunkt_server.url + "/v1/whoami", headers=tokens.bearer, timeout=10)
    assert whoami.status_code == 200


def chunks(size: int):
    """A body without Content-Length (chunked), so only reading it shows that it is too large."""
    yield b"grant_type=client_credentials&padding="
    for _ in range(size // 512):
        yield b"x" * 512


@pytest.mark.parametrize(
    ("path", "content_type", "mimetype"),
    [
        ("/oauth/token", FORM, JSON),
        ("/oauth/introspect", FORM, JSON),
        ("/oauth/authorize", FORM, "text/html"),
        ("/sandbox/clock/advance", JSON, PROBLEM),
    ],
)
def test_an_oversized_chunked_body_gets_413_in_the_endpoints_format_and_changes_nothing(
    messpunkt_app, messpunkt_client, path, content_type, mimetype
):
    # As a gunicorn worker hands it over: streamed without a length, terminated.
    sandbox = messpunkt_app.extensions["messpunkt"]
    clock = sandbox.clock.now()
    body = b"".join(chunks(4 * LIMIT))

    response = messpunkt_client.post(path, content_type=content_type, headers=ADMIN,
                                     environ_overrides={
        "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
    })  # fmt: skip

    assert response.status_code == 413
    assert response.mimetype == mimetype
    if mimetype == JSON:
        too_large = {
            "error": "invalid_request",
            "error_description": "the request body is too large",
        }
        assert response.get_json() == too_large
    elif mimetype == PROBLEM:
        assert response.get_json() == TOO_LARGE
    else:
        assert '<p id="error-description">the request body is too large</p>' in response.text
    assert sandbox.store.sessions() == []
    assert sandbox.clock.now() == clock


@pytest.mark.live
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/oauth/token", FORM),
        ("/oauth/introspect", FORM),
        ("/oauth/authorize", FORM),
        ("/sandbox/clock/advance", JSON),
    ],
)
def test_an_oversized_chunked_body_gets_waitress_413_as_the_command_does_and_changes_nothing(
    messpunkt_server, path, content_type
):
    # The live server keeps the command's limits: waitress reads a body without a length up
    # to its path's limit and answers 413 itself, in plain text (README, "Bodies"). The app's
    # own 413 in each endpoint's format, as gunicorn's workers reach it, is
    # tests/test_request_bodies.py's.
    sandbox = messpunkt_server.app.extensions["messpunkt"]
    clock = sandbox.clock.now()
    headers = {"Content-Type": content_type, **ADMIN}

    response = requests.post(
        messpunkt_server.url + path, data=chunks(4 * LIMIT), headers=headers, timeout=10
    )

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 413
    assert response.headers["Content-Type"].split(";")[0] == "text/plain"
    assert response.text == (
        f"Request Entity Too Large\r\n\r\nexceeds max_body of {LIMIT + 1}\r\n\r\n"
        "(generated by waitress)"
    )
    assert sandbox.store.sessions() == []
    assert sandbox.clock.now() == clock
