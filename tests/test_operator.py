"""/sandboxes: the operator's key, creating, listing, showing, deleting and expiring sandboxes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import OPERATOR, OPERATOR_KEY, create_sandbox

from messpunkt import create_app
from messpunkt.sandboxes import new_sandbox_id
from messpunkt.testing import FROZEN_AT

ISSUER = "http://localhost:8000"
PROBLEM = "application/problem+json"
DAY = 86400
PATHS = [("GET", "/sandboxes"), ("POST", "/sandboxes"), ("GET", "/sandboxes/{id}"),
         ("DELETE", "/sandboxes/{id}")]  # fmt: skip
FIELDS = {"id", "issuer", "created_at", "expires_at", "data_set", "status"}


@pytest.fixture
def messpunkt_config():
    return {
        "MESSPUNKT_FROZEN_AT": FROZEN_AT,
        "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY,
        "MESSPUNKT_MAX_SANDBOXES": 3,
    }


@pytest.fixture
def client(messpunkt_client):
    return messpunkt_client


def problem(status: int, detail: str, **errors) -> dict:
    titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict",
              410: "Gone", 422: "Unprocessable Entity"}  # fmt: skip
    body = {"type": "about:blank", "title": titles[status], "status": status, "detail": detail}
    return {**body, "errors": errors} if errors else body


def seconds(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def later(client, by: timedelta) -> None:
    """Move the machine's clock as the platform reads it (never the sandbox clock)."""
    client.application.extensions["messpunkt"].wall = lambda: datetime.now(UTC) + by


# The operator key


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_without_an_operator_key_every_sandboxes_path_is_404(method, path):
    client = create_app({"MESSPUNKT_OPERATOR_KEY": ""}).test_client()
    response = client.open(path.format(id=new_sandbox_id()), method=method, headers=OPERATOR)
    assert (response.status_code, response.mimetype) == (404, PROBLEM)
    assert response.get_json() == problem(404, "no such resource")
    spec = client.get("/openapi.json").get_json()
    assert [p for p in spec["paths"] if p.startswith("/sandboxes")] == []
    assert "operatorKey" not in spec["components"]["securitySchemes"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Operator-Key": ""}, {"X-Operator-Key": "wrong"},
     {"X-Operator-Key": OPERATOR_KEY + "x"}, {"X-Operator-Key": OPERATOR_KEY[:-1]},
     {"X-Operator-Key": OPERATOR_KEY.upper()}, {"Authorization": f"Bearer {OPERATOR_KEY}"}],
    ids=["none", "empty", "wrong", "longer", "shorter", "upper-case", "as-a-bearer-token"],
)  # fmt: skip
@pytest.mark.parametrize(("method", "path"), PATHS)
def test_a_missing_or_wrong_operator_key_is_401_and_changes_nothing(client, headers, method, path):
    response = client.open(path.format(id=new_sandbox_id()), method=method, headers=headers)
    assert (response.status_code, response.mimetype) == (401, PROBLEM)
    assert response.get_json() == problem(
        401, "the operator's API needs the operator key in the X-Operator-Key header"
    )
    assert response.headers["WWW-Authenticate"] == 'X-Operator-Key realm="messpunkt operator"'
    assert client.get("/sandboxes", headers=OPERATOR).get_json()["data"] == []


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_the_operator_api_is_not_a_path_of_any_partner_sandbox(client, method, path):
    created = create_sandbox(client)
    response = client.open(
        f"/s/{created['id']}" + path.format(id=created["id"]), method=method, headers=OPERATOR
    )
    assert (response.status_code, response.get_json()) == (404, problem(404, "no such resource"))


def test_the_operator_api_is_documented_with_its_own_key(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["operatorKey"] == {
        "type": "apiKey", "in": "header", "name": "X-Operator-Key",
    }  # fmt: skip
    operations = {
        (path, method): operation
        for path, item in spec["paths"].items() if path.startswith("/sandboxes")
        for method, operation in item.items() if method != "parameters"
    }  # fmt: skip
    # "default": flask-smorest documents every operation's unexpected error as a problem.
    assert {(p, m): set(o["responses"]) for (p, m), o in operations.items()} == {
        ("/sandboxes", "get"): {"200", "400", "401", "default"},
        ("/sandboxes", "post"): {"201", "400", "401", "409", "422", "default"},
        ("/sandboxes/{sandbox_id}", "get"): {"200", "401", "404", "410", "default"},
        ("/sandboxes/{sandbox_id}", "delete"): {"204", "401", "404", "410", "default"},
    }
    assert all(o["security"] == [{"operatorKey": []}] for o in operations.values())


# Creating


def test_creating_a_sandbox_shows_its_admin_key_once_and_its_issuer(client):
    response = client.post("/sandboxes", headers=OPERATOR)
    assert (response.status_code, response.mimetype) == (201, "application/json")
    created = response.get_json()
    assert set(created) == FIELDS | {"admin_key"}
    assert created["issuer"] == f"{ISSUER}/s/{created['id']}"
    assert (created["data_set"], created["status"]) == ("default", "active")
    assert seconds(created["created_at"], created["expires_at"]) == 7 * DAY
    assert len(created["admin_key"]) >= 43  # 32 random bytes
    clock = client.get(
        f"/s/{created['id']}/sandbox/clock", headers={"X-Sandbox-Admin-Key": created["admin_key"]}
    )
    assert clock.status_code == 200
    shown = client.get(f"/sandboxes/{created['id']}", headers=OPERATOR).get_json()
    assert shown == {k: v for k, v in created.items() if k != "admin_key"}
    listed = client.get("/sandboxes", headers=OPERATOR).get_json()["data"]
    assert listed == [shown]
    assert created["admin_key"] not in json.dumps([shown, listed])


def test_every_sandbox_gets_its_own_id_and_admin_key(client):
    first, second = create_sandbox(client), create_sandbox(client)
    assert first["id"] != second["id"]
    assert first["admin_key"] != second["admin_key"]


@pytest.mark.parametrize("expires_in", [60, 3600, 90 * DAY])
def test_a_sandbox_lives_as_long_as_asked_from_a_minute_to_ninety_days(client, expires_in):
    created = create_sandbox(client, expires_in=expires_in)
    assert seconds(created["created_at"], created["expires_at"]) == expires_in


RANGE = "Must be greater than or equal to 60 and less than or equal to 7776000."


@pytest.mark.parametrize(("body", "errors"), [
    ({"expires_in": 59}, {"expires_in": [RANGE]}),
    ({"expires_in": 90 * DAY + 1}, {"expires_in": [RANGE]}),
    ({"expires_in": -1}, {"expires_in": [RANGE]}),
    ({"expires_in": "3600"}, {"expires_in": ["Not a valid integer."]}),
    ({"expires_in": 3600.5}, {"expires_in": ["Not a valid integer."]}),
    ({"expires_in": None}, {"expires_in": ["Field may not be null."]}),
    ({"expires_in": 10**30}, {"expires_in": [RANGE]}),
    ({"data_set": ""}, {"data_set": ["Length must be between 1 and 40."]}),
    ({"data_set": 5}, {"data_set": ["Not a valid string."]}),
    ({"name": "x"}, {"name": ["Unknown field."]}),
])  # fmt: skip
def test_a_bad_create_request_is_400_per_field_and_creates_nothing(client, body, errors):
    response = client.post("/sandboxes", headers=OPERATOR, json=body)
    assert (response.status_code, response.mimetype) == (400, PROBLEM)
    assert response.get_json() == problem(400, "some parameters are invalid; see errors", **errors)
    assert client.get("/sandboxes", headers=OPERATOR).get_json()["data"] == []


def test_a_body_that_is_not_json_is_400(client):
    response = client.post(
        "/sandboxes", headers=OPERATOR, data="expires_in=60", content_type="text/plain"
    )
    assert response.get_json() == problem(
        400, "the body is not JSON: send it as application/json",
        json=["Not sent as application/json."],
    )  # fmt: skip


def test_an_unknown_data_set_is_422(client):
    response = client.post("/sandboxes", headers=OPERATOR, json={"data_set": "nope"})
    assert (response.status_code, response.get_json()) == (422, problem(
        422, "no data set of this name",
        data_set=["Unknown data set; the known ones: default."],
    ))  # fmt: skip


def test_past_the_limit_creating_is_409_until_one_ends(client):
    ids = [create_sandbox(client, expires_in=60)["id"] for _ in range(2)]
    create_sandbox(client)
    response = client.post("/sandboxes", headers=OPERATOR)
    assert (response.status_code, response.mimetype) == (409, PROBLEM)
    assert response.get_json() == problem(
        409, "3 sandboxes exist, the most allowed: delete one, or wait until one expires"
    )
    client.delete(f"/sandboxes/{ids[0]}", headers=OPERATOR)
    create_sandbox(client)
    later(client, timedelta(seconds=61))  # the second expires
    create_sandbox(client)
    assert client.post("/sandboxes", headers=OPERATOR).status_code == 409


# Listing


def test_the_list_pages_oldest_first_and_never_shows_the_default(client):
    created = []
    for by in range(3):
        later(client, timedelta(seconds=by))
        created.append(create_sandbox(client)["id"])
    first = client.get("/sandboxes?limit=2", headers=OPERATOR).get_json()
    assert [s["id"] for s in first["data"]] == created[:2]
    cursor = first["pagination"]["next_cursor"]
    second = client.get("/sandboxes", query_string={"limit": 2, "cursor": cursor},
                        headers=OPERATOR).get_json()  # fmt: skip
    assert ([s["id"] for s in second["data"]], second["pagination"]) == (
        created[2:], {"next_cursor": None},
    )  # fmt: skip


def test_a_cursor_from_a_sandbox_list_is_400_on_the_operator_list(client):
    create_sandbox(client), create_sandbox(client)
    cursor = client.get("/sandboxes?limit=1", headers=OPERATOR).get_json()["pagination"]
    response = client.get(
        "/sandbox/sessions", query_string={"cursor": cursor["next_cursor"]},
        headers={"X-Sandbox-Admin-Key": client.application.extensions["messpunkt"].admin_key},
    )  # fmt: skip
    assert (response.status_code, response.get_json()["errors"]) == (
        400, {"cursor": ["Cursor does not belong to this query."]},
    )  # fmt: skip


def test_an_operator_cursor_outlives_a_reset_of_the_default_sandbox(client):
    create_sandbox(client), create_sandbox(client)
    cursor = client.get("/sandboxes?limit=1", headers=OPERATOR).get_json()["pagination"]
    client.application.extensions["messpunkt"].store.reset()
    response = client.get(
        "/sandboxes", query_string={"limit": 1, "cursor": cursor["next_cursor"]},
        headers=OPERATOR,
    )  # fmt: skip
    assert response.status_code == 200


# Showing and deleting


@pytest.mark.parametrize(("sandbox_id", "detail"), [
    ("unknown", "no sandbox with this id"),
    ("default", "no sandbox with this id"),
    ("short", "no sandbox with this id"),
    ("A" * 23, "no sandbox with this id"),
    ("%00" * 22, "no sandbox with this id"),
    ("..%2F" + "A" * 17, "no such resource"),  # a slash: no route matches
])  # fmt: skip
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_unknown_or_malformed_id_is_404(client, method, sandbox_id, detail):
    sandbox_id = new_sandbox_id() if sandbox_id == "unknown" else sandbox_id
    response = client.open(f"/sandboxes/{sandbox_id}", method=method, headers=OPERATOR)
    assert (response.status_code, response.mimetype) == (404, PROBLEM)
    assert response.get_json() == problem(404, detail)


def test_deleting_a_sandbox_ends_every_path_of_it_at_once(client):
    created = create_sandbox(client)
    admin = {"X-Sandbox-Admin-Key": created["admin_key"]}
    assert client.get(f"/s/{created['id']}/sandbox/clock", headers=admin).status_code == 200
    response = client.delete(f"/sandboxes/{created['id']}", headers=OPERATOR)
    assert (response.status_code, response.get_data()) == (204, b"")
    assert client.get(f"/s/{created['id']}/sandbox/clock", headers=admin).status_code == 404
    assert client.get("/sandboxes", headers=OPERATOR).get_json()["data"] == []


@pytest.mark.parametrize(("end", "detail"), [
    ("delete", "this sandbox was deleted"), ("expire", "this sandbox has expired"),
])  # fmt: skip
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_ended_sandbox_is_410_to_the_operator(client, end, detail, method):
    created = create_sandbox(client, expires_in=60)
    if end == "delete":
        client.delete(f"/sandboxes/{created['id']}", headers=OPERATOR)
    else:
        later(client, timedelta(seconds=60))
    response = client.open(f"/sandboxes/{created['id']}", method=method, headers=OPERATOR)
    assert (response.status_code, response.mimetype) == (410, PROBLEM)
    assert response.get_json() == problem(410, detail)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_sandbox_expires_on_real_time_not_on_its_own_clock(backend, request):
    """On the machine's clock, as the registry reads it, on both stores: on Redis its
    paths used to live until Redis's own clock let the state key expire."""
    client = request.getfixturevalue("client")
    if backend == "redis":
        store_url, signing_key = map(request.getfixturevalue, ("store_url", "signing_key"))
        config = {**request.getfixturevalue("messpunkt_config"), "MESSPUNKT_STORE_URL": store_url,
                  "MESSPUNKT_SIGNING_KEY": signing_key, "MESSPUNKT_SECRET_KEY": "cursors",
                  "MESSPUNKT_SANDBOX_ADMIN_KEY": "default-admin-key"}  # fmt: skip
        client = create_app(config).test_client()
    created = create_sandbox(client, expires_in=3600)
    admin = {"X-Sandbox-Admin-Key": created["admin_key"]}
    root = f"/s/{created['id']}"
    moved = client.post(f"{root}/sandbox/clock/advance", headers=admin, json={"by": "P30D"})
    assert moved.status_code == 200
    assert client.get(f"{root}/sandbox/clock", headers=admin).status_code == 200
    later(client, timedelta(seconds=3599))
    assert client.get(f"{root}/sandbox/clock", headers=admin).status_code == 200
    later(client, timedelta(seconds=3601))
    assert client.get(f"{root}/sandbox/clock", headers=admin).status_code == 404
    assert client.get("/sandboxes", headers=OPERATOR).get_json()["data"] == []
