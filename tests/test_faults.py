"""POST /sandbox/faults: errors, delays and revoked tokens on demand, in the endpoint's format."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import OPERATOR_KEY, Prefixed, create_sandbox
from flask.testing import FlaskClient

from messpunkt import create_app
from messpunkt.testing import DEMO_CLIENT, FROZEN_AT, LiveServer, obtain_tokens

KEY = "fault-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": KEY}
PROBLEM = "application/problem+json"
CONSUMPTION = "/v1/usage-units/*/consumption"
WE01 = "389e7867-1c83-5ae4-884f-dd7c246a0e90"
RANGE = "?from=2026-01-01&to=2026-01-31&metric=water_warm"
SERVICE = ("sandbox-service-client", "sandbox-service-client-secret-change-me")


class ClosingClient(FlaskClient):
    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # as a server closes it: the log is written
        return super().open(*args, **kwargs)


def app_with(**config):
    app = create_app({"MESSPUNKT_SANDBOX_ADMIN_KEY": KEY, "MESSPUNKT_FROZEN_AT": FROZEN_AT,
                      **config})  # fmt: skip
    app.test_client_class = ClosingClient
    return app


@pytest.fixture
def client():
    return app_with().test_client()


@pytest.fixture
def tokens(client):
    return obtain_tokens(client)


def arm(client, **rule) -> dict:
    response = client.post("/sandbox/faults", json=rule, headers=ADMIN)
    assert response.status_code == 201, response.json
    return response.json


def armed(client) -> list[dict]:
    return client.get("/sandbox/faults", headers=ADMIN).json["data"]


def consumption(client, tokens):
    return client.get(f"/v1/usage-units/{WE01}/consumption{RANGE}", headers=tokens.bearer)


def test_a_503_answers_the_next_matching_request_once_with_retry_after(client, tokens):
    rule = arm(client, method="GET", path=CONSUMPTION, status=503, retry_after=2, count=1)
    assert rule == {"id": rule["id"], "method": "GET", "path": CONSUMPTION, "status": 503,
                    "retry_after": 2, "delay_ms": None, "invalid_token": False, "count": 1,
                    "until": None}  # fmt: skip
    first = consumption(client, tokens)
    assert (first.status_code, first.content_type, first.headers["Retry-After"]) == (
        503, PROBLEM, "2",
    )  # fmt: skip
    assert first.json == {"type": "about:blank", "title": "Service Unavailable", "status": 503,
                          "detail": f"an injected fault (sandbox rule {rule['id']})"}  # fmt: skip
    assert consumption(client, tokens).status_code == 200
    assert armed(client) == []


@pytest.mark.parametrize(("status", "retry_after"), [
    (429, "1"), (500, None), (502, None), (503, "1"), (504, None),
])  # fmt: skip
def test_each_status_is_a_problem_on_v1_with_retry_after_where_it_belongs(
    client, tokens, status, retry_after
):
    arm(client, method="*", path="/v1/**", status=status, count=1)
    response = client.get("/v1/whoami", headers=tokens.bearer)
    assert (response.status_code, response.content_type) == (status, PROBLEM)
    assert response.headers.get("Retry-After") == retry_after


@pytest.mark.parametrize(("status", "error"), [
    (429, "temporarily_unavailable"), (500, "server_error"), (502, "temporarily_unavailable"),
    (503, "temporarily_unavailable"), (504, "temporarily_unavailable"),
])  # fmt: skip
def test_on_the_token_endpoint_a_fault_is_an_rfc_6749_error(client, status, error):
    rule = arm(client, method="POST", path="/oauth/token", status=status, count=1)
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=SERVICE)
    assert (response.status_code, response.mimetype) == (status, "application/json")
    assert response.json == {
        "error": error,
        "error_description": f"an injected fault (sandbox rule {rule['id']})",
    }
    assert response.headers["Cache-Control"] == "no-store"
    again = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=SERVICE)
    assert again.status_code == 200


def test_on_the_consent_page_a_fault_is_the_error_page(client):
    arm(client, method="GET", path="/oauth/authorize", status=500, count=1)
    response = client.get("/oauth/authorize?client_id=" + DEMO_CLIENT)
    assert (response.status_code, response.mimetype) == (500, "text/html")


def test_invalid_token_answers_exactly_as_a_revoked_token(client):
    revoked = obtain_tokens(client)
    client.post("/oauth/revoke", data={"token": revoked.access_token, "client_id": DEMO_CLIENT})
    real = client.get("/v1/whoami", headers=revoked.bearer)
    live = obtain_tokens(client)
    arm(client, method="GET", path="/v1/whoami", invalid_token=True, count=1)
    injected = client.get("/v1/whoami", headers=live.bearer)
    assert (injected.status_code, injected.get_data()) == (401, real.get_data())
    assert injected.headers["WWW-Authenticate"] == real.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in real.headers["WWW-Authenticate"]
    assert client.get("/v1/whoami", headers=live.bearer).status_code == 200


def test_a_delay_answers_as_usual_after_waiting(client, tokens, monkeypatch):
    waited = []
    monkeypatch.setattr(client.application.extensions["messpunkt"].delays, "wait", waited.append)
    arm(client, method="GET", path="/v1/whoami", delay_ms=250, count=2)
    assert [client.get("/v1/whoami", headers=tokens.bearer).status_code for _ in range(3)] == [
        200, 200, 200,
    ]  # fmt: skip
    assert waited == [0.25, 0.25]


def test_delays_hold_at_most_half_the_threads_and_the_next_is_a_503_that_spends_nothing(
    monkeypatch,
):
    # A partner's 30 s delays on every thread of a hosted process kept every other partner
    # waiting (29.7 s for the default sandbox's metadata with 4 threads). Half the threads
    # may wait in delays; past that, the delayed request is a 503 and its count is kept.
    client = app_with(MESSPUNKT_THREADS=4).test_client()
    tokens = obtain_tokens(client)
    rule = arm(client, method="GET", path="/v1/whoami", delay_ms=30000, count=5)
    waiting, release = threading.Semaphore(0), threading.Event()

    def sleep(seconds: float) -> None:
        waiting.release()
        release.wait(10)

    monkeypatch.setattr(client.application.extensions["messpunkt"].delays, "wait", sleep)
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(client.get, "/v1/whoami", headers=tokens.bearer) for _ in range(2)]
        assert all(waiting.acquire(timeout=10) for _ in held)

        refused = client.get("/v1/whoami", headers=tokens.bearer)

        assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
        assert refused.json["detail"] == (
            f"an injected delay (sandbox rule {rule['id']}) was not held: 2 delayed requests "
            "already wait in this process, the most it holds (half its threads)"
        )
        assert armed(client)[0]["count"] == 3
        logged = client.get("/sandbox/requests?path=/v1/whoami", headers=ADMIN).json["data"][0]
        assert (logged["status"], logged["injected_fault"]) == (503, rule["id"])
        release.set()
        assert [answer.result().status_code for answer in held] == [200, 200]
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 200  # a slot again
    assert armed(client)[0]["count"] == 2


def test_a_fault_until_an_instant_ends_with_the_sandbox_clock(client, tokens):
    arm(client, method="GET", path="/v1/whoami", status=500, until="2026-11-23T09:30:00+00:00")
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 500
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 500
    client.post("/sandbox/clock/advance", json={"by": "PT29M"}, headers=ADMIN)
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 500
    client.post("/sandbox/clock/advance", json={"by": "PT1M"}, headers=ADMIN)
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 200
    assert armed(client) == []


def test_a_rule_disarmed_while_paging_is_not_passed_over_and_a_gone_place_is_a_400(client):
    rules = [arm(client, method="GET", path="/v1/whoami", status=500, count=1) for _ in range(3)]
    first = client.get("/sandbox/faults?limit=2", headers=ADMIN).json
    assert [rule["id"] for rule in first["data"]] == [rules[0]["id"], rules[1]["id"]]
    cursor = first["pagination"]["next_cursor"]
    # A rule before the cursor's place goes: page 2 still starts after the second rule.
    assert client.delete(f"/sandbox/faults/{rules[0]['id']}", headers=ADMIN).status_code == 204
    second = client.get(f"/sandbox/faults?limit=2&cursor={cursor}", headers=ADMIN).json
    assert [rule["id"] for rule in second["data"]] == [rules[2]["id"]]
    # The rule it continues after goes: there is no place to go on from.
    assert client.delete(f"/sandbox/faults/{rules[1]['id']}", headers=ADMIN).status_code == 204
    gone = client.get(f"/sandbox/faults?limit=2&cursor={cursor}", headers=ADMIN)
    assert (gone.status_code, gone.content_type) == (400, PROBLEM)
    assert gone.json["errors"] == {"cursor": ["Cursor's place is gone."]}


def test_a_fault_whose_until_came_stays_ended_when_a_reset_moves_the_clock_back(store_config):
    """A reset keeps the armed rules, not those already over: the clock it moves back would
    otherwise bring one to life again, for as long as the clock takes to reach it again."""
    client = app_with(**store_config).test_client()  # frozen at 2026-11-23T09:00
    client.post("/sandbox/clock/advance", json={"by": "P10D"}, headers=ADMIN)
    ended = arm(client, method="*", path="/oauth/token", status=503, until="2026-12-03T10:00:00Z")
    kept = arm(client, method="GET", path=CONSUMPTION, status=503, until="2026-12-30T00:00:00Z")
    client.post("/sandbox/clock/advance", json={"by": "PT2H"}, headers=ADMIN)  # 11:00
    assert [rule["id"] for rule in armed(client)] == [kept["id"]]
    assert client.post("/sandbox/reset", headers=ADMIN).json["now"] == "2026-11-23T09:00:00+00:00"
    assert [rule["id"] for rule in armed(client)] == [kept["id"]]
    assert ended["id"] != kept["id"]
    granted = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=SERVICE)
    assert granted.status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/whoami"), ("GET", "/v1/usage-units/*"), ("GET", "/v1/who*"[:-1] + "amI"),
])  # fmt: skip
def test_a_fault_for_another_method_or_path_leaves_the_request_alone(client, tokens, method, path):
    arm(client, method=method, path=path, status=500, count=5)
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 200
    assert armed(client)[0]["count"] == 5


@pytest.mark.parametrize("path", ["/oauth/token", "/v1/whoami"])
def test_a_rule_for_every_method_leaves_a_cors_preflight_alone(path):
    # A preflight is the browser's, not the partner's request: answered with the fault,
    # it hides the injected answer behind a CORS error and spends the count twice.
    client = app_with(MESSPUNKT_CORS_ORIGINS="http://localhost:5173").test_client()
    arm(client, method="*", path=path, status=503, count=2)

    preflight = client.options(path, headers={"Origin": "http://localhost:5173",
                                              "Access-Control-Request-Method": "POST"})  # fmt: skip

    assert preflight.status_code == 204
    assert armed(client)[0]["count"] == 2


def test_faults_never_touch_the_controls_even_when_armed_under_v1(client, tokens):
    arm(client, method="*", path="/v1/**", status=500, count=5)
    assert client.get("/sandbox/clock", headers=ADMIN).status_code == 200
    assert client.get("/sandbox/faults", headers=ADMIN).status_code == 200


def test_the_request_log_marks_the_injected_answer(client, tokens):
    rule = arm(client, method="GET", path="/v1/whoami", status=502, count=1)
    client.get("/v1/whoami", headers=tokens.bearer)
    client.get("/v1/whoami", headers=tokens.bearer)
    entries = client.get("/sandbox/requests?path=/v1/whoami", headers=ADMIN).json["data"]
    assert [(e["status"], e["injected_fault"]) for e in entries] == [(200, None), (502, rule["id"])]


def test_disarming_removes_a_fault_and_an_unknown_id_is_a_404(client, tokens):
    rule = arm(client, method="GET", path="/v1/whoami", status=500, count=3)
    deleted = client.delete(f"/sandbox/faults/{rule['id']}", headers=ADMIN)
    assert (deleted.status_code, deleted.get_data()) == (204, b"")
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 200
    again = client.delete(f"/sandbox/faults/{rule['id']}", headers=ADMIN)
    assert (again.status_code, again.content_type) == (404, PROBLEM)
    assert again.json["detail"] == "no armed fault with this id"


def test_past_twenty_armed_faults_a_21st_is_a_409(client):
    for _ in range(20):
        arm(client, method="GET", path="/v1/whoami", status=500, count=1)
    response = client.post(
        "/sandbox/faults",
        headers=ADMIN,
        json={"method": "GET", "path": "/v1/whoami", "status": 500, "count": 1},
    )
    assert (response.status_code, response.content_type) == (409, PROBLEM)
    assert len(armed(client)) == 20


GOOD = {"method": "GET", "path": CONSUMPTION, "status": 503, "count": 1}
ONE_OF = ["give exactly one of status, delay_ms and invalid_token"]
EITHER = ["give count, until or both"]


@pytest.mark.parametrize(("body", "errors"), [
    ({**GOOD, "status": "503"}, {"status": ["Not a valid integer."]}),
    ({**GOOD, "status": 418}, {"status": ["Must be one of: 429, 500, 502, 503, 504."]}),
    ({**GOOD, "method": "BREW"},
     {"method": ["Must be one of: *, GET, POST, PUT, PATCH, DELETE."]}),
    ({**GOOD, "path": "v1/whoami"}, {"path": ["must start with / and be at most 200 characters"]}),
    ({**GOOD, "path": "/v1/usage*"},
     {"path": ["* stands for a whole segment only (and ** for the rest, last)"]}),
    ({**GOOD, "path": "/sandbox/clock"}, {"path": ["faults apply under /v1/ and /oauth/ only"]}),
    ({**GOOD, "path": "/**"}, {"path": ["faults apply under /v1/ and /oauth/ only"]}),
    ({**GOOD, "delay_ms": 10}, {"status": ONE_OF}),
    ({"method": "GET", "path": CONSUMPTION, "count": 1}, {"status": ONE_OF}),
    ({**GOOD, "count": None}, {"count": EITHER}),
    ({"method": "GET", "path": CONSUMPTION, "status": 503}, {"count": EITHER}),
    ({**GOOD, "count": 0}, {"count": ["Must be greater than or equal to 1 and less than or equal "
                                      "to 1000."]}),
    ({**GOOD, "status": 500, "retry_after": 1},
     {"retry_after": ["goes with status 429 or 503 only"]}),
    ({"method": "POST", "path": "/oauth/token", "invalid_token": True, "count": 1},
     {"invalid_token": ["a token is judged on /v1/ paths only"]}),
    ({**GOOD, "invalid_token": "yes"}, {"invalid_token": ["Not a valid boolean."]}),
    ({**GOOD, "until": "tomorrow"}, {"until": ["Not a valid datetime."]}),
    ({**GOOD, "colour": "red"}, {"colour": ["Unknown field."]}),
])  # fmt: skip
def test_a_bad_rule_is_a_400_naming_the_field_and_arms_nothing(client, body, errors):
    response = client.post("/sandbox/faults", json=body, headers=ADMIN)
    assert (response.status_code, response.content_type) == (400, PROBLEM)
    assert response.json["errors"] == errors
    assert armed(client) == []


@pytest.mark.parametrize(("body", "errors"), [
    ({"method": "GET", "path": "/v1/whoami", "delay_ms": 30_001, "count": 1},
     {"delay_ms": ["Must be at most 30000 (ms)."]}),
    ({**GOOD, "until": "2026-11-23T09:00:00+00:00"},
     {"until": ["Must be after the sandbox's now."]}),
])  # fmt: skip
def test_a_delay_over_the_cap_or_an_instant_passed_is_a_400(client, body, errors):
    response = client.post("/sandbox/faults", json=body, headers=ADMIN)
    assert (response.status_code, response.content_type) == (400, PROBLEM)
    assert response.json["errors"] == errors
    assert armed(client) == []


def test_a_body_that_is_not_json_is_a_400(client):
    response = client.post("/sandbox/faults", data=b"{", headers={**ADMIN,
                           "Content-Type": "application/json"})  # fmt: skip
    assert (response.status_code, response.json["detail"]) == (400, "the body is not JSON")


def test_a_partner_sandboxs_faults_stay_in_it():
    client = app_with(MESSPUNKT_OPERATOR_KEY=OPERATOR_KEY).test_client()
    created = create_sandbox(client)
    partner = Prefixed(client, f"/s/{created['id']}")
    admin = {"X-Sandbox-Admin-Key": created["admin_key"]}
    rule = {"method": "GET", "path": "/v1/whoami", "status": 503, "count": 2}
    assert partner.post("/sandbox/faults", json=rule, headers=admin).status_code == 201
    partner_tokens, default_tokens = obtain_tokens(partner), obtain_tokens(client)
    assert client.get("/v1/whoami", headers=default_tokens.bearer).status_code == 200
    assert partner.get("/v1/whoami", headers=partner_tokens.bearer).status_code == 503


def hosted(store_url: str, signing_key: str) -> dict:
    return {"MESSPUNKT_STORE_URL": store_url, "MESSPUNKT_SIGNING_KEY": signing_key,
            "MESSPUNKT_SECRET_KEY": "cursor-secret", "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY,
            "MESSPUNKT_FROZEN_AT": FROZEN_AT}  # fmt: skip


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_twenty_requests_at_once_against_count_five_get_exactly_five_faults(
    where, request, tmp_path
):
    config = {"MESSPUNKT_SANDBOX_ADMIN_KEY": KEY, "MESSPUNKT_FROZEN_AT": FROZEN_AT}
    if where == "redis":
        config = hosted(request.getfixturevalue("store_url"),
                        request.getfixturevalue("signing_key"))  # fmt: skip
    with LiveServer(config, threads=8) as server:
        tokens = obtain_tokens(server.url)
        rule = {"method": "GET", "path": "/v1/whoami", "status": 503, "count": 5}
        arming = requests.post(server.url + "/sandbox/faults", json=rule, headers=ADMIN, timeout=10)
        assert arming.status_code == 201

        def call(_: int) -> int:
            return requests.get(
                server.url + "/v1/whoami", headers=tokens.bearer, timeout=10
            ).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(call, range(20)))
    assert sorted(statuses) == [200] * 15 + [503] * 5


def test_on_redis_a_fault_armed_through_one_worker_answers_at_another(store_url, signing_key):
    one, other = (create_app(hosted(store_url, signing_key)).test_client() for _ in range(2))
    tokens = obtain_tokens(other)
    rule = {"method": "GET", "path": "/v1/whoami", "status": 504, "count": 1}
    assert one.post("/sandbox/faults", json=rule, headers=ADMIN).status_code == 201
    assert [other.get("/v1/whoami", headers=tokens.bearer).status_code for _ in range(2)] == [
        504, 200,
    ]  # fmt: skip
    assert json.loads(one.get("/sandbox/faults", headers=ADMIN).get_data())["data"] == []


@pytest.mark.parametrize(("path", "trips", "status"), [
    ("/v1/properties", 1, 200),  # a rule armed for another path: nothing more read
    ("/v1/whoami", 2, 503),  # a counting rule that matches: one script counts it down
])  # fmt: skip
def test_on_redis_a_fault_costs_a_round_trip_only_when_it_matches(
    store_url, signing_key, monkeypatch, path, trips, status
):
    import redis

    client = create_app(hosted(store_url, signing_key)).test_client()
    tokens = obtain_tokens(client)
    rule = {"method": "GET", "path": "/v1/whoami", "status": 503, "count": 2}
    assert client.post("/sandbox/faults", json=rule, headers=ADMIN).status_code == 201
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 503  # script loaded
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(connection, command, check_health=True):
        sent.append(command)
        return original(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    # The test client leaves the answer open, as a server does until it has sent it: the
    # request log's write after it is not counted here (test_request_log counts it).
    assert client.get(path, headers=tokens.bearer).status_code == status
    assert len(sent) == trips
