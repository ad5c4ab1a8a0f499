"""Client registration (RFC 7591) and its management (RFC 7592), without HTTP.

The sandbox's admin key is the initial access token (RFC 7591 §3, checked by
the web layer); each registration gets its own registration access token for
its client configuration endpoint, `registration_client_uri`.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from . import randomness
from .client_metadata import ClientMetadata, Tenancy, parse_metadata, require_utf8
from .clients import Client, hash_secret
from .errors import InvalidClientMetadata, InvalidToken, ServerError
from .registrations import Registration, RegistrationStore
from .store import Moment, digest

# Registered ids read apart from the fixtures' names, and are 128 random bits.
CLIENT_ID_PREFIX = "mpc-"
# Ids drawn before giving up: 128 random bits collide this often only if the randomness
# is broken, and then another round would not help either.
ID_DRAWS = 5


class RegistrationEndpoint:
    def __init__(
        self,
        issuer: str,
        fixtures: dict[str, Client],
        store: RegistrationStore,
        scopes_offered: Sequence[str],
    ) -> None:
        self.endpoint = f"{issuer.rstrip('/')}/oauth/register"
        self.fixtures = fixtures
        self.store = store
        self.scopes_offered = tuple(scopes_offered)

    def register(self, document: object, tenancy: Tenancy, at: Moment) -> dict[str, Any]:
        """Register a client (RFC 7591 §3.1); the answer holds its secret, this once."""
        metadata = parse_metadata(document, self.scopes_offered, tenancy)
        secret = randomness.token_urlsafe(32) if metadata.is_confidential else None
        token = randomness.token_urlsafe(32)
        for _ in range(ID_DRAWS):
            client_id = CLIENT_ID_PREFIX + randomness.token_urlsafe(16)
            if client_id in self.fixtures:
                continue  # never a fixture client's id, however unlikely
            registration = Registration(
                client_id, metadata, secret and hash_secret(secret), digest(token), at.now
            )
            # SandboxGone (deleted or expired meanwhile) goes up: no other id would help.
            if self.store.add_registration(registration, at):
                return self.document(registration, token, secret)
        raise ServerError(f"no unused client_id in {ID_DRAWS} draws; nothing was registered")

    def read(self, client_id: str, token: str) -> dict[str, Any]:
        """Describe a registration to the holder of its token (RFC 7592 §2.1)."""
        return self.document(self._authorized(client_id, token), token, None)

    def update(
        self, client_id: str, token: str, document: object, tenancy: Tenancy, at: Moment
    ) -> dict[str, Any]:
        """Replace every metadata field (RFC 7592 §2.2): what the request leaves out goes
        back to its default. A secret is issued only to a client that had none. A changed
        secret (issued, or dropped for `none`) ends every session of the client."""
        current = self._authorized(client_id, token)
        if not isinstance(document, dict):
            raise InvalidClientMetadata("the body must be a JSON object of client metadata")
        require_utf8(document)  # before the secret is hashed to be compared
        if document.get("client_id") != client_id:
            raise InvalidClientMetadata("client_id must be given, and be this client's")
        presented = document.get("client_secret")
        if presented is not None and not (
            isinstance(presented, str) and current.client().verify_secret(presented)
        ):
            # §2.2: a client_secret in the request must be the current one; it is never set.
            raise InvalidClientMetadata("client_secret does not match this client's secret")
        metadata = parse_metadata(document, self.scopes_offered, tenancy)
        secret, secret_hash = _secret_for(metadata, current)
        replaced = Registration(
            client_id, metadata, secret_hash, current.access_token_hash, current.issued_at
        )
        if not self.store.replace_registration(replaced, at):
            raise InvalidToken("the registration access token is not valid for this client")
        return self.document(replaced, token, secret)

    def delete(self, client_id: str, token: str, now: datetime) -> None:
        """Forget the client and end its sessions (RFC 7592 §2.3)."""
        self._authorized(client_id, token)
        if not self.store.delete_registration(client_id, now):
            raise InvalidToken("the registration access token is not valid for this client")

    def _authorized(self, client_id: str, token: str) -> Registration:
        # RFC 7592 §2: an unknown client and a wrong token are the same 401, so that
        # nobody learns which client ids exist.
        found = None if client_id in self.fixtures else self.store.registration(client_id)
        if found is None or not hmac.compare_digest(digest(token), found.access_token_hash):
            raise InvalidToken("the registration access token is not valid for this client")
        return found

    def document(
        self, registration: Registration, token: str, secret: str | None
    ) -> dict[str, Any]:
        """Answer as RFC 7591 §3.2.1 and RFC 7592 §3 say: the metadata, the client's
        id and, when just issued, its secret; the token the caller holds, and where to use it."""
        meta: ClientMetadata = registration.metadata
        found: dict[str, Any] = {
            "client_id": registration.client_id,
            "client_id_issued_at": int(registration.issued_at.timestamp()),
        }
        if secret is not None:
            found["client_secret"] = secret
        if meta.is_confidential:
            found["client_secret_expires_at"] = 0  # never expires
        return {
            **found,
            "registration_access_token": token,
            "registration_client_uri": f"{self.endpoint}/{registration.client_id}",
            **meta.document(),
        }


def _secret_for(metadata: ClientMetadata, current: Registration) -> tuple[str | None, str | None]:
    """Return a newly issued secret (or None) and the secret's digest after an update."""
    if not metadata.is_confidential:
        return None, None
    if current.secret_hash is not None:
        return None, current.secret_hash
    secret = randomness.token_urlsafe(32)
    return secret, hash_secret(secret)
