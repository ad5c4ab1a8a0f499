"""The token endpoint over HTTP: code exchange, rotation, lifetimes and client auth."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from conftest import TENANT, TENANT_NAME
from werkzeug.datastructures import MultiDict

from messpunkt.testing import (
    DEMO_CLIENT,
    DEMO_REDIRECT_URI,
    DEMO_SCOPES,
    FROZEN_AT,
    QUICKSTART_PROPERTY,
    obtain_tokens,
)

ISSUER = "http://localhost:8000"
AUDIENCE = "http://localhost:8000/v1"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
OTHER_VERIFIER = "A" * 43
ALL_SCOPES = " ".join(DEMO_SCOPES)
ERIKA = "ba67f98d-4fd0-50b9-a60f-508383b44535"  # the first tenant's first demo user
HAMBURG_PROPERTY = "21141801-9f23-5bf2-865c-51d717f65653"
WEB_CLIENT = "sandbox-web-client"
WEB_SECRET = "sandbox-web-client-secret-change-me"
SERVICE_CLIENT = "sandbox-service-client"
SERVICE_SECRET = "sandbox-service-client-secret-change-me"
ERP_CLIENT = "beispiel-erp-client"
FROZEN = datetime.fromisoformat(FROZEN_AT)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


@pytest.fixture
def auth(messpunkt_app):
    return messpunkt_app.extensions["messpunkt"]


# --- helpers ---------------------------------------------------------------


def _code(
    client,
    *,
    client_id: str = DEMO_CLIENT,
    redirect_uri: str | None = DEMO_REDIRECT_URI,
    scope: str = ALL_SCOPES,
    challenge: str = CHALLENGE,
) -> str:
    """Approve the quickstart's consent and return the authorization code."""
    form = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "property": QUICKSTART_PROPERTY,
        "decision": "approve",
    }
    response = client.post(
        "/oauth/authorize", data={k: v for k, v in form.items() if v is not None}
    )
    assert response.status_code == 302, response.headers.get("Location")
    return dict(parse_qsl(urlsplit(response.headers["Location"]).query))["code"]


def _token(client, form: dict[str, str] | MultiDict[str, str], **kwargs):
    return client.post("/oauth/token", data=form, **kwargs)


def _exchange(client, code: str, **overrides: str | None):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "client_id": DEMO_CLIENT,
        "code_verifier": VERIFIER,
        **overrides,
    }
    return _token(client, {k: v for k, v in form.items() if v is not None})


def _refresh(client, refresh_token: str, **extra: str):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": DEMO_CLIENT,
        **extra,
    }
    return _token(client, form)


def _tokens(client) -> dict:
    response = _exchange(client, _code(client))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _whoami(client, access_token: str):
    return client.get("/v1/whoami", headers={"Authorization": f"Bearer {access_token}"})


def _basic(client_id: str, secret: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def _assert_success(response, *, expires_in: int = 3600, scope: str = ALL_SCOPES) -> dict:
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == expires_in
    assert body["scope"] == scope
    return body


def _assert_error(response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    assert body["error_description"]


def _assert_invalid_token(response) -> None:
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def _decode(client, access_token: str) -> tuple[dict, dict]:
    """Verify the token's signature against the published JWKS; return header and claims."""
    header = jwt.get_unverified_header(access_token)
    jwks = client.get("/.well-known/jwks.json").get_json()
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    claims = jwt.decode(
        access_token,
        jwt.PyJWK(jwk).key,
        algorithms=["ES256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        # The sandbox clock is frozen, not the machine's: lifetimes are asserted below.
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    return header, claims


# --- authorization_code grant ----------------------------------------------


def test_code_exchange_returns_bearer_tokens_that_must_not_be_cached(messpunkt_client):
    response = _exchange(messpunkt_client, _code(messpunkt_client))

    body = _assert_success(response)
    assert response.headers["Pragma"] == "no-cache"
    assert body["access_token"].count(".") == 2
    assert len(body["refresh_token"]) >= 32
    assert _whoami(messpunkt_client, body["access_token"]).status_code == 200


def test_access_token_header_and_claims_are_exact(messpunkt_client, auth):
    body = _tokens(messpunkt_client)

    header, claims = _decode(messpunkt_client, body["access_token"])

    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": auth.key.kid}
    (session,) = auth.store.sessions()
    issued_at = int(FROZEN.timestamp())
    assert claims == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": ERIKA,
        "client_id": DEMO_CLIENT,
        "scope": ALL_SCOPES,
        "tenant_id": TENANT,
        "property_scope": [QUICKSTART_PROPERTY],
        "sid": session.id,
        "jti": claims["jti"],
        "iat": issued_at,
        "exp": issued_at + 3600,
    }
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", claims["jti"])


def test_every_access_token_has_its_own_jti(messpunkt_client):
    first = _tokens(messpunkt_client)
    second = _refresh(messpunkt_client, first["refresh_token"]).get_json()
    jtis = {_decode(messpunkt_client, t["access_token"])[1]["jti"] for t in (first, second)}
    assert len(jtis) == 2


def test_whoami_shows_the_granted_tenant_scopes_and_properties(messpunkt_client):
    body = _tokens(messpunkt_client)
    response = _whoami(messpunkt_client, body["access_token"])
    assert response.status_code == 200
    assert response.get_json() == {
        "tenant_id": TENANT,
        "tenant_name": TENANT_NAME,
        "client_id": DEMO_CLIENT,
        "granted_scopes": list(DEMO_SCOPES),
        "property_scope": [QUICKSTART_PROPERTY],
    }


def test_code_can_be_redeemed_only_once(messpunkt_client):
    code = _code(messpunkt_client)
    _assert_success(_exchange(messpunkt_client, code))
    _assert_error(_exchange(messpunkt_client, code), "invalid_grant")


def test_second_redemption_of_a_code_revokes_the_tokens_of_the_first(messpunkt_client):
    code = _code(messpunkt_client)
    first = _assert_success(_exchange(messpunkt_client, code))
    assert _whoami(messpunkt_client, first["access_token"]).status_code == 200

    _assert_error(_exchange(messpunkt_client, code), "invalid_grant")

    _assert_invalid_token(_whoami(messpunkt_client, first["access_token"]))
    _assert_error(_refresh(messpunkt_client, first["refresh_token"]), "invalid_grant")


def test_second_redemption_leaves_other_sessions_alone(messpunkt_client):
    other = _tokens(messpunkt_client)
    code = _code(messpunkt_client)
    _exchange(messpunkt_client, code)
    _exchange(messpunkt_client, code)
    assert _whoami(messpunkt_client, other["access_token"]).status_code == 200
    _assert_success(_refresh(messpunkt_client, other["refresh_token"]))


def test_code_is_consumed_by_a_failed_pkce_check(messpunkt_client):
    code = _code(messpunkt_client)
    _assert_error(_exchange(messpunkt_client, code, code_verifier=OTHER_VERIFIER), "invalid_grant")
    _assert_error(_exchange(messpunkt_client, code), "invalid_grant")


@pytest.mark.parametrize(
    "verifier",
    [OTHER_VERIFIER, VERIFIER[:42], VERIFIER + "+", CHALLENGE],
    ids=["other-verifier", "too-short", "bad-character", "challenge-as-verifier"],
)
def test_wrong_code_verifier_is_invalid_grant(messpunkt_client, verifier):
    _assert_error(
        _exchange(messpunkt_client, _code(messpunkt_client), code_verifier=verifier),
        "invalid_grant",
    )


def test_missing_code_verifier_fails_the_pkce_check_and_consumes_the_code(messpunkt_client):
    code = _code(messpunkt_client)
    _assert_error(_exchange(messpunkt_client, code, code_verifier=None), "invalid_grant")
    _assert_error(_exchange(messpunkt_client, code), "invalid_grant")


@pytest.mark.parametrize(
    ("age", "accepted"),
    [(timedelta(minutes=4, seconds=59), True), (timedelta(minutes=5), False)],
    ids=["4m59s", "5m"],
)
def test_code_expires_after_five_minutes(messpunkt_client, clock, age, accepted):
    code = _code(messpunkt_client)
    clock.advance(age)
    response = _exchange(messpunkt_client, code)
    if accepted:
        _assert_success(response)
    else:
        _assert_error(response, "invalid_grant")


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:3000/callback", "http://localhost:3000/callback/", None],
    ids=["other-registered-uri", "trailing-slash", "missing"],
)
def test_code_exchange_needs_the_authorize_requests_redirect_uri(messpunkt_client, redirect_uri):
    response = _exchange(messpunkt_client, _code(messpunkt_client), redirect_uri=redirect_uri)
    _assert_error(response, "invalid_grant" if redirect_uri else "invalid_request")


@pytest.mark.parametrize(
    "redirect_uri", [None, DEMO_REDIRECT_URI], ids=["left-out-again", "the-registered-one"]
)
def test_a_code_requested_without_redirect_uri_is_redeemed_with_or_without_it(
    messpunkt_client, redirect_uri
):
    # RFC 6749 §4.1.3: redirect_uri is required only if the authorization request had it.
    code = _code(messpunkt_client, redirect_uri=None)
    _assert_success(_exchange(messpunkt_client, code, redirect_uri=redirect_uri))


def test_a_code_requested_without_redirect_uri_refuses_another_one(messpunkt_client):
    code = _code(messpunkt_client, redirect_uri=None)
    response = _exchange(messpunkt_client, code, redirect_uri="http://localhost:3000/elsewhere")
    _assert_error(response, "invalid_grant")


def test_code_issued_to_one_client_is_refused_to_another(messpunkt_client):
    code = _code(messpunkt_client)
    _assert_error(_exchange(messpunkt_client, code, client_id=ERP_CLIENT), "invalid_grant")


def test_unknown_code_is_invalid_grant(messpunkt_client):
    _assert_error(_exchange(messpunkt_client, "A" * 40), "invalid_grant")


# --- refresh_token grant ---------------------------------------------------


def test_refresh_rotates_the_refresh_token(messpunkt_client):
    first = _tokens(messpunkt_client)

    second = _assert_success(_refresh(messpunkt_client, first["refresh_token"]))

    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _whoami(messpunkt_client, second["access_token"]).status_code == 200
    third = _assert_success(_refresh(messpunkt_client, second["refresh_token"]))
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


def test_replayed_refresh_token_revokes_the_session(messpunkt_client):
    first = _tokens(messpunkt_client)
    second = _assert_success(_refresh(messpunkt_client, first["refresh_token"]))
    third = _assert_success(_refresh(messpunkt_client, second["refresh_token"]))
    assert _whoami(messpunkt_client, third["access_token"]).status_code == 200

    _assert_error(_refresh(messpunkt_client, first["refresh_token"]), "invalid_grant")

    for body in (first, second, third):
        _assert_invalid_token(_whoami(messpunkt_client, body["access_token"]))
    _assert_error(_refresh(messpunkt_client, third["refresh_token"]), "invalid_grant")


def test_replayed_refresh_token_leaves_other_sessions_alone(messpunkt_client):
    other = _tokens(messpunkt_client)
    victim = _tokens(messpunkt_client)
    _refresh(messpunkt_client, victim["refresh_token"])
    _refresh(messpunkt_client, victim["refresh_token"])
    assert _whoami(messpunkt_client, other["access_token"]).status_code == 200


def test_replayed_refresh_token_with_widened_scope_still_revokes_the_session(messpunkt_client):
    first = _tokens(messpunkt_client)
    second = _assert_success(_refresh(messpunkt_client, first["refresh_token"]))

    response = _refresh(messpunkt_client, first["refresh_token"], scope=f"{ALL_SCOPES} admin")

    _assert_invalid_token(_whoami(messpunkt_client, second["access_token"]))
    _assert_error(_refresh(messpunkt_client, second["refresh_token"]), "invalid_grant")
    _assert_error(response, "invalid_grant")


def test_refresh_token_of_another_client_is_invalid_grant_and_not_revoked(messpunkt_client):
    first = _tokens(messpunkt_client)
    response = _refresh(messpunkt_client, first["refresh_token"], client_id=ERP_CLIENT)
    _assert_error(response, "invalid_grant")
    assert _whoami(messpunkt_client, first["access_token"]).status_code == 200
    _assert_success(_refresh(messpunkt_client, first["refresh_token"]))


def test_refresh_may_narrow_the_scope(messpunkt_client):
    first = _tokens(messpunkt_client)

    narrowed = _assert_success(
        _refresh(messpunkt_client, first["refresh_token"], scope="read:units"), scope="read:units"
    )

    assert _decode(messpunkt_client, narrowed["access_token"])[1]["scope"] == "read:units"
    whoami = _whoami(messpunkt_client, narrowed["access_token"]).get_json()
    assert whoami["granted_scopes"] == ["read:units"]
    # RFC 6749 §6: without a scope the refresh grants the original scope again.
    _assert_success(_refresh(messpunkt_client, narrowed["refresh_token"]))


@pytest.mark.parametrize(
    "scope", ["read:units write:units", "admin"], ids=["one-extra-scope", "unknown-scope"]
)
def test_refresh_may_not_widen_the_scope(messpunkt_client, scope):
    code = _code(messpunkt_client, scope="read:units")
    first = _assert_success(_exchange(messpunkt_client, code), scope="read:units")

    _assert_error(_refresh(messpunkt_client, first["refresh_token"], scope=scope), "invalid_scope")


def test_refresh_may_not_add_a_scope_the_consent_did_not_grant(messpunkt_client):
    code = _code(messpunkt_client, scope="read:units")
    first = _assert_success(_exchange(messpunkt_client, code), scope="read:units")
    response = _refresh(messpunkt_client, first["refresh_token"], scope="read:units read:readings")
    _assert_error(response, "invalid_scope")


def test_unknown_refresh_token_is_invalid_grant(messpunkt_client):
    _tokens(messpunkt_client)
    _assert_error(_refresh(messpunkt_client, "not-a-refresh-token"), "invalid_grant")


# --- lifetimes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "status"),
    [(timedelta(minutes=59, seconds=59), 200), (timedelta(hours=1), 401)],
    ids=["59m59s", "1h"],
)
def test_access_token_expires_after_one_hour(messpunkt_client, clock, age, status):
    body = _tokens(messpunkt_client)
    clock.advance(age)
    response = _whoami(messpunkt_client, body["access_token"])
    if status == 401:
        _assert_invalid_token(response)
    else:
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("idle", "accepted"), [(7 * DAY - SECOND, True), (7 * DAY, False)], ids=["7d-1s", "7d"]
)
def test_refresh_token_is_refused_after_seven_days_idle(messpunkt_client, clock, idle, accepted):
    body = _tokens(messpunkt_client)
    clock.advance(idle)
    response = _refresh(messpunkt_client, body["refresh_token"])
    if accepted:
        _assert_success(response)
    else:
        _assert_error(response, "invalid_grant")


def test_session_is_capped_at_thirty_days_even_with_refreshes_every_six_days(
    messpunkt_client, clock
):
    body = _tokens(messpunkt_client)
    for _ in range(4):  # days 6, 12, 18, 24
        clock.advance(6 * DAY)
        body = _assert_success(_refresh(messpunkt_client, body["refresh_token"]))

    clock.advance(6 * DAY)  # day 30: the refresh token from day 24 is capped there

    _assert_error(_refresh(messpunkt_client, body["refresh_token"]), "invalid_grant")


def test_tokens_issued_near_the_cap_never_outlive_the_session(messpunkt_client, clock):
    body = _tokens(messpunkt_client)
    for _ in range(4):  # days 6, 12, 18, 24
        clock.advance(6 * DAY)
        body = _assert_success(_refresh(messpunkt_client, body["refresh_token"]))
    clock.advance(6 * DAY - timedelta(minutes=30))  # 30 minutes before the cap

    last = _assert_success(_refresh(messpunkt_client, body["refresh_token"]), expires_in=1800)

    cap = int((FROZEN + 30 * DAY).timestamp())
    assert _decode(messpunkt_client, last["access_token"])[1]["exp"] == cap
    clock.advance(timedelta(minutes=30) - SECOND)
    assert _whoami(messpunkt_client, last["access_token"]).status_code == 200
    clock.advance(SECOND)
    _assert_invalid_token(_whoami(messpunkt_client, last["access_token"]))
    _assert_error(_refresh(messpunkt_client, last["refresh_token"]), "invalid_grant")


# --- request format --------------------------------------------------------


def test_json_body_is_accepted(messpunkt_client):
    code = _code(messpunkt_client)
    response = messpunkt_client.post(
        "/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": DEMO_REDIRECT_URI,
            "client_id": DEMO_CLIENT,
            "code_verifier": VERIFIER,
        },
    )
    _assert_success(response)


@pytest.mark.parametrize(
    "document",
    [["grant_type", "refresh_token"], {"grant_type": "refresh_token", "refresh_token": 1}],
    ids=["array", "non-string-value"],
)
def test_json_body_must_be_an_object_of_strings(messpunkt_client, document):
    response = messpunkt_client.post("/oauth/token", json=document)
    _assert_error(response, "invalid_request")


def test_unsupported_grant_type_is_refused(messpunkt_client):
    response = _token(
        messpunkt_client,
        {"grant_type": "password", "client_id": DEMO_CLIENT, "username": "u", "password": "p"},
    )
    _assert_error(response, "unsupported_grant_type")


def test_missing_grant_type_is_invalid_request(messpunkt_client):
    code = _code(messpunkt_client)
    response = _exchange(messpunkt_client, code, grant_type=None)
    _assert_error(response, "invalid_request")


@pytest.mark.parametrize("in_url", ["code", "client_id"])
def test_parameters_in_the_url_query_are_invalid_request(messpunkt_client, in_url):
    code = _code(messpunkt_client)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "client_id": DEMO_CLIENT,
        "code_verifier": VERIFIER,
    }
    # The body alone is a valid request; the copy in the URL must make it fail.
    response = messpunkt_client.post(f"/oauth/token?{in_url}={form[in_url]}", data=form)
    _assert_error(response, "invalid_request")


@pytest.mark.parametrize("repeated", ["grant_type", "code", "client_id", "code_verifier"])
def test_repeated_parameter_is_invalid_request(messpunkt_client, repeated):
    code = _code(messpunkt_client)
    form = MultiDict(
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", DEMO_REDIRECT_URI),
            ("client_id", DEMO_CLIENT),
            ("code_verifier", VERIFIER),
        ]
    )
    form.add(repeated, form[repeated])
    _assert_error(_token(messpunkt_client, form), "invalid_request")


def test_other_content_types_are_invalid_request(messpunkt_client):
    response = messpunkt_client.post(
        "/oauth/token", data="grant_type=client_credentials", content_type="text/plain"
    )
    _assert_error(response, "invalid_request")


# --- client authentication -------------------------------------------------


def test_confidential_client_authenticates_with_client_secret_basic(messpunkt_client):
    code = _code(messpunkt_client, client_id=WEB_CLIENT)
    response = _token(
        messpunkt_client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": DEMO_REDIRECT_URI,
            "code_verifier": VERIFIER,
        },
        headers=_basic(WEB_CLIENT, WEB_SECRET),
    )
    body = _assert_success(response)
    refreshed = _token(
        messpunkt_client,
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=_basic(WEB_CLIENT, WEB_SECRET),
    )
    _assert_success(refreshed)


def test_confidential_client_authenticates_with_client_secret_post(messpunkt_client):
    tokens = obtain_tokens(messpunkt_client, client_id=WEB_CLIENT, client_secret=WEB_SECRET)
    whoami = _whoami(messpunkt_client, tokens.access_token).get_json()
    assert whoami["client_id"] == WEB_CLIENT
    response = _refresh(
        messpunkt_client,
        tokens.refresh_token or "",
        client_id=WEB_CLIENT,
        client_secret=WEB_SECRET,
    )
    _assert_success(response)


def test_wrong_secret_in_basic_is_invalid_client_with_a_challenge(messpunkt_client):
    code = _code(messpunkt_client, client_id=WEB_CLIENT)
    response = _token(
        messpunkt_client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": DEMO_REDIRECT_URI,
            "code_verifier": VERIFIER,
        },
        headers=_basic(WEB_CLIENT, "wrong-secret"),
    )
    _assert_error(response, "invalid_client", status=401)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize("secret", ["wrong-secret", None], ids=["wrong-secret", "no-secret"])
def test_confidential_client_without_its_secret_is_invalid_client(messpunkt_client, secret):
    code = _code(messpunkt_client, client_id=WEB_CLIENT)
    response = _exchange(messpunkt_client, code, client_id=WEB_CLIENT, client_secret=secret)
    _assert_error(response, "invalid_client", status=401)


def test_public_client_presenting_a_secret_is_invalid_client(messpunkt_client):
    code = _code(messpunkt_client)
    response = _exchange(messpunkt_client, code, client_secret="anything")
    _assert_error(response, "invalid_client", status=401)


def test_unknown_client_is_invalid_client(messpunkt_client):
    code = _code(messpunkt_client)
    _assert_error(
        _exchange(messpunkt_client, code, client_id="no-such-client"), "invalid_client", 401
    )


def test_missing_client_id_is_invalid_client(messpunkt_client):
    code = _code(messpunkt_client)
    _assert_error(_exchange(messpunkt_client, code, client_id=None), "invalid_client", 401)


# --- client_credentials grant ----------------------------------------------


def test_service_client_gets_a_short_token_without_refresh_token(messpunkt_client):
    response = _token(
        messpunkt_client,
        {"grant_type": "client_credentials"},
        headers=_basic(SERVICE_CLIENT, SERVICE_SECRET),
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert body["scope"] == ALL_SCOPES
    whoami = _whoami(messpunkt_client, body["access_token"])
    assert whoami.status_code == 200
    assert whoami.get_json() == {
        "tenant_id": TENANT,
        "tenant_name": TENANT_NAME,
        "client_id": SERVICE_CLIENT,
        "granted_scopes": list(DEMO_SCOPES),
        "property_scope": sorted([QUICKSTART_PROPERTY, HAMBURG_PROPERTY]),
    }


def test_service_token_expires_after_thirty_minutes(messpunkt_client, clock):
    body = _token(
        messpunkt_client,
        {
            "grant_type": "client_credentials",
            "client_id": SERVICE_CLIENT,
            "client_secret": SERVICE_SECRET,
        },
    ).get_json()
    clock.advance(timedelta(minutes=30) - SECOND)
    assert _whoami(messpunkt_client, body["access_token"]).status_code == 200
    clock.advance(SECOND)
    _assert_invalid_token(_whoami(messpunkt_client, body["access_token"]))


def test_service_client_may_narrow_its_scope(messpunkt_client):
    response = _token(
        messpunkt_client,
        {"grant_type": "client_credentials", "scope": "read:units"},
        headers=_basic(SERVICE_CLIENT, SERVICE_SECRET),
    )
    assert response.status_code == 200
    assert response.get_json()["scope"] == "read:units"


def test_service_client_may_not_use_the_authorization_code_grant(messpunkt_client):
    response = _token(
        messpunkt_client,
        {
            "grant_type": "authorization_code",
            "code": "A" * 40,
            "redirect_uri": DEMO_REDIRECT_URI,
            "code_verifier": VERIFIER,
        },
        headers=_basic(SERVICE_CLIENT, SERVICE_SECRET),
    )
    _assert_error(response, "unauthorized_client")


@pytest.mark.parametrize(
    ("form", "headers"),
    [
        ({"grant_type": "client_credentials", "client_id": DEMO_CLIENT}, {}),
        ({"grant_type": "client_credentials"}, _basic(WEB_CLIENT, WEB_SECRET)),
    ],
    ids=["public-demo-client", "confidential-web-client"],
)
def test_client_credentials_needs_a_client_registered_for_it(messpunkt_client, form, headers):
    response = _token(messpunkt_client, form, headers=headers)
    _assert_error(response, "unauthorized_client")


# --- discovery -------------------------------------------------------------


def test_metadata_document_describes_the_server(messpunkt_client):
    response = messpunkt_client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    metadata = response.get_json()
    assert metadata["issuer"] == ISSUER
    assert metadata["authorization_endpoint"] == f"{ISSUER}/oauth/authorize"
    assert metadata["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert metadata["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
    }
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "none",
        "client_secret_basic",
        "client_secret_post",
    }
    assert set(DEMO_SCOPES) <= set(metadata["scopes_supported"])


def test_jwks_publishes_only_the_public_signing_key(messpunkt_client, auth):
    response = messpunkt_client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    (key,) = response.get_json()["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
    assert (key["kty"], key["crv"], key["use"], key["alg"]) == ("EC", "P-256", "sig", "ES256")
    assert key["kid"] == auth.key.kid


def test_access_token_verifies_against_the_jwks_key_named_in_its_header(messpunkt_client):
    body = _tokens(messpunkt_client)
    (published,) = messpunkt_client.get("/.well-known/jwks.json").get_json()["keys"]
    claims = jwt.decode(
        body["access_token"],
        jwt.PyJWK(published).key,
        algorithms=["ES256"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert jwt.get_unverified_header(body["access_token"])["kid"] == published["kid"]
    assert claims["client_id"] == DEMO_CLIENT


def test_token_signed_by_another_key_fails_verification(messpunkt_client):
    from cryptography.hazmat.primitives.asymmetric import ec

    body = _tokens(messpunkt_client)
    header, claims = _decode(messpunkt_client, body["access_token"])
    forged = jwt.encode(
        claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header
    )
    with pytest.raises(jwt.InvalidSignatureError):
        _decode(messpunkt_client, forged)
    _assert_invalid_token(_whoami(messpunkt_client, forged))
