"""Tenant and property isolation on every /v1 endpoint, plus scope and token checks.

ENDPOINTS is the one table of /v1: a new endpoint fails
`test_the_endpoint_table_lists_every_v1_operation_of_the_openapi_document` until it is
added here, and then runs through every isolation, scope and token test below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from string import Formatter

import pytest
from conftest import load

from messpunkt.oauth.errors import InvalidToken
from messpunkt.testing import QUICKSTART_PROPERTY, obtain_tokens
from messpunkt.web.problems import problem_from_oauth_error


@dataclass(frozen=True)
class Endpoint:
    path: str  # as in /openapi.json
    scope: str | None  # None: any valid token
    query: dict = field(default_factory=dict)  # valid parameters

    @property
    def kind(self) -> str | None:
        """The path parameter, if any: property_id, unit_id or device_id."""
        names = [name for _, name, _, _ in Formatter().parse(self.path) if name]
        return names[0] if names else None

    def url(self, resource_id: str | None = None) -> str:
        return self.path.format(**({self.kind: resource_id} if self.kind else {}))


ENDPOINTS = [
    Endpoint("/v1/whoami", None),
    Endpoint("/v1/properties", "read:units", {"limit": 200}),
    Endpoint("/v1/properties/{property_id}", "read:units"),
    Endpoint("/v1/usage-units", "read:units", {"limit": 200}),
    Endpoint("/v1/usage-units/{unit_id}", "read:units"),
    Endpoint("/v1/usage-units/{unit_id}/measuring-points", "read:devices", {"limit": 200}),
    Endpoint(
        "/v1/usage-units/{unit_id}/consumption",
        "read:readings",
        {"from": "2025-01-01", "to": "2026-12-31"},
    ),
    Endpoint(
        "/v1/usage-units/{unit_id}/consumption/monthly",
        "read:readings",
        {"year": 2026, "metric": "water_cold"},
    ),
    Endpoint("/v1/devices", "read:devices", {"limit": 200}),
    Endpoint("/v1/devices/{device_id}", "read:devices"),
    Endpoint("/v1/devices/{device_id}/readings", "read:readings", {"limit": 200}),
]
BY_ID = {e.path.removeprefix("/v1/").replace("/", " "): e for e in ENDPOINTS}


PROPERTIES = load("properties")
TENANT_A = next(p["tenant_id"] for p in PROPERTIES if p["id"] == QUICKSTART_PROPERTY)
HAFEN = next(
    p["id"] for p in PROPERTIES if p["tenant_id"] == TENANT_A and p["id"] != QUICKSTART_PROPERTY
)
TENANT_B_PROPERTY = next(p["id"] for p in PROPERTIES if p["tenant_id"] != TENANT_A)


def resources(property_ids: set[str]) -> dict[str, list[str]]:
    """Every id below some properties, by the path parameter or filter that takes it."""
    units = [u["id"] for u in load("usage_units") if u["property_id"] in property_ids]
    points = [p["id"] for p in load("measuring_points") if p.get("usage_unit_id") in units]
    devices = [d["id"] for d in load("devices") if d["measuring_point_id"] in points]
    return {
        "property_id": sorted(property_ids),
        "unit_id": units,
        "measuring_point_id": points,
        "device_id": devices,
    }


ALL = {p["id"] for p in PROPERTIES}
VIEWERS = {
    # name: (obtain_tokens arguments, visible property, hidden properties)
    "other-tenant": (
        {
            "properties": (TENANT_B_PROPERTY,),
            "client_id": "beispiel-erp-client",
            "redirect_uri": "http://localhost:4000/callback",
        },
        TENANT_B_PROPERTY,
    ),
    "quickstart": ({"properties": (QUICKSTART_PROPERTY,)}, QUICKSTART_PROPERTY),
}


@pytest.fixture(params=sorted(VIEWERS))
def viewer(request, messpunkt_client):
    """(tokens, visible ids, hidden ids) of a token that sees exactly one property."""
    arguments, visible = VIEWERS[request.param]
    hidden = resources(ALL - {visible})
    if request.param == "quickstart":  # the same tenant's other property above all
        assert HAFEN in hidden["property_id"]
    return obtain_tokens(messpunkt_client, **arguments), resources({visible}), hidden


def call(client, tokens, endpoint: Endpoint, resource_id: str | None = None, **extra):
    headers = tokens.bearer if tokens else {}
    return client.get(
        endpoint.url(resource_id), query_string={**endpoint.query, **extra}, headers=headers
    )


def strings(node) -> set[str]:
    if isinstance(node, dict):
        return set().union(*map(strings, node.values()), set())
    if isinstance(node, list):
        return set().union(*map(strings, node), set())
    return {node} if isinstance(node, str) else set()


WITH_ID = [e for e in ENDPOINTS if e.kind]


@pytest.mark.parametrize("endpoint", WITH_ID, ids=lambda e: e.path)
def test_every_hidden_resource_is_a_404_exactly_like_a_missing_one(
    messpunkt_client, viewer, endpoint
):
    tokens, visible, hidden = viewer
    missing = call(messpunkt_client, tokens, endpoint, "00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["status"] == 404
    for resource_id in hidden[endpoint.kind]:
        response = call(messpunkt_client, tokens, endpoint, resource_id)
        assert (response.status_code, response.mimetype) == (404, "application/problem+json")
        assert response.get_json() == missing.get_json()
    assert call(messpunkt_client, tokens, endpoint, visible[endpoint.kind][0]).status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
def test_no_answer_ever_mentions_a_hidden_resource(messpunkt_client, viewer, endpoint):
    tokens, visible, hidden = viewer
    forbidden = set().union(*hidden.values())
    for resource_id in visible[endpoint.kind] if endpoint.kind else [None]:
        response = call(messpunkt_client, tokens, endpoint, resource_id)
        assert response.status_code == 200
        body = response.get_json()
        assert body.get("pagination", {}).get("next_cursor") is None  # one page is everything
        assert not strings(body) & forbidden


@pytest.mark.parametrize(
    ("endpoint", "key", "kind"),
    [
        ("usage-units", "id", "unit_id"),
        ("devices", "id", "device_id"),
        ("properties", "id", "property_id"),
    ],
)
def test_lists_show_exactly_the_visible_resources(messpunkt_client, viewer, endpoint, key, kind):
    tokens, visible, _ = viewer
    body = call(messpunkt_client, tokens, BY_ID[endpoint]).get_json()
    assert [item[key] for item in body["data"]] == visible[kind]


def test_whoami_names_only_the_granted_property(messpunkt_client, viewer):
    tokens, visible, _ = viewer
    body = call(messpunkt_client, tokens, BY_ID["whoami"]).get_json()
    assert body["property_scope"] == visible["property_id"]


@pytest.mark.parametrize(
    ("endpoint", "parameter", "kind"),
    [
        ("usage-units", "property_id", "property_id"),
        ("devices", "usage_unit_id", "unit_id"),
        ("devices", "measuring_point_id", "measuring_point_id"),
    ],
)
def test_filtering_by_a_hidden_resource_gives_an_empty_list(
    messpunkt_client, viewer, endpoint, parameter, kind
):
    tokens, _, hidden = viewer
    for resource_id in hidden[kind]:
        response = call(messpunkt_client, tokens, BY_ID[endpoint], **{parameter: resource_id})
        assert response.status_code == 200
        assert response.get_json() == {"data": [], "pagination": {"next_cursor": None}}


def test_the_endpoint_table_lists_every_v1_operation_of_the_openapi_document(messpunkt_client):
    spec = messpunkt_client.get("/openapi.json").get_json()
    documented = {
        (path, method, tuple(op["security"][0]["oauth2"]))
        for path, item in spec["paths"].items()
        if path.startswith("/v1")
        for method, op in item.items()
        if method != "parameters"
    }
    table = {(e.path, "get", (e.scope,) if e.scope else ()) for e in ENDPOINTS}
    assert documented == table


# Scopes and tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize("granted", ["read:units", "read:devices", "read:readings"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
def test_a_token_without_the_scope_gets_403_insufficient_scope(messpunkt_client, endpoint, granted):
    tokens = obtain_tokens(messpunkt_client, scopes=(granted,))
    some_id = resources({QUICKSTART_PROPERTY}).get(endpoint.kind or "", [None])[0]
    response = call(messpunkt_client, tokens, endpoint, some_id)
    if endpoint.scope in (None, granted):
        assert response.status_code == 200
        return
    assert (response.status_code, response.mimetype) == (403, "application/problem+json")
    assert response.get_json() == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": f"this call needs the {endpoint.scope} scope",
    }
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_a_units_only_token_reads_units_but_not_devices_readings_or_consumption(
    messpunkt_client,
):
    tokens = obtain_tokens(messpunkt_client, scopes=("read:units",))
    unit_id, device_id = (resources({QUICKSTART_PROPERTY})[k][0] for k in ("unit_id", "device_id"))
    expected = {
        f"/v1/usage-units/{unit_id}": 200,
        "/v1/usage-units": 200,
        "/v1/properties": 200,
        "/v1/devices": 403,
        f"/v1/devices/{device_id}": 403,
        f"/v1/devices/{device_id}/readings": 403,
        f"/v1/usage-units/{unit_id}/consumption?from=2026-01-01&to=2026-01-31": 403,
    }
    answered = {p: messpunkt_client.get(p, headers=tokens.bearer).status_code for p in expected}
    assert answered == expected


@pytest.mark.parametrize("authorization", [None, "", "Basic dXNlcjpwYXNz", "Token abc"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
def test_a_request_without_bearer_credentials_gets_401_and_a_challenge_without_an_error(
    messpunkt_client, endpoint, authorization
):
    # RFC 6750 §3.1: no credentials, or another scheme, gets the challenge and nothing more.
    headers = {} if authorization is None else {"Authorization": authorization}
    some_id = resources({QUICKSTART_PROPERTY}).get(endpoint.kind or "", [None])[0]
    response = messpunkt_client.get(
        endpoint.url(some_id), query_string=endpoint.query, headers=headers
    )
    assert (response.status_code, response.mimetype) == (401, "application/problem+json")
    body = response.get_json()
    assert (body["type"], body["title"], body["status"]) == ("about:blank", "Unauthorized", 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="messpunkt"'


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer garbage", "Bearer a.b.c", "expired"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
def test_a_bad_or_expired_token_gets_401_invalid_token(
    messpunkt_app, messpunkt_client, endpoint, authorization
):
    headers = {} if authorization is None else {"Authorization": authorization}
    if authorization == "expired":
        tokens = obtain_tokens(messpunkt_client)
        headers = tokens.bearer
        messpunkt_app.extensions["messpunkt"].clock.advance(timedelta(seconds=tokens.expires_in))
    some_id = resources({QUICKSTART_PROPERTY}).get(endpoint.kind or "", [None])[0]
    response = messpunkt_client.get(
        endpoint.url(some_id), query_string=endpoint.query, headers=headers
    )
    assert (response.status_code, response.mimetype) == (401, "application/problem+json")
    body = response.get_json()
    assert (body["type"], body["title"], body["status"]) == ("about:blank", "Unauthorized", 401)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="messpunkt", error="invalid_token", ')


@pytest.mark.parametrize(
    ("description", "in_the_header"),
    [
        ('the token "abc" is unknown', "the token 'abc' is unknown"),
        ("a \\ backslash", "a / backslash"),
        ("Zähler\tfehlt", "Z?hler?fehlt"),
    ],
    ids=["double-quotes", "backslash", "non-ascii-and-tab"],
)
def test_an_error_description_stays_inside_the_challenges_quoted_string(description, in_the_header):
    # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, no quote or backslash.
    response = problem_from_oauth_error(InvalidToken(description))

    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="messpunkt", error="invalid_token", error_description="{in_the_header}"'
    )
    assert json.loads(response.get_data())["detail"] == description
