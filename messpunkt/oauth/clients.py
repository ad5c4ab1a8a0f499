"""Registered clients and their authentication (RFC 6749 §2.3)."""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from urllib.parse import unquote_plus

from .errors import InvalidClient, InvalidRequest
from .params import Params, single
from .store import Lifetimes, digest

# The longest access token lifetime a client may have: a session's default absolute cap
# (30 days), past which no access token of it lives anyway; longer ones overflowed `timedelta`.
MAX_ACCESS_TOKEN_TTL = int(Lifetimes().session.total_seconds())


class ClientType(StrEnum):
    PUBLIC = "public"
    CONFIDENTIAL = "confidential"


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    name: str
    type: ClientType
    redirect_uris: tuple[str, ...]
    grant_types: frozenset[str]
    scopes: tuple[str, ...]
    secret_hash: str | None
    # Set for clients bound to one tenant (service clients, a tenant's own ERP).
    tenant_id: str | None
    property_ids: tuple[str, ...]
    access_token_ttl: int | None
    # The one method a registered client authenticates with (RFC 7591 §2); None for a
    # fixture client, which may use either of the secret methods.
    auth_method: str | None = None
    # Registered through /oauth/register (RFC 7591), not one of the data set's fixtures.
    registered: bool = False

    @property
    def is_confidential(self) -> bool:
        return self.type is ClientType.CONFIDENTIAL

    def verify_secret(self, secret: str) -> bool:
        """Compare a presented secret with the stored hash in constant time."""
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)

    def allows_redirect_uri(self, redirect_uri: str) -> bool:
        # OAuth 2.1 §2.3.1 / RFC 9700 §4.1.3: exact string comparison, nothing looser...
        if redirect_uri in self.redirect_uris:
            return True
        # ...but for a registered client's http loopback IP URIs, whose port a native app
        # picks at request time: RFC 8252 §7.3 (and OAuth 2.1 §8.4.2) has any port allowed.
        # Not for `localhost`, which a name lookup could send elsewhere (RFC 8252 §8.3).
        if not self.registered:
            return False
        requested = loopback_without_port(redirect_uri)
        return requested is not None and any(
            loopback_without_port(uri) == requested for uri in self.redirect_uris
        )


LOOPBACK_IPS = ("127.0.0.1", "[::1]")
_PORT = re.compile(r"[0-9]{1,5}")


def loopback_without_port(uri: str) -> str | None:
    """Return an http URI on a loopback IP literal with its port left out; None for any
    other URI. Everything else is kept as written, so only the port may differ."""
    scheme = "http://"
    if not uri.startswith(scheme) or not uri.isprintable() or any(c in uri for c in " \\"):
        return None
    rest = uri[len(scheme) :]
    for host in LOOPBACK_IPS:
        if not rest.startswith(host):
            continue
        after = rest[len(host) :]
        if after.startswith(":"):
            port = _PORT.match(after[1:])
            if port is None or int(port.group()) > 65535:
                return None
            after = after[1 + port.end() :]
        if after[:1] in ("", "/", "?"):
            return scheme + host + after
    return None


def hash_secret(secret: str) -> str:
    """Return the stored form of a client secret (high-entropy, so one SHA-256 suffices)."""
    return "sha256:" + digest(secret)


class ClientLookup(Protocol):
    def get(self, client_id: str, /) -> Client | None:
        """Return the client with this id, if there is one."""


def authenticate_client(clients: ClientLookup, params: Params, authorization: str | None) -> Client:
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
    used = "client_secret_basic" if basic is not None else "client_secret_post"
    if client.is_confidential and client.auth_method not in (None, used):
        # RFC 7591 §2: the client registered one token_endpoint_auth_method.
        raise InvalidClient(f"this client authenticates with {client.auth_method}")
    return client


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII text, or not UTF-8 bytes
        raise InvalidClient("malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)
