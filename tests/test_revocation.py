"""Token revocation (RFC 7009) and token introspection (RFC 7662) over HTTP."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import jwt
import pytest
from conftest import TENANT

from messpunkt.testing import (
    DEMO_CLIENT,
    DEMO_SCOPES,
    FROZEN_AT,
    QUICKSTART_PROPERTY,
    Tokens,
    obtain_tokens,
)

ISSUER = "http://localhost:8000"
AUDIENCE = "http://localhost:8000/v1"
ERIKA = "ba67f98d-4fd0-50b9-a60f-508383b44535"  # the first tenant's first demo user
WEB_CLIENT = "sandbox-web-client"
WEB_SECRET = "sandbox-web-client-secret-change-me"
SERVICE_CLIENT = "sandbox-service-client"
SERVICE_SECRET = "sandbox-service-client-secret-change-me"
ERP_CLIENT = "beispiel-erp-client"
NOW = int(datetime.fromisoformat(FROZEN_AT).timestamp())


def _basic(client_id: str, secret: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


WEB_BASIC = _basic(WEB_CLIENT, WEB_SECRET)


@pytest.fixture
def web_tokens(messpunkt_client) -> Tokens:
    return obtain_tokens(messpunkt_client, client_id=WEB_CLIENT, client_secret=WEB_SECRET)


def _post(client, path: str, form: dict[str, str | None], headers: dict[str, str] | None = None):
    data = {name: value for name, value in form.items() if value is not None}
    response = client.post(path, data=data, headers=headers or {})
    # RFC 6749 §5.1, RFC 7662 §2.2: nothing from these endpoints may be cached.
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.mimetype == "application/json"
    return response


def _revoke(client, token: str | None, *, client_id: str | None = DEMO_CLIENT, **extra):
    headers = extra.pop("headers", None)
    return _post(
        client, "/oauth/revoke", {"token": token, "client_id": client_id, **extra}, headers
    )


def _introspect(client, token: str | None, *, headers=WEB_BASIC, **form: str | None):
    return _post(client, "/oauth/introspect", {"token": token, **form}, headers)


def _refresh(client, refresh_token: str | None, client_id: str = DEMO_CLIENT, **extra: str):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return client.post("/oauth/token", data={**form, **extra})


def _whoami(client, access_token: str) -> int:
    return client.get("/v1/whoami", headers={"Authorization": f"Bearer {access_token}"}).status_code


def _assert_ok(response, body: dict | None = None) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == ({} if body is None else body)


def _assert_error(response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error


# --- revocation ------------------------------------------------------------

HINTS = [None, "refresh_token", "access_token"]


@pytest.mark.parametrize("hint", HINTS, ids=["no-hint", "right-hint", "wrong-hint"])
def test_revoking_a_refresh_token_ends_its_session_and_every_access_token(messpunkt_client, hint):
    first = obtain_tokens(messpunkt_client)
    second = _refresh(messpunkt_client, first.refresh_token).get_json()
    assert _whoami(messpunkt_client, second["access_token"]) == 200

    _assert_ok(_revoke(messpunkt_client, second["refresh_token"], token_type_hint=hint))

    assert _whoami(messpunkt_client, first.access_token) == 401
    assert _whoami(messpunkt_client, second["access_token"]) == 401
    _assert_error(_refresh(messpunkt_client, second["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("hint", HINTS, ids=["no-hint", "wrong-hint", "right-hint"])
def test_revoking_an_access_token_stops_only_that_token(messpunkt_client, hint):
    tokens = obtain_tokens(messpunkt_client)

    _assert_ok(_revoke(messpunkt_client, tokens.access_token, token_type_hint=hint))

    assert _whoami(messpunkt_client, tokens.access_token) == 401
    refreshed = _refresh(messpunkt_client, tokens.refresh_token)
    assert refreshed.status_code == 200
    assert _whoami(messpunkt_client, refreshed.get_json()["access_token"]) == 200
    assert _whoami(messpunkt_client, tokens.access_token) == 401


def test_a_confidential_client_revokes_its_own_token_with_client_secret_basic(
    messpunkt_client, web_tokens
):
    _assert_ok(
        _revoke(messpunkt_client, web_tokens.refresh_token, client_id=None, headers=WEB_BASIC)
    )
    assert _whoami(messpunkt_client, web_tokens.access_token) == 401


@pytest.mark.parametrize(
    "token", ["no-such-token", "a.b.c", "mpat_unknown"], ids=["opaque", "jwt-shaped", "pat-shaped"]
)
def test_revoking_an_unknown_token_answers_200_with_an_empty_object(messpunkt_client, token):
    tokens = obtain_tokens(messpunkt_client)
    _assert_ok(_revoke(messpunkt_client, token))
    assert _whoami(messpunkt_client, tokens.access_token) == 200


def test_revoking_twice_answers_200_both_times(messpunkt_client):
    tokens = obtain_tokens(messpunkt_client)
    _assert_ok(_revoke(messpunkt_client, tokens.refresh_token))
    _assert_ok(_revoke(messpunkt_client, tokens.refresh_token))
    _assert_ok(_revoke(messpunkt_client, tokens.access_token))


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
@pytest.mark.parametrize(
    ("revoker", "auth"),
    [(ERP_CLIENT, {}), (WEB_CLIENT, {"client_id": None, "headers": WEB_BASIC})],
    ids=["public-erp-client", "confidential-web-client"],
)
def test_a_token_of_another_client_is_left_alone(messpunkt_client, kind, revoker, auth):
    tokens = obtain_tokens(messpunkt_client)
    token = getattr(tokens, kind)

    _assert_ok(_revoke(messpunkt_client, token, **{"client_id": revoker, **auth}))

    assert _whoami(messpunkt_client, tokens.access_token) == 200
    assert _refresh(messpunkt_client, tokens.refresh_token).status_code == 200


UNKNOWN_HINTS = ["foo", "id_token", "Refresh_Token", "urn:ietf:params:oauth:token-type:jwt"]


@pytest.mark.parametrize("hint", UNKNOWN_HINTS)
def test_an_unknown_token_type_hint_is_ignored_and_a_refresh_token_revoked(messpunkt_client, hint):
    # RFC 7009 §2.1: a hint the server cannot use widens the search; it is no error.
    tokens = obtain_tokens(messpunkt_client)

    _assert_ok(_revoke(messpunkt_client, tokens.refresh_token, token_type_hint=hint))

    assert _whoami(messpunkt_client, tokens.access_token) == 401
    _assert_error(_refresh(messpunkt_client, tokens.refresh_token), "invalid_grant")


@pytest.mark.parametrize("hint", UNKNOWN_HINTS)
def test_an_unknown_token_type_hint_is_ignored_and_an_access_token_revoked(messpunkt_client, hint):
    tokens = obtain_tokens(messpunkt_client)

    _assert_ok(_revoke(messpunkt_client, tokens.access_token, token_type_hint=hint))

    assert _whoami(messpunkt_client, tokens.access_token) == 401
    assert _refresh(messpunkt_client, tokens.refresh_token).status_code == 200


def test_a_repeated_token_type_hint_is_invalid_request(messpunkt_client):
    tokens = obtain_tokens(messpunkt_client)
    response = _revoke(
        messpunkt_client, tokens.refresh_token, token_type_hint=["refresh_token", "foo"]
    )
    _assert_error(response, "invalid_request")
    assert _whoami(messpunkt_client, tokens.access_token) == 200


@pytest.mark.parametrize("token", [None, ""], ids=["missing", "empty"])
def test_a_revocation_without_a_token_is_invalid_request(messpunkt_client, token):
    _assert_error(_revoke(messpunkt_client, token), "invalid_request")


def test_a_repeated_token_is_invalid_request(messpunkt_client):
    tokens = obtain_tokens(messpunkt_client)
    response = messpunkt_client.post(
        "/oauth/revoke",
        data={"client_id": DEMO_CLIENT, "token": [tokens.refresh_token, tokens.refresh_token]},
    )
    _assert_error(response, "invalid_request")
    assert _whoami(messpunkt_client, tokens.access_token) == 200


@pytest.mark.parametrize(
    ("auth", "challenged"),
    [
        ({"client_id": WEB_CLIENT}, False),
        ({"client_id": WEB_CLIENT, "client_secret": "wrong"}, False),
        ({"client_id": None, "headers": _basic(WEB_CLIENT, "wrong")}, True),
        ({"client_id": None, "headers": _basic("no-such-client", "x")}, True),
    ],
    ids=["post-without-secret", "post-wrong-secret", "basic-wrong-secret", "basic-unknown-client"],
)
def test_a_client_that_fails_authentication_is_invalid_client(
    messpunkt_client, web_tokens, auth, challenged
):
    response = _revoke(messpunkt_client, web_tokens.refresh_token, **auth)

    _assert_error(response, "invalid_client", status=401)
    if challenged:
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
    else:
        assert "WWW-Authenticate" not in response.headers
    assert _whoami(messpunkt_client, web_tokens.access_token) == 200


# --- introspection ---------------------------------------------------------


def _session_id(messpunkt_app) -> str:
    (session,) = messpunkt_app.extensions["messpunkt"].store.sessions()
    return session.id


@pytest.mark.parametrize(
    "auth",
    [{"headers": WEB_BASIC}, {"headers": {}, "client_id": WEB_CLIENT, "client_secret": WEB_SECRET}],
    ids=["client-secret-basic", "client-secret-post"],
)
def test_introspection_describes_an_active_access_token_exactly(
    messpunkt_app, messpunkt_client, web_tokens, auth
):
    response = _introspect(messpunkt_client, web_tokens.access_token, **auth)

    claims = jwt.decode(web_tokens.access_token, options={"verify_signature": False})
    _assert_ok(
        response,
        {
            "active": True,
            "token_type": "Bearer",
            "scope": " ".join(DEMO_SCOPES),
            "client_id": WEB_CLIENT,
            "sub": ERIKA,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": NOW,
            "exp": NOW + 3600,
            "jti": claims["jti"],
            "sid": _session_id(messpunkt_app),
            "tenant_id": TENANT,
            "property_scope": [QUICKSTART_PROPERTY],
        },
    )


def test_introspection_describes_an_active_refresh_token_exactly(
    messpunkt_app, messpunkt_client, web_tokens
):
    response = _introspect(messpunkt_client, web_tokens.refresh_token)

    _assert_ok(
        response,
        {
            "active": True,
            "token_type": "refresh_token",
            "scope": " ".join(DEMO_SCOPES),
            "client_id": WEB_CLIENT,
            "sub": ERIKA,
            "iss": ISSUER,
            "iat": NOW,
            "exp": NOW + 7 * 86400,
            "sid": _session_id(messpunkt_app),
            "tenant_id": TENANT,
            "property_scope": [QUICKSTART_PROPERTY],
        },
    )


class Web:
    """The web client's tokens, and what can happen to them before they are introspected."""

    def __init__(self, client, clock, tokens: Tokens) -> None:
        self.client, self.clock = client, clock
        self.access, self.refresh = tokens.access_token, tokens.refresh_token or ""

    def revoke(self, token: str) -> Web:
        _assert_ok(_revoke(self.client, token, client_id=None, headers=WEB_BASIC))
        return self

    def advance(self, **duration: int) -> Web:
        self.clock.advance(timedelta(**duration))
        return self

    def rotate(self) -> Web:
        rotated = _refresh(self.client, self.refresh, WEB_CLIENT, client_secret=WEB_SECRET)
        assert rotated.status_code == 200
        return self


@pytest.mark.parametrize(
    "inactive",
    [
        pytest.param(lambda web: web.revoke(web.access).access, id="revoked-access-token"),
        pytest.param(lambda web: web.revoke(web.refresh).access, id="access-token-revoked-session"),
        pytest.param(lambda web: web.revoke(web.refresh).refresh, id="revoked-refresh-token"),
        pytest.param(lambda web: web.advance(hours=1).access, id="expired-access-token"),
        pytest.param(lambda web: web.advance(days=7).refresh, id="expired-refresh-token"),
        pytest.param(lambda web: web.rotate().refresh, id="rotated-refresh-token"),
        pytest.param(lambda web: obtain_tokens(web.client).access_token, id="other-clients-access"),
        pytest.param(
            lambda web: obtain_tokens(web.client).refresh_token, id="other-clients-refresh"
        ),
        pytest.param(lambda web: "no-such-token", id="unknown-token"),
    ],
)
def test_introspection_answers_only_active_false_for_a_token_that_is_not_active(
    messpunkt_client, clock, web_tokens, inactive
):
    token = inactive(Web(messpunkt_client, clock, web_tokens))
    _assert_ok(_introspect(messpunkt_client, token), {"active": False})


def test_another_confidential_client_sees_the_web_clients_token_as_inactive(
    messpunkt_client, web_tokens
):
    headers = _basic(SERVICE_CLIENT, SERVICE_SECRET)
    response = _introspect(messpunkt_client, web_tokens.access_token, headers=headers)
    _assert_ok(response, {"active": False})


@pytest.mark.parametrize(
    ("auth", "challenged"),
    [
        ({"headers": {}, "client_id": DEMO_CLIENT}, False),
        ({"headers": _basic(WEB_CLIENT, "wrong")}, True),
        ({"headers": {}, "client_id": WEB_CLIENT}, False),
    ],
    ids=["public-client", "wrong-secret", "no-secret"],
)
def test_introspection_needs_an_authenticated_confidential_client(
    messpunkt_client, auth, challenged
):
    tokens = obtain_tokens(messpunkt_client)
    response = _introspect(messpunkt_client, tokens.access_token, **auth)
    _assert_error(response, "invalid_client", status=401)
    assert ("WWW-Authenticate" in response.headers) is challenged


@pytest.mark.parametrize(
    ("kind", "token_type"), [("access_token", "Bearer"), ("refresh_token", "refresh_token")]
)
@pytest.mark.parametrize("hint", ["access_token", "refresh_token", *UNKNOWN_HINTS])
def test_introspection_finds_the_token_whatever_the_hint(
    messpunkt_client, web_tokens, kind, token_type, hint
):
    # RFC 7662 §2.1: a wrong or unknown hint extends the search across both kinds.
    response = _introspect(messpunkt_client, getattr(web_tokens, kind), token_type_hint=hint)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["active"], body["token_type"], body["client_id"]) == (
        True, token_type, WEB_CLIENT,
    )  # fmt: skip


@pytest.mark.parametrize(
    "form",
    [{"token": None}, {"token_type_hint": ["access_token", "access_token"]}],
    ids=["missing-token", "repeated-hint"],
)
def test_a_malformed_introspection_request_is_invalid_request(messpunkt_client, web_tokens, form):
    _assert_error(
        _introspect(messpunkt_client, **{"token": web_tokens.access_token, **form}),
        "invalid_request",
    )


def test_metadata_lists_the_revocation_and_introspection_endpoints(messpunkt_client):
    metadata = messpunkt_client.get("/.well-known/oauth-authorization-server").get_json()
    assert metadata["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert metadata["introspection_endpoint"] == f"{ISSUER}/oauth/introspect"
    assert metadata["revocation_endpoint_auth_methods_supported"] == [
        "none", "client_secret_basic", "client_secret_post",
    ]  # fmt: skip
    assert metadata["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post",
    ]  # fmt: skip
