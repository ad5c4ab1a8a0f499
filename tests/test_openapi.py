"""/openapi.json describes /v1 truthfully; /docs is self-contained; /v1 never answers HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import load
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

from messpunkt.testing import QUICKSTART_PROPERTY, obtain_tokens

PROBLEM = "application/problem+json"


UNITS = {u["name"]: u["id"] for u in load("usage_units") if u["property_id"] == QUICKSTART_PROPERTY}
POINT_UNIT = {p["id"]: p.get("usage_unit_id") for p in load("measuring_points")}
DEVICES = [d for d in load("devices") if POINT_UNIT[d["measuring_point_id"]] in UNITS.values()]
OLD_WARM = next(d for d in DEVICES if d["removed_at"])["id"]
NEW_WARM = DEVICES[1]["id"]
WE01, WE05, WE07 = UNITS["WE 01"], UNITS["WE 05"], UNITS["WE 07"]

# (operation, a real call of it with valid parameters); every operation appears at least once.
CALLS = [
    ("/v1/whoami", "/v1/whoami"),
    ("/v1/properties", "/v1/properties"),
    ("/v1/properties/{property_id}", f"/v1/properties/{QUICKSTART_PROPERTY}"),
    ("/v1/usage-units", "/v1/usage-units?limit=3"),
    ("/v1/usage-units/{unit_id}", f"/v1/usage-units/{WE01}"),
    ("/v1/usage-units/{unit_id}/measuring-points", f"/v1/usage-units/{WE07}/measuring-points"),
    (
        "/v1/usage-units/{unit_id}/consumption",
        f"/v1/usage-units/{WE01}/consumption?from=2025-12-10&to=2026-12-31",
    ),
    (
        "/v1/usage-units/{unit_id}/consumption",
        f"/v1/usage-units/{WE05}/consumption?from=2026-01-01&to=2026-12-31&metric=water_cold",
    ),
    (
        "/v1/usage-units/{unit_id}/consumption",
        f"/v1/usage-units/{WE07}/consumption?from=2025-01-01&to=2025-06-30",
    ),
    (
        "/v1/usage-units/{unit_id}/consumption/monthly",
        f"/v1/usage-units/{WE05}/consumption/monthly?year=2026&metric=water_cold",
    ),
    (
        "/v1/usage-units/{unit_id}/consumption/monthly",
        f"/v1/usage-units/{WE01}/consumption/monthly?year=2024&metric=heat_allocation",
    ),
    ("/v1/devices", "/v1/devices?limit=5&metric=water_warm"),
    ("/v1/devices/{device_id}", f"/v1/devices/{OLD_WARM}"),
    ("/v1/devices/{device_id}", f"/v1/devices/{NEW_WARM}"),
    ("/v1/devices/{device_id}/readings", f"/v1/devices/{OLD_WARM}/readings?from=2026-09-01"),
]


@pytest.fixture
def spec(messpunkt_client) -> dict:
    response = messpunkt_client.get("/openapi.json")
    assert (response.status_code, response.mimetype) == (200, "application/json")
    return response.get_json()


def operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if path.startswith("/v1") and method != "parameters"
    ]


def inline(node, spec: dict, seen: tuple[str, ...] = ()):
    """Replace every `$ref` below `node` by a copy of its target in `components`."""
    if isinstance(node, list):
        return [inline(item, spec, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/components/") and ref not in seen, ref
        target = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return inline(target, spec, (*seen, ref))
    return {key: inline(value, spec, seen) for key, value in node.items()}


def declared(spec: dict, path: str, status: int, media_type: str) -> dict:
    response = inline(spec["paths"][path]["get"]["responses"][str(status)], spec)
    return response["content"][media_type]["schema"]


def check(schema: dict, body) -> None:
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)


def test_the_openapi_document_is_valid_openapi_3_0(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.0.")


def test_every_v1_operation_documents_summary_scope_401_and_404_for_ids(spec):
    scopes = spec["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]["scopes"]
    assert operations(spec)
    for path, method, op in operations(spec):
        assert op.get("summary", "").strip(), (path, method)
        (oauth2,) = [s["oauth2"] for s in op["security"] if "oauth2" in s]
        assert set(oauth2) <= set(scopes) and len(oauth2) == (path != "/v1/whoami"), path
        assert "401" in op["responses"], path
        assert ("404" in op["responses"]) == ("{" in path), path
        if oauth2:
            assert "403" in op["responses"], path


def test_every_error_response_is_problem_json(spec):
    for path, _, op in operations(spec):
        for status, response in op["responses"].items():
            if status == "default" or int(status) >= 400:
                assert list(inline(response, spec)["content"]) == [PROBLEM], (path, status)


def test_no_query_parameter_is_declared_nullable_or_defaulting_to_null(spec):
    # A query string cannot carry null: an optional filter is one that may be left out.
    # Generated clients took `nullable` and `enum: [..., null]` at their word.
    seen = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for parameter in op.get("parameters", []) if method != "parameters" else []:
                if parameter["in"] != "query":
                    continue
                seen += 1
                schema = parameter["schema"]
                where = (method, path, parameter["name"])
                assert "nullable" not in schema, where
                assert None not in schema.get("enum", ()), where
                assert schema.get("default", "absent") is not None, where
    assert seen >= 28  # the eleven list operations' filters, /v1 and /sandbox alike


def test_every_operation_is_called_below(spec):
    assert {path for path, _, _ in operations(spec)} == {path for path, _ in CALLS}


@pytest.mark.parametrize(("path", "url"), CALLS, ids=[url for _, url in CALLS])
def test_a_real_answer_matches_its_declared_schema(
    messpunkt_client, messpunkt_tokens, spec, path, url
):
    response = messpunkt_client.get(url, headers=messpunkt_tokens.bearer)
    assert (response.status_code, response.mimetype) == (200, "application/json")
    check(declared(spec, path, 200, "application/json"), response.get_json())


def test_the_schemas_reject_what_they_should(spec):
    """The validation above can fail: wrong types and unknown fields are caught."""
    schema = declared(spec, "/v1/devices/{device_id}", 200, "application/json")
    device = {
        "id": "d",
        "serial_number": "1",
        "manufacturer": "m",
        "model": "x",
        "measuring_point_id": "p",
        "usage_unit_id": "u",
        "metric": "water_warm",
        "unit": "m3",
        "installed_at": "2020-03-02T08:00:00+01:00",
        "removed_at": None,
    }
    check(schema, device)
    for broken in ({"installed_at": "yesterday"}, {"metric": "gas"}, {"extra": 1}, {"id": 7}):
        with pytest.raises(ValidationError):
            check(schema, device | broken)


@pytest.mark.parametrize(
    ("status", "path", "url", "token"),
    [
        (
            400,
            "/v1/usage-units/{unit_id}/consumption",
            f"/v1/usage-units/{WE01}/consumption?from=2026-01-01&to=2026-01-31&metric=gas",
            "full",
        ),
        (400, "/v1/devices", "/v1/devices?limit=0", "full"),
        (401, "/v1/usage-units", "/v1/usage-units", None),
        (403, "/v1/devices/{device_id}", f"/v1/devices/{OLD_WARM}", "units-only"),
        (404, "/v1/usage-units/{unit_id}", "/v1/usage-units/not-a-unit", "full"),
        (404, "/v1/devices/{device_id}/readings", "/v1/devices/not-a-device/readings", "full"),
    ],
)
def test_a_real_error_matches_the_declared_problem_schema(
    messpunkt_client, spec, status, path, url, token
):
    scopes = {"full": None, "units-only": ("read:units",)}.get(token)
    headers = {}
    if token:
        headers = obtain_tokens(messpunkt_client, **({"scopes": scopes} if scopes else {})).bearer
    response = messpunkt_client.get(url, headers=headers)
    assert (response.status_code, response.mimetype) == (status, PROBLEM)
    body = response.get_json()
    check(declared(spec, path, status, PROBLEM), body)
    assert body["status"] == status
    assert ("errors" in body) == (status == 400)


# /docs ------------------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if v and k in ("src", "href", "data-spec-url")]


def test_docs_reference_only_same_origin_assets_and_all_are_served(messpunkt_client):
    page = messpunkt_client.get("/docs")
    assert (page.status_code, page.mimetype) == (200, "text/html")
    parser = _Links()
    parser.feed(page.get_data(as_text=True))
    assert len(parser.urls) >= 4  # stylesheet, icon, Swagger UI bundle, its starter, the spec
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = messpunkt_client.get(url)
        assert asset.status_code == 200, url
        assert asset.get_data(), url
        asset.close()
    assert "http:" not in page.headers["Content-Security-Policy"]
    assert "https:" not in page.headers["Content-Security-Policy"]


# No HTML under /v1 ------------------------------------------------------------------------------


@pytest.mark.parametrize("authorized", [True, False])
@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/v1", 404),
        ("GET", "/v1/", 404),
        ("GET", "/v1/nothing-here", 404),
        ("GET", "/v1/usage-units/", 404),
        ("GET", f"/v1/devices/{OLD_WARM}/nothing", 404),
        ("HEAD", "/v1/nothing-here", 404),
        ("POST", "/v1/whoami", 405),
        ("PUT", "/v1/usage-units", 405),
        ("DELETE", f"/v1/devices/{OLD_WARM}", 405),
        ("PATCH", f"/v1/usage-units/{WE01}", 405),
        ("POST", f"/v1/usage-units/{WE01}/consumption", 405),
    ],
)
def test_unknown_paths_and_methods_under_v1_are_problem_json(
    messpunkt_client, messpunkt_tokens, method, url, status, authorized
):
    headers = messpunkt_tokens.bearer if authorized else {}
    response = messpunkt_client.open(url, method=method, headers=headers)
    assert (response.status_code, response.mimetype) == (status, PROBLEM)
    if method != "HEAD":
        assert response.get_json()["status"] == status
    if status == 405:
        assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("OPTIONS", "/v1/whoami"),
        ("GET", "/v1//whoami"),
        ("GET", f"/v1/usage-units//{WE01}"),
        ("GET", "/v1/devices//"),
    ],
)
def test_no_answer_under_v1_is_html(messpunkt_client, messpunkt_tokens, method, url):
    response = messpunkt_client.open(url, method=method, headers=messpunkt_tokens.bearer)
    assert response.mimetype != "text/html"
    assert b"<html" not in response.get_data().lower()


def test_options_answers_204_with_allow_and_no_body(messpunkt_client):
    response = messpunkt_client.open("/v1/whoami", method="OPTIONS")
    assert response.status_code == 204
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.get_data() == b""


def test_a_doubled_slash_is_a_404_problem_not_a_redirect(messpunkt_client, messpunkt_tokens):
    response = messpunkt_client.get("/v1//whoami", headers=messpunkt_tokens.bearer)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "Location" not in response.headers


# /oauth and /.well-known ------------------------------------------------------------------------

SERVICE = ("sandbox-service-client", "sandbox-service-client-secret-change-me")
WEB = ("sandbox-web-client", "sandbox-web-client-secret-change-me")


def answer_schema(spec: dict, path: str, method: str, status: int, media_type: str) -> dict:
    response = inline(spec["paths"][path][method]["responses"][str(status)], spec)
    return response["content"][media_type]["schema"]


def test_every_oauth_and_discovery_route_is_documented_with_its_methods(messpunkt_app, spec):
    served = {
        (re.sub(r"<(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in messpunkt_app.url_map.iter_rules()
        if rule.rule.startswith(("/oauth/", "/.well-known/"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        if path.startswith(("/oauth/", "/.well-known/"))
        for method in item
        if method != "parameters"  # the path's own, not an operation
    }
    assert served == documented
    assert len(served) == 12  # the registration endpoint and its client configuration URI


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_the_client_endpoints_answer_errors_as_rfc_6749_json_and_take_forms_or_json(spec, path):
    operation = spec["paths"][path]["post"]
    assert list(operation["requestBody"]["content"]) == [
        "application/x-www-form-urlencoded", "application/json"]  # fmt: skip
    for status in ("400", "401", "413", "503"):
        (media_type,) = operation["responses"][status]["content"]
        schema = answer_schema(spec, path, "post", int(status), media_type)
        assert (media_type, schema["required"]) == (
            "application/json", ["error", "error_description"])  # fmt: skip


def test_the_authorization_endpoint_answers_with_pages_and_redirects(spec):
    item = spec["paths"]["/oauth/authorize"]
    assert set(item["get"]["responses"]) == {"200", "302", "400"}
    assert set(item["post"]["responses"]) == {"302", "400", "413"}
    for method in ("get", "post"):
        assert item[method]["responses"]["302"]["headers"]["Location"]["required"] is True
        assert list(item[method]["responses"]["400"]["content"]) == ["text/html"]


VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
AUTHORIZATION = {
    "response_type": "code", "client_id": "sandbox-demo-client",
    "redirect_uri": "http://localhost:3000/callback", "state": "s",
    "code_challenge": CHALLENGE, "code_challenge_method": "S256",
}  # fmt: skip


def code_exchange(client) -> dict:
    """The form of a token request for a fresh code of the quickstart's grant."""
    consent = {**AUTHORIZATION, "property": QUICKSTART_PROPERTY, "decision": "approve"}
    location = client.post("/oauth/authorize", data=consent).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    return {
        "grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
        "client_id": "sandbox-demo-client", "redirect_uri": AUTHORIZATION["redirect_uri"],
    }  # fmt: skip


# (name, path, the form, Basic credentials or None, the status); a form may need the client.
ANSWERS = [
    ("client-credentials", "/oauth/token", lambda c: {"grant_type": "client_credentials"},
     SERVICE, 200),
    ("authorization-code", "/oauth/token", code_exchange, None, 200),
    ("refresh", "/oauth/token", lambda c: {
        "grant_type": "refresh_token", "refresh_token": obtain_tokens(c).refresh_token,
        "client_id": "sandbox-demo-client"}, None, 200),
    ("unknown-code", "/oauth/token", lambda c: {
        "grant_type": "authorization_code", "code": "x", "client_id": "sandbox-demo-client"},
     None, 400),
    ("unknown-client", "/oauth/token", lambda c: {
        "grant_type": "client_credentials", "client_id": "nobody"}, None, 401),
    ("revoke", "/oauth/revoke", lambda c: {
        "token": obtain_tokens(c).access_token, "client_id": "sandbox-demo-client"}, None, 200),
    ("introspect-active", "/oauth/introspect", lambda c: {"token": obtain_tokens(
        c, client_id=WEB[0], client_secret=WEB[1]).access_token}, WEB, 200),
    ("introspect-unknown", "/oauth/introspect", lambda c: {"token": "x"}, WEB, 200),
    ("introspect-public-client", "/oauth/introspect", lambda c: {
        "token": "x", "client_id": "sandbox-demo-client"}, None, 401),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "form", "auth", "status"), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS]
)
def test_a_real_oauth_answer_matches_its_declared_schema(
    messpunkt_client, spec, path, form, auth, status
):
    response = messpunkt_client.post(path, data=form(messpunkt_client), auth=auth)
    assert (response.status_code, response.mimetype) == (status, "application/json")
    check(answer_schema(spec, path, "post", status, "application/json"), response.get_json())


@pytest.mark.parametrize(
    ("query", "status", "media_type"),
    [(AUTHORIZATION, 200, "text/html"),
     ({**AUTHORIZATION, "code_challenge_method": "plain"}, 302, None),
     ({**AUTHORIZATION, "client_id": "nobody"}, 400, "text/html")],
    ids=["consent-page", "error-redirect", "error-page"],
)  # fmt: skip
def test_a_real_authorization_answer_is_one_it_declares(
    messpunkt_client, spec, query, status, media_type
):
    response = messpunkt_client.get("/oauth/authorize", query_string=query)
    declared = spec["paths"]["/oauth/authorize"]["get"]["responses"][str(status)]
    assert response.status_code == status
    assert list(declared.get("content", {})) == ([media_type] if media_type else [])
    if media_type:
        assert response.mimetype == media_type
    else:
        assert "error=invalid_request" in response.headers["Location"]


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-authorization-server", "/.well-known/jwks.json"]
)
def test_a_real_discovery_document_matches_its_declared_schema(messpunkt_client, spec, path):
    response = messpunkt_client.get(path)
    assert (response.status_code, response.mimetype) == (200, "application/json")
    check(answer_schema(spec, path, "get", 200, "application/json"), response.get_json())


def test_the_metadata_without_the_sandbox_controls_matches_its_declared_schema():
    # No controls, no registration (it takes the admin key): RFC 8414 §2 makes
    # registration_endpoint optional, and the document leaves it out.
    from messpunkt import create_app

    client = create_app({"MESSPUNKT_SANDBOX_CONTROLS": "off"}).test_client()
    path = "/.well-known/oauth-authorization-server"
    metadata = client.get(path).get_json()
    assert "registration_endpoint" not in metadata
    spec = client.get("/openapi.json").get_json()
    check(answer_schema(spec, path, "get", 200, "application/json"), metadata)


def test_the_token_schema_rejects_what_it_should(spec):
    schema = answer_schema(spec, "/oauth/token", "post", 200, "application/json")
    token = {"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 3600, "scope": "s"}
    check(schema, token)
    for broken in ({"token_type": "bearer"}, {"expires_in": "3600"}, {"id_token": "x"}):
        with pytest.raises(ValidationError):
            check(schema, token | broken)


def test_the_document_written_on_first_read_is_whole_for_every_thread():
    """The document is written when first read (ProblemApi): a second thread that reads
    it meanwhile waits for the whole of it, and a fresh app's document is the same as an
    app's whose document was read before (the views' rules, not the reading order)."""
    import threading

    from messpunkt import create_app

    app = create_app()
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    started, release = threading.Event(), threading.Event()

    def slow(spec) -> None:
        started.set()
        release.wait(10)
        spec.tag({"name": "written last"})

    api.document(slow)
    seen: dict[str, list[str]] = {}

    def read(name: str) -> None:
        seen[name] = [tag["name"] for tag in api.spec.to_dict()["tags"]]

    first = threading.Thread(target=read, args=("first",))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=read, args=("second",))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # it waits while the first thread writes the document
    release.set()
    first.join(10)
    second.join(10)
    assert seen["first"][-1] == seen["second"][-1] == "written last"
    assert seen["first"] == seen["second"]
    fresh = create_app().test_client().get("/openapi.json").json
    assert [tag["name"] for tag in fresh["tags"]] == seen["first"][:-1]


def test_a_contribution_that_fails_raises_its_own_error_once():
    """A contribution that raises surfaces its own error on that read; the next read
    writes the rest, not the ones already written again (apispec would refuse them)."""
    from messpunkt import create_app

    app = create_app()
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]

    def broken(spec) -> None:
        raise RuntimeError("a broken contribution")

    api.document(broken)
    api.document(lambda spec: spec.tag({"name": "after the broken one"}))
    with pytest.raises(RuntimeError, match="a broken contribution"):
        api.spec.to_dict()
    tags = [tag["name"] for tag in api.spec.to_dict()["tags"]]
    assert tags[-1] == "after the broken one"
    assert len(tags) == len(set(tags))
    assert app.test_client().get("/openapi.json").status_code == 200
