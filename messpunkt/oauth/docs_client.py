"""The public client that /docs (Swagger UI) signs in with."""

from __future__ import annotations

from .clients import Client, ClientType

DOCS_CLIENT_ID = "sandbox-docs-client"
DOCS_SCOPES = ("read:units", "read:devices", "read:readings")
# Where Swagger UI's popup lands, on the sandbox's own origin (messpunkt/web/docs.py).
REDIRECT_PATH = "/docs/oauth2-redirect.html"


def docs_client(issuer: str) -> Client:
    """Register /docs for the issuer's origin: public, so it proves itself with PKCE only.

    Its redirect URI depends on the issuer, which is configured, so it is built
    here rather than kept among the fixtures.
    """
    return Client(
        client_id=DOCS_CLIENT_ID,
        name="Sandbox API docs (Swagger UI)",
        type=ClientType.PUBLIC,
        redirect_uris=(issuer.rstrip("/") + REDIRECT_PATH,),
        grant_types=frozenset({"authorization_code", "refresh_token"}),
        scopes=DOCS_SCOPES,
        secret_hash=None,
        tenant_id=None,
        property_ids=(),
        access_token_ttl=None,
    )
