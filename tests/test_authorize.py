"""The authorization endpoint over HTTP: consent page, approve, deny and every error."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

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
ERIKA = "ba67f98d-4fd0-50b9-a60f-508383b44535"  # first demo user of the first tenant
JONAS = "20cb230e-c2c4-52cf-ba87-257a35cfe512"  # the second tenant's demo user
SECOND_TENANT = "8f298b56-46d5-56e7-8909-0ced5f9f0419"
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


def _consent(client, headers=None, **overrides: Value):
    query = _params(**{"response_type": "code", "decision": None, "property": None, **overrides})
    return client.get(
        "/oauth/authorize?" + urlencode(list(query.items(multi=True))), headers=headers
    )


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


def test_approve_stores_only_a_digest_of_the_code(messpunkt_app, messpunkt_client, monkeypatch):
    from messpunkt.oauth.store import digest

    store = messpunkt_app.extensions["messpunkt"].store
    added = []
    add_code = store.add_code
    monkeypatch.setattr(
        store, "add_code", lambda code, at: (added.append(code), add_code(code, at))
    )

    code = _redirect_query(_authorize(messpunkt_client))["code"]

    [record] = added
    assert record.code_hash == digest(code) != code
    assert code not in repr(record)
    assert record.grant.client_id == DEMO_CLIENT
    assert record.grant.property_ids == (QUICKSTART_PROPERTY,)
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


def test_with_no_tenant_to_sign_in_the_consent_page_redirects_access_denied(
    messpunkt_app, messpunkt_client
):
    # A data set may hold a client but no tenant: nobody can sign in to grant it anything.
    admin = {"X-Sandbox-Admin-Key": messpunkt_app.extensions["messpunkt"].admin_key}
    exported = messpunkt_client.get("/sandbox/data/export", headers=admin).get_json()
    bare = {name: [] for name, value in exported.items() if isinstance(value, list)}
    bare["clients"] = [c for c in exported["clients"] if c["client_id"] == DEMO_CLIENT]
    assert messpunkt_client.post("/sandbox/data", json=bare, headers=admin).status_code == 200

    response = _consent(messpunkt_client)

    _assert_error_redirect(response, "access_denied")
    assert _redirect_query(response)["error_description"] == (
        "no tenant of this sandbox's data set can sign in for this client"
    )


CROSS_ORIGIN = {
    "another site, by fetch metadata": {"Sec-Fetch-Site": "cross-site"},
    "a sibling site, by fetch metadata": {"Sec-Fetch-Site": "same-site"},
    "another origin, by Origin alone": {"Origin": "https://evil.example"},
    "another port, by Origin alone": {"Origin": "http://localhost:8001"},
    "an opaque origin": {"Origin": "null"},
}
SAME_ORIGIN = {
    "no browser headers (curl, the quickstart)": {},
    "the consent page itself": {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
    "typed by the user": {"Sec-Fetch-Site": "none"},
    "the same origin, by Origin alone": {"Origin": "http://localhost"},
}


@pytest.mark.parametrize("headers", CROSS_ORIGIN.values(), ids=CROSS_ORIGIN.keys())
def test_a_consent_answered_from_another_site_is_refused_and_issues_no_code(
    messpunkt_app, messpunkt_client, monkeypatch, headers
):
    # RFC 6749 §10.12: the authorization endpoint must not let a page the user never saw
    # obtain a code. A browser says where a request comes from; curl says nothing.
    issued = []
    store = messpunkt_app.extensions["messpunkt"].store
    add_code = store.add_code
    monkeypatch.setattr(
        store, "add_code", lambda code, at: (issued.append(code), add_code(code, at))
    )

    response = messpunkt_client.post("/oauth/authorize", data=_params(), headers=headers)

    assert response.status_code == 403
    assert "Location" not in response.headers
    assert "answered from another site" in response.get_data(as_text=True)
    assert issued == []


@pytest.mark.parametrize("headers", SAME_ORIGIN.values(), ids=SAME_ORIGIN.keys())
def test_a_consent_answered_from_its_own_page_or_without_a_browser_gets_its_code(
    messpunkt_client, headers
):
    response = messpunkt_client.post("/oauth/authorize", data=_params(), headers=headers)

    assert re.fullmatch("[A-F0-9]{40}", _redirect_query(response)["code"])


def test_error_page_carries_the_html_security_headers(messpunkt_client):
    response = _authorize(messpunkt_client, client_id="no-such-client")
    _assert_error_page(response)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# The consent page as a user meets it -----------------------------------------------------------


class ConsentPage(HTMLParser):
    """What a browser shows and submits: language, texts, hidden fields, links and icons."""

    TEXTS = ("user-name", "notice", "return-host")

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.texts: dict[str, str] = {}  # by element id
        self.scopes: list[str] = []
        self.fields: list[tuple[str, str]] = []
        self.switches: dict[str, str] = {}  # link text by href
        self.icons: list[tuple[str, str]] = []  # (type, href)
        self._into: tuple[dict | list, str | int] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields.append((a["name"], a["value"]))
        elif tag == "link" and a.get("rel") == "icon":
            self.icons.append((a["type"], a["href"]))
        elif tag == "a":
            self._collect(self.switches, a["href"])
        elif tag == "li" and "data-scope" in a:
            self.scopes.append("")
            self._collect(self.scopes, -1)
        elif a.get("id") in self.TEXTS:
            self._collect(self.texts, a["id"])

    def _collect(self, into: dict | list, key: str | int) -> None:
        into[key] = ""  # type: ignore[index]
        self._into = (into, key)

    def handle_data(self, data: str) -> None:
        if self._into:
            into, key = self._into
            into[key] += data  # type: ignore[index]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("a", "strong", "p", "li"):
            self._into = None

    @property
    def user(self) -> str:
        return self.texts["user-name"]

    @property
    def notice(self) -> str | None:
        return self.texts.get("notice")

    @property
    def return_host(self) -> str:
        return self.texts["return-host"]

    def link_to(self, name: str) -> str:
        return next(href for href, text in self.switches.items() if text.startswith(name))


def _page(response, status: int = 200) -> ConsentPage:
    assert (response.status_code, response.mimetype) == (status, "text/html")
    return ConsentPage(response.get_data(as_text=True))


def _submit(client, page: ConsentPage, *extra: tuple[str, str], headers=None):
    data = MultiDict([*page.fields, *extra])
    return client.post("/oauth/authorize", data=data, headers=headers)


NO_PROPERTY_NOTICE = {
    "de": "Wählen Sie mindestens eine Liegenschaft aus, um den Zugriff zu erlauben, "
    "oder lehnen Sie ihn ab.",
    "en": "Select at least one property to approve, or deny the request.",
}


@pytest.mark.parametrize(("accept_language", "lang"), [(None, "de"), ("en", "en")])
def test_approving_nothing_on_the_consent_form_shows_the_page_again_with_a_hint(
    messpunkt_client, accept_language, lang
):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    page = _page(_consent(messpunkt_client, headers=headers))
    assert page.notice is None

    again = _submit(messpunkt_client, page, ("decision", "approve"), headers=headers)

    assert "Location" not in again.headers
    shown = _page(again, 400)
    assert shown.notice == NO_PROPERTY_NOTICE[lang]
    assert shown.lang == lang
    assert shown.fields == page.fields  # the same request, ready to be answered again
    approved = _submit(
        messpunkt_client, shown, ("property", QUICKSTART_PROPERTY), ("decision", "approve")
    )
    assert set(_redirect_query(approved)) == {"code", "state", "iss"}


def test_the_consent_form_says_it_is_the_consent_form(messpunkt_client):
    fields = _page(_consent(messpunkt_client)).fields
    assert ("consent_form", "1") in fields


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({}, id="headless-post"),
        pytest.param({"consent_form": "0"}, id="another-marker"),
        pytest.param({"consent_form": ["1", "1"]}, id="repeated-marker"),
    ],
)
def test_approving_nothing_without_the_consent_forms_marker_is_invalid_request(
    messpunkt_client, fields
):
    # README quickstart: the headless POST that grants no property is the client's error.
    response = _authorize(messpunkt_client, property=None, **fields)
    _assert_error_redirect(response, "invalid_request")


def test_denying_on_the_consent_form_with_nothing_ticked_redirects_access_denied(
    messpunkt_client,
):
    page = _page(_consent(messpunkt_client))
    _assert_error_redirect(_submit(messpunkt_client, page, ("decision", "deny")), "access_denied")


def test_the_consent_form_with_an_unregistered_redirect_uri_is_still_refused(messpunkt_client):
    response = _authorize(
        messpunkt_client, property=None, consent_form="1", redirect_uri="https://evil.example/cb"
    )
    _assert_error_page(response)


def test_sign_in_as_links_switch_the_user_back_and_forth(messpunkt_client):
    url = "/oauth/authorize?" + urlencode(
        list(_params(response_type="code", decision=None, property=None).items(multi=True))
    )
    first = _page(messpunkt_client.get(url))
    assert first.user == "Erika Mustermann"

    url = urljoin(url, first.link_to("Jonas Beispiel"))
    second = _page(messpunkt_client.get(url))
    assert second.user == "Jonas Beispiel"
    assert ("user", JONAS) in second.fields and ("tenant", SECOND_TENANT) in second.fields

    url = urljoin(url, second.link_to("Erika Mustermann"))
    third = _page(messpunkt_client.get(url))
    assert third.user == "Erika Mustermann"
    assert ("user", ERIKA) in third.fields
    query = parse_qsl(urlsplit(url).query)
    assert [name for name, _ in query].count("user") == 1
    assert ("state", STATE) in query and ("code_challenge", CHALLENGE) in query


@pytest.mark.parametrize(
    ("client_id", "redirect_uri", "host"),
    [
        (DEMO_CLIENT, DEMO_REDIRECT_URI, "localhost:3000"),
        (ERP_CLIENT, ERP_REDIRECT_URI, "localhost:4000"),
    ],
)
def test_the_consent_page_names_the_host_the_user_goes_back_to(
    messpunkt_client, client_id, redirect_uri, host
):
    page = _page(_consent(messpunkt_client, client_id=client_id, redirect_uri=redirect_uri))
    assert page.return_host == host


SCOPE_WORDS = {
    "de": [
        "Ihre Liegenschaften und deren Nutzeinheiten (Wohnungen, Gewerbe) mit ihrer Fläche "
        "sehen read:units",
        "Die in diesen Nutzeinheiten eingebauten Messstellen und Zähler sehen read:devices",
        "Zählerstände und Verbräuche dieser Nutzeinheiten lesen read:readings",
    ],
    "en": [
        "See your properties and their usage units (flats, shops), with their size read:units",
        "See the measuring points and meters installed in those units read:devices",
        "Read meter readings and consumption of those units read:readings",
    ],
}


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [
        pytest.param(None, "de", id="no-header"),
        pytest.param("", "de", id="empty"),
        pytest.param("fr-FR, fr;q=0.9", "de", id="neither"),
        pytest.param("de", "de", id="de"),
        pytest.param("en", "en", id="en"),
        pytest.param("en-US,en;q=0.9", "en", id="en-us"),
        pytest.param("en;q=0.9, de;q=0.8", "en", id="en-preferred-by-q"),
        pytest.param("de;q=0.5, en;q=0.6", "en", id="en-preferred-by-q-in-second-place"),
        pytest.param("en;q=0.5, de;q=0.6", "de", id="de-preferred-by-q"),
        pytest.param("en-GB, de;q=0.9", "en", id="regional-en-preferred"),
        pytest.param("en, de", "de", id="tie-goes-to-german"),
        pytest.param("en;q=0, fr", "de", id="en-refused"),
    ],
)
def test_the_consent_page_speaks_german_unless_english_is_preferred(
    messpunkt_client, accept_language, lang
):
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    response = _consent(messpunkt_client, headers=headers)

    page = _page(response)
    assert page.lang == lang
    assert response.headers["Content-Language"] == lang
    assert response.headers["Vary"] == "Accept-Language"
    assert [" ".join(words.split()) for words in page.scopes] == SCOPE_WORDS[lang]


def test_the_consent_page_links_the_favicon_which_is_served(messpunkt_client):
    response = _consent(messpunkt_client)
    page = _page(response)
    assert page.icons == [("image/svg+xml", "/static/favicon.svg")]
    assert "img-src 'self'" in response.headers["Content-Security-Policy"]
    for url in ("/static/favicon.svg", "/favicon.ico"):
        icon = messpunkt_client.get(url)
        assert (icon.status_code, icon.mimetype) == (200, "image/svg+xml"), url
        assert icon.get_data().startswith(b"<svg ")
        icon.close()
