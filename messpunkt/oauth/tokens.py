"""The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; RFC 7636 §4.6).

`TokenEndpoint.handle` takes the request's parameters, its Authorization
header and the instant it is served at (a `Moment`), and returns the JSON body of a
successful response, or raises an `OAuthError` that the view renders per
RFC 6749 §5.2. Each grant is one named step of the store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import pkce, randomness
from .access_tokens import AccessTokens
from .clients import Client, ClientLookup, authenticate_client
from .errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from .params import Params, scope_list, single
from .store import (
    AuthStore,
    CodeAttempt,
    Grant,
    Issue,
    Issued,
    Lifetimes,
    Moment,
    NewSession,
    Refusal,
    Refused,
    SessionKind,
    digest,
)

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")

_REFUSALS: dict[Refusal, tuple[type[OAuthError], str]] = {
    Refusal.UNKNOWN_CODE: (InvalidGrant, "authorization code is unknown"),
    Refusal.CODE_REUSED: (InvalidGrant, "authorization code was already used"),
    Refusal.CODE_EXPIRED: (InvalidGrant, "authorization code has expired"),
    Refusal.CODE_OTHER_CLIENT: (InvalidGrant, "authorization code was issued to another client"),
    Refusal.REDIRECT_URI_MISSING: (
        InvalidRequest, "redirect_uri is required: the authorization request had one",
    ),
    Refusal.REDIRECT_URI_MISMATCH: (
        InvalidGrant, "redirect_uri does not match the authorization request",
    ),
    # RFC 7636 §4.6; a missing verifier fails the same check (OAuth 2.1 §4.1.3).
    Refusal.PKCE_MISMATCH: (
        InvalidGrant, "code_verifier is missing or does not match the code_challenge",
    ),
    Refusal.UNKNOWN_REFRESH_TOKEN: (InvalidGrant, "refresh token is unknown"),
    Refusal.REFRESH_OTHER_CLIENT: (InvalidGrant, "refresh token was not issued to this client"),
    Refusal.REFRESH_REPLAYED: (
        InvalidGrant, "refresh token was already used; the session is revoked",
    ),
    Refusal.SESSION_REVOKED: (InvalidGrant, "the session is revoked"),
    Refusal.REFRESH_EXPIRED: (InvalidGrant, "refresh token has expired"),
    Refusal.SCOPE_NOT_GRANTED: (InvalidScope, "scope was not granted: {detail}"),
    # Deleted between its authentication and the store's step: as if it had been before.
    Refusal.CLIENT_GONE: (InvalidClient, "unknown client"),
}  # fmt: skip


class TokenEndpoint:
    def __init__(
        self,
        clients: ClientLookup,
        store: AuthStore,
        access_tokens: AccessTokens,
        lifetimes: Lifetimes,
    ) -> None:
        self.clients = clients
        self.store = store
        self.access_tokens = access_tokens
        self.lifetimes = lifetimes

    def handle(self, params: Params, authorization: str | None, at: Moment) -> dict[str, Any]:
        client = authenticate_client(self.clients, params, authorization)
        grant_type = single(params, "grant_type", required=True)
        if grant_type not in GRANT_TYPES:
            raise UnsupportedGrantType(f"grant_type must be one of {', '.join(GRANT_TYPES)}")
        if grant_type not in client.grant_types:
            raise UnauthorizedClient(f"this client may not use the {grant_type} grant")
        if grant_type == "authorization_code":
            return self._authorization_code(client, params, at)
        if grant_type == "refresh_token":
            return self._refresh_token(client, params, at)
        return self._client_credentials(client, params, at)

    def _authorization_code(self, client: Client, params: Params, at: Moment) -> dict[str, Any]:
        code = single(params, "code", required=True)
        redirect_uri = single(params, "redirect_uri")
        verifier = single(params, "code_verifier")
        assert code is not None
        attempt = CodeAttempt(
            client.client_id,
            redirect_uri,
            pkce.s256(verifier) if verifier and pkce.is_well_formed_verifier(verifier) else None,
        )
        new = NewSession(
            randomness.token_urlsafe(16),
            SessionKind.AUTHORIZATION_CODE,
            expires_at=at.now + self.lifetimes.session,
            client_registered=client.registered,
        )
        # RFC 7591 §2: only a client that may use the refresh_token grant gets one.
        refresh_token = (
            randomness.token_urlsafe(32) if "refresh_token" in client.grant_types else None
        )
        outcome = self.store.redeem_code(
            digest(code), attempt, new, self._issue(client, refresh_token), at
        )
        return self._response(_issued(outcome), None, at.now, refresh_token)

    def _refresh_token(self, client: Client, params: Params, at: Moment) -> dict[str, Any]:
        presented = single(params, "refresh_token", required=True)
        requested = scope_list(single(params, "scope"))
        assert presented is not None
        successor = randomness.token_urlsafe(32)
        outcome = self.store.rotate_refresh_token(
            digest(presented), client.client_id, requested, self._issue(client, successor), at
        )
        return self._response(_issued(outcome), requested or None, at.now, successor)

    def _client_credentials(self, client: Client, params: Params, at: Moment) -> dict[str, Any]:
        requested = scope_list(single(params, "scope"))
        extra = [scope for scope in requested if scope not in client.scopes]
        if extra:
            raise InvalidScope(f"scope not available to this client: {' '.join(extra)}")
        if client.tenant_id is None or not client.property_ids:
            raise UnauthorizedClient("this client has no tenant of its own")
        ttl = self._access_token_ttl(client)
        grant = Grant(
            client.client_id, client.tenant_id, f"client:{client.client_id}",
            requested or client.scopes, client.property_ids,
        )  # fmt: skip
        new = NewSession(
            randomness.token_urlsafe(16),
            SessionKind.CLIENT_CREDENTIALS,
            expires_at=at.now + ttl,
            client_registered=client.registered,
        )
        outcome = self.store.start_session(new, grant, Issue(ttl), at)
        return self._response(_issued(outcome), None, at.now, None)

    def _issue(self, client: Client, refresh_token: str | None) -> Issue:
        if refresh_token is None:
            return Issue(self._access_token_ttl(client))
        return Issue(
            self._access_token_ttl(client), digest(refresh_token), self.lifetimes.refresh_token
        )

    def _response(
        self,
        issued: Issued,
        scopes: tuple[str, ...] | None,
        now: datetime,
        refresh_token: str | None,
    ) -> dict[str, Any]:
        """Sign the access token (after the store's step: signing is the slowest part, and
        other grants need not wait for it) and build the answer."""
        session = issued.session
        scopes = scopes or session.scopes
        body: dict[str, Any] = {
            "access_token": self.access_tokens.mint(
                subject=session.subject,
                client_id=session.client_id,
                scopes=scopes,
                tenant_id=session.tenant_id,
                property_scope=session.property_ids,
                session_id=session.id,
                issued_at=now,
                expires_at=issued.access_expires_at,
            ),
            "token_type": "Bearer",
            "expires_in": int((issued.access_expires_at - now).total_seconds()),
            "scope": " ".join(scopes),
        }
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return body

    def _access_token_ttl(self, client: Client) -> timedelta:
        if client.access_token_ttl is not None:
            return timedelta(seconds=client.access_token_ttl)
        return self.lifetimes.access_token


def _issued(outcome: Issued | Refused) -> Issued:
    """Return the step's success, or raise the OAuth error its refusal means."""
    if isinstance(outcome, Refused):
        error, description = _REFUSALS[outcome.reason]
        raise error(description.format(detail=outcome.detail))
    return outcome
