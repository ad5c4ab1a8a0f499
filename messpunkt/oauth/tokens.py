"""The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; RFC 7636 §4.6).

`TokenEndpoint.handle` takes the request's parameters and its Authorization
header and returns the JSON body of a successful response, or raises an
`OAuthError` that the view renders per RFC 6749 §5.2.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from . import pkce
from .access_tokens import AccessTokens
from .clients import Client
from .errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from .params import Params, scope_list, single
from .sessions import Grant, Sessions
from .store import AuthStore, Session, SessionKind, digest

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")


class TokenEndpoint:
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

    def handle(self, params: Params, authorization: str | None) -> dict[str, Any]:
        client = authenticate_client(self.clients, params, authorization)
        grant_type = single(params, "grant_type", required=True)
        if grant_type not in GRANT_TYPES:
            raise UnsupportedGrantType(f"grant_type must be one of {', '.join(GRANT_TYPES)}")
        if grant_type not in client.grant_types:
            raise UnauthorizedClient(f"this client may not use the {grant_type} grant")
        if grant_type == "authorization_code":
            return self._authorization_code(client, params)
        if grant_type == "refresh_token":
            return self._refresh_token(client, params)
        return self._client_credentials(client, params)

    def _authorization_code(self, client: Client, params: Params) -> dict[str, Any]:
        code = single(params, "code", required=True)
        redirect_uri = single(params, "redirect_uri")
        verifier = single(params, "code_verifier")
        assert code is not None
        now = self.now()
        with self.store.atomic():
            record = self.store.code(digest(code))
            if record is None:
                raise InvalidGrant("authorization code is unknown")
            if record.redeemed_at is not None:
                # OAuth 2.1 §4.1.3: a code used twice revokes what it issued.
                first = self.store.session(record.session_id or "")
                if first is not None:
                    self.sessions.revoke(first, now, "authorization code redeemed twice")
                raise InvalidGrant("authorization code was already used")
            # Consumed from here on, whatever the checks below decide.
            record.redeemed_at = now
            if now >= record.expires_at:
                raise InvalidGrant("authorization code has expired")
            if record.client_id != client.client_id:
                raise InvalidGrant("authorization code was issued to another client")
            # RFC 6749 §4.1.3: required, and identical, if the authorization request had it.
            if redirect_uri is None and record.redirect_uri_given:
                raise InvalidRequest("redirect_uri is required: the authorization request had one")
            if redirect_uri not in (None, record.redirect_uri):
                raise InvalidGrant("redirect_uri does not match the authorization request")
            if not pkce.verify(verifier, record.code_challenge):
                # RFC 7636 §4.6; a missing verifier fails the same check (OAuth 2.1 §4.1.3).
                raise InvalidGrant("code_verifier is missing or does not match the code_challenge")
            grant = Grant(
                client.client_id, record.tenant_id, record.subject, record.scopes,
                record.property_ids,
            )  # fmt: skip
            session = self.sessions.start(grant, SessionKind.AUTHORIZATION_CODE, now)
            record.session_id = session.id
            issued = self._issue(session, session.scopes, now)
            issued.refresh_token = self.sessions.issue_refresh_token(session, now)
        return self._response(issued, now)

    def _refresh_token(self, client: Client, params: Params) -> dict[str, Any]:
        presented = single(params, "refresh_token", required=True)
        requested = scope_list(single(params, "scope"))
        assert presented is not None
        now = self.now()
        with self.store.atomic():
            session, successor = self.sessions.rotate(presented, client.client_id, now, requested)
            issued = self._issue(session, requested or session.scopes, now)
            issued.refresh_token = successor
        return self._response(issued, now)

    def _client_credentials(self, client: Client, params: Params) -> dict[str, Any]:
        requested = scope_list(single(params, "scope"))
        extra = [scope for scope in requested if scope not in client.scopes]
        if extra:
            raise InvalidScope(f"scope not available to this client: {' '.join(extra)}")
        if client.tenant_id is None or not client.property_ids:
            raise UnauthorizedClient("this client has no tenant of its own")
        now = self.now()
        ttl = self._access_token_ttl(client)
        grant = Grant(
            client.client_id, client.tenant_id, f"client:{client.client_id}",
            requested or client.scopes, client.property_ids,
        )  # fmt: skip
        with self.store.atomic():
            session = self.sessions.start(
                grant, SessionKind.CLIENT_CREDENTIALS, now, expires_at=now + ttl
            )
            issued = self._issue(session, session.scopes, now)
        return self._response(issued, now)

    def _issue(self, session: Session, scopes: tuple[str, ...], now: datetime) -> _Issued:
        """Decide what an access token issued now carries (inside the store's lock)."""
        client = self.clients[session.client_id]
        expires_at = self.sessions.access_token_expiry(session, now, self._access_token_ttl(client))
        return _Issued(session, scopes, expires_at)

    def _response(self, issued: _Issued, now: datetime) -> dict[str, Any]:
        """Sign the access token and build the answer (outside the lock: signing is the
        slowest step, and other grants need not wait for it)."""
        session = issued.session
        body: dict[str, Any] = {
            "access_token": self.access_tokens.mint(
                subject=session.subject,
                client_id=session.client_id,
                scopes=issued.scopes,
                tenant_id=session.tenant_id,
                property_scope=session.property_ids,
                session_id=session.id,
                issued_at=now,
                expires_at=issued.expires_at,
            ),
            "token_type": "Bearer",
            "expires_in": int((issued.expires_at - now).total_seconds()),
            "scope": " ".join(issued.scopes),
        }
        if issued.refresh_token is not None:
            body["refresh_token"] = issued.refresh_token
        return body

    def _access_token_ttl(self, client: Client) -> timedelta:
        if client.access_token_ttl is not None:
            return timedelta(seconds=client.access_token_ttl)
        return self.sessions.lifetimes.access_token


@dataclass(slots=True)
class _Issued:
    session: Session
    scopes: tuple[str, ...]
    expires_at: datetime
    refresh_token: str | None = None


def authenticate_client(
    clients: dict[str, Client], params: Params, authorization: str | None
) -> Client:
    """Identify the client by client_secret_basic, client_secret_post or client_id alone."""
    basic = _basic_credentials(authorization)
    secret = single(params, "client_secret")
    client_id = single(params, "client_id")
    if basic is not None:
        # RFC 6749 §2.3: a client must not use more than one authentication method.
        if secret is not None:
            raise InvalidRequest("use one client authentication method, not two")
        if client_id is not None and client_id != basic[0]:
            raise InvalidRequest("client_id does not match the Authorization header")
        client_id, secret = basic
    if client_id is None:
        raise InvalidClient("client authentication is required (client_id)")
    client = clients.get(client_id)
    if client is None:
        raise InvalidClient("unknown client")
    if client.is_confidential:
        if secret is None or not client.verify_secret(secret):
            raise InvalidClient("client authentication failed")
    elif secret is not None:
        raise InvalidClient("public clients have no secret")
    return client


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)
