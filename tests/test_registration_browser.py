"""A partner registers its own ERP and runs the code flow with it in headless Chromium."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from browser import chromium, speak, viewport
from conftest import OPERATOR, OPERATOR_KEY
from registration_flow import ERP_CALLBACK, LINDENHOF, SCOPES, pkce

from messpunkt.testing import FROZEN_AT


@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    yield from chromium(tmp_path_factory)


@pytest.fixture
def messpunkt_config() -> dict[str, str]:
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY}


def _back_at_the_erp(driver) -> str:
    """Approve on the consent page; return the URL the browser was sent to.

    Nothing answers at erp.example.com (there is no network here), so Chromium shows its
    error page for the navigation but keeps its URL, which holds the code. A CSP refusal
    ends the wait at once.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(
        "document.addEventListener('securitypolicyviolation', e => {"
        " window.refused = e.violatedDirective + ' refused ' + e.blockedURI; });"
    )
    driver.find_element(By.CSS_SELECTOR, f'input[name="property"][value="{LINDENHOF}"]').click()
    driver.find_element(By.ID, "approve").click()

    def left_for_the_erp(driver) -> bool:
        return driver.current_url.startswith(ERP_CALLBACK) or bool(
            driver.execute_script("return window.refused")
        )

    WebDriverWait(driver, 10, poll_frequency=0.05).until(left_for_the_erp)
    if not driver.current_url.startswith(ERP_CALLBACK):
        pytest.fail(
            f"stayed at {driver.current_url}: {driver.execute_script('return window.refused')}"
        )
    return driver.current_url


@pytest.mark.live
def test_a_partner_registers_a_confidential_client_and_runs_the_code_flow_in_chromium(
    chrome, messpunkt_server
):
    speak(chrome, "en")
    viewport(chrome, None)
    partner = requests.post(
        f"{messpunkt_server.url}/sandboxes", headers=OPERATOR, timeout=10
    ).json()
    issuer = partner["issuer"]
    metadata = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    registration = requests.post(
        metadata["registration_endpoint"],
        json={"client_name": "Hausverwaltung ERP", "redirect_uris": [ERP_CALLBACK],
              "grant_types": ["authorization_code", "refresh_token"], "scope": SCOPES},
        headers={"Authorization": f"Bearer {partner['admin_key']}"},
        timeout=10,
    )  # fmt: skip
    assert registration.status_code == 201
    client = registration.json()
    assert client["token_endpoint_auth_method"] == "client_secret_basic"

    verifier, challenge = pkce()
    query = {
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": ERP_CALLBACK,
        "scope": SCOPES, "state": "erp-state", "code_challenge": challenge,
        "code_challenge_method": "S256",
    }  # fmt: skip
    chrome.get(f"{metadata['authorization_endpoint']}?{urlencode(query)}")
    assert chrome.title == "Allow Hausverwaltung ERP access? · messpunkt sandbox"
    callback = _back_at_the_erp(chrome)

    answer = dict(parse_qsl(urlsplit(callback).query))
    assert (answer["state"], answer["iss"]) == ("erp-state", issuer)
    token = requests.post(
        metadata["token_endpoint"],
        data={"grant_type": "authorization_code", "code": answer["code"],
              "redirect_uri": ERP_CALLBACK, "code_verifier": verifier},
        auth=(client["client_id"], client["client_secret"]),  # client_secret_basic
        timeout=10,
    )  # fmt: skip
    assert token.status_code == 200, token.text
    whoami = requests.get(
        f"{issuer}/v1/whoami",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=10,
    )
    assert whoami.status_code == 200
    me = whoami.json()
    assert (me["client_id"], me["property_scope"]) == (client["client_id"], [LINDENHOF])
    assert me["granted_scopes"] == SCOPES.split()
