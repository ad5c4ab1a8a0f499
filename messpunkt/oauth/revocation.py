"""Token revocation (RFC 7009)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .access_tokens import AccessTokens
from .clients import ClientLookup, authenticate_client
from .errors import InvalidToken
from .params import Params, single
from .store import AuthStore, digest


class Revocation:
    def __init__(
        self, clients: ClientLookup, store: AuthStore, access_tokens: AccessTokens
    ) -> None:
        self.clients = clients
        self.store = store
        self.access_tokens = access_tokens

    def revoke(self, params: Params, authorization: str | None, now: datetime) -> dict[str, Any]:
        """Revoke a token of the calling client; unknown tokens are not an error (§2.2).

        The answer is an empty object either way, so a client cannot probe for tokens.
        """
        client = authenticate_client(self.clients, params, authorization)
        token = presented_token(params)
        # §2.1: revoking a refresh token ends its grant: the whole session.
        if self.store.refresh_token(digest(token)) is not None:
            self.store.revoke_refresh_token(
                digest(token), client.client_id, "refresh token revoked by the client", now
            )
            return {}
        try:
            claims = self.access_tokens.validate(token, now)
        except InvalidToken:
            return {}
        if claims.client_id == client.client_id:
            self.store.revoke_access_token(claims.session_id, claims.token_id, claims.expires_at)
        return {}


def presented_token(params: Params) -> str:
    """Read `token`; the optional `token_type_hint` changes nothing here.

    Both kinds are looked up whatever the hint says: RFC 7009 §2.1 and RFC 7662 §2.1
    have the server extend its search past a wrong or unknown hint, so an unknown one is
    not `unsupported_token_type` (§2.2.1 means a kind the server cannot revoke, and it
    revokes both). A repeated hint is still `invalid_request` (RFC 6749 §3.1).
    """
    token = single(params, "token", required=True)
    single(params, "token_type_hint")
    assert token is not None
    return token
