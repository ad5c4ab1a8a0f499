"""The registry of sandboxes: which exist, until when, and the store of each.

Beside the default sandbox (id "default", today's paths, never expiring),
the operator creates partner sandboxes, each served under `/s/<id>`. A
partner sandbox ends when it is deleted or when its expiry passes on the
machine's wall clock, never on the sandbox's own clock, which its partner
moves at will. An ended sandbox leaves a tombstone, so the operator learns
that it is gone (410) rather than that it never was (404).
"""

from __future__ import annotations

import re
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .sandbox import SandboxState, SandboxStore

# What new_sandbox_id makes: 16 random bytes, base64url without padding.
SANDBOX_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def new_sandbox_id() -> str:
    return secrets.token_urlsafe(16)


def is_sandbox_id(text: str) -> bool:
    """Tell whether `text` has the form of a partner sandbox's id."""
    return SANDBOX_ID.fullmatch(text) is not None


class SandboxStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class SandboxRecord:
    """What the registry tells of a sandbox; instants are the machine's (wall) time."""

    id: str
    created_at: datetime
    expires_at: datetime | None  # None: the default sandbox, which never expires
    data_set: str
    status: SandboxStatus


class NoSuchSandbox(LookupError):
    """No sandbox of this id is served: unknown, malformed, deleted or expired."""


class RegistryFull(Exception):
    """As many partner sandboxes as allowed are alive."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} sandboxes exist, the most allowed")
        self.limit = limit


class SandboxRegistry(ABC):
    """The sandboxes a platform serves, the default one among them.

    Every operation takes any string as an id: one that is neither "default"
    nor of the form `new_sandbox_id` makes is unknown, and is never looked up.
    The default sandbox is never listed, never deleted and never expires.
    """

    @abstractmethod
    def store(self, sandbox_id: str) -> SandboxStore | None:
        """Return a live sandbox's store; None when unknown, deleted or expired."""

    @abstractmethod
    def create(
        self,
        sandbox_id: str,
        state: SandboxState,
        expires_at: datetime,
        *,
        created_at: datetime | None = None,
    ) -> SandboxRecord:
        """Add a partner sandbox in `state`, created now unless told; raise RegistryFull
        past the limit."""

    @abstractmethod
    def describe(self, sandbox_id: str) -> SandboxRecord | None:
        """Describe a sandbox, live or ended; None when there never was one (or long ago)."""

    @abstractmethod
    def list(self) -> list[SandboxRecord]:
        """Return the live partner sandboxes, oldest first."""

    @abstractmethod
    def delete(self, sandbox_id: str) -> bool:
        """End a live partner sandbox and drop its records now; False when there is none."""
