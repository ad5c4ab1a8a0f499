"""The authorization endpoint (RFC 6749 §4.1.1–4.1.2, OAuth 2.1 §4.1, RFC 9207).

`check` turns request parameters into an `AuthorizationRequest` or raises;
`decide` answers a consent with the redirect URI to send the browser to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from . import pkce, randomness
from .clients import Client, ClientLookup
from .errors import (
    AccessDenied,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from .params import Params, scope_list, single
from .store import AuthorizationCode, AuthStore, Grant, Lifetimes, Moment, SandboxMoved, digest


class UnsafeRequest(Exception):
    """An error that must be shown to the user, not redirected (RFC 6749 §4.1.2.1).

    With an unknown client or an unregistered redirect URI the server cannot
    know that the redirect target is the client's, so it must not go there.
    """

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str
    # False when the client left redirect_uri out and its one registered URI is used.
    redirect_uri_given: bool = True


@dataclass(frozen=True)
class Approval:
    """Whose data the resource owner approved: a tenant, its user, its properties."""

    tenant_id: str
    subject: str
    property_ids: tuple[str, ...]


class ConsentPolicy(Protocol):
    """Decide what an approving consent grants, or raise an `OAuthError` to redirect."""

    def approve(self, client: Client, params: Params) -> Approval: ...


@dataclass(frozen=True)
class Redirect:
    """Where to send the user agent, with the code or the error."""

    location: str


class AuthorizationEndpoint:
    def __init__(
        self, clients: ClientLookup, store: AuthStore, lifetimes: Lifetimes, issuer: str
    ) -> None:
        self.clients = clients
        self.store = store
        self.lifetimes = lifetimes
        self.issuer = issuer

    def client_and_redirect_uri(self, params: Params) -> tuple[Client, str, bool]:
        """Identify the client, where to redirect and whether the request named it.

        Raises `UnsafeRequest` when there is no verified place to redirect to.
        """
        try:
            client_id = single(params, "client_id", required=True)
            redirect_uri = single(params, "redirect_uri")
        except InvalidRequest as exc:
            raise UnsafeRequest(exc.description) from None
        client = self.clients.get(client_id or "")
        if client is None:
            raise UnsafeRequest("unknown client_id")
        if redirect_uri is None:
            # RFC 6749 §3.1.2.3, OAuth 2.1 §4.1.1: optional with exactly one registered.
            if len(client.redirect_uris) != 1:
                raise UnsafeRequest(
                    "redirect_uri is required unless the client has exactly one registered"
                )
            return client, client.redirect_uris[0], False
        if not client.allows_redirect_uri(redirect_uri):
            raise UnsafeRequest("redirect_uri is not registered for this client")
        return client, redirect_uri, True

    def check(self, params: Params, *, response_type_required: bool) -> AuthorizationRequest:
        """Validate an authorization request; errors after the redirect check redirect."""
        client, redirect_uri, given = self.client_and_redirect_uri(params)
        state_values = params.get("state", ())
        # Echoed to the client only when it is one value without control characters.
        state = state_values[0] if len(state_values) == 1 else None
        state = state if state and state.isprintable() else None
        try:
            single(params, "state")  # repeated or with control characters: invalid_request
            response_type = single(params, "response_type", required=response_type_required)
            # The quickstart's headless POST omits response_type; it then means "code".
            if response_type not in (None, "code"):
                raise UnsupportedResponseType("only response_type=code is supported")
            if "authorization_code" not in client.grant_types:
                raise UnauthorizedClient("this client may not use the authorization code grant")
            challenge = pkce.check_challenge(
                single(params, "code_challenge"), single(params, "code_challenge_method")
            )
            requested = scope_list(single(params, "scope"))
            unknown = [scope for scope in requested if scope not in client.scopes]
            if unknown:
                raise InvalidScope(f"scope not available to this client: {' '.join(unknown)}")
        except OAuthError as error:
            raise AuthorizationFailed(error, redirect_uri, state) from None
        return AuthorizationRequest(
            client, redirect_uri, requested or client.scopes, state, challenge, given
        )

    def decide(self, params: Params, consent: ConsentPolicy, at: Moment) -> Redirect:
        """Answer the consent (approve or deny) for the request in `params`."""
        request = self.check(params, response_type_required=False)
        try:
            decision = single(params, "decision", required=True)
            if decision == "deny":
                raise AccessDenied("the resource owner denied the request")
            if decision != "approve":
                raise InvalidRequest("decision must be approve or deny")
            approval = consent.approve(request.client, params)
        except OAuthError as error:
            raise AuthorizationFailed(error, request.redirect_uri, request.state) from None
        code = randomness.token_hex(20).upper()  # 160 random bits, upper-case hex
        issued = AuthorizationCode(
            code_hash=digest(code),
            grant=Grant(
                request.client.client_id,
                approval.tenant_id,
                approval.subject,
                request.scopes,
                approval.property_ids,
            ),
            redirect_uri=request.redirect_uri,
            redirect_uri_given=request.redirect_uri_given,
            code_challenge=request.code_challenge,
            issued_at=at.now,
            expires_at=at.now + self.lifetimes.code,
        )
        try:
            self.store.add_code(issued, at)
        except SandboxMoved as moved:
            # The client may send the user through again at once (RFC 6749 §4.1.2.1).
            unavailable = TemporarilyUnavailable(f"{moved}; authorize again")
            raise AuthorizationFailed(unavailable, request.redirect_uri, request.state) from None
        return Redirect(
            with_query(
                request.redirect_uri, {"code": code, "state": request.state, "iss": self.issuer}
            )
        )


class AuthorizationFailed(Exception):
    """An error to send back to the client's redirect URI."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(error.description)
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state

    def redirect(self, issuer: str) -> Redirect:
        return Redirect(
            with_query(
                self.redirect_uri,
                {**self.error.as_dict(), "state": self.state, "iss": issuer},
            )
        )


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """Append parameters to a URI, keeping its own query (RFC 6749 §3.1.2)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"
