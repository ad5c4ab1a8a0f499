"""Token introspection (RFC 7662), for confidential clients and their own tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .access_tokens import AccessTokens
from .clients import Client, ClientLookup, authenticate_client
from .errors import InvalidClient, InvalidToken
from .params import Params
from .revocation import presented_token
from .store import AuthStore, RefreshToken, Refused, digest

INACTIVE = {"active": False}


class Introspection:
    def __init__(
        self, clients: ClientLookup, store: AuthStore, access_tokens: AccessTokens
    ) -> None:
        self.clients = clients
        self.store = store
        self.access_tokens = access_tokens

    def introspect(
        self, params: Params, authorization: str | None, now: datetime
    ) -> dict[str, Any]:
        """Describe a token to the confidential client it was issued to (RFC 7662 §2.2)."""
        client = authenticate_client(self.clients, params, authorization)
        if not client.is_confidential:
            raise InvalidClient("introspection is for confidential clients")
        token = presented_token(params)
        refresh = self.store.refresh_token(digest(token))
        if refresh is not None:
            return self._describe_refresh(refresh, client, now)
        try:
            claims = self.access_tokens.validate(token, now)
        except InvalidToken:
            return dict(INACTIVE)
        access = self.store.check_access(claims.session_id, claims.token_id, claims.client_id, now)
        if claims.client_id != client.client_id or isinstance(access, Refused):
            return dict(INACTIVE)
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
        session = self.store.session(refresh.session_id)
        if (
            session is None
            or not session.is_active(now)
            or refresh.client_id != client.client_id
            or refresh.rotated_at is not None
            or now >= refresh.expires_at
        ):
            return dict(INACTIVE)
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
