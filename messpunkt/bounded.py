"""A small thread-safe cache that forgets its oldest entry when full."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """Remember up to `size` results of a pure computation, first in, first out.

    Reads take no lock (a dict lookup is atomic under the GIL); writers take
    one, so two of them never evict the same entry.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if key not in self._items and len(self._items) >= self.size:
                del self._items[next(iter(self._items))]
            self._items[key] = value

    def discard(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)
