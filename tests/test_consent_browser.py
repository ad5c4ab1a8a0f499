"""The consent page in a real headless browser: Debian's chromium and chromedriver."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from browser import chromium, sent_headers, speak, viewport

from messpunkt.testing import (
    DEMO_CLIENT,
    DEMO_REDIRECT_URI,
    DEMO_SCOPES,
    QUICKSTART_PROPERTY,
)

HAMBURG_PROPERTY = "21141801-9f23-5bf2-865c-51d717f65653"
SCOPE_WORDS = {
    "read:units": "See your properties and their usage units (flats, shops), with their size",
    "read:devices": "See the measuring points and meters installed in those units",
    "read:readings": "Read meter readings and consumption of those units",
}
# Chromium applies CSP form-action to every redirect that follows a form submission.


@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    yield from chromium(tmp_path_factory)


@pytest.fixture
def browser(chrome):
    """The module's Chromium, reading English in a desktop window unless a test says otherwise."""
    speak(chrome, "en")
    viewport(chrome, None)
    return chrome


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _authorize_url(server, challenge: str, state: str, **overrides: str) -> str:
    query = {
        "response_type": "code", "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI,
        "scope": " ".join(DEMO_SCOPES), "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256", **overrides,
    }  # fmt: skip
    return f"{server.url}/oauth/authorize?{urlencode(query)}"


def _click_and_follow(driver, button_id: str) -> str:
    """Click a consent button; return where the browser went back to the client.

    Nothing listens on localhost:3000, so Chromium shows its error page there, but keeps
    the URL. A CSP violation ends the wait at once instead of after the timeout.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(
        "document.addEventListener('securitypolicyviolation', e => {"
        " window.refused = e.violatedDirective + ' refused ' + e.blockedURI; });"
    )
    driver.find_element(By.ID, button_id).click()

    def back_at_the_client_or_refused(driver) -> bool:
        if driver.current_url.startswith(DEMO_REDIRECT_URI):
            return True
        return bool(driver.execute_script("return window.refused"))

    WebDriverWait(driver, 5, poll_frequency=0.05).until(back_at_the_client_or_refused)
    url = driver.current_url
    if not url.startswith(DEMO_REDIRECT_URI):
        pytest.fail(f"stayed at {url}: {driver.execute_script('return window.refused')}")
    return url


def _query(url: str) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    assert len(dict(pairs)) == len(pairs), f"repeated parameter in {url}"
    return dict(pairs)


@pytest.mark.live
def test_the_consent_page_names_the_client_the_scopes_in_words_and_the_tenants_properties(
    browser, messpunkt_server, tmp_path
):
    from selenium.webdriver.common.by import By

    browser.get(_authorize_url(messpunkt_server, _pkce()[1], "st"))

    assert browser.title == "Allow Sandbox Demo ERP access? · messpunkt sandbox"
    assert browser.find_element(By.ID, "client-name").text == "Sandbox Demo ERP"
    assert browser.find_element(By.ID, "tenant-name").text == "Musterhausverwaltung GmbH"
    scopes = browser.find_elements(By.CSS_SELECTOR, "#scopes li")
    assert [item.text for item in scopes] == [f"{SCOPE_WORDS[s]} {s}" for s in DEMO_SCOPES]
    boxes = browser.find_elements(By.CSS_SELECTOR, 'input[type="checkbox"][name="property"]')
    assert [box.get_attribute("value") for box in boxes] == [QUICKSTART_PROPERTY, HAMBURG_PROPERTY]
    assert [box.is_selected() for box in boxes] == [False, False]
    labels = [label.text for label in browser.find_elements(By.CSS_SELECTOR, "#properties label")]
    assert labels == [
        "Wohnanlage Lindenhof, Lindenstraße 12, 10969 Berlin",
        "Hafenstraße 3, Hafenstraße 3, 20457 Hamburg",
    ]
    boxes[0].click()
    assert [box.is_selected() for box in boxes] == [True, False]
    screenshot = tmp_path / "consent.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert screenshot.stat().st_size > 5_000


@pytest.mark.live
def test_approving_in_the_browser_returns_a_code_that_the_token_endpoint_exchanges(
    browser, messpunkt_server
):
    from selenium.webdriver.common.by import By

    verifier, challenge = _pkce()
    browser.get(_authorize_url(messpunkt_server, challenge, "browser-state"))
    browser.find_element(By.CSS_SELECTOR, f'input[value="{QUICKSTART_PROPERTY}"]').click()

    query = _query(_click_and_follow(browser, "approve"))

    assert set(query) == {"code", "state", "iss"}
    assert re.fullmatch(r"[A-F0-9]{40}", query["code"])
    assert (query["state"], query["iss"]) == ("browser-state", messpunkt_server.url)
    form = {
        "grant_type": "authorization_code", "code": query["code"], "client_id": DEMO_CLIENT,
        "redirect_uri": DEMO_REDIRECT_URI, "code_verifier": verifier,
    }  # fmt: skip
    token = requests.post(f"{messpunkt_server.url}/oauth/token", data=form, timeout=10)
    assert token.status_code == 200
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    whoami = requests.get(f"{messpunkt_server.url}/v1/whoami", headers=bearer, timeout=10)
    assert (whoami.status_code, whoami.json()["property_scope"]) == (200, [QUICKSTART_PROPERTY])


@pytest.mark.live
def test_the_browsers_consent_post_carries_its_own_origin_which_alone_passes(
    browser, messpunkt_server
):
    """RFC 6749 §10.12's check without fetch metadata rests on Origin (older browsers send
    no Sec-Fetch-Site). Under `Referrer-Policy: no-referrer` the Fetch standard makes that
    Origin `null` on a form POST, even one to the page's own site, so the check would
    refuse every consent such a browser gives; under `same-origin` it is the page's own."""
    from selenium.webdriver.common.by import By

    challenge = _pkce()[1]
    browser.get(_authorize_url(messpunkt_server, challenge, "origin-state"))
    sent_headers(browser, "POST", messpunkt_server.url)  # forget the page's own requests
    browser.find_element(By.CSS_SELECTOR, f'input[value="{QUICKSTART_PROPERTY}"]').click()
    _click_and_follow(browser, "approve")

    (sent,) = sent_headers(browser, "POST", f"{messpunkt_server.url}/oauth/authorize")
    assert sent["Origin"] == messpunkt_server.url
    assert sent["Sec-Fetch-Site"] == "same-origin"
    # What an older browser sends: the same Origin, no fetch metadata. It gets its code.
    form = {
        "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI, "state": "old-browser",
        "scope": " ".join(DEMO_SCOPES), "code_challenge": challenge,
        "code_challenge_method": "S256", "property": QUICKSTART_PROPERTY, "decision": "approve",
    }  # fmt: skip
    posted = requests.post(f"{messpunkt_server.url}/oauth/authorize", data=form,
                           headers={"Origin": sent["Origin"]}, allow_redirects=False,
                           timeout=10)  # fmt: skip
    assert posted.status_code == 302
    assert set(_query(posted.headers["Location"])) == {"code", "state", "iss"}


@pytest.mark.live
def test_denying_in_the_browser_returns_access_denied_with_state_and_iss(browser, messpunkt_server):
    browser.get(_authorize_url(messpunkt_server, _pkce()[1], "deny-state"))

    query = _query(_click_and_follow(browser, "deny"))

    assert set(query) == {"error", "error_description", "state", "iss"}
    assert query["error"] == "access_denied"
    assert (query["state"], query["iss"]) == ("deny-state", messpunkt_server.url)


@pytest.mark.live
def test_an_unknown_client_gets_the_error_page_and_the_browser_stays_there(
    browser, messpunkt_server
):
    from selenium.webdriver.common.by import By

    url = _authorize_url(messpunkt_server, _pkce()[1], "st", client_id="no-such-client")
    browser.get(url)

    assert browser.current_url == url
    assert browser.title == "Request refused · messpunkt sandbox"
    assert browser.find_element(By.ID, "error-description").text == "unknown client_id"
    assert browser.find_elements(By.TAG_NAME, "form") == []
    assert "HTTP 400" in browser.find_element(By.TAG_NAME, "main").text


def test_the_consent_pages_csp_lets_its_form_redirect_to_the_client(messpunkt_client):
    """The browser-free twin of the two browser tests: the CSP allows the client's origin."""
    query = {
        "response_type": "code", "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI,
        "code_challenge": _pkce()[1], "code_challenge_method": "S256",
    }  # fmt: skip
    response = messpunkt_client.get("/oauth/authorize?" + urlencode(query))
    assert response.status_code == 200
    policy = [part.split() for part in response.headers["Content-Security-Policy"].split(";")]
    sources = next((rest for name, *rest in policy if name == "form-action"), ["*"])
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(DEMO_REDIRECT_URI))
    assert {"*", "http:", origin, DEMO_REDIRECT_URI} & set(sources), sources


@pytest.mark.live
@pytest.mark.parametrize("language", ["de", "en"])
def test_the_consent_page_fits_a_390_pixel_wide_phone(browser, messpunkt_server, language):
    speak(browser, language)
    viewport(browser, 390)
    browser.get(_authorize_url(messpunkt_server, _pkce()[1], "st"))

    assert browser.execute_script("return document.documentElement.lang") == language
    width, scroll_width, overflowing = browser.execute_script(
        "const width = window.innerWidth;"
        "const over = [...document.querySelectorAll('body *')]"
        "  .filter(e => e.getBoundingClientRect().right > width)"
        "  .map(e => e.tagName + (e.id ? '#' + e.id : ''));"
        "return [width, document.documentElement.scrollWidth, over];"
    )
    # A phone widens its layout viewport to fit what overflows (then zooms out), so the
    # viewport's own width is the first witness.
    assert width == 390
    assert scroll_width <= width
    assert overflowing == []


@pytest.mark.live
def test_approving_nothing_in_the_browser_asks_for_a_property_then_approves(
    browser, messpunkt_server
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    speak(browser, "de")
    browser.get(_authorize_url(messpunkt_server, _pkce()[1], "again"))
    browser.find_element(By.ID, "approve").click()

    notice = WebDriverWait(browser, 5, poll_frequency=0.05).until(
        shown.visibility_of_element_located((By.ID, "notice"))
    )
    assert notice.text == (
        "Wählen Sie mindestens eine Liegenschaft aus, um den Zugriff zu erlauben, "
        "oder lehnen Sie ihn ab."
    )
    assert browser.current_url == f"{messpunkt_server.url}/oauth/authorize"
    browser.find_element(By.CSS_SELECTOR, f'input[value="{QUICKSTART_PROPERTY}"]').click()
    query = _query(_click_and_follow(browser, "approve"))
    assert set(query) == {"code", "state", "iss"}
    assert query["state"] == "again"


@pytest.mark.live
def test_the_sign_in_as_links_switch_user_there_and_back(browser, messpunkt_server):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(_authorize_url(messpunkt_server, _pkce()[1], "st"))
    wait = WebDriverWait(
        browser, 5, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException]
    )
    assert browser.find_element(By.ID, "user-name").text == "Erika Mustermann"

    for name, tenant in [
        ("Jonas Beispiel", "Beispiel Wohnbau eG"),
        ("Erika Mustermann", "Musterhausverwaltung GmbH"),
    ]:
        browser.find_element(By.PARTIAL_LINK_TEXT, name).click()
        wait.until(lambda driver, name=name: driver.find_element(By.ID, "user-name").text == name)
        assert browser.find_element(By.ID, "tenant-name").text == tenant
