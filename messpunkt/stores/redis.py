"""The Redis store: one sandbox's state on a Redis server (7.0 or later, or Valkey).

Every multi-step change is one Lua script (`lua/*.lua`), never WATCH/MULTI,
which tears under contention: a script runs alone on the server, so its
checks and its writes are one step for every worker and every host. Every
key carries the sandbox's hash tag, `mp:{<sandbox id>}:`, so a sandbox lives
in one Redis Cluster slot. Records carry the sandbox's generation: a reset
bumps it and every older record is unreachable at once.

Instants are sandbox-clock milliseconds. Real-time TTLs only collect the
garbage (a record's own lifetime plus `grace`); whether something is valid is
always decided against the sandbox's clock, inside the script. While that clock
is frozen, real time runs on and a lifetime says nothing about when a record
may go: records are then kept as long as the sandbox lives, or FROZEN_KEEP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..clock import ClockState, system_time
from ..faults import MOST_ARMED, Fault
from ..oauth.registrations import (
    CREDENTIAL_CHANGED,
    GRANTS_CHANGED,
    MOST_REGISTERED,
    Registration,
    SandboxGone,
    TooManyRegistrations,
    metadata_json,
)
from ..oauth.store import (
    Access,
    AuthorizationCode,
    CodeAttempt,
    Grant,
    Issue,
    Issued,
    Moment,
    NewSession,
    RefreshToken,
    Refusal,
    Refused,
    SandboxMoved,
    Session,
    SessionKind,
    newest_first,
)
from ..sandbox import LoggedRequest, SandboxState, SandboxStore
from .redis_log import writer
from .redis_records import (
    CLIENT_FIELDS,
    MILLISECOND,
    SESSION_FIELDS,
    clock_fields,
    instant,
    ms,
    opening,
    optional_instant,
    registration_from,
    session_from,
    state_fields,
    state_from,
    stored_fields,
)


class _Scripts:
    """The Lua scripts, each with the shared functions before it, loaded once per client."""

    NAMES = (
        "add_code", "redeem_code", "start_session", "rotate_refresh_token",
        "revoke_refresh_token", "revoke_session", "revoke_access_token", "reset",
        "move_clock", "personal_token", "add_registration", "replace_registration",
        "delete_registration", "log_request", "arm_fault", "take_fault",
        "create_sandbox", "end_sandbox",
    )  # fmt: skip

    def __init__(self, client: redis.Redis) -> None:
        lua = files(__package__) / "lua"
        common = (lua / "common.lua").read_text(encoding="utf-8")
        for name in self.NAMES:
            body = (lua / f"{name}.lua").read_text(encoding="utf-8")
            setattr(self, name, client.register_script(common + "\n" + body))


class RedisStore(SandboxStore):
    """The store of sandbox `sandbox_id` on `client` (decode_responses must be off)."""

    def __init__(
        self,
        client: redis.Redis,
        sandbox_id: str,
        *,
        grace: timedelta = timedelta(minutes=10),
        scripts: _Scripts | None = None,
        first: SandboxState | None = None,
        wall: Callable[[], datetime] = system_time,
    ) -> None:
        """`first`: the state to (re)make the sandbox with when the store has none for it,
        as after a restart of a Redis that kept nothing (the default sandbox). `wall`: the
        machine's clock, read to tell which fault rules a reset ends."""
        self._wall = wall
        # redis-py's own annotations do not say that replies are bytes; ours do.
        self.client: Any = client
        self.sandbox_id = sandbox_id
        self.prefix = f"mp:{{{sandbox_id}}}:"
        self._grace = str(int(grace.total_seconds()))
        self._scripts: Any = scripts or _Scripts(client)
        self._first = first

    @classmethod
    def create(
        cls, client: redis.Redis, sandbox_id: str, state: SandboxState, **kw: Any
    ) -> RedisStore:
        """Write a new sandbox's state and return its store."""
        store = cls(client, sandbox_id, **kw)
        store.client.hset(store.prefix + "sbx", mapping=state_fields(state))
        return store

    def _gone(self) -> SandboxGone:
        """The sandbox was deleted or expired (its state key is gone), or never was."""
        return SandboxGone(f"no sandbox {self.sandbox_id!r} in the store")

    def _run(self, script: str, *args: object) -> Any:
        return getattr(self._scripts, script)(args=[self.prefix, self._grace, *args])

    def _stamped(self, script: str, at: Moment, *args: object) -> Any:
        """Run a step that writes records stamped with `at.now` (ARGV[3]); its script
        refuses unless the sandbox is as the request read it (common.lua `as_read`)."""
        clock = clock_fields(at.clock)
        read = f"{at.generation}|{clock['frozen_at']}|{clock['offset']}"
        answer = self._run(script, ms(at.now), *args, read)
        if answer[0] == b"gone":
            if self._first is not None:  # the default's state lost (a Redis restarted empty):
                raise SandboxMoved()  # never "not served", and made again by the next read
            raise self._gone()
        if answer[0] == b"moved":
            raise SandboxMoved()
        return answer

    # The sandbox

    def state(self) -> SandboxState:
        return self._found(self.client.hgetall(self.prefix + "sbx"))

    def _found(self, fields: dict[bytes, bytes]) -> SandboxState:
        """The state read, made again first if it is the default sandbox's and gone."""
        if not fields.get(b"gen") and self._first is not None:
            self.make(self._first)
            fields = self.client.hgetall(self.prefix + "sbx")
        if not fields.get(b"gen"):
            raise self._gone()
        ends = fields.get(b"ends")  # a partner's: expired on the machine's clock, as listed
        if ends is not None and int(ends) <= ms(self._wall()):
            raise self._gone()
        return state_from(fields)

    def make(self, first: SandboxState) -> None:
        """Write `first` as the sandbox's state where it has none yet, field by field, so
        workers that start (or find it gone) together agree; the given admin key wins."""
        pipe = self.client.pipeline(transaction=False)
        for name, value in state_fields(first).items():
            pipe.hsetnx(self.prefix + "sbx", name, value)
        # It may have been changed in the configuration since the sandbox was made.
        pipe.hset(self.prefix + "sbx", "admin_key_hash", first.admin_key_hash)
        pipe.execute()

    def move_clock(self, change: Callable[[ClockState], ClockState]) -> SandboxState:
        while True:  # compare-and-set: retried only when another request moved it first
            current = self.state()
            moved = change(current.clock)
            old, new = clock_fields(current.clock), clock_fields(moved)
            swapped = self._run(
                "move_clock", old["frozen_at"], old["offset"], new["frozen_at"], new["offset"]
            )
            if swapped:
                if moved.frozen:  # again on every move: one that failed is done by the next
                    self._keep_while_frozen()
                return replace(current, clock=moved)

    def _keep_while_frozen(self) -> None:
        """Give every record made while the clock ran the TTL of one made while it stands
        (common.lua's `expire`), never a shorter one: one made since has it already.

        Garbage collection only, so not one step with the freeze: SCAN walks the keyspace
        in slices (as ending a sandbox does) rather than blocking Redis in a script.
        """
        left = self.client.ttl(self.prefix + "sbx")
        keep = left if left > 0 else int(FROZEN_KEEP.total_seconds())
        pipe = self.client.pipeline(transaction=False)
        for key in self.client.scan_iter(match=self.prefix + "*", count=1000):
            pipe.expire(key, keep, gt=True)  # a key kept for good stays so
            if len(pipe) >= 1000:  # in slices too: a large sandbox is not held in one
                pipe.execute()
        pipe.execute()

    def reset(self, data_set: str | None = None, document: bytes | None = None) -> SandboxState:
        while True:  # compare-and-set on the clock, as move_clock: the rules ended by now go
            current = self.state()
            now = current.clock.now(self._wall())
            ended = [fault.id for fault in current.faults if fault.ended(now)]
            old, new = clock_fields(current.clock), clock_fields(current.clock.reset())
            fields = self._run(
                "reset", new["frozen_at"], new["offset"], data_set or "",
                old["frozen_at"], old["offset"], document or b"", *ended,
            )  # fmt: skip
            if fields == 0:
                continue  # another request moved the clock first
            if not fields:
                raise self._gone()
            return state_from(dict(zip(fields[::2], fields[1::2], strict=True)))

    def data_set_document(self, name: str) -> bytes | None:
        found: bytes | None = self.client.get(self.prefix + "ds:" + name)
        return found

    def log_request(self, logged: LoggedRequest, keep: int) -> None:
        writer().add(self, keep, orjson.dumps(logged.entry()))  # written by this process's writer

    def queue_log(self, pipe: Any, keep: int, entries: Sequence[bytes]) -> None:
        """Add one script writing `entries` (oldest first) to `pipe` (see `redis_log`)."""
        sha = self._scripts.log_request.sha
        pipe.evalsha(sha, 0, self.prefix, self._grace, keep, *entries)

    def write_log(self, keep: int, entries: Sequence[bytes]) -> None:
        self._run("log_request", keep, *entries)

    def arm_fault(self, fault: Fault) -> bool:
        count = "" if fault.count is None else fault.count
        armed = self._run("arm_fault", fault.id, fault.to_json(), count, MOST_ARMED)
        if armed == -1:
            raise self._gone()
        return bool(armed)

    def disarm_fault(self, fault_id: str) -> bool:
        found = self.client.hdel(self.prefix + "sbx", "f:" + fault_id, "fc:" + fault_id)
        return bool(found)

    def take_fault(self, fault_id: str) -> bool:
        return bool(self._run("take_fault", fault_id))

    def requests(self) -> list[dict[str, Any]]:
        writer().wait()  # this process's own entries first: a partner reads its own calls
        found = []
        for raw in self.client.lrange(self.prefix + "log", 0, -1):
            entry_id, _, entry = raw.partition(b" ")
            found.append({"id": entry_id.decode(), **orjson.loads(entry)})
        return found

    # Codes

    def add_code(self, code: AuthorizationCode, at: Moment) -> None:
        grant = code.grant
        self._stamped(
            "add_code", at, code.code_hash, grant.client_id, grant.tenant_id,
            grant.subject, " ".join(grant.scopes), " ".join(grant.property_ids),
            "1" if code.redirect_uri_given else "0", code.redirect_uri, code.code_challenge,
            ms(code.issued_at), ms(code.expires_at),
        )  # fmt: skip

    def redeem_code(
        self, code_hash: str, attempt: CodeAttempt, new: NewSession, issue: Issue, at: Moment
    ) -> Issued | Refused:
        placeholder = Grant("", "", "", (), ())  # the script takes the code's own grant
        answer = self._stamped(
            "redeem_code", at, code_hash, attempt.client_id, attempt.redirect_uri or "",
            attempt.verifier_challenge or "", *opening(new, placeholder, issue),
        )  # fmt: skip
        return self._outcome(answer)

    # Sessions

    def start_session(
        self, new: NewSession, grant: Grant, issue: Issue, at: Moment
    ) -> Issued | Refused:
        return self._outcome(self._stamped("start_session", at, *opening(new, grant, issue)))

    def rotate_refresh_token(
        self,
        token_hash: str,
        client_id: str,
        scopes: tuple[str, ...],
        issue: Issue,
        at: Moment,
    ) -> Issued | Refused:
        answer = self._stamped(
            "rotate_refresh_token", at, token_hash, client_id, " ".join(scopes),
            issue.access_ttl // MILLISECOND, issue.refresh_token_hash or "",
            issue.refresh_ttl // MILLISECOND,
        )  # fmt: skip
        return self._outcome(answer)

    def revoke_refresh_token(
        self, token_hash: str, client_id: str, reason: str, now: datetime
    ) -> bool:
        return bool(self._run("revoke_refresh_token", ms(now), token_hash, client_id, reason))

    def revoke_session(
        self, session_id: str, reason: str, now: datetime, kind: SessionKind | None = None
    ) -> Session | None:
        if not self._run("revoke_session", ms(now), session_id, reason, kind or ""):
            return None
        return self.session(session_id)

    def revoke_access_token(self, session_id: str, token_id: str, expires_at: datetime) -> None:
        self._run("revoke_access_token", 0, session_id, token_id, ms(expires_at))

    # Reads

    def read_access(self, session_id: str, token_id: str) -> Access:
        return self.state_and_access(session_id, token_id)[1]

    def state_and_access(self, session_id: str, token_id: str) -> tuple[SandboxState, Access]:
        # One round trip: a /v1 request's only one. The whole session hash, its
        # revoked jtis (`j:<jti>`) with it: against HMGET of its 14 fields and HEXISTS,
        # 38 against 60 µs of client CPU and 7.5 against 12.5 µs of Redis CPU per read.
        fields, stored = self._together(
            ("HGETALL", self.prefix + "sbx"), ("HGETALL", self.prefix + "s:" + session_id)
        )
        state = self._found(fields)
        session = session_from(session_id, stored_fields(stored), str(state.generation).encode())
        return state, Access(session_id, token_id, session, b"j:" + token_id.encode() in stored)

    def _together(self, *commands: tuple[str, ...]) -> list[Any]:
        """Send `commands` (reads only) in one round trip and return their replies, hashes
        as dicts (RESP3 sends them so; RESP2 as lists of pairs).

        What redis-py's Pipeline does, on a connection of the client's own pool, without
        its command stack, script preparation and retry wrapper (no retries are allowed
        here anyway). The /v1 read, in process: 187-194 against 199-213 µs of CPU per
        whoami; behind waitress (8 threads, wrk -c8, 8 paired rounds on a loaded machine):
        1,809 against 1,634 req/s (median), 497 against 568 µs of CPU per request.
        """
        pool = self.client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_packed_command(connection.pack_commands(commands))
            replies = [connection.read_response() for _ in commands]
        except BaseException:
            connection.disconnect()  # replies may be left unread: never hand it out again
            raise
        finally:
            pool.release(connection)
        return [dict(zip(r[::2], r[1::2], strict=True)) if isinstance(r, list) else r
                for r in replies]  # fmt: skip

    def personal_token(self, token_hash: str, now: datetime) -> Session | None:
        session_id = self._run("personal_token", token_hash)
        if not session_id:
            return None
        session = self.session(session_id.decode())
        return session if session is not None and session.is_active(now) else None

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self.prefix + "sbx", "gen")
        pipe.hmget(
            self.prefix + "rt:" + token_hash,
            ("g", "sid", "client_id", "issued_at", "expires_at", "rotated_at"),
        )
        generation, (g, sid, client_id, issued_at, expires_at, rotated_at) = pipe.execute()
        if g is None or g != generation:
            return None
        return RefreshToken(
            token_hash, sid.decode(), client_id.decode(), instant(issued_at), instant(expires_at),
            optional_instant(rotated_at),
        )  # fmt: skip

    def session(self, session_id: str) -> Session | None:
        found = self._sessions([session_id])
        return found[0] if found else None

    def sessions(self) -> Sequence[Session]:
        ids = [sid.decode() for sid in self.client.zrange(self.prefix + "sessions", 0, -1)]
        found = self._sessions(ids)
        return sorted(found, key=newest_first, reverse=True)

    def _sessions(self, ids: list[str]) -> list[Session]:
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self.prefix + "sbx", "gen")
        for sid in ids:
            pipe.hmget(self.prefix + "s:" + sid, SESSION_FIELDS)
            pipe.lrange(self.prefix + "s:" + sid + ":ev", 0, -1)
        generation, *answers = pipe.execute()
        found, collected = [], []
        for sid, fields, events in zip(ids, answers[::2], answers[1::2], strict=True):
            session = session_from(sid, fields, generation, events)
            if session is not None:
                found.append(session)
            elif fields[0] is None:
                collected.append(sid)  # its TTL ran out: the index forgets it too
        if collected:
            self.client.zrem(self.prefix + "sessions", *collected)
        return found

    # Registered clients: `client:<id>` hashes, indexed by `clients` (by issue instant)

    def add_registration(
        self, registration: Registration, at: Moment, most: int = MOST_REGISTERED
    ) -> bool:
        r = registration
        [answer] = self._stamped(
            "add_registration", at, r.client_id, metadata_json(r.metadata), r.secret_hash or "",
            r.access_token_hash, ms(r.issued_at), most, r.grant_basis,
        )  # fmt: skip
        if answer == b"full":
            raise TooManyRegistrations(most)
        return answer == b"kept"

    def registration(self, client_id: str) -> Registration | None:
        fields = self.client.hmget(self.prefix + "client:" + client_id, CLIENT_FIELDS)
        return registration_from(client_id, fields)

    def replace_registration(self, registration: Registration, at: Moment) -> bool:
        r = registration
        [answer] = self._stamped(
            "replace_registration", at, r.client_id, metadata_json(r.metadata),
            r.secret_hash or "", CREDENTIAL_CHANGED, r.grant_basis, GRANTS_CHANGED,
        )  # fmt: skip
        return answer == b"replaced"

    def delete_registration(self, client_id: str, now: datetime) -> bool:
        return bool(self._run("delete_registration", ms(now), client_id))

    def registrations(self) -> Sequence[Registration]:
        ids = [cid.decode() for cid in self.client.zrange(self.prefix + "clients", 0, -1)]
        pipe = self.client.pipeline(transaction=False)
        for client_id in ids:
            pipe.hmget(self.prefix + "client:" + client_id, CLIENT_FIELDS)
        found = (registration_from(cid, f) for cid, f in zip(ids, pipe.execute(), strict=True))
        return [r for r in found if r is not None]

    def _outcome(self, answer: list[Any]) -> Issued | Refused:
        if answer[0] == b"refused":
            detail = answer[2].decode() if len(answer) > 2 else ""
            return Refused(Refusal(answer[1].decode()), detail)
        _, access_end, sid, flat = answer
        fields = stored_fields(dict(zip(flat[::2], flat[1::2], strict=True)))
        session = session_from(sid.decode(), fields, fields[0], None)  # the script's generation
        assert session is not None
        return Issued(session, instant(access_end))


class StoreUnavailable(ConnectionError):
    """The store cannot be reached; the request may be tried again shortly."""


# How long a record outlasts the moment it was written while the sandbox clock stands still,
# in a sandbox without an end of its own (the default); a partner's keeps it as long as it
# lives. Also in common.lua (FROZEN_KEEP), which a test holds equal to this.
FROZEN_KEEP = timedelta(days=7)


def connect(url: str) -> redis.Redis:
    """Connect to the store at `url`, or raise `StoreUnavailable` with why, in one line
    (the command's check at start). Neither error repeats `url`, nor any part of it that
    may carry a password: the banner shows none either."""
    client = client_for(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        where = client.connection_pool.connection_kwargs
        password = where.get("password")
        reason = str(exc)
        if password and password in reason:
            reason = f"{type(exc).__name__} (its text is left out: it repeats the password)"
        store = _store_name(url, where)
        raise StoreUnavailable(f"cannot reach the store at {store}: {reason}") from None
    return client


def client_for(url: str) -> redis.Redis:
    """A client of the store at `url`, which need not be reachable yet: each call that
    finds it away answers 503, and the first after it is back is served.

    Short timeouts, and no retry by the client: a script retried after a timeout
    would present a refresh token twice and revoke its session as a replay. A failed
    call answers 503; the next request gets a fresh connection.
    """
    try:
        return redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )
    except ValueError:
        # redis-py's own text may quote a piece of the URL ("… as 'pass'" of a password
        # with a slash in it), so it is not passed on.
        raise ValueError(UNREADABLE_STORE_URL) from None


UNREADABLE_STORE_URL = (
    "MESSPUNKT_STORE_URL is not a redis://, rediss:// or unix:// URL that Redis can read "
    "(not repeated here, as it may carry a password)"
)


def _store_name(url: str, where: dict[str, Any]) -> str:
    """Name the store as redis-py reads `url`: where it is and which database, no credentials."""
    db = where.get("db", 0)
    if "path" in where:  # unix://
        return f"unix://{where['path']}?db={db}"
    host = str(where.get("host", "localhost"))
    host = f"[{host}]" if ":" in host else host
    return f"{urlsplit(url).scheme.lower()}://{host}:{where.get('port', 6379)}/{db}"


def open_sandbox(
    client: redis.Redis,
    sandbox_id: str,
    first: SandboxState,
    *,
    grace: timedelta,
    wall: Callable[[], datetime] = system_time,
) -> RedisStore:
    """Return a sandbox's store, writing `first` as its state only if it has none yet:
    every worker opens the default sandbox at start, and only the first one makes it.

    A worker that starts while the store is away (gunicorn replaces one that died) starts
    all the same: its first read that finds the state missing makes it then (`_found`)."""
    store = RedisStore(client, sandbox_id, first=first, grace=grace, wall=wall)
    with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
        store.make(first)
    return store
