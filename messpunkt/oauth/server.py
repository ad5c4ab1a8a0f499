"""The authorization server, composed: one object the web layer talks to."""

from __future__ import annotations

from typing import Any

from . import pkce
from .access_tokens import AccessTokens, SigningKey
from .authorization import AuthorizationEndpoint
from .bearer import BearerAuthenticator
from .clients import Client, ClientLookup
from .introspection import Introspection
from .registration import RegistrationEndpoint
from .registrations import ClientDirectory, RegistrationStore
from .revocation import Revocation
from .store import AuthStore, Lifetimes
from .tokens import GRANT_TYPES, TokenEndpoint


class AuthorizationServer:
    """One issuer's endpoints over one store; every call is given the instant it serves."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        clients: dict[str, Client],
        store: AuthStore,
        key: SigningKey,
        lifetimes: Lifetimes,
        access_tokens: AccessTokens | None = None,
        registrations: RegistrationStore | None = None,
    ) -> None:
        """`access_tokens`: shared with the platform, which verifies a request's token
        before it reads the sandbox's state (one round trip for both). `clients`: the
        fixtures; with `registrations`, clients registered there (RFC 7591) too."""
        self.issuer = issuer
        self.clients = clients
        self.store = store
        self.access_tokens = access_tokens or AccessTokens(key, issuer, audience)
        directory: ClientLookup = clients
        self.registration: RegistrationEndpoint | None = None
        if registrations is not None:
            directory = ClientDirectory(clients, registrations)
            self.registration = RegistrationEndpoint(
                issuer, clients, registrations, self.scopes_supported()
            )
        self.authorization = AuthorizationEndpoint(directory, store, lifetimes, issuer)
        self.tokens = TokenEndpoint(directory, store, self.access_tokens, lifetimes)
        self.revocation = Revocation(directory, store, self.access_tokens)
        self.introspection = Introspection(directory, store, self.access_tokens)
        self.bearer = BearerAuthenticator(self.access_tokens, store)

    def metadata(self) -> dict[str, Any]:
        """Describe exactly what this server supports (RFC 8414 §2)."""
        base = self.issuer.rstrip("/")
        registration = {} if self.registration is None else {
            "registration_endpoint": self.registration.endpoint  # RFC 8414 §2, RFC 7591 §3
        }  # fmt: skip
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "introspection_endpoint": f"{base}/oauth/introspect",
            "scopes_supported": list(self.scopes_supported()),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": [
                "none",
                "client_secret_basic",
                "client_secret_post",
            ],
            "revocation_endpoint_auth_methods_supported": [
                "none",
                "client_secret_basic",
                "client_secret_post",
            ],
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": list(pkce.SUPPORTED_METHODS),
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": f"{base}/docs",
            **registration,
        }

    def scopes_supported(self) -> tuple[str, ...]:
        """Name every scope a client of this sandbox may be given."""
        return tuple(sorted({scope for client in self.clients.values() for scope in client.scopes}))
