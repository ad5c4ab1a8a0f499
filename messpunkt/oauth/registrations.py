"""Dynamically registered clients: the stored record and the store's operations for them.

A registration (RFC 7591) is kept in its sandbox's store beside the sessions,
with its secret and its registration access token as SHA-256 digests only.
It outlives `reset` (a reset forgets grants, not who may ask for them) and is
dropped when the sandbox switches data set, whose tenants its binding named.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .client_metadata import ClientMetadata
from .clients import Client, ClientType
from .store import Moment


@dataclass(frozen=True, slots=True)
class Registration:
    client_id: str
    metadata: ClientMetadata
    secret_hash: str | None
    # The registration access token's digest (RFC 7592 §1): it reads, updates, deletes.
    access_token_hash: str
    issued_at: datetime

    @property
    def grant_basis(self) -> str:
        """What the client's sessions were granted under: its scopes, grant types, tenant
        and properties, in a canonical text a store can keep and compare (`sessions_end`).
        Not its name, redirect URIs or how it sends its secret."""
        meta = self.metadata
        basis = [sorted(meta.scopes), sorted(meta.grant_types), meta.tenant_id,
                 sorted(meta.property_ids)]  # fmt: skip
        return json.dumps(basis, separators=(",", ":"))

    def client(self) -> Client:
        """Return the client the OAuth endpoints authenticate and authorize."""
        meta = self.metadata
        return Client(
            client_id=self.client_id,
            name=meta.client_name or self.client_id,
            type=ClientType.CONFIDENTIAL if meta.is_confidential else ClientType.PUBLIC,
            redirect_uris=meta.redirect_uris,
            grant_types=frozenset(meta.grant_types),
            scopes=meta.scopes,
            secret_hash=self.secret_hash,
            tenant_id=meta.tenant_id,
            property_ids=meta.property_ids,
            access_token_ttl=None,
            auth_method=meta.token_endpoint_auth_method,
            registered=True,
        )


def metadata_json(metadata: ClientMetadata) -> str:
    """Return the metadata as a store keeps it."""
    return json.dumps(metadata.document(), separators=(",", ":"))


def metadata_from_json(text: str | bytes) -> ClientMetadata:
    """Read back what `metadata_json` wrote (already checked when it was registered)."""
    found = json.loads(text)
    return ClientMetadata(
        client_name=found.get("client_name"),
        redirect_uris=tuple(found["redirect_uris"]),
        token_endpoint_auth_method=found["token_endpoint_auth_method"],
        grant_types=tuple(found["grant_types"]),
        response_types=tuple(found["response_types"]),
        scopes=tuple(found["scope"].split()),
        tenant_id=found.get("tenant_id"),
        property_ids=tuple(found.get("property_ids", ())),
    )


# The most clients one sandbox keeps registered: enough for any integration's
# environments, and a bound on what a leaked admin key can make the store hold.
MOST_REGISTERED = 100

# Why a session ends when its client's registration changes its credential, or what the
# client may be granted.
CREDENTIAL_CHANGED = "client credential changed"
GRANTS_CHANGED = "client registration changed what it may be granted"


def sessions_end(before: Registration, after: Registration) -> str | None:
    """Return why replacing `before` with `after` ends every session of the client, if it does.

    A changed secret: the refresh tokens were bound to the old credential. A change to what
    the client may be granted, either way: the sessions were granted under the old terms (a
    scope taken away would stay in every refresh), and its users consent again.
    """
    if before.secret_hash != after.secret_hash:
        return CREDENTIAL_CHANGED
    if before.grant_basis != after.grant_basis:
        return GRANTS_CHANGED
    return None


class SandboxGone(LookupError):
    """The store's sandbox was deleted or expired while a request was using it."""


class TooManyRegistrations(Exception):
    """The sandbox keeps as many registered clients as allowed."""

    def __init__(self, most: int) -> None:
        super().__init__(f"this sandbox has {most} registered clients, the most it keeps")
        self.most = most


class RegistrationStore(ABC):
    """A sandbox's registered clients; each change is one atomic step."""

    @abstractmethod
    def add_registration(
        self, registration: Registration, at: Moment, most: int = MOST_REGISTERED
    ) -> bool:
        """Keep a new registration, issued `at`; False (and nothing kept) when its client_id
        is taken. Raise SandboxGone when the sandbox itself is gone: no other id would do
        better; TooManyRegistrations when it already keeps `most` (counted in the same step);
        SandboxMoved when the sandbox changed since `at` was read (a data-set choice would
        otherwise keep a client bound to the tenants of the data set it replaced)."""

    @abstractmethod
    def registration(self, client_id: str) -> Registration | None:
        """Read one registration."""

    @abstractmethod
    def replace_registration(self, registration: Registration, at: Moment) -> bool:
        """Replace a registration's metadata and secret (RFC 7592 §2.2); False if it is gone.
        When the secret changes (issued, or dropped for `none`), every session of the client
        is revoked in the same step: its refresh tokens were bound to the old credential.
        SandboxGone and SandboxMoved as for `add_registration`."""

    @abstractmethod
    def delete_registration(self, client_id: str, now: datetime) -> bool:
        """Forget a registration and revoke every session of its client in the same step,
        so none of its refresh or access tokens works again (RFC 7592 §2.3)."""

    @abstractmethod
    def registrations(self) -> Sequence[Registration]:
        """Read every registration, in the order they were added."""


class ClientDirectory:
    """The clients of one sandbox: its data set's fixtures, then those registered in its store.

    Fixtures are looked up first, so no registration can stand in for a fixture client;
    only an id that is not a fixture's costs a read of the store.
    """

    def __init__(self, fixtures: dict[str, Client], store: RegistrationStore) -> None:
        self.fixtures = fixtures
        self.store = store

    def get(self, client_id: str, /) -> Client | None:
        found = self.fixtures.get(client_id)
        if found is not None:
            return found
        registration = self.store.registration(client_id)
        return None if registration is None else registration.client()
