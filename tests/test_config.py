"""Settings are checked at start, each in one clear line naming it and what it allows."""

from __future__ import annotations

import pytest

from messpunkt import create_app
from messpunkt.config import SETTINGS, resolve

# Every whole-number setting: the smallest value it takes, and the largest where it has one.
RANGES = {
    "MESSPUNKT_PORT": (1, 65535),
    "MESSPUNKT_THREADS": (1, None),
    "MESSPUNKT_WORKERS": (1, 64),
    "MESSPUNKT_STORE_GRACE": (0, 10**9),
    "MESSPUNKT_CODE_TTL": (1, 10**9),
    "MESSPUNKT_ACCESS_TOKEN_TTL": (1, 10**9),
    "MESSPUNKT_REFRESH_TOKEN_TTL": (1, 10**9),
    "MESSPUNKT_SESSION_MAX_AGE": (1, 10**9),
    "MESSPUNKT_MAX_BODY_BYTES": (1, None),
    "MESSPUNKT_MAX_DATA_SET_BYTES": (1, None),
    "MESSPUNKT_REQUEST_LOG_SIZE": (0, None),
    "MESSPUNKT_MAX_FAULT_DELAY_MS": (0, None),
    "MESSPUNKT_MAX_HEADER_BYTES": (1, None),
    "MESSPUNKT_CONNECTION_LIMIT": (1, None),
    "MESSPUNKT_CHANNEL_TIMEOUT": (1, None),
    "MESSPUNKT_MAX_SANDBOXES": (0, None),
}


def bounds(low: int, high: int | None) -> str:
    return f"from {low} to {high}" if high is not None else f"at least {low}"


def refusal(config: dict[str, object]) -> str:
    with pytest.raises(ValueError) as refused:
        create_app(config)
    return str(refused.value)


def test_every_whole_number_setting_has_its_range_here():
    assert sorted(key for key, setting in SETTINGS.items() if setting.parse is int) == sorted(
        RANGES
    )


@pytest.mark.parametrize(("key", "low", "high"), [(k, *r) for k, r in RANGES.items()])
def test_a_whole_number_below_its_minimum_is_refused_naming_the_setting(key, low, high):
    assert refusal({key: low - 1}) == f"{key} must be {bounds(low, high)}, not {low - 1}"
    assert refusal({key: -5}) == f"{key} must be {bounds(low, high)}, not -5"


@pytest.mark.parametrize(
    ("key", "low", "high"), [(k, *r) for k, r in RANGES.items() if r[1] is not None]
)
def test_a_whole_number_above_its_maximum_is_refused_naming_the_setting(key, low, high):
    assert refusal({key: high + 1}) == f"{key} must be {bounds(low, high)}, not {high + 1}"


# More than one worker needs a shared store and its secrets (checked after the ranges).
HOSTED = {"MESSPUNKT_STORE_URL": "redis://127.0.0.1:1/0", "MESSPUNKT_SIGNING_KEY": "key.pem",
          "MESSPUNKT_SECRET_KEY": "s", "MESSPUNKT_SANDBOX_ADMIN_KEY": "a"}  # fmt: skip


@pytest.mark.parametrize(("key", "low", "high"), [(k, *r) for k, r in RANGES.items()])
def test_a_whole_number_at_either_end_of_its_range_is_taken(key, low, high):
    assert resolve({**HOSTED, key: low})[key] == low
    if high is not None:
        assert resolve({**HOSTED, key: high})[key] == high


def test_an_app_starts_with_the_smallest_values_that_leave_it_working():
    app = create_app({"MESSPUNKT_REQUEST_LOG_SIZE": 0, "MESSPUNKT_MAX_SANDBOXES": 0,
                      "MESSPUNKT_MAX_FAULT_DELAY_MS": 0, "MESSPUNKT_STORE_GRACE": 0,
                      "MESSPUNKT_CODE_TTL": 1, "MESSPUNKT_ACCESS_TOKEN_TTL": 1})  # fmt: skip
    assert app.test_client().get("/.well-known/oauth-authorization-server").status_code == 200


# Text given to create_app is read as a MESSPUNKT_* variable is: int(), naming the key.


def test_a_whole_number_given_as_text_is_read_as_its_environment_variable_would_be():
    assert resolve({"MESSPUNKT_MAX_BODY_BYTES": "65536"})["MESSPUNKT_MAX_BODY_BYTES"] == 65536
    app = create_app({"MESSPUNKT_MAX_BODY_BYTES": "65536"})
    assert app.config["MAX_CONTENT_LENGTH"] == 65536


@pytest.mark.parametrize(("value", "message"), [
    ("64k", "MESSPUNKT_MAX_BODY_BYTES='64k': invalid literal for int() with base 10: '64k'"),
    ("", "MESSPUNKT_MAX_BODY_BYTES='': invalid literal for int() with base 10: ''"),
    ("0", "MESSPUNKT_MAX_BODY_BYTES must be at least 1, not 0"),
    ("-1", "MESSPUNKT_MAX_BODY_BYTES must be at least 1, not -1"),
    (65536.0, "MESSPUNKT_MAX_BODY_BYTES must be a whole number, not 65536.0"),
    (True, "MESSPUNKT_MAX_BODY_BYTES must be a whole number, not True"),
    (None, "MESSPUNKT_MAX_BODY_BYTES must be a whole number, not None"),
])  # fmt: skip
def test_a_whole_number_setting_that_is_not_one_is_refused_naming_the_setting(value, message):
    assert refusal({"MESSPUNKT_MAX_BODY_BYTES": value}) == message


# The issuer: an absolute http(s) URL without query or fragment (RFC 8414 §2)


ISSUER_RULE = "MESSPUNKT_ISSUER must be an absolute http or https URL without query or fragment"


@pytest.mark.parametrize("issuer", [
    "", " ", "localhost:8000", "/relative", "ftp://sandbox.test", "http://", "http:///path",
    "http://:8000", "http://sandbox.test:99999", "http://sandbox.test:port",
    "http://sandbox.test?x=1", "http://sandbox.test/?", "http://sandbox.test#top",
    "http://sandbox .test", " http://sandbox.test", "http://sandbox.test/\n", None,
])  # fmt: skip
def test_an_issuer_that_is_not_an_absolute_http_url_is_refused(issuer):
    assert refusal({"MESSPUNKT_ISSUER": issuer}) == f"{ISSUER_RULE}, not {issuer!r}"


@pytest.mark.parametrize("issuer", [
    "http://localhost:8000", "https://sandbox.test", "HTTPS://sandbox.test/base/",
    "http://[::1]:8000", "https://sandbox.test/tenants/one",
])  # fmt: skip
def test_an_absolute_http_issuer_is_taken(issuer):
    assert resolve({"MESSPUNKT_ISSUER": issuer})["MESSPUNKT_ISSUER"] == issuer


# The frozen clock


@pytest.mark.parametrize("frozen_at", [
    "garbage", "2026-13-01T00:00:00+00:00", "tomorrow", 5,
    "2026-11-23T09:00:00",  # no offset: which instant is it?
    "9999-12-31T00:00:00+00:00",  # past the clock's last instant: the first token was a 500
])  # fmt: skip
def test_a_frozen_instant_that_is_not_one_is_refused_naming_the_setting(frozen_at):
    assert refusal({"MESSPUNKT_FROZEN_AT": frozen_at}) == (
        "MESSPUNKT_FROZEN_AT must be an ISO 8601 instant with its UTC offset, such as "
        "2026-11-23T09:00:00+00:00, at the latest 9000-01-01T00:00:00+00:00, or empty for real "
        f"time, not {frozen_at!r}"
    )


def test_a_frozen_instant_is_taken_as_it_was():
    frozen_at = "2026-11-23T09:00:00+00:00"
    assert resolve({"MESSPUNKT_FROZEN_AT": frozen_at})["MESSPUNKT_FROZEN_AT"] == frozen_at
