"""The authorization endpoint over HTTP: consent page, approve, deny and every error."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from messpunkt.testing import DEMO_CLIENT, DEMO_REDIRECT_URI, DEMO_SCOPES, QUICKSTART_PROPERTY

ISSUER = "http://localhost:8000"
STATE = "af0ifjsldkj-Zq3"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 Appendix B
HAMBURG_PROPERTY = "21141801-9f23-5bf2-865c-51d717f65653"  # first tenant
LEIPZIG_PROPERTY = "1ac0d6fd-ab69-5905-8ab9-3370c1adbcc3"  # second tenant
ERP_CLIENT = "beispiel-erp-client"
ERP_REDIRECT_URI = "http://localhost:4000/callback"
WEB_CLIENT = "sandbox-web-client"  # registers two redirect URIs

Value = str | list[str] | None


def _params(**overrides: Value) -> MultiDict[str, str]:
    """The quickstart's approve request; an override of None leaves the parameter out."""
    params: dict[str, Value] = {
        "client_id": DEMO_CLIENT,
        "redirect_uri": DEMO_REDIRECT_URI,
        "scope": " ".join(DEMO_SCOPES),
        "state": STATE,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "property": [QUICKSTART_PROPERTY],
        "decision": "approve",
    }
    params.update(overrides)
    pairs: MultiDict[str, str] = MultiDict()
    for name, value in params.items():
        for item in [value] if isinstance(value, str) else value or []:
            pairs.add(name, item)
    return pairs


def _authorize(client, **overrides: Value):
    return client.post("/oauth/authorize", data=_params(**overrides))


def _consent(client, **overrides: Value):
    query = _params(**{"response_type": "code", "decision": None, "property": None, **overrides})
    return client.get("/oauth/authorize?" + urlencode(list(query.items(multi=True))))


def _redirect_query(response, redirect_uri: str = DEMO_REDIRECT_URI) -> dict[str, str]:
    """Assert a 302 to `redirect_uri` and return its query, each parameter once."""
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    pairs = parse_qsl(location.query, keep_blank_values=True)
    query = dict(pairs)
    assert len(query) == len(pairs), f"repeated parameter in {location.query}"
    return query


def _assert_error_redirect(response, error: str, *, state: str | None = STATE) -> None:
    query = _redirect_query(response)
    expected = {"error", "error_description", "iss"} | ({"state"} if state else set())
    assert set(query) == expected
    assert query["error"] == error
    assert query["error_description"]
    assert query["iss"] == ISSUER
    assert query.get("state") == state


def _assert_error_page(response) -> None:
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    assert "This authorization request cannot be completed" in response.get_data(as_text=True)


def test_approve_redirects_with_code_state_and_iss(messpunkt_client):
    response = _authorize(messpunkt_client)

    query = _redirect_query(response)
    assert set(query) == {"code", "state", "iss"}
    assert re.fullmatch(r"[A-F0-9]{32,}", query["code"])
    assert query["state"] == STATE
    assert query["iss"] == ISSUER


def test_approve_stores_only_a_digest_of_the_code(messpunkt_app, messpunkt_client):
    from messpunkt.oauth.store import digest

    code = _redirect_query(_authorize(messpunkt_client))["code"]
    store = messpunkt_app.extensions["messpunkt"].state.auth.store
    assert store.code(code) is None
    record = store.code(digest(code))
    assert record is not None
    assert record.client_id == DEMO_CLIENT
    assert record.property_ids == (QUICKSTART_PROPERTY,)
    assert record.code_challenge == CHALLENGE


def test_each_approval_gets_a_different_code(messpunkt_client):
    codes = {_redirect_query(_authorize(messpunkt_client))["code"] for _ in range(5)}
    assert len(codes) == 5


def test_approve_without_state_redirects_without_state(messpunkt_client):
    query = _redirect_query(_authorize(messpunkt_client, state=None))
    assert set(query) == {"code", "iss"}


def test_response_type_code_is_accepted_on_approve(messpunkt_client):
    query = _redirect_query(_authorize(messpunkt_client, response_type="code"))
    assert set(query) == {"code", "state", "iss"}


def test_deny_redirects_with_access_denied_state_and_iss(messpunkt_client):
    response = _authorize(messpunkt_client, decision="deny")
    _assert_error_redirect(response, "access_denied")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"scope": "read:units write:units"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"property": None}, "invalid_request"),
        ({"property": [QUICKSTART_PROPERTY, LEIPZIG_PROPERTY]}, "invalid_request"),
        ({"property": ["00000000-0000-4000-8000-000000000000"]}, "invalid_request"),
        ({"decision": None}, "invalid_request"),
        ({"decision": "maybe"}, "invalid_request"),
        ({"code_challenge": [CHALLENGE, CHALLENGE]}, "invalid_request"),
    ],
    ids=[
        "missing-code-challenge",
        "method-plain",
        "method-missing",
        "malformed-code-challenge",
        "unknown-scope",
        "response-type-token",
        "no-property",
        "properties-of-two-tenants",
        "unknown-property",
        "decision-missing",
        "decision-unknown",
        "repeated-code-challenge",
    ],
)
def test_invalid_authorization_request_redirects_with_error(messpunkt_client, overrides, error):
    response = _authorize(messpunkt_client, **overrides)
    _assert_error_redirect(response, error)


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "no-such-client"},
        {"client_id": None},
        {"redirect_uri": "http://localhost:3000/elsewhere"},
        {"redirect_uri": "http://localhost:3000/callback/extra"},
        {"redirect_uri": "http://localhost:3000/callback?next=evil"},
        {"redirect_uri": "http://localhost:3000/callback/"},
        {"redirect_uri": "http://localhost:3001/callback"},
        {"redirect_uri": "http://LOCALHOST:3000/callback"},
        {"redirect_uri": "https://localhost:3000/callback"},
        {"redirect_uri": "http://localhost:3000/callback#frag"},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": ERP_REDIRECT_URI},
        {"client_id": WEB_CLIENT, "redirect_uri": None},
        {"client_id": "sandbox-service-client", "redirect_uri": None},
        {"redirect_uri": [DEMO_REDIRECT_URI, DEMO_REDIRECT_URI]},
    ],
    ids=[
        "unknown-client",
        "missing-client",
        "unregistered-redirect-uri",
        "extra-path",
        "extra-query",
        "trailing-slash",
        "different-port",
        "upper-case-host",
        "different-scheme",
        "fragment",
        "foreign-host",
        "another-clients-redirect-uri",
        "missing-redirect-uri-two-registered",
        "missing-redirect-uri-none-registered",
        "repeated-redirect-uri",
    ],
)
def test_unsafe_request_shows_error_page_and_never_redirects(messpunkt_client, overrides):
    # Even with other errors present, nothing is sent to an unverified redirect URI.
    _assert_error_page(_authorize(messpunkt_client, **overrides))
    _assert_error_page(_authorize(messpunkt_client, **overrides, code_challenge_method="plain"))
    _assert_error_page(_consent(messpunkt_client, **overrides))


@pytest.mark.parametrize(
    ("client_id", "registered"),
    [(DEMO_CLIENT, DEMO_REDIRECT_URI), (ERP_CLIENT, ERP_REDIRECT_URI)],
)
def test_without_redirect_uri_the_code_goes_to_the_one_registered_uri(
    messpunkt_client, client_id, registered
):
    # RFC 6749 §3.1.2.3: only a client with several registered URIs must name one.
    property_id = QUICKSTART_PROPERTY if client_id == DEMO_CLIENT else LEIPZIG_PROPERTY
    response = _authorize(
        messpunkt_client, client_id=client_id, redirect_uri=None, property=[property_id]
    )

    query = _redirect_query(response, registered)
    assert set(query) == {"code", "state", "iss"}


def test_without_redirect_uri_an_error_goes_to_the_one_registered_uri(messpunkt_client):
    response = _authorize(messpunkt_client, redirect_uri=None, code_challenge_method="plain")
    _assert_error_redirect(response, "invalid_request")


def test_without_redirect_uri_the_consent_page_posts_without_it_and_allows_the_registered_origin(
    messpunkt_client,
):
    response = _consent(messpunkt_client, redirect_uri=None)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="redirect_uri"' not in html
    assert "form-action 'self' http://localhost:3000" in response.headers["Content-Security-Policy"]


def test_repeated_state_is_invalid_request(messpunkt_client):
    response = _authorize(messpunkt_client, state=[STATE, "other"])
    _assert_error_redirect(response, "invalid_request", state=None)


def test_erp_client_cannot_get_a_code_for_another_tenants_property(messpunkt_client):
    response = _authorize(
        messpunkt_client,
        client_id=ERP_CLIENT,
        redirect_uri=ERP_REDIRECT_URI,
        property=[QUICKSTART_PROPERTY],
    )
    query = _redirect_query(response, ERP_REDIRECT_URI)
    assert set(query) == {"error", "error_description", "state", "iss"}
    assert query["error"] == "access_denied"
    assert query["state"] == STATE
    assert query["iss"] == ISSUER


def test_erp_client_gets_a_code_for_its_own_tenants_property(messpunkt_client):
    response = _authorize(
        messpunkt_client,
        client_id=ERP_CLIENT,
        redirect_uri=ERP_REDIRECT_URI,
        property=[LEIPZIG_PROPERTY],
    )
    query = _redirect_query(response, ERP_REDIRECT_URI)
    assert set(query) == {"code", "state", "iss"}


def test_service_client_may_not_use_the_authorization_endpoint(messpunkt_client):
    # It has no registered redirect URI, so nothing is redirected.
    response = _authorize(messpunkt_client, client_id="sandbox-service-client")
    _assert_error_page(response)


def test_consent_page_shows_client_scopes_and_the_tenants_properties(messpunkt_client):
    response = _consent(messpunkt_client)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<span id="client-name">Sandbox Demo ERP</span>' in html
    for scope in DEMO_SCOPES:
        assert f'data-scope="{scope}"' in html
    checkboxes = re.findall(r'<input type="checkbox" name="property" value="([^"]+)">', html)
    assert checkboxes == [QUICKSTART_PROPERTY, HAMBURG_PROPERTY]
    assert LEIPZIG_PROPERTY not in html
    assert f'name="code_challenge" value="{CHALLENGE}"' in html
    assert f'name="state" value="{STATE}"' in html


def test_consent_page_lists_only_the_requested_scopes(messpunkt_client):
    html = _consent(messpunkt_client, scope="read:units").get_data(as_text=True)
    assert re.findall(r'data-scope="([^"]+)"', html) == ["read:units"]


def test_consent_page_forbids_framing_and_caching(messpunkt_client):
    response = _consent(messpunkt_client)
    assert response.status_code == 200
    csp = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_consent_page_for_erp_client_offers_only_its_tenants_property(messpunkt_client):
    response = _consent(messpunkt_client, client_id=ERP_CLIENT, redirect_uri=ERP_REDIRECT_URI)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<span id="client-name">Beispiel ERP</span>' in html
    checkboxes = re.findall(r'<input type="checkbox" name="property" value="([^"]+)">', html)
    assert checkboxes == [LEIPZIG_PROPERTY]


def test_consent_page_requires_response_type(messpunkt_client):
    response = _consent(messpunkt_client, response_type=None)
    _assert_error_redirect(response, "invalid_request")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
    ids=["method-plain", "unknown-scope", "response-type-token"],
)
def test_consent_page_redirects_invalid_requests(messpunkt_client, overrides, error):
    _assert_error_redirect(_consent(messpunkt_client, **overrides), error)


def test_error_page_carries_the_html_security_headers(messpunkt_client):
    response = _authorize(messpunkt_client, client_id="no-such-client")
    _assert_error_page(response)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
