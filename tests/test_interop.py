"""A real third-party client, Authlib's requests OAuth2Session, against a live sandbox.

Every test runs twice: against the default sandbox, and against a partner's
sandbox whose issuer has a path (`<server>/s/<id>`), discovered as RFC 8414
§3.1 says (the well-known segment first, the issuer's path after it).
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2 import rfc8414, rfc9207
from conftest import OPERATOR, OPERATOR_KEY, TENANT

from messpunkt.testing import (
    DEMO_CLIENT,
    DEMO_REDIRECT_URI,
    DEMO_SCOPES,
    FROZEN_AT,
    QUICKSTART_PROPERTY,
)

HAMBURG_PROPERTY = "21141801-9f23-5bf2-865c-51d717f65653"
WEB_CLIENT, WEB_SECRET = "sandbox-web-client", "sandbox-web-client-secret-change-me"
SERVICE_CLIENT, SERVICE_SECRET = "sandbox-service-client", "sandbox-service-client-secret-change-me"
SCOPE = " ".join(DEMO_SCOPES)
README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.live


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY}


@pytest.fixture(params=["default", "partner", "hosted-partner"])
def issuer(request, messpunkt_server) -> str:
    """The issuer under test: the server's own, a new partner sandbox's, or a partner
    sandbox's on Redis behind four gunicorn workers."""
    if request.param == "default":
        return messpunkt_server.url
    base = messpunkt_server.url
    if request.param == "hosted-partner":
        base = request.getfixturevalue("hosted_server").url
    created = requests.post(base + "/sandboxes", headers=OPERATOR, timeout=10)
    assert created.status_code == 201, created.text
    return created.json()["issuer"]


@pytest.fixture
def hosted_server(store_url, signing_key, tmp_path):
    from test_hosting import Gunicorn, hosted

    config = hosted(store_url, signing_key, MESSPUNKT_OPERATOR_KEY=OPERATOR_KEY,
                    MESSPUNKT_FROZEN_AT=FROZEN_AT)  # fmt: skip
    server = Gunicorn(config, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def metadata(issuer, session) -> dict:
    """Discover the endpoints (RFC 8414), validated by Authlib's own metadata models."""
    url = rfc8414.get_well_known_url(issuer, external=True)
    answer = session(DEMO_CLIENT).get(url, withhold_token=True, timeout=10)  # no token yet
    document = rfc8414.AuthorizationServerMetadata(answer.json())
    document.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
    assert document["issuer"] == issuer
    assert document["authorization_response_iss_parameter_supported"] is True
    return document


@pytest.fixture
def session():
    """Make Authlib sessions, and close them after the test."""
    made: list[OAuth2Session] = []

    def make(client_id: str, secret: str | None = None, **options) -> OAuth2Session:
        made.append(OAuth2Session(client_id, secret, **options))
        return made[-1]

    yield make
    for oauth in made:
        oauth.close()


class ConsentForm(HTMLParser):
    """What a browser would submit from the consent page: its form's action and fields."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action, self.fields, self.properties = "", [], []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.action = attributes["action"] or ""
        elif tag == "input" and attributes.get("type") == "hidden":
            self.fields.append((attributes["name"], attributes["value"]))
        elif tag == "input" and attributes.get("name") == "property":
            self.properties.append(attributes["value"])


def _consent(authorization_url: str, decision: str = "approve") -> str:
    """Tick the quickstart property and press the button, headlessly; return the redirect."""
    page = requests.get(authorization_url, timeout=10)
    assert page.status_code == 200, page.text
    form = ConsentForm(page.text)
    assert form.properties == [QUICKSTART_PROPERTY, HAMBURG_PROPERTY]
    fields = [*form.fields, ("property", QUICKSTART_PROPERTY), ("decision", decision)]
    answer = requests.post(
        urljoin(authorization_url, form.action), data=fields, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302
    return answer.headers["Location"]


def _authorize(oauth: OAuth2Session, metadata, verifier: str) -> tuple[str, str]:
    url, state = oauth.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    query = parse_qs(urlsplit(url).query)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert (query["code_challenge"], query["code_challenge_method"]) == (
        [challenge.decode()], ["S256"],
    )  # fmt: skip
    location = _consent(url)
    # Authlib does not check RFC 9207's iss (parse_authorization_code_response reads only
    # code and state), so the client does: the response must come from the discovered issuer.
    assert parse_qs(urlsplit(location).query)["iss"] == [metadata["issuer"]]
    return location, state


def _whoami(oauth: OAuth2Session, metadata) -> requests.Response:
    return oauth.get(metadata["issuer"] + "/v1/whoami", timeout=10)


@pytest.mark.parametrize(
    ("client_id", "secret", "auth_method"),
    [(DEMO_CLIENT, None, "none"), (WEB_CLIENT, WEB_SECRET, "client_secret_basic")],
    ids=["public-client-with-pkce", "confidential-client-secret-basic"],
)
def test_authlib_runs_the_code_flow_with_pkce_refreshes_and_revokes(
    metadata, session, client_id, secret, auth_method
):
    oauth = session(
        client_id, secret, token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method, scope=SCOPE,
        redirect_uri=DEMO_REDIRECT_URI, code_challenge_method="S256",
    )  # fmt: skip
    verifier = generate_token(48)  # as Authlib's docs do it: 48 characters of [A-Za-z0-9]
    location, state = _authorize(oauth, metadata, verifier)

    first = oauth.fetch_token(
        metadata["token_endpoint"], authorization_response=location, state=state,
        code_verifier=verifier,
    )  # fmt: skip

    assert (first["token_type"], first["scope"], first["expires_in"]) == ("Bearer", SCOPE, 3600)
    whoami = _whoami(oauth, metadata)
    assert whoami.status_code == 200
    assert whoami.json() == {
        "tenant_id": TENANT, "tenant_name": "Musterhausverwaltung GmbH", "client_id": client_id,
        "granted_scopes": list(DEMO_SCOPES), "property_scope": [QUICKSTART_PROPERTY],
    }  # fmt: skip
    second = oauth.refresh_token(metadata["token_endpoint"])
    assert second["refresh_token"] != first["refresh_token"]
    assert oauth.token["access_token"] == second["access_token"] != first["access_token"]
    assert _whoami(oauth, metadata).status_code == 200

    revoked = oauth.revoke_token(
        metadata["revocation_endpoint"], token=second["refresh_token"],
        token_type_hint="refresh_token",
    )  # fmt: skip

    assert (revoked.status_code, revoked.json()) == (200, {})
    assert _whoami(oauth, metadata).status_code == 401
    with pytest.raises(OAuthError) as refused:
        oauth.refresh_token(metadata["token_endpoint"])
    assert refused.value.error == "invalid_grant"


def test_authlib_introspects_the_confidential_clients_token(metadata, session):
    oauth = session(
        WEB_CLIENT, WEB_SECRET, scope="read:units", redirect_uri=DEMO_REDIRECT_URI,
        code_challenge_method="S256",
    )  # fmt: skip
    verifier = generate_token(48)
    location, state = _authorize(oauth, metadata, verifier)
    token = oauth.fetch_token(
        metadata["token_endpoint"], authorization_response=location, state=state,
        code_verifier=verifier,
    )  # fmt: skip

    answer = oauth.introspect_token(metadata["introspection_endpoint"], token=token["access_token"])

    assert answer.status_code == 200
    description = answer.json()
    assert (description["active"], description["client_id"]) == (True, WEB_CLIENT)
    assert (description["scope"], description["iss"]) == ("read:units", metadata["issuer"])


def test_authlib_refuses_a_replayed_code_with_invalid_grant(metadata, session):
    pkce = {"redirect_uri": DEMO_REDIRECT_URI, "code_challenge_method": "S256"}
    oauth = session(DEMO_CLIENT, scope=SCOPE, **pkce)
    verifier = generate_token(48)
    location, state = _authorize(oauth, metadata, verifier)
    exchange = {"authorization_response": location, "state": state, "code_verifier": verifier}
    oauth.fetch_token(metadata["token_endpoint"], **exchange)

    with pytest.raises(OAuthError) as refused:
        oauth.fetch_token(metadata["token_endpoint"], **exchange)

    assert refused.value.error == "invalid_grant"
    assert _whoami(oauth, metadata).status_code == 401  # the replay revoked the first tokens


def test_authlib_gets_a_service_token_with_client_credentials(metadata, session):
    oauth = session(
        SERVICE_CLIENT, SERVICE_SECRET, token_endpoint_auth_method="client_secret_basic"
    )

    token = oauth.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")

    assert (token["token_type"], token["expires_in"], token["scope"]) == ("Bearer", 1800, SCOPE)
    assert "refresh_token" not in token
    whoami = _whoami(oauth, metadata)
    assert whoami.status_code == 200
    assert whoami.json()["client_id"] == SERVICE_CLIENT
    assert whoami.json()["property_scope"] == sorted([QUICKSTART_PROPERTY, HAMBURG_PROPERTY])


def _readme_python(name: str) -> str:
    """The Python block between the README's `<!-- name:begin/end -->` markers."""
    text = README.read_text(encoding="utf-8")
    block = text.split(f"<!-- {name}:begin -->")[1].split(f"<!-- {name}:end -->")[0]
    return block.split("```python\n")[1].split("```")[0]


def test_the_readmes_authlib_snippet_runs_as_written(messpunkt_server):
    source = _readme_python("authlib").replace("http://localhost:8000", messpunkt_server.url)
    shown: list[tuple] = []
    # The snippet's reader: sees what it prints, and pastes the URL the consent leads to.
    answers = {
        "print": lambda *args: shown.append(args),
        "input": lambda prompt: _consent(shown[-1][-1]),
    }

    exec(compile(source, "README.md (authlib)", "exec"), answers)

    assert shown[-1] == (
        {
            "tenant_id": TENANT, "tenant_name": "Musterhausverwaltung GmbH",
            "client_id": DEMO_CLIENT, "granted_scopes": list(DEMO_SCOPES),
            "property_scope": [QUICKSTART_PROPERTY],
        },
    )  # fmt: skip
