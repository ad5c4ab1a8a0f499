"""GET /sandbox/requests: each sandbox's request log, with every secret redacted."""

from __future__ import annotations

import base64
import json
import threading
import time

import orjson
import pytest
from conftest import OPERATOR_KEY, Logged, Prefixed, create_sandbox
from flask.testing import FlaskClient

from messpunkt import create_app
from messpunkt.stores.redis_log import writer
from messpunkt.testing import DEMO_CLIENT, FROZEN_AT, obtain_tokens
from messpunkt.web.request_log import SECRETS, _may_hold_secret, redact

KEY = "log-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": KEY}
PROBLEM = "application/problem+json"
WEB = ("sandbox-web-client", "sandbox-web-client-secret-change-me")
SERVICE = ("sandbox-service-client", "sandbox-service-client-secret-change-me")
R = "[redacted]"


class ClosingClient(FlaskClient):
    """Closes each answer as a server does once it is sent, which writes the log entry."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def app_with(**config):
    app = create_app({"MESSPUNKT_SANDBOX_ADMIN_KEY": KEY, "MESSPUNKT_FROZEN_AT": FROZEN_AT,
                      **config})  # fmt: skip
    app.test_client_class = ClosingClient
    return app


@pytest.fixture
def client():
    return app_with().test_client()


def log(client, **query) -> list[dict]:
    response = client.get("/sandbox/requests", headers=ADMIN, query_string=query)
    assert response.status_code == 200, response.json
    return response.json["data"]


def test_the_log_lists_each_call_newest_first_with_who_and_how_it_went(client):
    tokens = obtain_tokens(client)
    client.get("/v1/usage-units?limit=2", headers=tokens.bearer)
    client.get("/v1/whoami", headers={"Authorization": "Bearer not-a-token"})
    session = client.get("/sandbox/sessions", headers=ADMIN).json["data"][0]["id"]
    entries = log(client)
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/sandbox/sessions", 200),
        ("GET", "/v1/whoami", 401),
        ("GET", "/v1/usage-units", 200),
        ("POST", "/oauth/token", 200),
        ("POST", "/oauth/authorize", 302),
    ]
    assert [int(e["id"]) for e in entries] == [5, 4, 3, 2, 1]
    units = entries[2]
    assert {k: units[k] for k in ("query", "client_id", "session_id", "error", "request_body",
                                  "response_body", "injected_fault")} == {
        "query": "limit=2", "client_id": DEMO_CLIENT, "session_id": session, "error": None,
        "request_body": None, "response_body": None, "injected_fault": None,
    }  # fmt: skip
    assert units["sandbox_time"] == "2026-11-23T09:00:00.000+00:00"  # frozen at FROZEN_AT
    assert units["time"] != units["sandbox_time"]  # the real time it was served at
    assert units["duration_ms"] >= 0
    refused = entries[1]
    assert (refused["error"], refused["detail"]) == ("about:blank", "the access token is malformed")


def test_an_oauth_error_is_logged_with_its_code_and_both_bodies(client):
    client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": DEMO_CLIENT,
                                      "refresh_token": "stolen"})  # fmt: skip
    entry = log(client)[0]
    assert (entry["status"], entry["error"], entry["client_id"]) == (
        400,
        "invalid_grant",
        DEMO_CLIENT,
    )
    assert entry["request_body"] == {"grant_type": "refresh_token", "client_id": DEMO_CLIENT,
                                     "refresh_token": R}  # fmt: skip
    assert entry["response_body"]["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("body", "content_type", "logged"),
    [
        # Refused by the endpoint for its 101 fields (at most 100): parsed by the log itself,
        # a repeated name as a list, the secret redacted.
        ("refresh_token=secret&" + "x=1&" * 99 + "x=2", "application/x-www-form-urlencoded",
         {"refresh_token": R, "x": ["1"] * 99 + ["2"]}),
        # Latin-1 bytes, not UTF-8: refused as a form, and not kept.
        (b"grant_type=refresh_token&refresh_token=gr\xfcn", "application/x-www-form-urlencoded",
         "[not UTF-8]"),
        # JSON, as RFC 7591 clients send it: members kept, the secret redacted.
        (b'{"grant_type": "refresh_token", "refresh_token": "secret"}', "application/json",
         {"grant_type": "refresh_token", "refresh_token": R}),
        (b'{"grant_type": ', "application/json", "[not JSON]"),
        # Past the 8,192 bytes kept: noted by its length.
        ("a=" + "b" * 9000, "application/x-www-form-urlencoded", "[9002 bytes, not kept]"),
    ],
)  # fmt: skip
def test_an_oauth_body_the_endpoint_did_not_read_as_a_form_is_logged_redacted(
    client, body, content_type, logged
):
    answer = client.post("/oauth/token", data=body, content_type=content_type)
    assert answer.status_code in (400, 401)  # refused, whichever rule refuses it first
    entry = log(client)[0]
    assert (entry["path"], entry["request_body"]) == ("/oauth/token", logged)


def secrets_of_a_code_exchange(client):
    tokens = obtain_tokens(client)
    return [tokens.access_token, tokens.refresh_token], log(client)


def secrets_of_a_refresh(client):
    tokens = obtain_tokens(client)
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
            "client_id": DEMO_CLIENT}  # fmt: skip
    answer = client.post("/oauth/token", data=form).json
    return [tokens.refresh_token, answer["refresh_token"], answer["access_token"]], log(client)


def secrets_of_basic_authentication(client):
    answer = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                         auth=SERVICE).json  # fmt: skip
    entry = log(client)[0]
    assert entry["client_id"] == SERVICE[0]
    return [SERVICE[1], answer["access_token"]], [entry]


def secrets_of_a_client_secret_post(client):
    client.post("/oauth/token", data={"grant_type": "client_credentials",
                "client_id": SERVICE[0], "client_secret": SERVICE[1]})  # fmt: skip
    entry = log(client)[0]
    assert entry["request_body"]["client_secret"] == R
    return [SERVICE[1]], [entry]


def secrets_of_revocation_and_introspection(client):
    tokens = obtain_tokens(client)
    client.post("/oauth/introspect", data={"token": tokens.access_token}, auth=WEB)
    client.post("/oauth/revoke", data={"token": tokens.refresh_token, "client_id": DEMO_CLIENT})
    entries = log(client)[:2]
    assert [e["request_body"]["token"] for e in entries] == [R, R]
    return [tokens.access_token, tokens.refresh_token, WEB[1]], entries


def secrets_of_the_admin_key_and_query_strings(client):
    client.get("/sandbox/clock?password=hunter2&code=abc&token=t0k3n", headers=ADMIN)
    entry = log(client)[0]
    assert entry["query"] == f"password={R}&code={R}&token={R}"
    return [KEY, "hunter2", "t0k3n"], [entry]


def test_a_disguised_secret_in_the_query_is_redacted_and_a_plain_query_kept_as_sent(client):
    client.get("/sandbox/clock?access%5Ftoken=t0k3n&limit=2", headers=ADMIN)
    client.get("/sandbox/clock?from=2026-01-01&to=2026-12-31&flag", headers=ADMIN)
    plain, disguised = log(client)
    assert disguised["query"] == f"access_token={R}&limit=2"
    assert plain["query"] == "from=2026-01-01&to=2026-12-31&flag="  # as parsed, re-encoded


def test_a_secret_named_in_another_case_or_as_its_header_is_redacted_too(client):
    # The admin key sent in the query as its header's name stayed in the log, and so would
    # any secret's name in capitals (a review of the controls).
    client.get(f"/sandbox/clock?X-Sandbox-Admin-Key={KEY}&Client_Secret=s3cr3t&limit=2",
               headers=ADMIN)  # fmt: skip
    client.post("/oauth/token", json={"grant_type": "refresh_token", "REFRESH_TOKEN": "r3fr3sh"})
    token, clock = log(client)
    assert clock["query"] == f"X-Sandbox-Admin-Key={R}&Client_Secret={R}&limit=2"
    assert token["request_body"] == {"grant_type": "refresh_token", "REFRESH_TOKEN": R}
    assert [s for s in (KEY, "s3cr3t", "r3fr3sh") if s in json.dumps([token, clock])] == []


@pytest.mark.parametrize("query", [f"{name}=x" for name in sorted(SECRETS)]
                         + ["a=1&access%5Ftoken=x", "x=%41", "X-Sandbox-Admin-Key=x",
                            "ACCESS_TOKEN=x"])  # fmt: skip
def test_a_query_that_could_hold_a_secret_is_redacted_before_it_is_kept(query):
    # What the store keeps until the log is read must not hold the secret itself.
    assert _may_hold_secret(query)


def test_a_query_without_a_secret_name_is_kept_as_sent_until_read():
    assert not _may_hold_secret("from=2026-01-01&to=2026-12-31&metric=water_warm")


@pytest.mark.parametrize("scenario", [
    secrets_of_a_code_exchange, secrets_of_a_refresh, secrets_of_basic_authentication,
    secrets_of_a_client_secret_post, secrets_of_revocation_and_introspection,
    secrets_of_the_admin_key_and_query_strings,
])  # fmt: skip
def test_no_secret_reaches_the_log(client, scenario):
    secrets, entries = scenario(client)
    dumped = json.dumps(entries)
    assert entries
    assert [secret for secret in secrets if secret in dumped] == []


def test_the_code_and_verifier_of_an_exchange_are_redacted(client):
    obtain_tokens(client)
    exchange = log(client)[0]
    assert (exchange["request_body"]["code"], exchange["request_body"]["code_verifier"]) == (R, R)
    assert exchange["response_body"]["access_token"] == R
    assert exchange["response_body"]["refresh_token"] == R


def test_a_registration_answer_is_redacted_however_deep():
    answer = {"client_id": "c", "client_secret": "s", "registration_access_token": "r",
              "nested": [{"password": "p", "id_token": "i"}]}  # fmt: skip
    assert redact(answer) == {"client_id": "c", "client_secret": R,
                              "registration_access_token": R,
                              "nested": [{"password": R, "id_token": R}]}  # fmt: skip


def test_a_basic_header_without_a_colon_is_never_logged_as_who_sent_it(client):
    # base64("secret") alone: no user-id, only what may be the secret (RFC 7617 §2).
    client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"only-the-secret").decode()},
    )

    [entry] = log(client)
    assert entry["client_id"] is None
    assert "only-the-secret" not in json.dumps(entry)


def test_a_raw_non_ascii_query_is_logged_as_its_utf8_escapes(client):
    # WSGI hands the query over as latin-1 text: read as such, é came back as %C3%83%C2%A9.
    client.get("/v1/whoami", environ_overrides={"QUERY_STRING": "y=\xc3\xa9&code=x"})

    [entry] = log(client)
    assert entry["query"] == f"y=%C3%A9&code={R}"


def test_a_log_cursor_outlives_a_reset_which_keeps_the_log(client):
    for _ in range(3):
        client.get("/v1/whoami")
    first = client.get("/sandbox/requests?limit=2", headers=ADMIN).json
    assert client.post("/sandbox/reset", headers=ADMIN).status_code == 200

    after = client.get(
        "/sandbox/requests",
        headers=ADMIN,
        query_string={"limit": 2, "cursor": first["pagination"]["next_cursor"]},
    )

    assert after.status_code == 200, after.json
    assert [e["id"] for e in after.json["data"]] == ["1"]


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_an_entry_with_a_lone_surrogate_is_kept_alike_on_every_store(store, request):
    # JSON may escape a lone surrogate; UTF-8 cannot hold one. Redis's entry was dropped.
    config = {}
    if store == "redis":
        config = {"MESSPUNKT_STORE_URL": request.getfixturevalue("store_url"),
                  "MESSPUNKT_SIGNING_KEY": request.getfixturevalue("signing_key"),
                  "MESSPUNKT_SECRET_KEY": "cursor-secret"}  # fmt: skip
    client = app_with(**config).test_client()

    client.post("/oauth/revoke", data='{"token": "x", "x": "\\udfff"}',
                content_type="application/json")  # fmt: skip

    [entry] = log(client)
    assert (entry["path"], entry["request_body"]) == ("/oauth/revoke", {"token": R, "x": "\ufffd"})


def test_the_logs_own_reads_are_not_logged(client):
    client.get("/sandbox/clock", headers=ADMIN)
    log(client)
    client.get("/sandbox/requests/1", headers=ADMIN)
    assert [e["path"] for e in log(client)] == ["/sandbox/clock"]


@pytest.mark.parametrize(("query", "expected"), [
    ({"client_id": SERVICE[0]}, ["/oauth/token"]),
    ({"status": 401}, ["/v1/whoami", "/v1/properties"]),
    ({"path": "/v1/*"}, ["/v1/whoami", "/v1/properties"]),
    ({"path": "/v1/properties/**"}, []),
    ({"path": "/sandbox/clock"}, ["/sandbox/clock"]),
])  # fmt: skip
def test_the_log_filters_by_client_status_and_path(client, query, expected):
    client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=SERVICE)
    client.get("/sandbox/clock", headers=ADMIN)
    client.get("/v1/properties", headers={"Authorization": "Bearer " + "x"})
    client.get("/v1/whoami")
    assert [e["path"] for e in log(client, **query)] == expected


@pytest.mark.parametrize(("query", "errors"), [
    ({"status": "teapot"}, {"status": ["Not a valid integer: digits 0-9 only, without sign, "
                                       "spaces or leading zeros."]}),
    ({"status": 99}, {"status": ["Must be greater than or equal to 100 and less than or equal "
                                 "to 599."]}),
    ({"path": "v1/whoami"}, {"path": ["must start with / and be at most 200 characters"]}),
    ({"path": "/v1/usage*"}, {"path": ["* stands for a whole segment only (and ** for the "
                                       "rest, last)"]}),
    ({"client_id": ""}, {"client_id": ["Length must be between 1 and 100."]}),
    ({"cursor": "forged"}, {"cursor": ["Invalid cursor."]}),
])  # fmt: skip
def test_a_bad_filter_is_a_400_naming_it(client, query, errors):
    response = client.get("/sandbox/requests", headers=ADMIN, query_string=query)
    assert (response.status_code, response.content_type) == (400, PROBLEM)
    assert response.json["errors"] == errors


def test_an_unknown_entry_is_a_404_problem(client):
    response = client.get("/sandbox/requests/12345", headers=ADMIN)
    assert (response.status_code, response.content_type) == (404, PROBLEM)
    assert (
        response.json["detail"] == "no logged request with this id (the log keeps the newest only)"
    )


def test_one_entry_is_shown_by_its_id(client):
    client.get("/sandbox/clock", headers=ADMIN)
    entry = log(client)[0]
    assert client.get(f"/sandbox/requests/{entry['id']}", headers=ADMIN).json == entry


def test_pages_neither_repeat_nor_skip_while_the_log_grows(client):
    for _ in range(5):
        client.get("/sandbox/clock", headers=ADMIN)
    first = client.get("/sandbox/requests?limit=2", headers=ADMIN).json
    client.get("/sandbox/clock", headers=ADMIN)  # a new entry, newest, while paging
    cursor = first["pagination"]["next_cursor"]
    second = client.get("/sandbox/requests", headers=ADMIN,
                        query_string={"limit": 2, "cursor": cursor}).json  # fmt: skip
    assert [e["id"] for e in first["data"] + second["data"]] == ["5", "4", "3", "2"]


def test_the_log_keeps_the_newest_it_is_configured_for():
    client = app_with(MESSPUNKT_REQUEST_LOG_SIZE=3).test_client()
    for _ in range(5):
        client.get("/sandbox/clock", headers=ADMIN)
    assert [e["id"] for e in log(client)] == ["5", "4", "3"]


def test_a_partner_sandbox_logs_its_own_requests_only():
    client = app_with(MESSPUNKT_OPERATOR_KEY=OPERATOR_KEY).test_client()
    created = create_sandbox(client)
    partner = Prefixed(client, f"/s/{created['id']}")
    admin = {"X-Sandbox-Admin-Key": created["admin_key"]}
    obtain_tokens(partner)
    client.get("/sandbox/clock", headers=ADMIN)
    own = partner.get("/sandbox/requests", headers=admin).json["data"]
    assert [e["path"] for e in own] == ["/oauth/token", "/oauth/authorize"]
    assert [e["path"] for e in log(client)] == ["/sandbox/clock"]


def test_on_redis_every_worker_writes_to_one_log(store_url, signing_key):
    config = {"MESSPUNKT_STORE_URL": store_url, "MESSPUNKT_SIGNING_KEY": signing_key,
              "MESSPUNKT_SECRET_KEY": "cursor-secret"}  # fmt: skip
    one, other = app_with(**config).test_client(), app_with(**config).test_client()
    tokens = obtain_tokens(one)
    other.get("/v1/whoami", headers=tokens.bearer)
    entries = log(one)
    assert [(e["path"], e["status"]) for e in entries] == [
        ("/v1/whoami", 200), ("/oauth/token", 200), ("/oauth/authorize", 302),
    ]  # fmt: skip
    assert entries[0]["client_id"] == DEMO_CLIENT
    assert tokens.access_token not in json.dumps(entries)


def test_on_redis_the_log_is_written_off_the_request_thread_in_one_round_trip(
    store_url, signing_key, monkeypatch
):
    import redis

    config = {"MESSPUNKT_STORE_URL": store_url, "MESSPUNKT_SIGNING_KEY": signing_key,
              "MESSPUNKT_SECRET_KEY": "cursor-secret"}  # fmt: skip
    client = app_with(**config).test_client()
    tokens = obtain_tokens(client)
    writer().wait()  # the sign-in's entries are written before counting starts
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(connection, command, check_health=True):
        sent.append((threading.get_ident(), command))
        return original(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    answer = client.get("/v1/whoami", headers=tokens.bearer)
    writer().wait()  # the process's log writer sends the entry, off the request's thread
    mine = [command for thread, command in sent if thread == threading.get_ident()]
    assert (answer.status_code, len(mine)) == (200, 1)  # the answer: state and session
    (logged,) = [command for thread, command in sent if thread != threading.get_ident()]
    assert b"EVALSHA" in (b"".join(logged) if isinstance(logged, list) else logged)


def test_on_redis_entries_that_gather_while_one_is_written_share_one_round_trip(
    store_url, signing_key, monkeypatch
):
    from messpunkt.stores import redis_log

    config = {"MESSPUNKT_STORE_URL": store_url, "MESSPUNKT_SIGNING_KEY": signing_key,
              "MESSPUNKT_SECRET_KEY": "cursor-secret"}  # fmt: skip
    store = app_with(**config).extensions["messpunkt"].store
    writer().wait()  # nothing of another test's left in the queue
    batches, release, original = [], threading.Event(), redis_log._write

    def slow(items):  # the first round trip takes until the test lets it go
        batches.append([orjson.loads(entry)["n"] for _, _, entry in items])
        if len(batches) == 1:
            release.wait(10)
        original(items)

    monkeypatch.setattr(redis_log, "_write", slow)
    store.log_request(Logged(n=0), keep=100)
    while not batches:  # the writer has taken entry 0 and is sending it
        time.sleep(0.01)
    for n in range(1, 11):
        store.log_request(Logged(n=n), keep=100)
    release.set()

    assert [entry["n"] for entry in store.requests()] == list(range(10, -1, -1))
    assert batches == [[0], list(range(1, 11))]  # ten entries, one pipeline


def test_on_redis_a_batch_of_two_sandboxes_is_one_script_each_and_keeps_each_ones_order(
    store_url, signing_key, monkeypatch
):
    import redis

    from messpunkt.stores import redis_log
    from messpunkt.stores.redis import RedisStore

    client = redis.Redis.from_url(store_url)
    one, two = RedisStore(client, "batch-one"), RedisStore(client, "batch-two")
    for store in (one, two):
        client.delete(store.prefix + "log", store.prefix + "log:seq")
        client.hset(store.prefix + "sbx", "gen", 1)  # both live: a gone sandbox logs nothing
    client.script_load(one._scripts.log_request.script)  # as after any earlier entry
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(connection, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return original(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    monkeypatch.setattr(redis_log, "MOST_PER_SCRIPT", 3)
    # Five entries of one sandbox between two of the other's, as they might arrive.
    came = [two, one, one, one, one, one, two]
    redis_log._write([(store, 100, orjson.dumps({"n": n})) for n, store in enumerate(came)])

    # One pipeline: sandbox one's five entries in two scripts (3, then 2), two's in one.
    assert len(sent) == 1 and sent[0].count(b"EVALSHA") == 3
    # Each sandbox numbers its own entries from 1 in the order they came, newest first:
    # one has n = 1..5 as ids 1..5, two has n = 0 and 6 as ids 1 and 2.
    ones = [(e["id"], e["n"]) for e in one.requests()]
    twos = [(e["id"], e["n"]) for e in two.requests()]
    assert ones == [("5", 5), ("4", 4), ("3", 3), ("2", 2), ("1", 1)]
    assert twos == [("2", 6), ("1", 0)]


def test_on_redis_a_batch_is_written_when_redis_has_forgotten_the_script(store_url, monkeypatch):
    import redis

    from messpunkt.stores import redis_log
    from messpunkt.stores.redis import RedisStore

    client = redis.Redis.from_url(store_url)
    store = RedisStore(client, "batch-flushed")
    client.delete(store.prefix + "log", store.prefix + "log:seq")
    client.hset(store.prefix + "sbx", "gen", 1)  # it lives: a gone sandbox logs nothing
    client.script_flush()  # as after a restart of Redis, or SCRIPT FLUSH
    monkeypatch.setattr(redis_log, "MOST_PER_SCRIPT", 3)
    redis_log._write([(store, 100, orjson.dumps({"n": n})) for n in range(4)])
    # Both scripts (3 entries, then 1) come back NOSCRIPT and are sent again, loaded.
    assert [(e["id"], e["n"]) for e in store.requests()] == [("4", 3), ("3", 2), ("2", 1), ("1", 0)]
