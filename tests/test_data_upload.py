"""POST /sandbox/data with the data set in the body, its export and its JSON Schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import OPERATOR_KEY, Prefixed, create_sandbox

from messpunkt import create_app
from messpunkt.config import DEFAULT_DATA_DIR
from messpunkt.testing import FROZEN_AT, obtain_tokens

KEY = "test-admin-key"
ADMIN = {"X-Sandbox-Admin-Key": KEY}
PROBLEM = "application/problem+json"
YEARS = "must lie in the years 1900 to 2999"
A1 = "6fb74d25-5517-4dcc-ae8b-0914579ab036"
DEFAULT = {"data_set": "default", "directory": str(DEFAULT_DATA_DIR), "tenants": 2,
           "properties": 3, "usage_units": 16, "clients": 4}  # fmt: skip


@pytest.fixture
def messpunkt_config():
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY}


@pytest.fixture
def client(messpunkt_client):
    return messpunkt_client


def export(client) -> bytes:
    response = client.get("/sandbox/data/export", headers=ADMIN)
    assert (response.status_code, response.mimetype) == (200, "application/json")
    return response.get_data()


def upload(client, body: bytes | dict):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/sandbox/data", data=data, headers={**ADMIN, "Content-Type": "application/json"}
    )


def fixtures() -> dict:
    """The default data set as one document, read from sandbox_data/ as it lies there."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(Path(DEFAULT_DATA_DIR).glob("*.json"))
    }


def renamed(document: dict, name: str) -> dict:
    document["properties"][0]["name"] = name
    return document


def test_the_export_holds_every_collection_of_the_fixtures(client):
    exported = json.loads(export(client))
    assert exported == json.loads(json.dumps(fixtures()))  # numbers compared as JSON reads them


def test_export_upload_export_gives_the_same_document(client):
    first = export(client)
    response = upload(client, first)
    assert response.status_code == 200
    assert export(client) == first


def test_an_uploaded_data_set_is_served_at_once_and_resets_the_sandbox(client):
    tokens = obtain_tokens(client)
    response = upload(client, renamed(json.loads(export(client)), "Lindenhof (edited)"))
    assert response.status_code == 200
    body = response.json
    assert body["data_set"].startswith("upload-") and len(body["data_set"]) == 31
    assert {k: v for k, v in body.items() if k != "data_set"} == {
        "tenants": 2, "properties": 3, "usage_units": 16, "clients": 4,
    }  # fmt: skip
    assert client.get("/sandbox/data", headers=ADMIN).json == body
    # A reset: the token from before is gone; a new one sees the new name.
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 401
    fresh = obtain_tokens(client)
    assert client.get(f"/v1/properties/{A1}", headers=fresh.bearer).json["name"] == (
        "Lindenhof (edited)"
    )


def test_the_same_document_twice_has_the_same_name(client):
    document = renamed(json.loads(export(client)), "twice")
    assert upload(client, document).json == upload(client, document).json


def test_choosing_a_named_set_after_an_upload_goes_back_to_the_fixtures(client):
    upload(client, renamed(json.loads(export(client)), "gone"))
    response = client.post("/sandbox/data", json={"data_set": "default"}, headers=ADMIN)
    assert response.json == {k: v for k, v in DEFAULT.items() if k != "directory"} | {
        "directory": str(DEFAULT_DATA_DIR)
    }
    assert json.loads(export(client)) == json.loads(json.dumps(fixtures()))


def broken(change):
    def make(client) -> dict:
        document = json.loads(export(client))
        change(document)
        return document

    return make


@pytest.mark.parametrize(("make", "errors"), [
    (broken(lambda d: d["properties"][1].update(timezone="Mars/Olympus")),
     {"properties": ["$.properties[1].timezone: unknown time zone 'Mars/Olympus'"]}),
    (broken(lambda d: d["usage_units"][3].update(property_id="nope")),
     {"usage_units": ["$.usage_units[3].property_id: refers to an unknown id 'nope'"]}),
    (broken(lambda d: d["tenants"][0].update(name=7)),
     {"tenants": ["$.tenants[0].name: must be a non-empty string"]}),
    (broken(lambda d: d["clients"].append(d["clients"][0])),
     {"clients": ["$.clients[4]: duplicate id 'sandbox-demo-client'"]}),
    (broken(lambda d: d.pop("readings")), {"readings": ["$.readings: collection is missing"]}),
    # Instants next to datetime's own limits: in UTC or Berlin time they would not exist.
    (broken(lambda d: d["readings"][0].update(timestamp="0001-01-01T00:00:00+01:00")),
     {"readings": [f"$.readings[0].timestamp: {YEARS}"]}),
    (broken(lambda d: d["readings"][0].update(recorded_at="9999-12-31T23:59:59-01:00")),
     {"readings": [f"$.readings[0].recorded_at: {YEARS}"]}),
    (broken(lambda d: d["devices"][0].update(installed_at="0001-01-01T00:00:00+01:00")),
     {"devices": [f"$.devices[0].installed_at: {YEARS}"]}),
    (broken(lambda d: d["devices"][0].update(removed_at="9999-12-31T23:59:59-01:00")),
     {"devices": [f"$.devices[0].removed_at: {YEARS}"]}),
    (broken(lambda d: d["measuring_points"][0].update(commissioned_on="0001-01-01")),
     {"measuring_points": [f"$.measuring_points[0].commissioned_on: {YEARS}"]}),
    (broken(lambda d: d.update(devices={})),
     {"devices": ["$.devices: must be a JSON array of objects"]}),
    (broken(lambda d: d.update(meters=[])),
     {"meters": ["$.meters: unknown collection; the collections: tenants, properties, "
                 "usage_units, measuring_points, devices, readings, clients"]}),
])  # fmt: skip
def test_a_broken_upload_is_refused_with_where_and_why_and_nothing_changes(client, make, errors):
    tokens = obtain_tokens(client)
    before = export(client)
    response = upload(client, make(client))
    assert (response.status_code, response.content_type) == (422, PROBLEM)
    assert response.json["errors"] == errors
    assert client.get("/v1/whoami", headers=tokens.bearer).status_code == 200
    assert client.get("/sandbox/data", headers=ADMIN).json == DEFAULT
    assert export(client) == before


@pytest.mark.parametrize(("body", "status", "detail"), [
    (b"{not json", 400, "the body is not JSON"),
    (b'{"tenants": [], "tenants": []}', 400, "a member is given more than once: tenants"),
    (b'{"data_set": "default", "tenants": []}', 400, "some parameters are invalid; see errors"),
    (b'{"data_set": 7}', 400, "some parameters are invalid; see errors"),
    (b"[" * 40 + b"]" * 40, 400, "the body is not JSON"),
    (b"[]", 400, "some parameters are invalid; see errors"),
    (b'{"meters": []}', 400, "some parameters are invalid; see errors"),
])  # fmt: skip
def test_a_body_that_is_neither_form_is_a_400_and_nothing_changes(client, body, status, detail):
    response = upload(client, body)
    assert (response.status_code, response.content_type) == (status, PROBLEM)
    assert response.json["detail"] == detail
    assert client.get("/sandbox/data", headers=ADMIN).json == DEFAULT


def test_an_upload_fails_exactly_as_the_same_fault_in_a_directory(client, tmp_path):
    copy = shutil.copytree(DEFAULT_DATA_DIR, tmp_path / "data")
    readings = json.loads((copy / "readings.json").read_text(encoding="utf-8"))
    readings[5]["quality"] = "guessed"
    (copy / "readings.json").write_text(json.dumps(readings), encoding="utf-8")
    from_directory = client.post("/sandbox/data", json={"directory": str(copy)}, headers=ADMIN)
    document = json.loads(export(client))
    document["readings"][5]["quality"] = "guessed"
    uploaded = upload(client, document)
    reason = "must be one of measured, estimated"
    assert from_directory.json["errors"] == {"readings.json": [f"$[5].quality: {reason}"]}
    assert uploaded.json["errors"] == {"readings": [f"$.readings[5].quality: {reason}"]}


@pytest.mark.parametrize("change", ["removed", "broken", "edited"])
def test_an_export_of_a_directory_that_changed_since_its_load_is_a_409(client, tmp_path, change):
    """A directory's export is read from the directory again; one changed since its load
    says so, and how to recover, instead of a 500 (a file gone or broken) or a document
    that is not the data in use (a file edited)."""
    copy = shutil.copytree(DEFAULT_DATA_DIR, tmp_path / "data")
    loaded = client.post("/sandbox/data", json={"directory": str(copy)}, headers=ADMIN)
    assert loaded.status_code == 200
    tenants = copy / "tenants.json"
    if change == "removed":
        tenants.unlink()
    elif change == "broken":
        tenants.write_text("[{", encoding="utf-8")
    else:
        edited = json.loads(tenants.read_text(encoding="utf-8"))
        edited[0]["name"] = "Not the tenant in use"
        tenants.write_text(json.dumps(edited), encoding="utf-8")

    response = client.get("/sandbox/data/export", headers=ADMIN)

    assert (response.status_code, response.mimetype) == (409, PROBLEM)
    assert response.json["detail"] == (
        "the directory this data set was loaded from has changed since (tenants.json); "
        "load it again, or choose another data set"
    )


def test_a_data_set_over_the_limit_is_a_413_before_it_is_read(tmp_path):
    app = create_app({"MESSPUNKT_SANDBOX_ADMIN_KEY": KEY, "MESSPUNKT_MAX_DATA_SET_BYTES": 100_000})
    client = app.test_client()
    body = export(client)  # about 500 KB
    response = upload(client, body)
    assert (response.status_code, response.content_type) == (413, PROBLEM)
    assert client.get("/sandbox/data", headers=ADMIN).json == DEFAULT


def test_only_the_data_path_takes_bodies_past_the_body_limit(client):
    body = b'{"token": "' + b"x" * 70_000 + b'"}'
    response = client.post("/sandbox/reset", data=body, headers={**ADMIN,
                           "Content-Type": "application/json"})  # fmt: skip
    assert (response.status_code, response.content_type) == (413, PROBLEM)


def test_the_schema_is_served_and_names_every_collection(client):
    response = client.get("/sandbox/data/schema", headers=ADMIN)
    assert (response.status_code, response.mimetype) == (200, "application/schema+json")
    schema = response.json
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == [
        "tenants", "properties", "usage_units", "measuring_points", "devices", "readings",
        "clients",
    ]  # fmt: skip


def test_a_partner_sandbox_uploads_for_itself_only(client):
    app = create_app({"MESSPUNKT_SANDBOX_ADMIN_KEY": KEY, "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY,
                      "MESSPUNKT_FROZEN_AT": FROZEN_AT})  # fmt: skip
    operator = app.test_client()
    created = create_sandbox(operator)
    partner = Prefixed(operator, f"/s/{created['id']}")
    admin = {"X-Sandbox-Admin-Key": created["admin_key"], "Content-Type": "application/json"}
    document = renamed(json.loads(export(operator)), "Partner's Lindenhof")
    assert (
        partner.post("/sandbox/data", data=json.dumps(document), headers=admin).status_code == 200
    )
    assert partner.get("/sandbox/data/export", headers=admin).get_data() != export(operator)
    tokens = obtain_tokens(partner)
    found = partner.get(f"/v1/properties/{A1}", headers=tokens.bearer).json["name"]
    assert found == "Partner's Lindenhof"
    default_tokens = obtain_tokens(operator)
    assert operator.get(f"/v1/properties/{A1}", headers=default_tokens.bearer).json["name"] == (
        "Wohnanlage Lindenhof"
    )


def hosted(store_url: str, signing_key: str) -> dict:
    return {"MESSPUNKT_STORE_URL": store_url, "MESSPUNKT_SIGNING_KEY": signing_key,
            "MESSPUNKT_SECRET_KEY": "cursor-secret", "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY,
            "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY, "MESSPUNKT_FROZEN_AT": FROZEN_AT}  # fmt: skip


@pytest.mark.parametrize("where", ["default", "partner"])
def test_on_redis_an_upload_through_one_worker_is_served_by_another(store_url, signing_key, where):
    one = create_app(hosted(store_url, signing_key)).test_client()
    other = create_app(hosted(store_url, signing_key)).test_client()
    admin = {**ADMIN, "Content-Type": "application/json"}
    prefix = ""
    if where == "partner":
        created = create_sandbox(one)
        prefix, admin["X-Sandbox-Admin-Key"] = f"/s/{created['id']}", created["admin_key"]
    document = renamed(json.loads(export(one)), "Lindenhof on Redis")
    response = one.post(prefix + "/sandbox/data", data=json.dumps(document), headers=admin)
    assert response.status_code == 200
    tokens = obtain_tokens(Prefixed(other, prefix))
    found = other.get(f"{prefix}/v1/properties/{A1}", headers=tokens.bearer).json["name"]
    assert found == "Lindenhof on Redis"
    exported = other.get(prefix + "/sandbox/data/export", headers=admin).get_data()
    assert json.loads(exported) == document
    # The bytes live under the sandbox's hash tag; choosing a named set forgets them.
    import redis

    sandbox_id = created["id"] if where == "partner" else "default"
    with redis.Redis.from_url(store_url) as direct:
        key = f"mp:{{{sandbox_id}}}:ds:{response.json['data_set']}"
        assert direct.exists(key) == 1
        if where == "partner":
            ends = direct.execute_command("PEXPIRETIME", f"mp:{{{sandbox_id}}}:sbx")
            assert direct.execute_command("PEXPIRETIME", key) == ends > 0
        other.post(prefix + "/sandbox/data", json={"data_set": "default"}, headers=admin)
        assert direct.exists(key) == 0


@pytest.mark.live
@pytest.mark.parametrize("mode", ["waitress", "gunicorn"])
def test_a_live_server_takes_a_large_upload_at_its_path_only(tmp_path, mode, request):
    import requests
    from live_sandbox import LiveSandbox
    from live_sandbox import hosted as hosted_settings

    settings = {}
    if mode == "gunicorn":
        settings = hosted_settings(request.getfixturevalue("store_url"), tmp_path)
    server = LiveSandbox(tmp_path, **settings)
    try:
        admin = {"X-Sandbox-Admin-Key": server.admin_key, "Content-Type": "application/json"}
        body = requests.get(server.url + "/sandbox/data/export", headers=admin, timeout=10).content
        assert len(body) > 400_000  # far past MESSPUNKT_MAX_BODY_BYTES
        chunks = (body[i : i + 65_536] for i in range(0, len(body), 65_536))
        chunked = requests.post(server.url + "/sandbox/data", data=chunks, headers=admin,
                                timeout=30)  # fmt: skip
        assert (chunked.status_code, chunked.json()["tenants"]) == (200, 2)
        declared = requests.post(server.url + "/sandbox/data", data=body, headers=admin,
                                 timeout=30)  # fmt: skip
        assert declared.json() == chunked.json()
        elsewhere = requests.post(server.url + "/sandbox/reset", data=body, headers=admin,
                                  timeout=30)  # fmt: skip
        assert (elsewhere.status_code, elsewhere.headers["Content-Type"]) == (
            413, "application/problem+json",
        )  # fmt: skip
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_choice_made_while_an_upload_switches_leaves_the_set_in_use_whole(
    backend, request, monkeypatch
):
    """A threaded server may run one data-set change to its end while another is between
    its steps. The uploaded set that ends up in use still has its bytes: keeping them and
    switching to them is one step of the store, so the choice of `default` in between
    cannot drop them (it used to: the export then answered 500, and another worker served
    the fixtures under the upload's name)."""
    config = {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY}
    if backend == "redis":
        store_url, signing_key = map(request.getfixturevalue, ("store_url", "signing_key"))
        config = hosted(store_url, signing_key)
    app = create_app(config)
    client = app.test_client()
    document = renamed(json.loads(export(client)), "Uploaded while chosen away")
    assert upload(client, document).status_code == 200  # in use, and now uploaded again:
    store_type = type(app.extensions["messpunkt"].store)
    switch = store_type.reset

    def another_choice_first(store, *args, **kwargs):
        monkeypatch.setattr(store_type, "reset", switch)
        chosen = app.test_client().post("/sandbox/data", json={"data_set": "default"},
                                        headers=ADMIN)  # fmt: skip
        assert chosen.status_code == 200
        return switch(store, *args, **kwargs)

    monkeypatch.setattr(store_type, "reset", another_choice_first)
    assert upload(client, document).status_code == 200

    assert client.get("/sandbox/data", headers=ADMIN).json["data_set"].startswith("upload-")
    assert json.loads(export(client)) == document
    tokens = obtain_tokens(client)
    found = client.get(f"/v1/properties/{A1}", headers=tokens.bearer).json["name"]
    assert found == "Uploaded while chosen away"


def test_on_redis_an_export_whose_sandbox_is_deleted_meanwhile_is_a_404(
    store_url, signing_key, monkeypatch
):
    """The bytes of an upload in use go only with its sandbox; an export that finds them
    gone answers as every path of a deleted sandbox does, not with a 500."""
    from messpunkt.stores.redis import RedisStore

    app = create_app(hosted(store_url, signing_key))
    operator = app.test_client()
    created = create_sandbox(operator)
    partner = Prefixed(operator, f"/s/{created['id']}")
    admin = {"X-Sandbox-Admin-Key": created["admin_key"], "Content-Type": "application/json"}
    document = renamed(json.loads(export(operator)), "Deleted while exported")
    uploaded = partner.post("/sandbox/data", data=json.dumps(document), headers=admin)
    assert uploaded.status_code == 200
    read = RedisStore.data_set_document

    def deleted_first(store, name):
        monkeypatch.setattr(RedisStore, "data_set_document", read)
        ended = app.test_client().delete(f"/sandboxes/{created['id']}",
                                         headers={"X-Operator-Key": OPERATOR_KEY})  # fmt: skip
        assert ended.status_code == 204
        return read(store, name)

    monkeypatch.setattr(RedisStore, "data_set_document", deleted_first)
    response = partner.get("/sandbox/data/export", headers=admin)
    assert (response.status_code, response.mimetype) == (404, PROBLEM)
