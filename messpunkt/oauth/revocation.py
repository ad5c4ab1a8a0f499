"""Token revocation (RFC 7009)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .access_tokens import AccessTokens
from .clients import Client, authenticate_client
from .errors import InvalidToken, UnsupportedTokenType
from .params import Params, single
from .store import AuthStore, digest

HINTS = ("access_token", "refresh_token")


class Revocation:
    def __init__(
        self, clients: dict[str, Client], store: AuthStore, access_tokens: AccessTokens
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
            self.store.revoke_access_token(claims.token_id, claims.expires_at)
        return {}


def presented_token(params: Params) -> str:
    """Read `token` and check the optional `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1).

    The hint only says where to look first; both kinds are looked up either way.
    """
    token = single(params, "token", required=True)
    hint = single(params, "token_type_hint")
    if hint is not None and hint not in HINTS:
        raise UnsupportedTokenType("token_type_hint must be access_token or refresh_token")
    assert token is not None
    return token
