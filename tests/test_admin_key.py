"""The admin key is compared over its whole length, never a prefix or a part of it."""

from __future__ import annotations

import pytest

from messpunkt.testing import FROZEN_AT

KEY = "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz"  # 40 characters
WRONG = {
    "empty": "",
    "first-character": KEY[:1],
    "all-but-the-last": KEY[:-1],
    "one-more": KEY + "x",
    "twice": KEY + KEY,
    "first-half-then-other": KEY[:20] + "x" * 20,
    "last-character-changed": KEY[:-1] + "Z",
    "other-case": KEY.upper(),
    "surrounded-by-spaces": f" {KEY} ",
}


@pytest.fixture
def messpunkt_config():
    return {"MESSPUNKT_FROZEN_AT": FROZEN_AT, "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY}


@pytest.mark.parametrize("presented", WRONG.values(), ids=WRONG.keys())
def test_a_key_that_is_not_exactly_the_admin_key_is_refused(messpunkt_client, presented):
    response = messpunkt_client.get("/sandbox/clock", headers={"X-Sandbox-Admin-Key": presented})
    assert response.status_code == 401
    assert response.json["detail"] == (
        "the sandbox controls need the admin key in the X-Sandbox-Admin-Key header"
    )


def test_exactly_the_admin_key_is_admitted(messpunkt_client):
    response = messpunkt_client.get("/sandbox/clock", headers={"X-Sandbox-Admin-Key": KEY})
    assert (response.status_code, response.json) == (200, {"now": FROZEN_AT, "frozen": True})
