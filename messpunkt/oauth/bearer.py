"""Bearer token usage at the resource server (RFC 6750)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .access_tokens import AccessTokens
from .errors import InsufficientScope, InvalidToken, MissingToken
from .personal_tokens import PREFIX, personal_token_session
from .store import Access, AuthStore, Refusal, Refused

_ENDED = {
    Refusal.ACCESS_TOKEN_REVOKED: "the access token was revoked",
    Refusal.SESSION_ENDED: "the session of this access token has ended",
}


def revoked_token() -> InvalidToken:
    """The error a revoked access token gets, word for word (an injected fault copies it)."""
    return InvalidToken(_ENDED[Refusal.ACCESS_TOKEN_REVOKED])


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling /v1, and what they may see."""

    tenant_id: str
    client_id: str
    subject: str
    scopes: tuple[str, ...]
    property_scope: frozenset[str]
    session_id: str

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise InsufficientScope(f"this call needs the {scope} scope")


class BearerAuthenticator:
    """Turn an Authorization header into a `Principal`, or raise `InvalidToken`."""

    def __init__(self, access_tokens: AccessTokens, store: AuthStore) -> None:
        self.access_tokens = access_tokens
        self.store = store

    def authenticate(
        self, authorization: str | None, now: datetime, read: Access | None = None
    ) -> Principal:
        """Authenticate a request; `read`, when given, is the store's `read_access` for
        this very token, made together with the request's other reads."""
        token = bearer_token(authorization)
        if token.startswith(PREFIX):
            return self._personal(token, now)
        claims = self.access_tokens.validate(token, now)
        # Checked on every call so that a revocation takes effect at once.
        if read is None or (read.session_id, read.token_id) != (claims.session_id, claims.token_id):
            read = self.store.read_access(claims.session_id, claims.token_id)
        access = read.decide(claims.client_id, now)
        if isinstance(access, Refused):
            raise InvalidToken(_ENDED[access.reason])
        return Principal(
            tenant_id=claims.tenant_id,
            client_id=claims.client_id,
            subject=claims.subject,
            scopes=claims.scopes,
            property_scope=frozenset(claims.property_scope),
            session_id=claims.session_id,
        )

    def _personal(self, token: str, now: datetime) -> Principal:
        session = personal_token_session(self.store, token, now)
        if session is None:
            raise InvalidToken("the personal access token is unknown, expired or revoked")
        return Principal(
            tenant_id=session.tenant_id,
            client_id=session.client_id,
            subject=session.subject,
            scopes=session.scopes,
            property_scope=frozenset(session.property_ids),
            session_id=session.id,
        )


def bearer_token(authorization: str | None) -> str:
    """Read the token of an `Authorization: Bearer` header (RFC 6750 §2.1)."""
    if not authorization:
        raise MissingToken("an access token is required (Authorization: Bearer ...)")
    scheme, _, token = authorization.partition(" ")
    # RFC 6750 §2.1: "Bearer" followed by the token; the scheme is case-insensitive.
    if scheme.lower() != "bearer":
        # §3.1: "an unsupported authentication method" counts as no credentials.
        raise MissingToken("the Authorization header must be 'Bearer <token>'")
    token = token.strip()
    if not token or " " in token:
        raise InvalidToken("the Authorization header must be 'Bearer <token>'")
    return token
