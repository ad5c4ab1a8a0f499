"""The request log's writes to Redis: many per round trip, from one thread per process.

Written on the request's own thread, after its answer, an entry cost a /v1 request a
second round trip (one Lua script), and that thread let go of the GIL for it. Here
entries join a queue, and one writer thread sends whatever has gathered (a group
commit): one script per sandbox writes all of its entries, and the scripts of all
sandboxes go as one pipeline. Under load many entries share a round trip and a
script, and no request thread waits on Redis for its entry. A read of the log first
waits until the entries this process queued before it are written, so a partner
reads its own calls; another worker's follow within its own writer's round trip.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

import redis

log = logging.getLogger(__name__)
# Entries one script writes at most (Lua's `unpack` has a limit of a few thousand).
MOST_PER_SCRIPT = 500


class LoggingStore(Protocol):
    client: redis.Redis
    prefix: str  # the sandbox's keys' prefix: stores with the same one are the same sandbox

    def queue_log(self, pipe: Any, keep: int, entries: Sequence[bytes]) -> None: ...

    def write_log(self, keep: int, entries: Sequence[bytes]) -> None: ...


class LogWriter:
    """A queue of log entries and the thread that writes them (`add`, `wait`)."""

    WAIT = 2.0  # seconds a reader waits for its process's entries at most
    # Seconds the writer waits, once woken, for more entries to join its batch. `make bench
    # --hosted-only`, whoami on Redis with 1 worker: 1,218 req/s without it, 1,418 with it
    # (1.3 against 1.1 round trips and 853 against 738 µs of server CPU per request).
    LINGER = 0.002

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._queue: deque[tuple[LoggingStore, int, bytes]] = deque()
        self._queued = self._written = 0
        threading.Thread(target=self._run, name="request-log", daemon=True).start()

    def add(self, store: LoggingStore, keep: int, entry: bytes) -> None:
        with self._changed:
            self._queue.append((store, keep, entry))
            self._queued += 1
            self._changed.notify_all()

    def wait(self) -> None:
        """Return once every entry queued before this call is written (or failed)."""
        with self._changed:
            target = self._queued
            self._changed.wait_for(lambda: self._written >= target, self.WAIT)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._queue))
            time.sleep(self.LINGER)  # let the entries of requests in flight join this batch
            with self._changed:
                batch = list(self._queue)
                self._queue.clear()
            by_client: dict[int, list[tuple[LoggingStore, int, bytes]]] = {}
            for item in batch:
                by_client.setdefault(id(item[0].client), []).append(item)
            try:
                for items in by_client.values():
                    _write(items)
            except Exception:  # the writer must outlive any one batch
                log.exception("request log: %d entries lost", len(batch))
            with self._changed:
                self._written += len(batch)
                self._changed.notify_all()


def _write(items: list[tuple[LoggingStore, int, bytes]]) -> None:
    """Send `items` (all on one client) as one pipeline of one script per sandbox, in the
    order they came; an entry that fails is lost, as an answer already sent cannot fail
    any more.

    One script per entry was a command, an argument list, a reply and six commands
    in Redis each: in batches of 15 (as under load), 8.8 µs of the writer's CPU per
    entry, now 2.9, and Redis runs six commands per batch instead of per entry.
    """
    with contextlib.suppress(redis.RedisError):
        groups: dict[tuple[str, int], tuple[LoggingStore, list[bytes]]] = {}
        for store, keep, entry in items:
            groups.setdefault((store.prefix, keep), (store, []))[1].append(entry)
        calls = [
            (store, keep, entries[start : start + MOST_PER_SCRIPT])
            for (_, keep), (store, entries) in groups.items()
            for start in range(0, len(entries), MOST_PER_SCRIPT)
        ]
        pipe = items[0][0].client.pipeline(transaction=False)
        for store, keep, entries in calls:
            store.queue_log(pipe, keep, entries)
        answers = pipe.execute(raise_on_error=False)
        for (store, keep, entries), answer in zip(calls, answers, strict=True):
            if isinstance(answer, redis.exceptions.NoScriptError):
                store.write_log(keep, entries)  # loads the script (Redis restarted or flushed)


_writers: dict[int, LogWriter] = {}
_lock = threading.Lock()


def writer() -> LogWriter:
    """This process's writer (a forked worker starts its own: threads do not survive fork)."""
    pid = os.getpid()
    found = _writers.get(pid)
    if found is None:
        with _lock:
            found = _writers.get(pid) or _writers.setdefault(pid, LogWriter())
    return found
