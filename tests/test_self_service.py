"""Partner self-service, done when: against a live server, as a partner would do it.

A partner uploads an edited data set, registers its ERP as a confidential client with its
real callback, runs the code flow through the consent page in Chromium, sees its data in
/v1, reads its request log and finds its calls with every secret redacted, and arms a 503
on consumption; a sync loop written here with `requests` meets it, honours Retry-After,
retries and gets everything. Once on the default sandbox in one process, once on a
partner sandbox of two gunicorn workers sharing Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from browser import approve_and_leave, chromium, speak, viewport
from live_sandbox import LiveSandbox, hosted
from registration_flow import CODE_CLIENT, ERP_CALLBACK, pkce

A1 = "6fb74d25-5517-4dcc-ae8b-0914579ab036"
OPERATOR_KEY = "self-service-operator-key"
RENAMED = "Lindenhof (from the partner's upload)"
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    yield from chromium(tmp_path_factory)


@pytest.fixture(params=["default-in-memory", "partner-on-redis"])
def partner(request, tmp_path) -> Iterator[SimpleNamespace]:
    """A sandbox as its partner has it: its base URL and its admin key."""
    settings = {"MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY}
    if request.param == "partner-on-redis":
        settings.update(hosted(request.getfixturevalue("store_url"), tmp_path, workers=2))
    server = LiveSandbox(tmp_path, **settings)
    try:
        if request.param == "partner-on-redis":
            created = requests.post(server.url + "/sandboxes", timeout=10,
                                    headers={"X-Operator-Key": OPERATOR_KEY}).json()  # fmt: skip
            yield SimpleNamespace(url=created["issuer"], key=created["admin_key"])
        else:
            yield SimpleNamespace(url=server.url, key=server.admin_key)
    finally:
        server.stop()


def sync_consumption(session: requests.Session, base: str, token: str) -> dict[str, int]:
    """The partner's nightly sync: every unit's 2026 warm water, retrying what the server
    asks to be retried (429 and 503, after Retry-After seconds) up to three times."""
    bearer = {"Authorization": f"Bearer {token}"}
    units, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = session.get(f"{base}/v1/usage-units", headers=bearer, params=query, timeout=10)
        page = page.json()
        units += [unit["id"] for unit in page["data"]]
        cursor = page["pagination"]["next_cursor"]
        if cursor is None:
            break
    answered, retried = {}, 0
    for unit in units:
        for _attempt in range(4):
            response = session.get(
                f"{base}/v1/usage-units/{unit}/consumption",
                params={"from": "2026-01-01", "to": "2026-12-31", "metric": "water_warm"},
                headers=bearer, timeout=10,
            )  # fmt: skip
            if response.status_code not in (429, 503):
                break
            retried += 1
            time.sleep(int(response.headers["Retry-After"]))  # what the server asked for
        answered[unit] = response.status_code
    answered["retried"] = retried
    return answered


def logged(session: requests.Session, base: str, admin: dict, **query) -> list[dict]:
    """The log's entries for `query`, once the newest expected one has been written (each is
    written just after its answer is sent)."""
    expected = query.pop("expected")
    deadline = time.monotonic() + 10
    while True:
        entries = session.get(f"{base}/sandbox/requests", params={"limit": 200, **query},
                              headers=admin, timeout=10).json()["data"]  # fmt: skip
        if len(entries) >= expected or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def test_a_partner_brings_its_client_and_its_data_and_rehearses_an_outage(partner, chrome):
    base, session = partner.url, requests.Session()
    admin = {"X-Sandbox-Admin-Key": partner.key}

    # 1. Download the data set, rename a property, upload it. First: a data-set change
    #    forgets the registered clients (README, "Registering your own client").
    document = session.get(f"{base}/sandbox/data/export", headers=admin, timeout=10).json()
    document["properties"][0]["name"] = RENAMED
    uploaded = session.post(f"{base}/sandbox/data", json=document, headers=admin, timeout=30)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["data_set"].startswith("upload-")

    # 2. Register the ERP, confidential (client_secret_basic), with its real callback.
    metadata = session.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    registered = session.post(metadata["registration_endpoint"], json=CODE_CLIENT, timeout=10,
                              headers={"Authorization": f"Bearer {partner.key}"})  # fmt: skip
    assert registered.status_code == 201, registered.text
    client = registered.json()
    assert client["token_endpoint_auth_method"] == "client_secret_basic"

    # 3. The code flow through the consent page, which shows the uploaded name.
    speak(chrome, "en")
    viewport(chrome, None)
    verifier, challenge = pkce()
    query = {
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": ERP_CALLBACK,
        "scope": CODE_CLIENT["scope"], "state": "erp-state", "code_challenge": challenge,
        "code_challenge_method": "S256",
    }  # fmt: skip
    chrome.get(f"{metadata['authorization_endpoint']}?{urlencode(query)}")
    assert chrome.title == "Allow Hausverwaltung ERP access? · messpunkt sandbox"
    assert RENAMED in chrome.page_source
    answer = dict(parse_qsl(urlsplit(approve_and_leave(chrome, A1, ERP_CALLBACK)).query))
    assert (answer["state"], answer["iss"]) == ("erp-state", base)
    exchanged = session.post(
        metadata["token_endpoint"],
        data={"grant_type": "authorization_code", "code": answer["code"],
              "redirect_uri": ERP_CALLBACK, "code_verifier": verifier},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )  # fmt: skip
    assert exchanged.status_code == 200, exchanged.text
    tokens = exchanged.json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    found = session.get(f"{base}/v1/properties/{A1}", headers=bearer, timeout=10).json()
    assert found["name"] == RENAMED

    # 4. The request log holds those calls, newest first, and none of their secrets.
    entries = logged(session, base, admin, expected=5, path="/**")
    assert [(e["method"], e["path"], e["status"]) for e in entries[:5]] == [
        ("GET", f"/v1/properties/{A1}", 200),
        ("POST", "/oauth/token", 200),
        ("POST", "/oauth/authorize", 302),
        ("GET", "/oauth/authorize", 200),
        ("POST", "/oauth/register", 201),
    ]
    exchange = entries[1]
    assert exchange["client_id"] == client["client_id"]
    assert exchange["request_body"]["code"] == exchange["request_body"]["code_verifier"]
    assert exchange["request_body"]["code"] == "[redacted]"
    assert exchange["response_body"]["access_token"] == "[redacted]"
    dumped = json.dumps(entries)
    for secret in (
        tokens["access_token"],
        tokens["refresh_token"],
        answer["code"],
        verifier,
        client["client_secret"],
        client["registration_access_token"],
        partner.key,
    ):
        assert secret not in dumped  # fmt: skip

    # 5. A 503 on consumption, once, retried after Retry-After: 0 seconds.
    rule = session.post(f"{base}/sandbox/faults", headers=admin, timeout=10, json={
        "method": "GET", "path": "/v1/usage-units/*/consumption", "status": 503,
        "retry_after": 0, "count": 1,
    }).json()  # fmt: skip
    synced = sync_consumption(session, base, tokens["access_token"])
    assert synced.pop("retried") == 1
    assert len(synced) == 8 and set(synced.values()) == {200}  # A1's units, every one
    assert session.get(f"{base}/sandbox/faults", headers=admin, timeout=10).json()["data"] == []
    marked = logged(session, base, admin, expected=1, status=503)
    assert [(e["path"].endswith("/consumption"), e["injected_fault"]) for e in marked] == [
        (True, rule["id"])
    ]
