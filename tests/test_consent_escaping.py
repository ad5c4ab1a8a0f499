"""The consent page shows what a request or a data set says as text, never as markup.

A data set in tmp_path gives the demo client a hostile name and scope and the
quickstart property a hostile name; the request adds a hostile `state`. Each
must appear HTML-escaped and nowhere raw (`|safe` on any of them fails here).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from markupsafe import escape

from messpunkt import create_app
from messpunkt.config import DEFAULT_DATA_DIR
from messpunkt.testing import DEMO_CLIENT, DEMO_REDIRECT_URI, FROZEN_AT, QUICKSTART_PROPERTY

HOSTILE = {
    "client name": 'Evil <script>alert("name")</script> & Co',
    "scope": 'read:"><svg/onload=alert(1)>',  # no space: it stays one scope
    "property name": "<img src=x onerror=alert('property')>",
    "state": "\"'><script>alert('state')</script>",
}
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 Appendix B


def edit(root: Path, name: str, change) -> None:
    path = root / name
    records = json.loads(path.read_text(encoding="utf-8"))
    change(records)
    path.write_text(json.dumps(records), encoding="utf-8")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(DEFAULT_DATA_DIR, root)

    def client(clients):
        (demo,) = [c for c in clients if c["client_id"] == DEMO_CLIENT]
        demo["name"] = HOSTILE["client name"]
        demo["scopes"].append(HOSTILE["scope"])

    def property_(properties):
        (lindenhof,) = [p for p in properties if p["id"] == QUICKSTART_PROPERTY]
        lindenhof["name"] = HOSTILE["property name"]

    edit(root, "clients.json", client)
    edit(root, "properties.json", property_)
    app = create_app({"MESSPUNKT_DATA_DIR": str(root), "MESSPUNKT_FROZEN_AT": FROZEN_AT})
    response = app.test_client().get("/oauth/authorize", query_string={
        "response_type": "code", "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI,
        "scope": f"read:units {HOSTILE['scope']}", "state": HOSTILE["state"],
        "code_challenge": CHALLENGE, "code_challenge_method": "S256",
    })  # fmt: skip
    assert (response.status_code, response.mimetype) == (200, "text/html")
    return response.get_data(as_text=True)


@pytest.mark.parametrize("what", HOSTILE)
def test_hostile_text_is_escaped_on_the_consent_page(page, what):
    text = HOSTILE[what]
    assert text not in page
    assert str(escape(text)) in page


def test_no_markup_but_the_page_s_own(page):
    assert "<script" not in page
    assert "<svg" not in page
    assert "<img" not in page
