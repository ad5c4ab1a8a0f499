"""Token revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .access_tokens import AccessTokenClaims, AccessTokens
from .clients import Client
from .errors import InvalidClient, InvalidToken
from .params import Params, single
from .sessions import Sessions
from .store import AuthStore, RefreshToken, digest
from .tokens import authenticate_client


class Revocation:
    def __init__(
        self,
        clients: dict[str, Client],
        store: AuthStore,
        sessions: Sessions,
        access_tokens: AccessTokens,
        clock: Callable[[], datetime],
    ) -> None:
        self.clients = clients
        self.store = store
        self.sessions = sessions
        self.access_tokens = access_tokens
        self.now = clock

    def revoke(self, params: Params, authorization: str | None) -> dict[str, Any]:
        """Revoke a token of the calling client; unknown tokens are not an error (§2.2).

        The answer is an empty object either way, so a client cannot probe for tokens.
        """
        client = authenticate_client(self.clients, params, authorization)
        token = _presented_token(params)
        now = self.now()
        with self.store.atomic():
            refresh = self.store.refresh_token(digest(token))
            if refresh is not None:
                # §2.1: revoking a refresh token ends its grant: the whole session.
                session = self.store.session(refresh.session_id)
                if session is not None and refresh.client_id == client.client_id:
                    self.sessions.revoke(session, now, "refresh token revoked by the client")
                return {}
            claims = self._access_token(token, now)
            if claims is not None and claims.client_id == client.client_id:
                self.store.revoke_access_token(claims.token_id, claims.expires_at)
        return {}

    def introspect(self, params: Params, authorization: str | None) -> dict[str, Any]:
        """Describe a token to the confidential client it was issued to (RFC 7662 §2.2)."""
        client = authenticate_client(self.clients, params, authorization)
        if not client.is_confidential:
            raise InvalidClient("introspection is for confidential clients")
        token = _presented_token(params)
        now = self.now()
        refresh = self.store.refresh_token(digest(token))
        if refresh is not None:
            return self._describe_refresh(refresh, client, now)
        claims = self._access_token(token, now)
        if (
            claims is None
            or claims.client_id != client.client_id
            or self.store.access_token_revoked(claims.token_id)
            or self.sessions.active(claims.session_id, now) is None
        ):
            return {"active": False}
        return {
            "active": True,
            "token_type": "Bearer",
            "scope": " ".join(claims.scopes),
            "client_id": claims.client_id,
            "sub": claims.subject,
            "iss": self.access_tokens.issuer,
            "aud": self.access_tokens.audience,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "jti": claims.token_id,
            "sid": claims.session_id,
            "tenant_id": claims.tenant_id,
            "property_scope": list(claims.property_scope),
        }

    def _describe_refresh(
        self, refresh: RefreshToken, client: Client, now: datetime
    ) -> dict[str, Any]:
        session = self.sessions.active(refresh.session_id, now)
        if (
            session is None
            or refresh.client_id != client.client_id
            or refresh.rotated_at is not None
            or now >= refresh.expires_at
        ):
            return {"active": False}
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": " ".join(session.scopes),
            "client_id": refresh.client_id,
            "sub": session.subject,
            "iss": self.access_tokens.issuer,
            "iat": int(refresh.issued_at.timestamp()),
            "exp": int(refresh.expires_at.timestamp()),
            "sid": session.id,
            "tenant_id": session.tenant_id,
            "property_scope": list(session.property_ids),
        }

    def _access_token(self, token: str, now: datetime) -> AccessTokenClaims | None:
        try:
            return self.access_tokens.validate(token, now)
        except InvalidToken:
            return None


def _presented_token(params: Params) -> str:
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
