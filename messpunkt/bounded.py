"""A small thread-safe cache that forgets its oldest entries when full."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """Remember results of a pure computation, first in, first out: up to `size` of them,
    or, with `weigh`, up to `size` in all of what `weigh` says each one holds.

    Reads take no lock (a dict lookup is atomic under the GIL); writers take
    one, so two of them never evict the same entry.
    """

    def __init__(self, size: int, weigh: Callable[[V], int] | None = None) -> None:
        self.size = size
        self._weigh = weigh
        self._items: dict[K, V] = {}
        self._weights: dict[K, int] = {}
        self._held = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        weight = 1 if self._weigh is None else self._weigh(value)
        with self._lock:
            self._held -= self._weights.get(key, 0)  # replaced where it stands, if it is there
            while self._held + weight > self.size:
                oldest = next((k for k in self._items if k != key), None)
                if oldest is None:
                    break  # one heavier than the whole size is kept alone
                self._forget(oldest)
            self._items[key] = value
            self._weights[key] = weight
            self._held += weight

    def discard(self, key: K) -> None:
        with self._lock:
            self._forget(key)

    @property
    def held(self) -> int:
        """What the entries hold in all: their count, or their weights."""
        return self._held

    def _forget(self, key: K) -> None:
        if self._items.pop(key, None) is not None:
            self._held -= self._weights.pop(key)

    def __len__(self) -> int:
        return len(self._items)
