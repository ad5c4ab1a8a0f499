"""Request bodies: JSON nested too deep is a 400, a body declared too large a 413 unread.

Both in the endpoint's own format, and neither leaves a stack trace in the log.
(The servers' side, a body that is never read, is in test_connections.)
"""

from __future__ import annotations

import io
import logging

import pytest

from messpunkt.testing import DEMO_CLIENT
from messpunkt.web.json import MAX_DEPTH, loads

ADMIN_KEY = "bodies-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": ADMIN_KEY}
JSON, FORM = "application/json", "application/x-www-form-urlencoded"
PROBLEM = "application/problem+json"
NOT_STRINGS = {
    "error": "invalid_request",
    "error_description": "the JSON body must be an object of string values",
}
NOT_JSON = {
    "type": "about:blank", "title": "Bad Request", "status": 400,
    "detail": "the body is not JSON", "errors": {"json": ["Invalid JSON body."]},
}  # fmt: skip


@pytest.fixture
def messpunkt_config(messpunkt_config):
    return {**messpunkt_config, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}


def nested(depth: int) -> bytes:
    """An array `depth` levels deep inside an object, as the issue's 2 KB body was 1,000."""
    return b'{"token": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


JSON_ENDPOINTS = [
    pytest.param("/oauth/token", JSON, NOT_STRINGS, id="token"),
    pytest.param("/oauth/revoke", JSON, NOT_STRINGS, id="revoke"),
    pytest.param("/oauth/introspect", JSON, NOT_STRINGS, id="introspect"),
    pytest.param("/sandbox/clock/advance", PROBLEM, NOT_JSON, id="clock-advance"),
    pytest.param("/sandbox/clock/freeze", PROBLEM, NOT_JSON, id="clock-freeze"),
    pytest.param("/sandbox/personal-access-tokens", PROBLEM, NOT_JSON, id="personal-token"),
    pytest.param("/sandbox/data", PROBLEM, NOT_JSON, id="data"),
]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 32_000], ids=["33", "1000", "32000"])
@pytest.mark.parametrize(("path", "mimetype", "expected"), JSON_ENDPOINTS)
def test_json_nested_too_deep_is_a_400_in_the_endpoints_format_and_logs_no_trace(
    messpunkt_app, messpunkt_client, caplog, path, mimetype, expected, depth
):
    with caplog.at_level(logging.DEBUG):
        response = messpunkt_client.post(path, data=nested(depth), content_type=JSON,
                                         headers=ADMIN)  # fmt: skip

    assert (response.status_code, response.mimetype) == (400, mimetype)
    assert response.get_json() == expected
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


@pytest.mark.parametrize(
    ("depth", "parsed"), [(1, True), (MAX_DEPTH, True), (MAX_DEPTH + 1, False)]
)
def test_json_is_parsed_up_to_max_depth_and_refused_past_it(depth, parsed):
    body = b"[" * depth + b"]" * depth
    expected: list = []
    for _ in range(depth - 1):
        expected = [expected]
    if parsed:
        assert loads(body, dict) == expected
    else:
        with pytest.raises(ValueError, match=f"^the JSON is nested more than {MAX_DEPTH} deep$"):
            loads(body, dict)


OPEN = "[" * (MAX_DEPTH + 8)


@pytest.mark.parametrize(("text", "first"), [
    ('{"a": "' + OPEN + '"}', OPEN),
    ('{"a": "\\"' + OPEN + '"}', '"' + OPEN),
    ('{"a": "\\\\", "b": "' + OPEN + '"}', "\\"),
], ids=["in-string", "after-escaped-quote", "after-escaped-backslash"])  # fmt: skip
def test_brackets_inside_strings_are_no_nesting(text, first):
    assert loads(text.encode(), dict)["a"] == first


def test_a_member_given_twice_is_still_refused_by_the_controls(messpunkt_client):
    response = messpunkt_client.post(
        "/sandbox/clock/advance", data=b'{"by": "PT1H", "by": "P31D"}', content_type=JSON,
        headers=ADMIN,
    )  # fmt: skip
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"by": ["Given more than once."]}


# A body declared over the limit is refused before wsgi.input is touched.


class Untouchable:
    """A request body that fails the test when anything reads it."""

    def read(self, *args):
        pytest.fail("the body was read")

    readline = readlines = __iter__ = read


TOO_LARGE_OAUTH = {"error": "invalid_request", "error_description": "the request body is too large"}
TOO_LARGE_PROBLEM = {
    "type": "about:blank", "title": "Request Entity Too Large", "status": 413,
    "detail": "The data value transmitted exceeds the capacity limit.",
}  # fmt: skip
DECLARED_TOO_LARGE = [
    pytest.param("POST", "/oauth/token", FORM, JSON, TOO_LARGE_OAUTH, id="token"),
    pytest.param("POST", "/oauth/revoke", JSON, JSON, TOO_LARGE_OAUTH, id="revoke"),
    pytest.param("POST", "/oauth/introspect", FORM, JSON, TOO_LARGE_OAUTH, id="introspect"),
    pytest.param("POST", "/sandbox/personal-access-tokens", JSON, PROBLEM, TOO_LARGE_PROBLEM,
                 id="personal-token"),
    pytest.param("GET", "/v1/whoami", JSON, PROBLEM, TOO_LARGE_PROBLEM, id="whoami"),
    pytest.param("GET", "/sandbox/clock", JSON, PROBLEM, TOO_LARGE_PROBLEM, id="clock"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "content_type", "mimetype", "expected"),
                         DECLARED_TOO_LARGE)  # fmt: skip
def test_a_body_declared_over_the_limit_is_a_413_in_the_endpoints_format_and_never_read(
    messpunkt_client, messpunkt_tokens, method, path, content_type, mimetype, expected
):
    response = messpunkt_client.open(
        path, method=method, content_type=content_type,
        headers={**ADMIN, **messpunkt_tokens.bearer},
        environ_overrides={"wsgi.input": Untouchable(), "CONTENT_LENGTH": str(64 * 1024 + 1)},
    )  # fmt: skip

    assert (response.status_code, response.mimetype) == (413, mimetype)
    assert response.get_json() == expected


def test_the_consent_answers_a_body_declared_over_the_limit_with_its_error_page(
    messpunkt_client,
):
    response = messpunkt_client.post(
        "/oauth/authorize", content_type=FORM,
        environ_overrides={"wsgi.input": Untouchable(), "CONTENT_LENGTH": "64000000"},
    )  # fmt: skip

    assert (response.status_code, response.mimetype) == (413, "text/html")
    assert '<p id="error-description">the request body is too large</p>' in response.text


def test_a_body_at_the_limit_is_read_and_answered(messpunkt_client):
    form = f"grant_type=refresh_token&refresh_token=r&client_id={DEMO_CLIENT}&padding="
    body = form.encode() + b"x" * (64 * 1024 - len(form))
    response = messpunkt_client.post("/oauth/token", data=body, content_type=FORM)
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_grant")


# A body streamed without a length (chunked; gunicorn passes it on, terminated) is read
# whole up to the limit; past it, werkzeug's stream would have stopped at 64 KiB and
# handed those over as the body.

SERVICE_FORM = (b"grant_type=client_credentials&client_id=sandbox-service-client"
                b"&client_secret=sandbox-service-client-secret-change-me&padding=")  # fmt: skip
PAT = (b'{"tenant_id": "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a", "name": "ERP import", '
       b'"scopes": ["read:units"], "property_ids": ["6fb74d25-5517-4dcc-ae8b-0914579ab036"], '
       b'"expires_in": 3600}')  # fmt: skip
STREAMED = [
    pytest.param("/oauth/token", FORM, SERVICE_FORM, b"x", 200, JSON, TOO_LARGE_OAUTH,
                 id="token"),
    pytest.param("/sandbox/personal-access-tokens", JSON, PAT, b" ", 201, PROBLEM,
                 TOO_LARGE_PROBLEM, id="personal-token"),
]  # fmt: skip


def _stream(messpunkt_client, path: str, content_type: str, body: bytes):
    return messpunkt_client.post(path, content_type=content_type, headers=ADMIN,
                                 environ_overrides={
        "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
    })  # fmt: skip


@pytest.mark.parametrize(("path", "content_type", "document", "pad", "ok", "mimetype", "refused"),
                         STREAMED)  # fmt: skip
def test_a_body_streamed_without_a_length_is_read_whole_up_to_the_limit_and_refused_past_it(
    messpunkt_client, path, content_type, document, pad, ok, mimetype, refused
):
    limit = 64 * 1024
    at_limit = document + pad * (limit - len(document))
    past_limit = at_limit + pad

    accepted = _stream(messpunkt_client, path, content_type, at_limit)
    too_large = _stream(messpunkt_client, path, content_type, past_limit)

    assert accepted.status_code == ok
    assert (too_large.status_code, too_large.mimetype) == (413, mimetype)
    assert too_large.get_json() == refused
