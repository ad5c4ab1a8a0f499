"""Numbers in parameters are plain digits: no spaces, signs, underscores, leading zeros.

`int()` takes " 50", "+50", "050", "5_0" and Arabic-Indic digits, and marshmallow's
Integer takes what `int()` takes (and a JSON 50.5 as 50). `limit` and `year` take
digits 0-9 only; a negative or overlong number is refused by the field's range, without
being parsed. `expires_in`, a member of a JSON body, is a JSON integer and never text.
"""

from __future__ import annotations

import pytest

from messpunkt.testing import FROZEN_AT, QUICKSTART_PROPERTY

ADMIN = {"X-Sandbox-Admin-Key": "strict-admin-key"}
TENANT = "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a"
NOT_INTEGER = "Not a valid integer: digits 0-9 only, without sign, spaces or leading zeros."
NOT_JSON_INTEGER = "Not a valid integer."  # a JSON body's member: a JSON integer, not text
LIMIT_RANGE = "Must be greater than or equal to 1 and less than or equal to 200."
YEAR_RANGE = "Must be greater than or equal to 2001 and less than or equal to 2099."
EXPIRES_RANGE = "Must be greater than or equal to 60 and less than or equal to 31622400."
MALFORMED = {
    "leading-space": " 50",
    "trailing-space": "50 ",
    "no-break-space": "\u00a050",
    "plus": "+50",
    "leading-zero": "050",
    "minus-zero": "-0",
    "underscore": "5_0",
    "arabic-indic": "\u0665\u0660",
    "fraction": "50.0",
    "hex": "0x32",
    "exponent": "5e1",
}


@pytest.fixture
def messpunkt_config():
    return {
        "MESSPUNKT_FROZEN_AT": FROZEN_AT,
        "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN["X-Sandbox-Admin-Key"],
    }


def problem(field: str, message: str) -> dict:
    detail = "some parameters are invalid; see errors"
    errors = {field: [message]}
    return {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail,
            "errors": errors}  # fmt: skip


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize(
    "path",
    ["/v1/usage-units", "/v1/properties", "/sandbox/sessions"],
    ids=["usage-units", "properties", "sandbox-sessions"],
)
def test_a_limit_not_in_plain_digits_is_a_400_naming_limit(
    messpunkt_client, messpunkt_tokens, path, value
):
    headers = {**messpunkt_tokens.bearer, **ADMIN}
    response = messpunkt_client.get(path, query_string={"limit": value}, headers=headers)
    assert (response.status_code, response.json) == (400, problem("limit", NOT_INTEGER))


@pytest.mark.parametrize(
    ("value", "message"),
    [("-1", LIMIT_RANGE), ("9" * 40, LIMIT_RANGE), ("-" + "9" * 40, LIMIT_RANGE),
     ("9" * 5000, LIMIT_RANGE)],  # more than int() parses from text at all
    ids=["negative", "forty-digits", "minus-forty-digits", "five-thousand-digits"],
)  # fmt: skip
def test_a_negative_or_overlong_limit_is_out_of_range(
    messpunkt_client, messpunkt_tokens, value, message
):
    response = messpunkt_client.get(
        "/v1/usage-units", query_string={"limit": value}, headers=messpunkt_tokens.bearer
    )
    assert (response.status_code, response.json) == (400, problem("limit", message))


@pytest.mark.parametrize(("value", "count"), [("1", 1), ("200", 8)])
def test_a_limit_in_plain_digits_pages(messpunkt_client, messpunkt_tokens, value, count):
    response = messpunkt_client.get(
        "/v1/usage-units", query_string={"limit": value}, headers=messpunkt_tokens.bearer
    )
    assert (response.status_code, len(response.json["data"])) == (200, count)


@pytest.mark.parametrize(
    ("value", "message"),
    [(" 2026", NOT_INTEGER), ("+2026", NOT_INTEGER), ("02026", NOT_INTEGER),
     ("2_026", NOT_INTEGER), ("-2026", YEAR_RANGE), ("20260", YEAR_RANGE)],
    ids=["space", "plus", "leading-zero", "underscore", "negative", "five-digits"],
)  # fmt: skip
def test_a_year_not_in_plain_digits_is_a_400_naming_year(
    messpunkt_client, messpunkt_tokens, value, message
):
    unit = messpunkt_client.get("/v1/usage-units", headers=messpunkt_tokens.bearer).json
    path = f"/v1/usage-units/{unit['data'][0]['id']}/consumption/monthly"
    response = messpunkt_client.get(
        path, query_string={"year": value, "metric": "heat"}, headers=messpunkt_tokens.bearer
    )
    assert (response.status_code, response.json) == (400, problem("year", message))


def create_token(client, expires_in):
    body = {"tenant_id": TENANT, "name": "ERP import", "scopes": ["read:units"],
            "property_ids": [QUICKSTART_PROPERTY], "expires_in": expires_in}  # fmt: skip
    return client.post("/sandbox/personal-access-tokens", json=body, headers=ADMIN)


@pytest.mark.parametrize(
    ("value", "message"),
    [(3600.5, NOT_JSON_INTEGER), (3600.0, NOT_JSON_INTEGER), (True, NOT_JSON_INTEGER),
     ("3600", NOT_JSON_INTEGER), (" 3600", NOT_JSON_INTEGER), ("+3600", NOT_JSON_INTEGER),
     ("03600", NOT_JSON_INTEGER), ("-3600", NOT_JSON_INTEGER), (59, EXPIRES_RANGE),
     (-3600, EXPIRES_RANGE), (10**30, EXPIRES_RANGE)],
    ids=["fraction", "float", "boolean", "digits", "space", "plus", "leading-zero",
         "negative-text", "too-short", "negative", "thirty-one-digits"],
)  # fmt: skip
def test_expires_in_is_a_whole_json_number_of_seconds(messpunkt_client, value, message):
    response = create_token(messpunkt_client, value)
    assert (response.status_code, response.json) == (400, problem("expires_in", message))


def test_expires_in_as_a_json_integer_creates_the_token(messpunkt_client):
    response = create_token(messpunkt_client, 3600)
    assert response.status_code == 201
    assert response.json["expires_at"] == "2026-11-23T10:00:00+00:00"
