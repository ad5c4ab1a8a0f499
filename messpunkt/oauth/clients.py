"""Registered clients and their authentication (RFC 6749 §2.3)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum

from .store import digest


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

    @property
    def is_confidential(self) -> bool:
        return self.type is ClientType.CONFIDENTIAL

    def verify_secret(self, secret: str) -> bool:
        """Compare a presented secret with the stored hash in constant time."""
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)

    def allows_redirect_uri(self, redirect_uri: str) -> bool:
        # OAuth 2.1 §2.3.1 / RFC 9700 §4.1.3: exact string comparison, nothing looser.
        return redirect_uri in self.redirect_uris


def hash_secret(secret: str) -> str:
    """Return the stored form of a client secret (high-entropy, so one SHA-256 suffices)."""
    return "sha256:" + digest(secret)
