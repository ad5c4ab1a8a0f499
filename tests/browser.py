"""Debian's Chromium driven through its chromedriver, shared by the browser tests.

Each test module makes its own fixture from `chromium`; a fixture imported into a
module would read as an unused name that its tests then shadow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start headless Chromium, or skip (fail in CI) when it is not installed."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        reason = f"the browser tests need {' and '.join(missing)} (apt: chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with both paths given, Selenium Manager never runs
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # see `sent_headers`
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(10)
    yield driver
    driver.quit()


def sent_headers(driver: Any, method: str, url_prefix: str) -> list[dict[str, str]]:
    """The headers Chromium sent, as they went on the wire, with each `method` request
    to a URL starting with `url_prefix` since the last call (the performance log)."""
    import json

    events = [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]
    wanted = {
        event["params"]["requestId"]
        for event in events
        if event["method"] == "Network.requestWillBeSent"
        and event["params"]["request"]["method"] == method
        and event["params"]["request"]["url"].startswith(url_prefix)
    }
    return [
        event["params"]["headers"]
        for event in events
        if event["method"] == "Network.requestWillBeSentExtraInfo"
        and event["params"]["requestId"] in wanted
    ]


def speak(driver: Any, accept_language: str) -> None:
    """Send this Accept-Language from now on (the Chrome DevTools Protocol's override)."""
    user_agent = driver.execute_script("return navigator.userAgent")
    driver.execute_cdp_cmd(
        "Emulation.setUserAgentOverride",
        {"userAgent": user_agent, "acceptLanguage": accept_language},
    )


def viewport(driver: Any, width: int | None, height: int = 844) -> None:
    """Show pages as a phone of this width does (meta viewport honoured); None: the window."""
    if width is None:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


def approve_and_leave(driver: Any, property_id: str, callback: str) -> str:
    """Tick `property_id` on the open consent page and approve; return the URL the browser
    was sent to, which starts with `callback`.

    Nothing answers at a partner's callback (there is no network here), so Chromium shows
    its error page for the navigation but keeps its URL, which holds the code. A CSP
    refusal ends the wait at once.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(
        "document.addEventListener('securitypolicyviolation', e => {"
        " window.refused = e.violatedDirective + ' refused ' + e.blockedURI; });"
    )
    driver.find_element(By.CSS_SELECTOR, f'input[name="property"][value="{property_id}"]').click()
    driver.find_element(By.ID, "approve").click()

    def left(driver: Any) -> bool:
        return driver.current_url.startswith(callback) or bool(
            driver.execute_script("return window.refused")
        )

    WebDriverWait(driver, 10, poll_frequency=0.05).until(left)
    if not driver.current_url.startswith(callback):
        pytest.fail(
            f"stayed at {driver.current_url}: {driver.execute_script('return window.refused')}"
        )
    return driver.current_url  # type: ignore[no-any-return]
