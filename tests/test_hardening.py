"""Hardening: forged tokens, redirect URI tricks, security headers, body limits and races."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from conftest import TENANT
from cryptography.hazmat.primitives import serialization

from messpunkt import create_app
from messpunkt.oauth.store import EventKind, SessionState
from messpunkt.testing import (
    DEMO_CLIENT,
    DEMO_REDIRECT_URI,
    FROZEN_AT,
    QUICKSTART_PROPERTY,
    obtain_tokens,
)

HAMBURG_PROPERTY = "21141801-9f23-5bf2-865c-51d717f65653"
SERVICE = {
    "client_id": "sandbox-service-client",
    "client_secret": "sandbox-service-client-secret-change-me",
}
SERVICE_FORM = {"grant_type": "client_credentials", **SERVICE}
AUTHORIZE = {
    "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI, "scope": "read:units",
    "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
}  # fmt: skip
APPROVE = {**AUTHORIZE, "property": QUICKSTART_PROPERTY, "decision": "approve"}
CONSENT = {**AUTHORIZE, "response_type": "code"}
LIMIT = 4096
ADMIN_KEY = "test-admin-key"
RACERS = 50


@pytest.fixture
def messpunkt_config(messpunkt_config):
    limits = {"MESSPUNKT_MAX_BODY_BYTES": LIMIT, "MESSPUNKT_SANDBOX_ADMIN_KEY": ADMIN_KEY}
    return {**messpunkt_config, **limits}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(document: dict) -> str:
    return _b64(json.dumps(document).encode())


# --- forged access tokens --------------------------------------------------


class Forge:
    """A real access token of the sandbox; each method returns an Authorization header
    in which exactly one thing is wrong."""

    def __init__(self, app, client) -> None:
        self.sandbox = app.extensions["messpunkt"]
        self.token = obtain_tokens(client).access_token
        self.claims = jwt.decode(self.token, options={"verify_signature": False})
        self.now = int(self.sandbox.clock.now().timestamp())

    def sign(self, header: dict | None = None, **claims) -> str:
        """Sign with the sandbox's own key and kid, as the sandbox itself does."""
        key = self.sandbox.key
        headers = {"typ": "at+jwt", "kid": key.kid, **(header or {})}
        token = jwt.encode({**self.claims, **claims}, key.private_key, "ES256", headers)
        return f"Bearer {token}"

    def unsigned(self, alg: str) -> str:
        header = {"alg": alg, "typ": "at+jwt", "kid": self.sandbox.key.kid}
        return f"Bearer {_segment(header)}.{_segment(self.claims)}."

    def hs256_with_the_public_key_pem(self) -> str:
        pem = self.sandbox.key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "typ": "at+jwt", "kid": self.sandbox.key.kid}
        signing_input = f"{_segment(header)}.{_segment(self.claims)}"
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        return f"Bearer {signing_input}.{_b64(mac)}"

    def tampered(self) -> str:
        header, _, signature = self.token.split(".")
        claims = {**self.claims, "property_scope": [QUICKSTART_PROPERTY, HAMBURG_PROPERTY]}
        return f"Bearer {header}.{_segment(claims)}.{signature}"

    def expired(self) -> str:
        self.sandbox.clock.advance(timedelta(seconds=self.claims["exp"] - self.now))
        return f"Bearer {self.token}"

    def from_another_sandbox(self) -> str:
        other = create_app({"MESSPUNKT_FROZEN_AT": FROZEN_AT})  # same issuer, another key
        return f"Bearer {obtain_tokens(other.test_client()).access_token}"


DETAIL = {
    "not-ours": "the access token is not signed by this sandbox",
    "issuer": "the access token is from another issuer",
    "audience": "the access token is for another audience",
    "typ": "the token is not an access token (typ must be at+jwt)",
    "expired": "the access token has expired",
    "not-yet": "the access token is not valid yet",
    "signature": "the access token signature or claims are invalid",
    "malformed": "the access token is malformed",
    "header": "the Authorization header must be 'Bearer <token>'",
}
FORGERIES = [
    pytest.param(lambda f: f.unsigned("none"), "not-ours", id="alg-none"),
    pytest.param(lambda f: f.hs256_with_the_public_key_pem(), "not-ours", id="hs256-public-key"),
    pytest.param(lambda f: f.sign({"kid": "not-a-sandbox-key"}), "not-ours", id="unknown-kid"),
    pytest.param(lambda f: f.sign(iss="https://auth.messpunkt.io"), "issuer", id="wrong-iss"),
    pytest.param(lambda f: f.sign(aud="https://api.messpunkt.io/v1"), "audience", id="wrong-aud"),
    pytest.param(lambda f: f.sign({"typ": "JWT"}), "typ", id="typ-JWT-not-at+jwt"),
    pytest.param(lambda f: f.expired(), "expired", id="expired"),
    pytest.param(lambda f: f.sign(iat=f.now + 60, exp=f.now + 3660), "not-yet", id="iat-in-future"),
    pytest.param(lambda f: f.sign(nbf=f.now + 60), "not-yet", id="nbf-in-future"),
    pytest.param(lambda f: f.tampered(), "signature", id="tampered-property-scope"),
    pytest.param(lambda f: f.sign().rsplit(".", 1)[0] + ".", "signature", id="no-signature"),
    pytest.param(lambda f: f.from_another_sandbox(), "not-ours", id="another-sandboxs-key"),
    pytest.param(lambda f: "Bearer not-a-token-at-all", "malformed", id="garbage"),
    pytest.param(lambda f: "Bearer", "header", id="bearer-without-token"),
]  # fmt: skip


@pytest.fixture
def forge(messpunkt_app, messpunkt_client) -> Forge:
    return Forge(messpunkt_app, messpunkt_client)


def _whoami(client, authorization: str):
    return client.get("/v1/whoami", headers={"Authorization": authorization})


def test_a_re_signed_token_with_nothing_wrong_is_accepted(messpunkt_client, forge):
    # The control for every forgery below: the crafting itself yields a valid token.
    assert _whoami(messpunkt_client, forge.sign()).status_code == 200


@pytest.mark.parametrize(("forged", "reason"), FORGERIES)
def test_a_forged_access_token_is_refused_with_401_invalid_token(
    messpunkt_client, forge, forged, reason
):
    response = _whoami(messpunkt_client, forged(forge))

    assert (response.status_code, response.mimetype) == (401, "application/problem+json")
    assert response.get_json() == {
        "type": "about:blank", "title": "Unauthorized", "status": 401, "detail": DETAIL[reason],
    }  # fmt: skip
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge


def test_the_right_token_under_another_scheme_is_no_credentials(messpunkt_client, forge):
    response = _whoami(messpunkt_client, f"Basic {forge.token}")

    assert (response.status_code, response.mimetype) == (401, "application/problem+json")
    assert response.get_json()["detail"] == DETAIL["header"]
    # RFC 6750 §3.1: "an unsupported authentication method" is no authentication information.
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="messpunkt"'


def test_an_access_token_in_the_query_string_is_not_accepted(messpunkt_client, forge):
    response = messpunkt_client.get("/v1/whoami", query_string={"access_token": forge.token})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="messpunkt"'


# --- redirect URI tricks ---------------------------------------------------

REDIRECT_TRICKS = [
    pytest.param("http://localhost:3000/callbackx", id="prefix"),
    pytest.param("http://localhost:3000/callback/..", id="dot-dot"),
    pytest.param("http://localhost:3000/callback/../evil", id="dot-dot-escape"),
    pytest.param("http://localhost:3000/%63allback", id="percent-encoded"),
    pytest.param("http://localhost:3000%2Fcallback", id="percent-encoded-slash"),
    pytest.param("http://localhost:8080/callback", id="other-port"),
    pytest.param("http://localhost/callback", id="no-port"),
    pytest.param("HTTP://LOCALHOST:3000/callback", id="upper-case-scheme-and-host"),
    pytest.param("http://localhost:3000/CALLBACK", id="upper-case-path"),
    pytest.param("http://localhost:3000/callback?", id="empty-query"),
    pytest.param("http://localhost:3000/callback?to=https://evil.example", id="extra-query"),
    pytest.param("http://localhost:3000/callback#x", id="fragment"),
    pytest.param("http://localhost:3000/callback#", id="empty-fragment"),
    pytest.param("http://evil@localhost:3000/callback", id="userinfo"),
    pytest.param("http://localhost:3000@evil.example/callback", id="host-as-userinfo"),
    pytest.param("http://localhost.evil.com:3000/callback", id="suffix-domain"),
    pytest.param("http://localhost.:3000/callback", id="trailing-dot-host"),
    pytest.param("http://127.0.0.1:3000/callback", id="loopback-ip"),
    pytest.param("http://[::1]:3000/callback", id="ipv6-loopback"),
    pytest.param("//localhost:3000/callback", id="scheme-relative"),
    pytest.param(DEMO_REDIRECT_URI + " ", id="trailing-space"),
    pytest.param(" " + DEMO_REDIRECT_URI, id="leading-space"),
    pytest.param(DEMO_REDIRECT_URI + "\n", id="trailing-newline"),
    pytest.param(DEMO_REDIRECT_URI + "\t", id="trailing-tab"),
]


def _assert_refused_without_redirect(response) -> None:
    assert (response.status_code, response.mimetype) == (400, "text/html")
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert "This authorization request cannot be completed" in html
    assert "redirect_uri" in html.split('id="error-description">')[1].split("</p>")[0]


@pytest.mark.parametrize("redirect_uri", REDIRECT_TRICKS)
def test_a_redirect_uri_not_exactly_the_registered_one_is_refused_without_redirect(
    messpunkt_client, redirect_uri
):
    approve = {**APPROVE, "redirect_uri": redirect_uri}
    _assert_refused_without_redirect(messpunkt_client.post("/oauth/authorize", data=approve))
    query = urlencode({**CONSENT, "redirect_uri": redirect_uri})
    _assert_refused_without_redirect(messpunkt_client.get("/oauth/authorize?" + query))


def test_the_registered_redirect_uri_itself_is_accepted(messpunkt_client):
    # The control for the tricks above: the same request with the exact URI redirects.
    response = messpunkt_client.post("/oauth/authorize", data=APPROVE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(DEMO_REDIRECT_URI + "?code=")


# --- security headers ------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "status"),
    [
        pytest.param(SERVICE_FORM, 200, id="success"),
        pytest.param({**SERVICE_FORM, "grant_type": "refresh_token"}, 400, id="error"),
        pytest.param({**SERVICE_FORM, "client_secret": "wrong"}, 401, id="invalid-client"),
        pytest.param({**SERVICE_FORM, "padding": "x" * LIMIT}, 413, id="too-large"),
    ],
)  # fmt: skip
def test_token_responses_must_not_be_cached(messpunkt_client, form, status):
    response = messpunkt_client.post("/oauth/token", data=form)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


@pytest.mark.parametrize(
    ("method", "params", "status"),
    [
        pytest.param("GET", CONSENT, 200, id="consent-page"),
        pytest.param("GET", {"client_id": "no-such-client"}, 400, id="error-page-get"),
        pytest.param("POST", {**APPROVE, "redirect_uri": "x"}, 400, id="error-page-post"),
        pytest.param("POST", {"padding": "x" * LIMIT}, 413, id="too-large-page"),
    ],
)
def test_html_pages_forbid_framing_scripts_and_sniffing(messpunkt_client, method, params, status):
    if method == "GET":
        response = messpunkt_client.get("/oauth/authorize?" + urlencode(params))
    else:
        response = messpunkt_client.post("/oauth/authorize", data=params)

    assert (response.status_code, response.mimetype) == (status, "text/html")
    csp = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert not [part for part in csp if part.startswith("script-src")]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # No Referer leaves the site (the page's query is the authorization request), and
    # the consent form's POST still carries its own Origin (tests/test_consent_browser.py).
    assert response.headers["Referrer-Policy"] == "same-origin"


# --- body limits -----------------------------------------------------------

FORM, JSON = "application/x-www-form-urlencoded", "application/json"
PROBLEM = "application/problem+json"
PAT = {
    "tenant_id": TENANT, "name": "ERP import", "scopes": ["read:units"],
    "property_ids": [QUICKSTART_PROPERTY], "expires_in": 3600,
}  # fmt: skip
LIMITED = [
    pytest.param("/oauth/token", FORM, SERVICE_FORM, 200, JSON, id="token-form"),
    pytest.param("/oauth/token", JSON, SERVICE_FORM, 200, JSON, id="token-json"),
    pytest.param("/oauth/authorize", FORM, APPROVE, 302, "text/html", id="authorize"),
    pytest.param("/sandbox/personal-access-tokens", JSON, PAT, 201, PROBLEM, id="personal-token"),
]
TOO_LARGE = {
    JSON: {"error": "invalid_request", "error_description": "the request body is too large"},
    PROBLEM: {
        "type": "about:blank", "title": "Request Entity Too Large", "status": 413,
        "detail": "The data value transmitted exceeds the capacity limit.",
    },
}  # fmt: skip


def _body(content_type: str, document: dict, size: int) -> bytes:
    """The document, padded to exactly `size` bytes (an ignored field, or JSON whitespace)."""
    if content_type == FORM:
        body = urlencode({**document, "padding": ""}).encode()
        return body + b"x" * (size - len(body))
    body = json.dumps(document).encode()
    return body + b" " * (size - len(body))


def _send(client, path: str, content_type: str, body: bytes):
    headers = {"X-Sandbox-Admin-Key": ADMIN_KEY}
    return client.post(path, data=body, content_type=content_type, headers=headers)


@pytest.mark.parametrize(("path", "content_type", "document", "ok", "_"), LIMITED)
def test_a_body_exactly_at_the_limit_is_accepted(
    messpunkt_client, path, content_type, document, ok, _
):
    response = _send(messpunkt_client, path, content_type, _body(content_type, document, LIMIT))
    assert response.status_code == ok


@pytest.mark.parametrize(("path", "content_type", "document", "_", "mimetype"), LIMITED)
def test_a_body_one_byte_over_the_limit_gets_413_in_the_endpoints_format_and_changes_nothing(
    messpunkt_app, messpunkt_client, path, content_type, document, _, mimetype
):
    body = _body(content_type, document, LIMIT + 1)
    response = _send(messpunkt_client, path, content_type, body)

    assert (response.status_code, response.mimetype) == (413, mimetype)
    assert "Location" not in response.headers
    if mimetype == "text/html":
        assert '<p id="error-description">the request body is too large</p>' in response.text
    else:
        assert response.get_json() == TOO_LARGE[mimetype]
    assert messpunkt_app.extensions["messpunkt"].store.sessions() == []


@pytest.mark.parametrize(("size", "status"), [(65536, 200), (65537, 413)], ids=["64KiB", "64KiB+1"])
def test_the_default_body_limit_is_64_kib(size, status):
    client = create_app({"MESSPUNKT_FROZEN_AT": FROZEN_AT}).test_client()
    response = client.post("/oauth/token", data=_body(FORM, SERVICE_FORM, size), content_type=FORM)
    assert response.status_code == status


# --- races on a live server ------------------------------------------------


def _race(url: str, form: dict[str, str]) -> list[requests.Response]:
    """POST `form` to the token endpoint from RACERS threads released together."""
    barrier = threading.Barrier(RACERS)

    def racer(_: int) -> requests.Response:
        with requests.Session() as session:
            barrier.wait(timeout=10)
            return session.post(url + "/oauth/token", data=form, timeout=30)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(racer, range(RACERS)))


def _one_winner(responses: list[requests.Response]) -> dict:
    outcomes = Counter((r.status_code, r.json().get("error")) for r in responses)
    assert outcomes == {(200, None): 1, (400, "invalid_grant"): RACERS - 1}
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    return winner


def _whoami_status(url: str, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(url + "/v1/whoami", headers=headers, timeout=10).status_code


def _only_session(server):
    sandbox = server.app.extensions["messpunkt"]
    (session,) = sandbox.store.sessions()
    assert session.state(sandbox.clock.now()) is SessionState.REVOKED
    return session


@pytest.mark.live
def test_fifty_simultaneous_redemptions_of_one_code_succeed_once_and_revoke_the_winner(
    messpunkt_server,
):
    url, verifier = messpunkt_server.url, secrets.token_urlsafe(48)
    approve = {**APPROVE, "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest())}
    answer = requests.post(
        url + "/oauth/authorize", data=approve, allow_redirects=False, timeout=10
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": DEMO_REDIRECT_URI, "client_id": DEMO_CLIENT,
    }  # fmt: skip

    winner = _one_winner(_race(url, form))

    # OAuth 2.1 §4.1.3, tokens.py: a second redemption revokes what the code issued.
    assert _whoami_status(url, winner["access_token"]) == 401
    assert _only_session(messpunkt_server).revoked_reason == "authorization code redeemed twice"


@pytest.mark.live
def test_fifty_simultaneous_refreshes_rotate_once_and_the_replays_revoke_the_session(
    messpunkt_server,
):
    url, tokens = messpunkt_server.url, obtain_tokens(messpunkt_server.url)
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    form["client_id"] = DEMO_CLIENT

    winner = _one_winner(_race(url, form))

    form["refresh_token"] = winner["refresh_token"]
    again = requests.post(url + "/oauth/token", data=form, timeout=10)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert _whoami_status(url, winner["access_token"]) == 401
    kinds = [event.kind for event in _only_session(messpunkt_server).events]
    assert kinds == [
        EventKind.ISSUED, EventKind.ROTATED, EventKind.REPLAY_DETECTED, EventKind.REVOKED,
    ]  # fmt: skip
