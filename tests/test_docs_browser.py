"""/docs signs in by itself: Swagger UI runs the code flow with PKCE as sandbox-docs-client."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlencode

import pytest
from browser import chromium

from messpunkt.testing import QUICKSTART_PROPERTY

DOCS_CLIENT = "sandbox-docs-client"
TENANT = "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a"  # the quickstart's tenant
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 Appendix B, with VERIFIER
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from chromium(tmp_path_factory)


def _consent_query(redirect_uri: str) -> str:
    return urlencode({
        "response_type": "code", "client_id": DOCS_CLIENT, "redirect_uri": redirect_uri,
        "scope": "read:units read:devices read:readings", "state": "s",
        "code_challenge": CHALLENGE, "code_challenge_method": "S256",
    })  # fmt: skip


@pytest.mark.parametrize(
    ("issuer", "foreign"),
    [
        ("http://localhost:8000", "http://localhost:9000"),
        ("https://sandbox.example:8443", "http://localhost:8000"),
    ],
)
def test_the_docs_client_is_registered_for_the_redirect_page_on_the_issuers_origin(issuer, foreign):
    from messpunkt import create_app

    client = create_app({"MESSPUNKT_ISSUER": issuer}).test_client()

    page = client.get("/oauth/authorize?" + _consent_query(issuer + "/docs/oauth2-redirect.html"))
    assert page.status_code == 200
    assert "Sandbox API docs (Swagger UI)" in page.get_data(as_text=True)
    refused = client.get(
        "/oauth/authorize?" + _consent_query(foreign + "/docs/oauth2-redirect.html")
    )
    assert refused.status_code == 400
    assert "redirect_uri is not registered for this client" in refused.get_data(as_text=True)


def test_the_docs_client_is_public_and_redeems_its_code_with_pkce_alone(messpunkt_client):
    redirect_uri = "http://localhost:8000/docs/oauth2-redirect.html"
    approved = messpunkt_client.post("/oauth/authorize", data={
        "client_id": DOCS_CLIENT, "redirect_uri": redirect_uri, "code_challenge": CHALLENGE,
        "code_challenge_method": "S256", "property": QUICKSTART_PROPERTY, "decision": "approve",
    })  # fmt: skip
    assert approved.status_code == 302
    code = re.search(r"code=([A-F0-9]+)", approved.headers["Location"]).group(1)

    token = messpunkt_client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": DOCS_CLIENT,
        "redirect_uri": redirect_uri, "code_verifier": VERIFIER,
    })  # fmt: skip

    assert token.status_code == 200
    assert token.json["scope"] == "read:units read:devices read:readings"
    refreshed = messpunkt_client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": token.json["refresh_token"],
        "client_id": DOCS_CLIENT,
    })  # fmt: skip
    assert refreshed.status_code == 200


def test_the_redirect_page_may_run_its_own_inline_script_and_nothing_else(messpunkt_client):
    response = messpunkt_client.get("/docs/oauth2-redirect.html?code=C&state=s")

    assert (response.status_code, response.mimetype) == (200, "text/html")
    assert response.headers["Cache-Control"] == "no-store"
    scripts = re.findall(r"<script>(.*?)</script>", response.get_data(as_text=True), re.DOTALL)
    assert len(scripts) == 1 and "swaggerUIRedirectOauth2" in scripts[0]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = dict(
        (part.split()[0], part.split()[1:])
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert csp["script-src"] == [f"'sha256-{digest}'"]
    assert csp["default-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]


def test_the_docs_page_tells_swagger_ui_its_client_scopes_and_redirect_page(messpunkt_client):
    html = messpunkt_client.get("/docs").get_data(as_text=True)
    assert f'data-client-id="{DOCS_CLIENT}"' in html
    assert 'data-scopes="read:units read:devices read:readings"' in html
    assert 'data-oauth2-redirect-path="/docs/oauth2-redirect.html"' in html


def test_a_partner_sandboxs_docs_page_sends_swagger_ui_back_to_its_own_redirect_page():
    """The page's redirect path, read against the page's URL as docs.js reads it, is the
    one redirect URI the partner's docs client has: the consent page, not a 400."""
    from urllib.parse import urljoin

    from conftest import OPERATOR_KEY, create_sandbox

    from messpunkt import create_app

    client = create_app({"MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY}).test_client()
    created = create_sandbox(client)
    partner = f"/s/{created['id']}"
    html = client.get(f"{partner}/docs").get_data(as_text=True)
    (path,) = re.findall(r'data-oauth2-redirect-path="([^"]+)"', html)
    assert path == f"{partner}/docs/oauth2-redirect.html"
    redirect_uri = urljoin(f"{created['issuer']}/docs", path)  # the page's own URL
    consent = client.get(f"{partner}/oauth/authorize?{_consent_query(redirect_uri)}")
    assert (consent.status_code, consent.mimetype) == (200, "text/html")
    assert 'id="approve"' in consent.get_data(as_text=True)


@pytest.mark.live
def test_swagger_ui_signs_in_through_the_consent_page_and_calls_whoami(browser, messpunkt_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 10, poll_frequency=0.05)
    browser.get(messpunkt_server.url + "/docs")
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "button.authorize"))
    docs = browser.current_window_handle

    browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
    flows = wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, ".auth-container"))
    code_flow = next(flow for flow in flows if "authorizationCode with PKCE" in flow.text)
    assert code_flow.find_element(By.ID, "client_id").get_property("value") == DOCS_CLIENT
    ticked = code_flow.find_elements(By.CSS_SELECTOR, ".scopes input[type=checkbox]")
    assert [(box.get_attribute("data-value"), box.is_selected()) for box in ticked] == [
        ("read:units", True), ("read:devices", True), ("read:readings", True),
    ]  # fmt: skip
    code_flow.find_element(By.CSS_SELECTOR, "button.authorize").click()

    # Swagger UI opens the consent page in a window of its own.
    wait.until(lambda driver: len(driver.window_handles) == 2, "no consent window opened")
    browser.switch_to.window(next(h for h in browser.window_handles if h != docs))
    wait.until(lambda driver: driver.find_elements(By.ID, "approve"))
    assert browser.current_url.startswith(f"{messpunkt_server.url}/oauth/authorize?")
    browser.find_element(By.CSS_SELECTOR, f'input[value="{QUICKSTART_PROPERTY}"]').click()
    browser.find_element(By.ID, "approve").click()

    # The redirect page hands the code to Swagger UI, which redeems it, and closes itself.
    wait.until(lambda driver: driver.window_handles == [docs], "the redirect page stayed open")
    browser.switch_to.window(docs)
    wait.until(lambda driver: "Logout" in code_flow.text, "Swagger UI got no token")
    assert "Authorized" in code_flow.text
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .close-modal").click()

    whoami = browser.find_element(
        By.XPATH, '//*[contains(@class, "opblock ")][.//*[@data-path="/v1/whoami"]]'
    )
    whoami.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda driver: whoami.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    whoami.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    wait.until(lambda driver: whoami.find_elements(By.CSS_SELECTOR, ".execute"))
    whoami.find_element(By.CSS_SELECTOR, ".execute").click()
    answer = ".live-responses-table .response"
    wait.until(lambda driver: whoami.find_elements(By.CSS_SELECTOR, answer))
    status = whoami.find_element(By.CSS_SELECTOR, f"{answer} .response-col_status").text
    body = whoami.find_element(By.CSS_SELECTOR, f"{answer} .response-col_description pre").text
    assert status == "200"
    assert f'"tenant_id": "{TENANT}"' in body
    assert f'"client_id": "{DOCS_CLIENT}"' in body
