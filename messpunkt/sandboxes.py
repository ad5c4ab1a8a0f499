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
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .bounded import BoundedCache
from .clock import truncate
from .sandbox import DEFAULT_ID, SandboxState, SandboxStore
from .stores.memory import InMemoryStore

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


@dataclass(frozen=True, slots=True)
class _Live:
    store: InMemoryStore
    created_at: datetime
    expires_at: datetime


class InMemoryRegistry(SandboxRegistry):
    """Sandboxes in this process's memory, each an `InMemoryStore`."""

    # Tombstones kept, oldest forgotten first: an id ended that long ago is a 404.
    TOMBSTONES_KEPT = 10_000

    def __init__(self, default: SandboxState, *, wall: Callable[[], datetime], limit: int) -> None:
        self._wall = wall
        self._limit = limit
        self._default = InMemoryStore(default)
        self._started_at = truncate(wall())
        self._live: dict[str, _Live] = {}
        self._ended: BoundedCache[str, SandboxRecord] = BoundedCache(self.TOMBSTONES_KEPT)
        self._lock = threading.Lock()

    def store(self, sandbox_id: str) -> SandboxStore | None:
        if sandbox_id == DEFAULT_ID:
            return self._default
        live = self._live.get(sandbox_id) if is_sandbox_id(sandbox_id) else None
        if live is None:
            return None
        if self._wall() >= live.expires_at:
            self._end(sandbox_id, SandboxStatus.EXPIRED)
            return None
        return live.store

    def create(
        self,
        sandbox_id: str,
        state: SandboxState,
        expires_at: datetime,
        *,
        created_at: datetime | None = None,
    ) -> SandboxRecord:
        if not is_sandbox_id(sandbox_id):
            raise ValueError(f"not a sandbox id: {sandbox_id!r}")
        self._sweep()
        with self._lock:
            if sandbox_id in self._live or self._ended.get(sandbox_id) is not None:
                raise ValueError(f"the sandbox id {sandbox_id!r} is taken")
            if len(self._live) >= self._limit:
                raise RegistryFull(self._limit)
            created_at = truncate(created_at or self._wall())
            live = _Live(InMemoryStore(state), created_at, truncate(expires_at))
            self._live[sandbox_id] = live
        return self._record(sandbox_id, live, SandboxStatus.ACTIVE)

    def describe(self, sandbox_id: str) -> SandboxRecord | None:
        if sandbox_id == DEFAULT_ID:
            data_set = self._default.state().data_set
            return SandboxRecord(DEFAULT_ID, self._started_at, None, data_set, SandboxStatus.ACTIVE)
        if not is_sandbox_id(sandbox_id):
            return None
        self.store(sandbox_id)  # ends it first if it has just expired
        live = self._live.get(sandbox_id)
        if live is not None:
            return self._record(sandbox_id, live, SandboxStatus.ACTIVE)
        return self._ended.get(sandbox_id)

    def list(self) -> list[SandboxRecord]:
        self._sweep()
        records = [self._record(i, live, SandboxStatus.ACTIVE) for i, live in self._snapshot()]
        return sorted(records, key=lambda r: (r.created_at, r.id))

    def delete(self, sandbox_id: str) -> bool:
        if not is_sandbox_id(sandbox_id):
            return False
        return self._end(sandbox_id, SandboxStatus.DELETED)

    def _sweep(self) -> None:
        """End every sandbox whose expiry has passed."""
        wall = self._wall()
        for sandbox_id, live in self._snapshot():
            if wall >= live.expires_at:
                self._end(sandbox_id, SandboxStatus.EXPIRED)

    def _snapshot(self) -> tuple[tuple[str, _Live], ...]:
        with self._lock:  # another thread may add or end one meanwhile
            return tuple(self._live.items())

    def _end(self, sandbox_id: str, status: SandboxStatus) -> bool:
        with self._lock:
            live = self._live.pop(sandbox_id, None)
            if live is None:
                return False
            self._ended.put(sandbox_id, self._record(sandbox_id, live, status))
        # A request still holding the store must not keep the records alive either.
        live.store.end()
        return True

    @staticmethod
    def _record(sandbox_id: str, live: _Live, status: SandboxStatus) -> SandboxRecord:
        data_set = live.store.state().data_set
        return SandboxRecord(sandbox_id, live.created_at, live.expires_at, data_set, status)
