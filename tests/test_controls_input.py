"""/sandbox controls refuse what they cannot do as asked, with a 400 or 409, and change nothing.

Media types, bodies where a control takes none, query parameters, JSON numbers given as
strings, durations, fault paths that can never match, and instants far out of range.
Each bad request is followed by a look at the sandbox: its clock, generation, data set,
armed faults and sessions (personal access tokens among them) are as they were.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from conftest import TENANT

from messpunkt.testing import FROZEN_AT, QUICKSTART_PROPERTY, obtain_tokens

KEY = "controls-input-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": KEY}
JSON, FORM, TEXT = "application/json", "application/x-www-form-urlencoded", "text/plain"
PROBLEM = "application/problem+json"
INVALID = "some parameters are invalid; see errors"
NOT_JSON = {"json": ["Invalid JSON body."]}
# A body sent as another media type, JSON or not (curl -d without its Content-Type header).
SENT_AS = "the body is not JSON: send it as application/json"
NOT_SENT_AS_JSON = {"json": ["Not sent as application/json."]}


@pytest.fixture
def messpunkt_config():
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY}


class Sandbox:
    """The sandbox under test, with a session and an armed fault to lose, and what it was."""

    def __init__(self, app: Any, client: Any) -> None:
        self.app, self.client = app, client
        self.tokens = obtain_tokens(client)
        fault = {"method": "GET", "path": "/v1/devices", "status": 503, "count": 5}
        assert self.send("POST", "/sandbox/faults", fault).status_code == 201
        self.before = self.snapshot()

    def send(self, method: str, path: str, body: Any = None, content_type: str = JSON):
        """Send `body` as JSON, or as the bytes or text given, with the media type given."""
        if body is not None and not isinstance(body, bytes | str):
            body = json.dumps(body)
        headers = {**ADMIN, "Content-Type": content_type} if body is not None else ADMIN
        return self.client.open(path, method=method, data=body, headers=headers)

    def snapshot(self) -> dict[str, Any]:
        served = self.app.extensions["messpunkt"]
        state = served.store.state()
        return {
            "clock": (state.clock, served.clock.now()),
            "generation": state.generation,
            "data set": (state.data_set, self.send("GET", "/sandbox/data").json),
            "faults": state.faults,
            "sessions": copy.deepcopy(list(served.store.sessions())),
        }

    def assert_nothing_changed(self) -> None:
        assert self.snapshot() == self.before
        assert self.client.get("/v1/whoami", headers=self.tokens.bearer).status_code == 200


@pytest.fixture
def sandbox(messpunkt_app, messpunkt_client) -> Sandbox:
    return Sandbox(messpunkt_app, messpunkt_client)


def refused(response, status: int, detail: str, errors: dict[str, list[str]] | None) -> None:
    assert (response.status_code, response.mimetype) == (status, PROBLEM), response.get_json()
    assert response.json["detail"] == detail
    assert response.json.get("errors") == errors


# A. POST /sandbox/data takes JSON only, as every other control -------------------------------


@pytest.mark.parametrize(("body", "content_type"), [
    ({"data_set": "default"}, TEXT),
    ({"data_set": "default"}, FORM),
    ("data_set=default", FORM),
    ({"data_set": "default"}, "application/x-json"),
    ({"directory": "/tmp"}, TEXT),
])  # fmt: skip
def test_data_refuses_a_body_that_is_not_sent_as_json(sandbox, body, content_type):
    response = sandbox.send("POST", "/sandbox/data", body, content_type)
    refused(response, 400, SENT_AS, NOT_SENT_AS_JSON)
    sandbox.assert_nothing_changed()


def test_data_takes_json_with_a_charset_or_as_a_json_suffix(sandbox):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = sandbox.send("POST", "/sandbox/data", {"data_set": "default"}, content_type)
        assert response.status_code == 200, response.json
        assert response.json["data_set"] == "default"


# B. Reset and unfreeze take no body but `{}`; GET /sandbox/data no query ---------------------

BODILESS = ["/sandbox/reset", "/sandbox/clock/unfreeze"]


@pytest.mark.parametrize("path", BODILESS)
@pytest.mark.parametrize(("body", "content_type", "detail", "errors"), [
    ({"data_set": "other"}, JSON, INVALID, {"data_set": ["Unknown field."]}),
    ({"at": "2030-01-01T00:00:00Z", "x": 1}, JSON, INVALID,
     {"at": ["Unknown field."], "x": ["Unknown field."]}),
    ([], JSON, INVALID, {"_schema": ["Invalid input type."]}),
    ("7", JSON, INVALID, {"_schema": ["Invalid input type."]}),
    ("garbage", JSON, "the body is not JSON", NOT_JSON),
    ("garbage", TEXT, SENT_AS, NOT_SENT_AS_JSON),
    ({}, TEXT, SENT_AS, NOT_SENT_AS_JSON),
])  # fmt: skip
def test_a_control_without_a_body_refuses_one(sandbox, path, body, content_type, detail, errors):
    response = sandbox.send("POST", path, body, content_type)
    refused(response, 400, detail, errors)
    sandbox.assert_nothing_changed()


@pytest.mark.parametrize("body", [None, {}, "{ }"])
def test_reset_takes_no_body_or_an_empty_object(sandbox, body):
    response = sandbox.send("POST", "/sandbox/reset", body)
    assert (response.status_code, response.json) == (200, {"now": FROZEN_AT, "frozen": True})
    assert sandbox.snapshot()["generation"] == sandbox.before["generation"] + 1
    assert sandbox.snapshot()["sessions"] == []


@pytest.mark.parametrize("body", [None, {}, "{ }"])
def test_unfreeze_takes_no_body_or_an_empty_object(sandbox, body):
    response = sandbox.send("POST", "/sandbox/clock/unfreeze", body)
    assert (response.status_code, response.json["frozen"]) == (200, False)


def test_reset_and_unfreeze_document_an_optional_empty_object(sandbox):
    spec = sandbox.client.get("/openapi.json").json
    for path in BODILESS:
        body = spec["paths"][path]["post"]["requestBody"]
        assert body["required"] is False
        schema = body["content"][JSON]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        assert (schema["type"], schema.get("properties", {})) == ("object", {})
        assert schema["additionalProperties"] is False


# C. An integer member of a JSON body is a JSON integer: not a string, boolean or fraction ----

NOT_INTEGER = ["Not a valid integer."]
PAT = {"tenant_id": TENANT, "name": "ERP import", "scopes": ["read:units"],
       "property_ids": [QUICKSTART_PROPERTY], "expires_in": 3600}  # fmt: skip
FAULT = {"method": "GET", "path": "/v1/whoami", "status": 503, "count": 2}
DELAY = {"method": "GET", "path": "/v1/whoami", "delay_ms": 100, "count": 2}
NOT_INTEGERS = ["3600", "60", True, 3600.5, 3600.0, "0x10"]


@pytest.mark.parametrize("value", [*NOT_INTEGERS, None])
def test_a_token_lifetime_is_a_json_integer(sandbox, value):
    response = sandbox.send("POST", "/sandbox/personal-access-tokens", {**PAT, "expires_in": value})
    refused(response, 400, INVALID, {"expires_in": ["Field may not be null."]
                                     if value is None else NOT_INTEGER})  # fmt: skip
    sandbox.assert_nothing_changed()


@pytest.mark.parametrize("value", NOT_INTEGERS)
@pytest.mark.parametrize(("rule", "member"), [
    (FAULT, "count"), (FAULT, "status"), ({**FAULT, "retry_after": 1}, "retry_after"),
    (DELAY, "delay_ms"),
])  # fmt: skip
def test_a_fault_rules_numbers_are_json_integers(sandbox, rule, member, value):
    response = sandbox.send("POST", "/sandbox/faults", {**rule, member: value})
    refused(response, 400, INVALID, {member: NOT_INTEGER})
    sandbox.assert_nothing_changed()


@pytest.mark.parametrize(("rule", "errors"), [
    ({**PAT, "expires_in": 59}, None),
    ({**FAULT, "count": 0}, {"count": ["Must be greater than or equal to 1 and less than or "
                                       "equal to 1000."]}),
    ({**FAULT, "count": 1001}, {"count": ["Must be greater than or equal to 1 and less than or "
                                          "equal to 1000."]}),
    ({**FAULT, "retry_after": 3601}, {"retry_after": ["Must be greater than or equal to 0 and "
                                                      "less than or equal to 3600."]}),
    ({**DELAY, "delay_ms": 0}, {"delay_ms": ["Must be greater than or equal to 1 and less than "
                                             "or equal to 1000000000."]}),
])  # fmt: skip
def test_the_json_integers_keep_their_ranges(sandbox, rule, errors):
    path = "/sandbox/personal-access-tokens" if "tenant_id" in rule else "/sandbox/faults"
    errors = errors or {"expires_in": ["Must be greater than or equal to 60 and less than or "
                                       "equal to 31622400."]}  # fmt: skip
    refused(sandbox.send("POST", path, rule), 400, INVALID, errors)
    sandbox.assert_nothing_changed()


def test_json_integers_in_range_are_taken(sandbox):
    response = sandbox.send("POST", "/sandbox/personal-access-tokens", PAT)
    assert response.status_code == 201, response.json
    rule = {**FAULT, "count": 1000, "retry_after": 3600}
    response = sandbox.send("POST", "/sandbox/faults", rule)
    assert response.status_code == 201, response.json
    assert (response.json["count"], response.json["retry_after"]) == (1000, 3600)


# D. A duration is weeks, days, hours, minutes and seconds (to the millisecond) --------------

DURATION = (
    "not a duration the clock takes: ISO 8601 weeks, days, hours, minutes and seconds (to "
    "the millisecond), such as P1W2D, PT1H30M or PT0.5S; not years or months, which have no "
    "fixed length: {!r}"
)


@pytest.mark.parametrize("by", [
    "P1Y", "P1M", "P1Y2M", "P1MT1H", "PT1.5H", "PT0.0001S", "PT0.5", "PT.5S", "PT0.S", "P", "PT",
    "P1DT", "PT1H ", "1H", "P-1D", "PT1e3S",
])  # fmt: skip
def test_a_duration_the_clock_cannot_take_says_what_it_takes(sandbox, by):
    response = sandbox.send("POST", "/sandbox/clock/advance", {"by": by})
    message = DURATION.format(by)
    refused(response, 400, message, {"by": [message]})
    sandbox.assert_nothing_changed()


@pytest.mark.parametrize(("by", "now"), [
    ("PT0.5S", "2026-11-23T09:00:00.500000+00:00"),
    ("PT0,25S", "2026-11-23T09:00:00.250000+00:00"),
    ("PT1M0.001S", "2026-11-23T09:01:00.001000+00:00"),
    ("P1W2DT1H30M", "2026-12-02T10:30:00+00:00"),
    ("PT0S", "2026-11-23T09:00:00+00:00"),
])  # fmt: skip
def test_a_duration_moves_the_clock_to_the_millisecond(sandbox, by, now):
    response = sandbox.send("POST", "/sandbox/clock/advance", {"by": by})
    assert (response.status_code, response.json) == (200, {"now": now, "frozen": True})


def test_the_documented_duration_says_what_is_taken(sandbox):
    spec = sandbox.client.get("/openapi.json").json
    by = spec["components"]["schemas"]["Advance"]["properties"]["by"]
    assert by["description"] == (
        "ISO 8601 duration of weeks, days, hours, minutes and seconds, the seconds to the "
        "millisecond at most (P1W2D, PT1H30M, PT0.5S); not years or months, which have no "
        "fixed length."
    )


# E. A fault rule that could never match, or end, is refused; `until` is UTC -----------------

DOT_SEGMENT = "a . or .. segment never reaches the server: clients remove them (RFC 3986 §5.2.4)"
EMPTY_SEGMENT = "an empty segment (// or a final /) is in no endpoint's path"
AFTER_LATEST = "Must not be after 9000-01-01T00:00:00+00:00, the clock's last instant."
PAST = "Must be after the sandbox's now."


@pytest.mark.parametrize(("path", "message"), [
    ("/v1/../sandbox/clock", DOT_SEGMENT),
    ("/v1/./whoami", DOT_SEGMENT),
    ("/oauth/token/..", DOT_SEGMENT),
    ("/v1/usage-units/*/./consumption", DOT_SEGMENT),
    ("/v1//whoami", EMPTY_SEGMENT),
    ("/v1/usage-units/", EMPTY_SEGMENT),
    ("/v1/", EMPTY_SEGMENT),
])  # fmt: skip
def test_a_fault_path_no_request_can_have_is_refused(sandbox, path, message):
    response = sandbox.send("POST", "/sandbox/faults", {**FAULT, "path": path})
    refused(response, 400, INVALID, {"path": [message]})
    sandbox.assert_nothing_changed()


@pytest.mark.parametrize("path", ["/v1/whoami", "/v1/...", "/v1/.well", "/oauth/**", "/v1/*"])
def test_a_fault_path_with_dots_inside_a_segment_is_taken(sandbox, path):
    response = sandbox.send("POST", "/sandbox/faults", {**FAULT, "path": path})
    assert (response.status_code, response.json["path"]) == (201, path)


@pytest.mark.parametrize(("until", "message"), [
    ("9999-12-31T23:59:59-23:59", AFTER_LATEST),
    ("9000-01-01T00:00:00.001Z", AFTER_LATEST),
    ("8999-12-31T23:59:59-01:00", AFTER_LATEST),
    ("0001-01-01T00:00:00+01:00", PAST),
    ("2026-11-23T09:00:00Z", PAST),
])  # fmt: skip
def test_a_fault_until_out_of_the_clocks_range_is_refused(sandbox, until, message):
    response = sandbox.send("POST", "/sandbox/faults", {**FAULT, "until": until})
    refused(response, 400, INVALID, {"until": [message]})
    sandbox.assert_nothing_changed()


@pytest.mark.parametrize(("until", "utc"), [
    ("2026-11-24T09:00:00+01:00", "2026-11-24T08:00:00+00:00"),
    ("8999-12-31T23:00:00-01:00", "9000-01-01T00:00:00+00:00"),
    ("2026-11-23T09:00:00.001Z", "2026-11-23T09:00:00.001000+00:00"),
])  # fmt: skip
def test_a_fault_until_is_answered_and_listed_in_utc(sandbox, until, utc):
    response = sandbox.send("POST", "/sandbox/faults", {**FAULT, "until": until})
    assert (response.status_code, response.json["until"]) == (201, utc)
    listed = sandbox.send("GET", "/sandbox/faults").json["data"]
    assert [f["until"] for f in listed if f["id"] == response.json["id"]] == [utc]


# F. An instant in the past is a 409 however far back; null is JSON ------------------------

BACKWARDS = "the clock only moves forward"


@pytest.mark.parametrize(("path", "body"), [
    ("/sandbox/clock/advance", {"to": "0001-01-01T00:00:00+01:00"}),
    ("/sandbox/clock/advance", {"to": "0001-01-01T00:59:59.999+01:00"}),
    ("/sandbox/clock/advance", {"to": "0001-01-01T00:00:00Z"}),
    ("/sandbox/clock/advance", {"to": "2026-11-23T08:59:59.999Z"}),
    ("/sandbox/clock/freeze", {"at": "0001-01-01T00:00:00+01:00"}),
    ("/sandbox/clock/freeze", {"at": "0001-01-01T00:00:00+23:59"}),
])  # fmt: skip
def test_an_instant_before_now_is_a_409_however_far_back(sandbox, path, body):
    refused(sandbox.send("POST", path, body), 409, BACKWARDS, None)
    sandbox.assert_nothing_changed()


@pytest.mark.parametrize("path", [
    "/sandbox/clock/freeze", "/sandbox/clock/advance", "/sandbox/clock/unfreeze",
    "/sandbox/reset", "/sandbox/faults", "/sandbox/personal-access-tokens", "/sandbox/data",
])  # fmt: skip
@pytest.mark.parametrize("body", ["null", "[]", '"PT1H"', "true"])
def test_a_json_body_that_is_not_an_object_is_an_invalid_input_type(sandbox, path, body):
    response = sandbox.send("POST", path, body)
    refused(response, 400, INVALID, {"_schema": ["Invalid input type."]})
    sandbox.assert_nothing_changed()
