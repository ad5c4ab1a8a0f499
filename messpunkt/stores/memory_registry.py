"""The registry of sandboxes in this process's memory: the embedded default.

Each sandbox is an `InMemoryStore`; an ended one leaves a tombstone, kept
for the last `TOMBSTONES_KEPT` ids (see `messpunkt.sandboxes`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..bounded import BoundedCache
from ..clock import truncate
from ..sandbox import DEFAULT_ID, SandboxState, SandboxStore
from ..sandboxes import (
    RegistryFull,
    SandboxRecord,
    SandboxRegistry,
    SandboxStatus,
    is_sandbox_id,
)
from .memory import InMemoryStore


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
