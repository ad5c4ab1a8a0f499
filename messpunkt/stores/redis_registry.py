"""The registry of sandboxes on Redis: which partner sandboxes exist, until when.

Per partner sandbox S: its state and records (`mp:{S}:…`, see `redis.py`), whose
state key expires with the sandbox (PEXPIREAT, the machine's wall clock); its
registry entry `mp:{S}:meta` (created, expires, first data set); and, once it has
ended, a tombstone `mp:{S}:ended` kept 30 days, so the operator learns it is
gone (410) rather than that it never was (404). `mp:sandboxes` indexes the live
ones, each scored by when its place was taken (Redis's clock); a creation takes
its place there first, under the limit, in one step. Ending a sandbox deletes
every key it has but the tombstone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis

from ..clock import truncate
from ..sandbox import DEFAULT_ID, SandboxState, SandboxStore
from ..sandboxes import (
    RegistryFull,
    SandboxRecord,
    SandboxRegistry,
    SandboxStatus,
    is_sandbox_id,
)
from .redis import RedisStore, _Scripts, open_sandbox
from .redis_records import instant, ms, state_fields

INDEX = "mp:sandboxes"
TOMBSTONE_KEPT = timedelta(days=30)
RESERVATION_KEPT_MS = 60_000  # a place taken with no sandbox made in it yet
# The limit counted and the place taken in one step: KEYS[1] the index; ARGV the most
# allowed, the id. 1 taken, 0 full, -1 the id is listed already. A place is scored with
# Redis's own clock (so is its abandonment, in `_sweep`): one clock for every host.
RESERVE = """
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return -1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], string.format('%.0f', now[1] * 1000 + math.floor(now[2] / 1000)),
           ARGV[2])
return 1
"""


class RedisRegistry(SandboxRegistry):
    def __init__(
        self,
        client: redis.Redis,
        default: SandboxState,
        *,
        wall: Callable[[], datetime],
        limit: int,
        grace: timedelta,
    ) -> None:
        self.client: Any = client
        self._wall = wall
        self._limit = limit
        self._grace = grace
        self._scripts: Any = _Scripts(client)
        self._reserve = client.register_script(RESERVE)
        self._default = open_sandbox(client, DEFAULT_ID, default, grace=grace, wall=wall)
        self._started_at = truncate(wall())

    def store(self, sandbox_id: str) -> SandboxStore | None:
        if sandbox_id == DEFAULT_ID:
            return self._default
        if not is_sandbox_id(sandbox_id):
            return None
        # No round trip here: the request's first read (its state) finds out whether it is
        # still there, for its state key expires with it.
        return RedisStore(
            self.client, sandbox_id, grace=self._grace, scripts=self._scripts, wall=self._wall
        )

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
        created_at = truncate(created_at or self._wall())
        expires_at = truncate(expires_at)
        # Two steps, for the index is the host's key and a sandbox's keys are in its own
        # slot: first a place under the limit, then the sandbox whole. In between, a
        # sweep finds the place without a sandbox, and passes it by.
        reserved = self._take_place(sandbox_id)
        if reserved == 0:
            raise RegistryFull(self._limit)
        taken = ValueError(f"the sandbox id {sandbox_id!r} is taken")
        if reserved == -1:
            raise taken
        fields = [item for pair in state_fields(state).items() for item in pair]
        prefix = f"mp:{{{sandbox_id}}}:"
        made = self._scripts.create_sandbox(
            args=[
                prefix,
                int(self._grace.total_seconds()),
                ms(created_at),
                ms(expires_at),
                state.data_set,
                *fields,
            ]
        )
        if not made:
            self.client.zrem(INDEX, sandbox_id)
            raise taken
        # Paused past RESERVATION_KEPT_MS between the two steps, its place was freed by a
        # sweep: take one again, or undo the sandbox rather than leave it unlisted.
        if self.client.zscore(INDEX, sandbox_id) is None and self._take_place(sandbox_id) == 0:
            self._end(sandbox_id, SandboxStatus.DELETED)
            raise RegistryFull(self._limit)
        return SandboxRecord(sandbox_id, created_at, expires_at, state.data_set,
                             SandboxStatus.ACTIVE)  # fmt: skip

    def _take_place(self, sandbox_id: str) -> int:
        """Take a place in the index under the limit (RESERVE): 1, 0 full, -1 listed."""
        return int(self._reserve(keys=[INDEX], args=[self._limit, sandbox_id]))

    def describe(self, sandbox_id: str) -> SandboxRecord | None:
        if sandbox_id == DEFAULT_ID:
            data_set = self._default.state().data_set
            return SandboxRecord(DEFAULT_ID, self._started_at, None, data_set, SandboxStatus.ACTIVE)
        if not is_sandbox_id(sandbox_id):
            return None
        return self._describe_all([sandbox_id])[0]

    def _describe_all(self, ids: list[str]) -> list[SandboxRecord | None]:
        """Describe partner sandboxes `ids` in one round trip however many they are (a
        creation's sweep and a listing read every sandbox in the index); end each one
        found past its expiry, as `describe` does."""
        pipe = self.client.pipeline(transaction=False)
        for sandbox_id in ids:
            prefix = f"mp:{{{sandbox_id}}}:"
            pipe.hgetall(prefix + "meta")
            pipe.hget(prefix + "sbx", "data_set")
            pipe.hgetall(prefix + "ended")
        replies = pipe.execute()
        return [
            self._described(sandbox_id, *replies[3 * index : 3 * index + 3])
            for index, sandbox_id in enumerate(ids)
        ]

    def _described(
        self, sandbox_id: str, meta: dict[bytes, bytes], data_set: bytes | None,
        ended: dict[bytes, bytes],
    ) -> SandboxRecord | None:  # fmt: skip
        if ended:  # ended, or being ended: its keys are on their way out
            return _record(sandbox_id, ended, None, SandboxStatus(ended[b"status"].decode()))
        if meta:
            record = _record(sandbox_id, meta, data_set, SandboxStatus.ACTIVE)
            if data_set is not None and self._wall() < record.expires_at:  # type: ignore[operator]
                return record
            return self._end(sandbox_id, SandboxStatus.EXPIRED) or self.describe(sandbox_id)
        return None

    def list(self) -> list[SandboxRecord]:
        # Each record found expired is ended here: listing sweeps as it goes.
        found = self._describe_all([sid.decode() for sid in self.client.zrange(INDEX, 0, -1)])
        live = [r for r in found if r is not None and r.status is SandboxStatus.ACTIVE]
        return sorted(live, key=lambda r: (r.created_at, r.id))  # as in memory

    def delete(self, sandbox_id: str) -> bool:
        if not is_sandbox_id(sandbox_id):
            return False
        record = self.describe(sandbox_id)
        if record is None or record.status is not SandboxStatus.ACTIVE:
            return False
        return self._end(sandbox_id, SandboxStatus.DELETED) is not None

    def _sweep(self) -> None:
        """End every sandbox whose expiry has passed (its state key is already gone), and
        free the places nothing holds any more: one a creation took and never filled
        (Redis went away in between), and one an ended sandbox left (the same, after its
        tombstone)."""
        seconds, microseconds = self.client.time()
        abandoned = seconds * 1000 + microseconds // 1000 - RESERVATION_KEPT_MS
        places = self.client.zrange(INDEX, 0, -1, withscores=True)
        records = self._describe_all([sid.decode() for sid, _ in places])
        freed = []
        for (sid, reserved_at), record in zip(places, records, strict=True):
            if record is None:
                held = reserved_at >= abandoned  # a creation may still fill it
            else:
                held = record.status is SandboxStatus.ACTIVE
            if not held:
                freed.append(sid)
        if freed:
            self.client.zrem(INDEX, *freed)

    def _end(self, sandbox_id: str, status: SandboxStatus) -> SandboxRecord | None:
        """Leave a tombstone, then delete every key of the sandbox; None if it had ended.

        Whoever writes the tombstone first ends it (one script, which also drops its entry
        and state), not whoever takes it out of the index: a sandbox whose place there is
        gone can still be ended.
        """
        prefix = f"mp:{{{sandbox_id}}}:"
        meta = self.client.hgetall(prefix + "meta")
        if not meta:
            return None
        data_set = self.client.hget(prefix + "sbx", "data_set")
        record = _record(sandbox_id, meta, data_set, status)
        ended_here = self._scripts.end_sandbox(
            args=[
                prefix,
                int(self._grace.total_seconds()),
                ms(record.created_at),
                ms(record.expires_at or record.created_at),
                record.data_set,
                status.value,
                int(TOMBSTONE_KEPT.total_seconds()),
            ]
        )
        if not ended_here:
            return None  # another worker ended it first
        self.client.zrem(INDEX, sandbox_id)
        ended = (prefix + "ended").encode()
        keys = [k for k in self.client.scan_iter(match=prefix + "*", count=1000) if k != ended]
        if keys:
            self.client.unlink(*keys)
        return record


def _record(
    sandbox_id: str, meta: dict[bytes, bytes], data_set: bytes | None, status: SandboxStatus
) -> SandboxRecord:
    return SandboxRecord(
        sandbox_id,
        instant(meta[b"created_at"]),
        instant(meta[b"expires_at"]),
        (data_set or meta[b"data_set"]).decode(),
        status,
    )
