"""Registering a client through /oauth/register and running its flows, for the tests."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

TENANT = "3e17ba96-ae04-4d3b-9986-9e56f0adbf3a"
LINDENHOF, HAFEN = "6fb74d25-5517-4dcc-ae8b-0914579ab036", "21141801-9f23-5bf2-865c-51d717f65653"
OTHER_TENANT, LEIPZIG = (
    "8f298b56-46d5-56e7-8909-0ced5f9f0419",
    "1ac0d6fd-ab69-5905-8ab9-3370c1adbcc3",
)
ERP_CALLBACK = "https://erp.example.com/callback"
SCOPES = "read:units read:devices read:readings"
CODE_CLIENT = {
    "client_name": "Hausverwaltung ERP",
    "redirect_uris": [ERP_CALLBACK],
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": SCOPES,
}
SERVICE_CLIENT = {
    "client_name": "Abrechnung",
    "grant_types": ["client_credentials"],
    "tenant_id": TENANT,
    "property_ids": [LINDENHOF],
    "scope": "read:units",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def register(client: Any, admin_key: str, metadata: dict[str, Any], prefix: str = "") -> Any:
    return client.post(prefix + "/oauth/register", json=metadata, headers=bearer(admin_key))


def registered(client: Any, admin_key: str, metadata: dict[str, Any], prefix: str = "") -> dict:
    response = register(client, admin_key, metadata, prefix)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize(client: Any, client_id: str, challenge: str, prefix: str = "", **more: str) -> Any:
    """Approve a consent headlessly, as the quickstart does; return the answer."""
    form = {
        "client_id": client_id, "redirect_uri": ERP_CALLBACK, "scope": SCOPES, "state": "st",
        "code_challenge": challenge, "code_challenge_method": "S256", "property": LINDENHOF,
        "decision": "approve", **more,
    }  # fmt: skip
    return client.post(prefix + "/oauth/authorize", data=form)


def code_flow(
    client: Any, registration: dict, prefix: str = "", *, auth: str = "basic"
) -> dict[str, Any]:
    """Run authorize → token for a registered code client; return the token answer."""
    verifier, challenge = pkce()
    answer = authorize(client, registration["client_id"], challenge, prefix,
                       scope=registration["scope"])  # fmt: skip
    assert answer.status_code == 302, answer.get_data(as_text=True)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": ERP_CALLBACK,
            "code_verifier": verifier}  # fmt: skip
    token = client.post(prefix + "/oauth/token", data=with_client(form, registration, auth),
                        headers=client_headers(registration, auth))  # fmt: skip
    assert token.status_code == 200, token.get_json()
    return token.get_json()  # type: ignore[no-any-return]


def with_client(form: dict[str, str], registration: dict, auth: str) -> dict[str, str]:
    if auth == "post":
        return {**form, "client_id": registration["client_id"],
                "client_secret": registration["client_secret"]}  # fmt: skip
    if auth == "none":
        return {**form, "client_id": registration["client_id"]}
    return form


def client_headers(registration: dict, auth: str) -> dict[str, str]:
    if auth == "basic":
        return basic(registration["client_id"], registration["client_secret"])
    return {}
