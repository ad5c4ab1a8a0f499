"""Partner sandboxes under /s/<id>: the registry, serving, tokens, cursors, controls, data sets."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from conftest import OPERATOR, OPERATOR_KEY, TENANT, TENANT_NAME, Prefixed, create_sandbox
from werkzeug.test import Client

from messpunkt import create_app
from messpunkt.access_log import AccessLog
from messpunkt.cli import main
from messpunkt.clock import ClockState
from messpunkt.config import DEFAULT_DATA_DIR
from messpunkt.dataset import DataSetError, load_dataset
from messpunkt.sandbox import SandboxState
from messpunkt.sandboxes import (
    RegistryFull,
    SandboxRecord,
    SandboxStatus,
    is_sandbox_id,
    new_sandbox_id,
)
from messpunkt.stores.memory_registry import InMemoryRegistry
from messpunkt.testing import (
    DEMO_CLIENT,
    DEMO_REDIRECT_URI,
    DEMO_SCOPES,
    FROZEN_AT,
    QUICKSTART_PROPERTY,
    obtain_tokens,
)

ISSUER = "http://localhost:8000"
KEY = "default-admin-key"
PROBLEM = "application/problem+json"
NOT_FOUND = {
    "type": "about:blank",
    "title": "Not Found",
    "status": 404,
    "detail": "no such resource",
}
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
WE01_UNITS = 8
COPY_TENANT_NAME = "Kopie Hausverwaltung GmbH"


@pytest.fixture(scope="module")
def copy_of_the_fixtures(tmp_path_factory) -> Path:
    """The fixtures with the quickstart tenant renamed: a second data set to choose."""
    copy = shutil.copytree(DEFAULT_DATA_DIR, tmp_path_factory.mktemp("data") / "copy")
    tenants = json.loads((copy / "tenants.json").read_text(encoding="utf-8"))
    tenants[0]["name"] = COPY_TENANT_NAME
    (copy / "tenants.json").write_text(json.dumps(tenants), encoding="utf-8")
    return copy


@pytest.fixture
def messpunkt_config(copy_of_the_fixtures):
    return {
        "MESSPUNKT_FROZEN_AT": FROZEN_AT,
        "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY,
        "MESSPUNKT_OPERATOR_KEY": OPERATOR_KEY,
        "MESSPUNKT_DATA_SETS": f"copy={copy_of_the_fixtures}",
    }


@pytest.fixture
def client(messpunkt_client):
    return messpunkt_client


class Partner:
    """A partner sandbox as its partner sees it: its paths, issuer and admin key."""

    def __init__(self, client, created: dict) -> None:
        self.id, self.issuer, self.admin_key = (
            created["id"],
            created["issuer"],
            created["admin_key"],
        )
        self.root = "" if self.id == "default" else f"/s/{self.id}"
        self.client = Prefixed(client, self.root)
        self.admin = {"X-Sandbox-Admin-Key": self.admin_key}

    def control(self, method: str, path: str, body=None):
        return self.client.open(path, method=method, headers=self.admin, json=body)


@pytest.fixture
def partner(client):
    """Make partner sandboxes through the operator's API."""
    return lambda **body: Partner(client, create_sandbox(client, **body))


@pytest.fixture
def default(client):
    """The default sandbox as a Partner: today's paths, MESSPUNKT_SANDBOX_ADMIN_KEY."""
    return Partner(client, {"id": "default", "issuer": ISSUER, "admin_key": KEY})


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def whoami(target, tokens):
    return target.client.get("/v1/whoami", headers=tokens.bearer)


# The registry


class Wall:
    """A machine clock that a test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def state(data_set: str = "default") -> SandboxState:
    return SandboxState(ClockState.starting(T0), 1, data_set, "0" * 64)


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def registry(wall) -> InMemoryRegistry:
    return InMemoryRegistry(state(), wall=wall, limit=2)


def test_a_new_sandbox_id_is_22_url_safe_characters_from_16_random_bytes():
    ids = {new_sandbox_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(is_sandbox_id(i) and len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)


@pytest.mark.parametrize(
    "malformed",
    ["", "default", "A" * 21, "A" * 23, "A" * 21 + "/", "A" * 21 + ".", "A" * 21 + "=",
     "A" * 21 + "\n", "A" * 21 + "é", "../" + "A" * 19],
)  # fmt: skip
def test_a_malformed_id_is_no_sandbox_and_cannot_be_created(registry, malformed):
    assert not is_sandbox_id(malformed)
    if malformed != "default":
        assert (registry.store(malformed), registry.describe(malformed)) == (None, None)
        with pytest.raises(ValueError, match="not a sandbox id"):
            registry.create(malformed, state(), T0 + timedelta(days=1))
    assert registry.delete(malformed) is False


class Lookups(dict):
    """The registry's live sandboxes, noting every id looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def get(self, key, default=None):
        self.asked.append(key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        self.asked.append(key)
        return super().__contains__(key)

    def pop(self, key, *default):
        self.asked.append(key)
        return super().pop(key, *default)


@pytest.mark.parametrize("malformed", ["", "A" * 21, "A" * 21 + "/", "{x}" * 7 + "A"])
def test_a_malformed_id_is_never_looked_up(registry, malformed):
    registry._live = lookups = Lookups()
    registry.store(malformed), registry.describe(malformed), registry.delete(malformed)
    with pytest.raises(ValueError):
        registry.create(malformed, state(), T0 + timedelta(days=1))
    assert lookups.asked == []


def test_the_default_sandbox_is_never_listed_deleted_or_expired(registry, wall):
    default = registry.store("default")
    wall.now = T0 + timedelta(days=36500)
    assert registry.store("default") is default is not None
    assert registry.delete("default") is False
    assert registry.list() == []
    assert registry.describe("default") == SandboxRecord(
        "default", T0, None, "default", SandboxStatus.ACTIVE
    )


def test_a_created_sandbox_is_described_listed_and_has_its_own_store(registry):
    a, b = new_sandbox_id(), new_sandbox_id()
    record = registry.create(a, state("copy"), T0 + timedelta(days=7))
    registry.create(b, state(), T0 + timedelta(days=1))
    assert record == SandboxRecord(a, T0, T0 + timedelta(days=7), "copy", SandboxStatus.ACTIVE)
    assert registry.describe(a) == record
    assert [r.id for r in registry.list()] == sorted([a, b])  # same instant: by id
    stores = {id(registry.store(i)) for i in (a, b, "default")}
    assert len(stores) == 3
    with pytest.raises(ValueError, match="is taken"):
        registry.create(a, state(), T0 + timedelta(days=1))


def test_a_sandbox_expires_on_the_wall_clock_never_on_its_own(registry, wall):
    sandbox_id = new_sandbox_id()
    registry.create(sandbox_id, state(), T0 + timedelta(hours=1))
    store = registry.store(sandbox_id)
    store.move_clock(lambda clock: clock.advance(T0, timedelta(days=365)))
    assert registry.store(sandbox_id) is store
    wall.now = T0 + timedelta(hours=1)
    assert registry.store(sandbox_id) is None
    assert registry.describe(sandbox_id).status is SandboxStatus.EXPIRED
    assert registry.list() == []


@pytest.mark.parametrize("end", ["delete", "expire"])
def test_an_ended_sandbox_drops_its_records_at_once_and_leaves_a_tombstone(registry, wall, end):
    sandbox_id = new_sandbox_id()
    registry.create(sandbox_id, state("copy"), T0 + timedelta(hours=1))
    store = registry.store(sandbox_id)
    store.move_clock(lambda clock: clock.advance(T0, timedelta(days=1)))
    before = store.state().generation
    if end == "delete":
        assert registry.delete(sandbox_id) is True
    else:
        wall.now = T0 + timedelta(hours=2)
    status = SandboxStatus.DELETED if end == "delete" else SandboxStatus.EXPIRED
    assert registry.describe(sandbox_id) == SandboxRecord(
        sandbox_id, T0, T0 + timedelta(hours=1), "copy", status
    )
    assert store.state().generation == before + 1  # reset: its records are gone
    assert registry.delete(sandbox_id) is False


def test_the_limit_counts_live_sandboxes_only(registry, wall):
    first, second = new_sandbox_id(), new_sandbox_id()
    registry.create(first, state(), T0 + timedelta(hours=1))
    registry.create(second, state(), T0 + timedelta(hours=2))
    with pytest.raises(RegistryFull, match=r"^2 sandboxes exist, the most allowed$"):
        registry.create(new_sandbox_id(), state(), T0 + timedelta(days=1))
    registry.delete(first)
    registry.create(new_sandbox_id(), state(), T0 + timedelta(days=1))
    wall.now = T0 + timedelta(hours=2)  # the second expires
    registry.create(new_sandbox_id(), state(), T0 + timedelta(days=1))
    with pytest.raises(RegistryFull):
        registry.create(new_sandbox_id(), state(), T0 + timedelta(days=1))


@pytest.fixture(params=["memory", "redis"])
def racing_registry(request):
    """A registry of at most 5 sandboxes, in memory and on the run's Redis. Its wall is the
    machine's: Redis drops a sandbox's state at its end on the machine's clock."""

    def wall() -> datetime:
        return datetime.now(UTC)

    if request.param == "memory":
        return InMemoryRegistry(state(), wall=wall, limit=5)
    import redis

    from messpunkt.stores.redis_registry import RedisRegistry

    client = redis.Redis.from_url(request.getfixturevalue("store_url"))
    return RedisRegistry(client, state(), wall=wall, limit=5, grace=timedelta(minutes=10))


def test_concurrent_creates_stop_at_the_limit_and_a_sweep_meanwhile_ends_none(
    racing_registry,
):
    """20 operators create at once while 4 list (each list ends what it finds expired):
    exactly 5 sandboxes exist afterwards, each whole and live, and the other 15 were
    refused as over the limit, never created."""
    import threading

    registry = racing_registry
    ids = [new_sandbox_id() for _ in range(20)]
    start = threading.Barrier(len(ids) + 4)
    outcomes: dict[str, str] = {}

    def create(sandbox_id: str) -> None:
        start.wait()
        try:
            registry.create(sandbox_id, state(), datetime.now(UTC) + timedelta(hours=1))
            outcomes[sandbox_id] = "created"
        except RegistryFull:
            outcomes[sandbox_id] = "full"

    def sweep() -> None:
        start.wait()
        for _ in range(20):
            registry.list()

    threads = [threading.Thread(target=create, args=(i,)) for i in ids]
    threads += [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    created = sorted(i for i, outcome in outcomes.items() if outcome == "created")
    assert len(outcomes) == 20 and len(created) == 5, outcomes
    assert sorted(record.id for record in registry.list()) == created
    for sandbox_id in ids:
        record = registry.describe(sandbox_id)
        if sandbox_id in created:
            assert record is not None and record.status is SandboxStatus.ACTIVE
            assert registry.store(sandbox_id).state().data_set == "default"
        else:
            assert record is None


def test_an_id_once_used_is_never_created_again_in_any_store(racing_registry):
    registry = racing_registry
    live, ended = new_sandbox_id(), new_sandbox_id()
    later = datetime.now(UTC) + timedelta(hours=1)
    registry.create(live, state(), later)
    registry.create(ended, state(), later)
    assert registry.delete(ended)
    for taken in (live, ended):
        with pytest.raises(ValueError, match="is taken"):
            registry.create(taken, state("copy"), later)
    # Refused, the live one is as it was, and the ended one stays ended.
    assert [record.id for record in registry.list()] == [live]
    assert registry.describe(live).data_set == "default"
    assert registry.describe(ended).status is SandboxStatus.DELETED
    # The refusals took no place: 4 more fit under the limit of 5, and no sixth.
    for _ in range(4):
        registry.create(new_sandbox_id(), state(), later)
    with pytest.raises(RegistryFull):
        registry.create(new_sandbox_id(), state(), later)


def test_a_place_taken_on_redis_and_never_filled_is_freed_after_a_minute(store_url):
    """A creation cut off between taking its place under the limit and making the
    sandbox (Redis gone in between) leaves a place with no sandbox: once it is a minute
    old on Redis's own clock, the next creation's sweep frees it."""
    import redis

    from messpunkt.stores.redis_registry import INDEX, RedisRegistry

    client = redis.Redis.from_url(store_url)
    registry = RedisRegistry(
        client, state(), wall=lambda: datetime.now(UTC), limit=1, grace=timedelta(minutes=10)
    )
    seconds, microseconds = client.time()
    redis_now = seconds * 1000 + microseconds // 1000
    stalled = new_sandbox_id()
    later = datetime.now(UTC) + timedelta(hours=1)
    client.zadd(INDEX, {stalled: redis_now - 50_000})  # taken 50 s ago, no sandbox yet
    with pytest.raises(RegistryFull):  # within the minute: that creation may still go on
        registry.create(new_sandbox_id(), state(), later)
    client.zadd(INDEX, {stalled: redis_now - 61_000})  # now taken 61 s ago
    made = new_sandbox_id()
    registry.create(made, state(), later)
    assert [record.id for record in registry.list()] == [made]
    assert client.zrange(INDEX, 0, -1) == [made.encode()]


def test_on_redis_listing_and_creating_take_as_many_round_trips_for_30_sandboxes_as_for_3(
    store_url, monkeypatch
):
    """A listing reads, and a creation sweeps, every sandbox in the index: all of them in one
    pipeline, so neither costs a round trip per sandbox (with 1,000 sandboxes here, a
    creation took 127 ms that way, 22 ms now)."""
    import redis

    from messpunkt.stores.redis_registry import RedisRegistry

    client = redis.Redis.from_url(store_url)
    registry = RedisRegistry(
        client, state(), wall=lambda: datetime.now(UTC), limit=40, grace=timedelta(minutes=10)
    )
    later = datetime.now(UTC) + timedelta(hours=1)
    sent: list[bytes] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(connection, command, check_health=True):
        sent.append(command)
        return original(connection, command, check_health)

    def round_trips(step) -> int:
        sent.clear()
        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
        try:
            step()
        finally:
            monkeypatch.undo()
        return len(sent)

    counts = []
    for total in (3, 30):
        while len(registry.list()) < total:
            registry.create(new_sandbox_id(), state(), later)
        counts.append(
            (
                round_trips(registry.list),
                round_trips(lambda: registry.create(new_sandbox_id(), state(), later)),
            )
        )
    # A listing: the index, then every sandbox in it. A creation: Redis's time, the index,
    # every sandbox in it, the place taken, the sandbox made, its place checked.
    assert counts == [(2, 6), (2, 6)]


def test_a_store_on_redis_whose_sandbox_ended_meanwhile_writes_nothing_more(store_url):
    """A request still in flight when its sandbox is deleted (or expires) leaves no key
    behind, for none would ever expire: its log entry and an upload are dropped, and a change
    to the sandbox's state raises SandboxGone (answered as the 404 of a sandbox not served)."""
    import redis

    from messpunkt.faults import Fault
    from messpunkt.oauth.registrations import SandboxGone
    from messpunkt.oauth.store import AuthorizationCode, Grant, Issue, NewSession, SessionKind
    from messpunkt.stores.redis_registry import RedisRegistry

    client = redis.Redis.from_url(store_url)
    registry = RedisRegistry(
        client, state(), wall=lambda: datetime.now(UTC), limit=5, grace=timedelta(minutes=10)
    )
    sandbox_id = new_sandbox_id()
    registry.create(sandbox_id, state(), datetime.now(UTC) + timedelta(hours=1))
    store = registry.store(sandbox_id)
    store.write_log(50, [b'{"path": "/v1/whoami"}'])
    log = f"mp:{{{sandbox_id}}}:log"
    assert client.llen(log) == 1 and client.ttl(log) > 3000  # as long as the sandbox lives
    now = datetime.now(UTC)
    read = store.state().moment(now)  # a request that read the sandbox before its end
    assert registry.delete(sandbox_id)

    store.write_log(50, [b'{"path": "/v1/usage-units"}'])
    grant = Grant("sandbox-demo-client", TENANT, "user", ("read:units",), ())
    code = AuthorizationCode("code-hash", grant, "http://localhost:3000/callback", "c", now,
                             now + timedelta(minutes=5))  # fmt: skip
    session = NewSession("sid", SessionKind.PERSONAL_ACCESS_TOKEN, now + timedelta(days=30),
                         personal_token_hash="pat-hash")  # fmt: skip
    changes = {
        # The first two keys a request could still write were a code's and a session's,
        # kept for up to 30 days with nothing left to delete them.
        "code": lambda: store.add_code(code, read),
        "session": lambda: store.start_session(session, grant, Issue(timedelta(hours=1)), read),
        "upload": lambda: store.reset("upload-mine", b"{}"),
        "fault": lambda: store.arm_fault(Fault.new(method="GET", path="/v1/whoami", status=500)),
        "clock": lambda: store.move_clock(lambda clock: clock),
        "reset": store.reset,
    }
    for name, change in changes.items():
        with pytest.raises(SandboxGone):
            change()
            pytest.fail(f"{name}: changed a sandbox that is gone")
    assert client.keys(f"mp:{{{sandbox_id}}}:*") == [f"mp:{{{sandbox_id}}}:ended".encode()]


def test_a_sandbox_on_redis_that_lost_its_place_in_the_index_can_still_be_ended(store_url):
    """Ending is decided by the tombstone, not by taking the place out of the index: a
    sandbox whose place went (a worker paused past a minute between its two steps) is
    still deleted whole, and described as deleted from the moment it is ended."""
    import redis

    from messpunkt.stores.redis_registry import INDEX, RedisRegistry

    client = redis.Redis.from_url(store_url)
    registry = RedisRegistry(
        client, state(), wall=lambda: datetime.now(UTC), limit=5, grace=timedelta(minutes=10)
    )
    orphan = new_sandbox_id()
    registry.create(orphan, state(), datetime.now(UTC) + timedelta(hours=1))
    client.zrem(INDEX, orphan)
    assert registry.delete(orphan)
    assert registry.describe(orphan).status is SandboxStatus.DELETED
    assert client.keys(f"mp:{{{orphan}}}:*") == [f"mp:{{{orphan}}}:ended".encode()]
    assert not registry.delete(orphan)  # ended once only
    # The other way round: ended, but cut off before its place was freed. The next
    # creation's sweep frees it: the limit counts live sandboxes only.
    full = RedisRegistry(
        client, state(), wall=lambda: datetime.now(UTC), limit=1, grace=timedelta(minutes=10)
    )
    client.zadd(INDEX, {orphan: 0})
    full.create(new_sandbox_id(), state(), datetime.now(UTC) + timedelta(hours=1))
    assert orphan.encode() not in client.zrange(INDEX, 0, -1)


def test_the_listing_is_oldest_first_then_by_id_in_every_store(racing_registry):
    registry = racing_registry
    now = datetime.now(UTC).replace(microsecond=0)
    later = now + timedelta(hours=1)
    newer, older = new_sandbox_id(), new_sandbox_id()
    registry.create(newer, state(), later, created_at=now + timedelta(seconds=5))
    registry.create(older, state(), later, created_at=now + timedelta(seconds=1))
    same = [new_sandbox_id() for _ in range(3)]
    for sandbox_id in same:
        registry.create(sandbox_id, state(), later, created_at=now + timedelta(seconds=3))
    assert [r.id for r in registry.list()] == [older, *sorted(same), newer]


def test_an_ended_sandbox_on_redis_serves_nothing_from_its_tombstone_on(store_url):
    """Cut off right after its tombstone (before its other keys go), a sandbox is already
    ended: described so, not listed, its state gone; and the first ender's word stands."""
    import redis

    from messpunkt.stores.redis_registry import RedisRegistry

    client = redis.Redis.from_url(store_url)
    registry = RedisRegistry(
        client, state(), wall=lambda: datetime.now(UTC), limit=5, grace=timedelta(minutes=10)
    )
    gone = new_sandbox_id()
    record = registry.create(gone, state(), datetime.now(UTC) + timedelta(hours=1))
    prefix = f"mp:{{{gone}}}:"

    def end(status: SandboxStatus) -> int:
        return registry._scripts.end_sandbox(
            args=[prefix, 600, 0, 0, record.data_set, status.value, 60]
        )

    assert end(SandboxStatus.DELETED) == 1
    assert end(SandboxStatus.EXPIRED) == 0  # ended once: the first word stands
    assert registry.describe(gone).status is SandboxStatus.DELETED
    assert registry.list() == []
    with pytest.raises(LookupError):
        registry.store(gone).state()
    assert not registry.delete(gone)


def test_a_creation_whose_place_was_freed_meanwhile_takes_one_again_or_undoes(store_url):
    """A worker paused past a minute between its two steps finds its place freed by
    another's sweep: it takes a place again, or, with none left, undoes the sandbox
    rather than leave one that is never listed nor counted."""
    import redis

    from messpunkt.stores.redis_registry import INDEX, RedisRegistry

    client = redis.Redis.from_url(store_url)
    registry = RedisRegistry(
        client, state(), wall=lambda: datetime.now(UTC), limit=1, grace=timedelta(minutes=10)
    )
    make = registry._scripts.create_sandbox
    taken_meanwhile: list[str] = []

    def paused(*args, **kwargs):
        sandbox_id = kwargs["args"][0].split("{")[1].split("}")[0]
        client.zrem(INDEX, sandbox_id)  # a sweep elsewhere freed the place
        for other in taken_meanwhile:  # and another creation may have taken it
            client.zadd(INDEX, {other: 0})
        return make(*args, **kwargs)

    registry._scripts.create_sandbox = paused
    later = datetime.now(UTC) + timedelta(hours=1)
    first = new_sandbox_id()
    registry.create(first, state(), later)
    assert client.zrange(INDEX, 0, -1) == [first.encode()]
    assert [r.id for r in registry.list()] == [first]

    registry.delete(first)
    taken_meanwhile.append(new_sandbox_id())
    second = new_sandbox_id()
    with pytest.raises(RegistryFull):
        registry.create(second, state(), later)
    assert registry.describe(second).status is SandboxStatus.DELETED
    with pytest.raises(LookupError):
        registry.store(second).state()


# Data sets loaded at start


def test_the_data_sets_of_the_setting_are_loaded_at_start_beside_the_fixtures(
    messpunkt_app, copy_of_the_fixtures
):
    platform = messpunkt_app.extensions["messpunkt"]
    assert platform.data_set_names() == ["copy", "default"]
    copy = platform.data_set("copy")
    assert copy.directory == copy_of_the_fixtures.resolve()
    assert copy.catalogue.tenant(TENANT).name == COPY_TENANT_NAME
    assert platform.data_set("default").catalogue.tenant(TENANT).name == TENANT_NAME


@pytest.mark.parametrize(("value", "message"), [
    ("Big=/x", "MESSPUNKT_DATA_SETS: 'Big' is not a name of [a-z0-9-]{1,40}"),
    ("a" * 41 + "=/x", f"MESSPUNKT_DATA_SETS: '{'a' * 41}' is not a name of [a-z0-9-]{{1,40}}"),
    ("big", "MESSPUNKT_DATA_SETS: 'big' is not name=directory"),
    ("big=", "MESSPUNKT_DATA_SETS: 'big=' is not name=directory"),
    ("big=/x,", "MESSPUNKT_DATA_SETS: '' is not name=directory"),
    ("default=/x", "MESSPUNKT_DATA_SETS: the name 'default' is taken"),
    ("a=/x,a=/y", "MESSPUNKT_DATA_SETS: the name 'a' is taken"),
    ("big=/no/such/dir",
     "MESSPUNKT_DATA_SETS: data set 'big': /no/such/dir at $: not a directory"),
])  # fmt: skip
def test_a_bad_data_set_setting_fails_start_up_with_its_reason(value, message):
    with pytest.raises(ValueError) as refused:
        create_app({"MESSPUNKT_DATA_SETS": value})
    assert str(refused.value) == message


def test_the_command_line_refuses_to_start_on_a_broken_data_set(tmp_path, monkeypatch, capsys):
    broken = shutil.copytree(DEFAULT_DATA_DIR, tmp_path / "broken")
    (broken / "tenants.json").write_text("[{}]", encoding="utf-8")
    with pytest.raises(DataSetError) as loading:
        load_dataset(broken)
    monkeypatch.setenv("MESSPUNKT_DATA_SETS", f"broken={broken}")
    monkeypatch.setattr("messpunkt.cli.waitress_server", lambda *a, **k: pytest.fail("it served"))
    assert main(["--port", "8000"]) == 2
    assert capsys.readouterr().err == (
        f"messpunkt-sandbox: MESSPUNKT_DATA_SETS: data set 'broken': {loading.value}\n"
    )


# Serving every path under /s/<id>

PATHS = [
    ("GET", "/.well-known/oauth-authorization-server", {}),
    ("GET", "/.well-known/jwks.json", {}),
    ("GET", "/docs", {}),
    ("GET", "/docs/assets/swagger-ui.css", {}),
    ("GET", "/static/sandbox.css", {}),
    ("GET", "/openapi.json", {}),
    ("GET", "/oauth/authorize?response_type=code&client_id=sandbox-demo-client"
            "&redirect_uri=http://localhost:3000/callback&scope=read:units&state=s"
            "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGKgzKQWYC&code_challenge_method=S256",
     {}),
    ("POST", "/oauth/token", {"data": {"grant_type": "client_credentials"}}),
    ("POST", "/oauth/revoke", {"data": {"token": "x", "client_id": DEMO_CLIENT}}),
    ("POST", "/oauth/introspect", {"data": {"token": "x"}}),
    ("GET", "/v1/whoami", {}),
    ("GET", "/v1/usage-units", {}),
    ("GET", "/sandbox/clock", {}),
    ("POST", "/sandbox/reset", {}),
    ("GET", "/sandbox/sessions", {}),
    ("GET", "/sandbox/data", {}),
    ("GET", "/no-such-path", {}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "options"), PATHS, ids=lambda p: str(p)[:40])
def test_a_partner_sandbox_answers_every_path_as_the_default_does(
    client, partner, default, method, path, options
):
    one = partner()
    expected = default.client.open(path, method=method, headers=default.admin, **options)
    response = one.client.open(path, method=method, headers=one.admin, **options)
    expected.close(), response.close()  # a file's answer holds the file open
    assert (response.status_code, response.mimetype) == (expected.status_code, expected.mimetype)
    assert response.status_code != 404 or path == "/no-such-path"


def ended(client, partner, how: str) -> str:
    """Return the root of a sandbox that never was, is malformed, deleted or expired."""
    if how == "unknown":
        return f"/s/{new_sandbox_id()}"
    if how == "malformed":
        return "/s/not-a-sandbox"
    if how == "default":
        return "/s/default"
    one = partner(expires_in=60)
    if how == "deleted":
        assert client.delete(f"/sandboxes/{one.id}", headers=OPERATOR).status_code == 204
    else:
        platform = client.application.extensions["messpunkt"]
        platform.wall = lambda: datetime.now(UTC) + timedelta(seconds=61)
    return one.root


@pytest.mark.parametrize("how", ["unknown", "malformed", "default", "deleted", "expired"])
@pytest.mark.parametrize(
    ("method", "path", "options"),
    [*PATHS, ("GET", "", {}), ("GET", "/", {}),
     # A /v1 view opens its sandbox; these reach none: a preflight, a method it lacks.
     ("OPTIONS", "/v1/whoami", {}), ("POST", "/v1/whoami", {}), ("GET", "/v1/no-such", {})],
    ids=lambda p: str(p)[:40],
)  # fmt: skip
@pytest.mark.parametrize("origin", [None, "http://localhost:3000"])  # a browser client's too
def test_a_sandbox_that_is_not_served_is_the_same_404_on_every_path(
    client, partner, how, method, path, options, origin
):
    root = ended(client, partner, how)
    headers = {"X-Sandbox-Admin-Key": KEY} | ({"Origin": origin} if origin else {})
    response = client.open(root + path, method=method, headers=headers, **options)
    assert (response.status_code, response.mimetype) == (404, PROBLEM)
    assert response.get_json() == NOT_FOUND
    assert response.get_json() == NOT_FOUND


def test_the_access_log_shows_the_path_requested_with_its_sandbox(client, partner):
    one = partner()
    stream = io.StringIO()
    log = AccessLog(client.application, stream, clock=lambda: T0)
    with Client(log).get(f"{one.root}/v1/whoami") as response:
        assert response.status_code == 401
    log.close()
    assert f"GET {one.root}/v1/whoami 401" in stream.getvalue()


def test_a_partner_sandbox_serves_the_default_data(partner):
    one = partner()
    tokens = obtain_tokens(one.client)
    assert whoami(one, tokens).get_json()["tenant_name"] == TENANT_NAME
    units = one.client.get("/v1/usage-units", headers=tokens.bearer).get_json()["data"]
    assert (len(units), units[0]["name"]) == (WE01_UNITS, "WE 01")


# Issuer, audience and where a token is accepted


def test_a_partner_sandbox_issues_tokens_for_its_own_issuer_and_audience(partner):
    one = partner()
    claims = jwt_claims(obtain_tokens(one.client).access_token)
    assert one.issuer == f"{ISSUER}/s/{one.id}"
    assert (claims["iss"], claims["aud"]) == (one.issuer, f"{ISSUER}/s/{one.id}/v1")


@pytest.mark.parametrize("issued_at", ["default", "a", "b"])
@pytest.mark.parametrize("presented_at", ["default", "a", "b"])
def test_an_access_token_works_only_in_the_sandbox_that_issued_it(
    default, partner, issued_at, presented_at
):
    sandboxes = {"default": default, "a": partner(), "b": partner()}
    tokens = obtain_tokens(sandboxes[issued_at].client)
    response = whoami(sandboxes[presented_at], tokens)
    if issued_at == presented_at:
        assert response.status_code == 200
    else:
        assert (response.status_code, response.get_json()["detail"]) == (
            401, "the access token is from another issuer",
        )  # fmt: skip
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("issued_at", "presented_at"), [("a", "b"), ("default", "a"), ("a", "default")]
)
def test_a_refresh_token_or_introspection_finds_nothing_in_another_sandbox(
    default, partner, issued_at, presented_at
):
    sandboxes = {"default": default, "a": partner(), "b": partner()}
    tokens = obtain_tokens(sandboxes[issued_at].client)
    there = sandboxes[presented_at].client
    refreshed = there.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
        "client_id": DEMO_CLIENT,
    })  # fmt: skip
    assert (refreshed.status_code, refreshed.get_json()["error"]) == (400, "invalid_grant")
    introspected = there.post(
        "/oauth/introspect",
        data={"token": tokens.access_token},
        headers={"Authorization": "Basic " + base64.b64encode(
            b"sandbox-web-client:sandbox-web-client-secret-change-me").decode()},
    )  # fmt: skip
    assert (introspected.status_code, introspected.get_json()) == (200, {"active": False})
    assert whoami(sandboxes[issued_at], tokens).status_code == 200  # untouched at home


# RFC 8414 metadata and RFC 9207 iss


def test_the_metadata_lies_where_rfc_8414_puts_it_and_below_the_issuer(client, partner):
    one = partner()
    well_known = client.get(f"/.well-known/oauth-authorization-server/s/{one.id}")
    below = one.client.get("/.well-known/oauth-authorization-server")
    assert well_known.status_code == below.status_code == 200
    assert well_known.get_json() == below.get_json()
    document = below.get_json()
    assert document["issuer"] == one.issuer
    endpoints = {k: v for k, v in document.items() if k.endswith(("_endpoint", "_uri"))}
    endpoints["service_documentation"] = document["service_documentation"]
    assert endpoints == {
        "authorization_endpoint": f"{one.issuer}/oauth/authorize",
        "token_endpoint": f"{one.issuer}/oauth/token",
        "revocation_endpoint": f"{one.issuer}/oauth/revoke",
        "introspection_endpoint": f"{one.issuer}/oauth/introspect",
        "registration_endpoint": f"{one.issuer}/oauth/register",
        "jwks_uri": f"{one.issuer}/.well-known/jwks.json",
        "service_documentation": f"{one.issuer}/docs",
    }


@pytest.mark.parametrize("path", [
    "/.well-known/oauth-authorization-server/s/default",
    "/.well-known/oauth-authorization-server/s/not-a-sandbox",
    "/.well-known/oauth-authorization-server/s/{unknown}",
    "/s/{one}/.well-known/oauth-authorization-server/s/{one}",
])  # fmt: skip
def test_the_well_known_suffix_names_only_a_live_partner_sandbox_from_the_root(
    client, partner, path
):
    one = partner()
    response = client.get(path.format(one=one.id, unknown=new_sandbox_id()))
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_every_authorization_response_names_the_partner_sandbox_as_iss(partner, decision):
    one = partner()
    response = one.client.post("/oauth/authorize", data={
        "client_id": DEMO_CLIENT, "redirect_uri": DEMO_REDIRECT_URI, "scope": "read:units",
        "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGKgzKQWYC",
        "code_challenge_method": "S256", "property": QUICKSTART_PROPERTY, "decision": decision,
    })  # fmt: skip
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["iss"] == [one.issuer]


class Links(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [
            v for k, v in found.items() if k in ("href", "src", "action", "data-spec-url")
        ]


@pytest.mark.parametrize("path", [
    "/docs",
    "/oauth/authorize?response_type=code&client_id=sandbox-demo-client"
    "&redirect_uri=http://localhost:3000/callback&scope=read:units&state=s"
    "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGKgzKQWYC&code_challenge_method=S256",
])  # fmt: skip
def test_every_link_of_a_partner_page_stays_in_the_partner_sandbox(partner, path):
    one = partner()
    page = one.client.get(path)
    here = "http://localhost" + one.root + path
    urls = [urljoin(here, url) for url in Links(page.get_data(as_text=True)).urls]
    assert urls and all(urlsplit(url).path.startswith(one.root + "/") for url in urls), urls
    for url in urls:
        if url.endswith((".css", ".js", ".json")):
            with one.client.client.get(url) as asset:
                assert asset.status_code == 200, url


def test_a_partner_openapi_document_points_at_its_sandbox_without_the_operator(client, partner):
    one = partner()
    document = one.client.get("/openapi.json").get_json()
    default = client.get("/openapi.json").get_json()
    assert document["servers"] == [{"url": one.root}]
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"] == {
        **default["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"],
        "authorizationUrl": f"{one.root}/oauth/authorize",
        "tokenUrl": f"{one.root}/oauth/token",
        "refreshUrl": f"{one.root}/oauth/token",
    }
    assert flows["clientCredentials"]["tokenUrl"] == f"{one.root}/oauth/token"
    assert [p for p in default["paths"] if p.startswith("/sandboxes")] == [
        "/sandboxes", "/sandboxes/{sandbox_id}",
    ]  # fmt: skip
    assert set(document["paths"]) == {
        p
        for p in default["paths"]
        if p.startswith(("/v1", "/sandbox/", "/oauth/", "/.well-known/"))
        and not p.startswith("/.well-known/oauth-authorization-server/s/")
    }
    assert "operatorKey" not in document["components"]["securitySchemes"]
    assert "servers" not in default


# Cursors


def test_a_cursor_of_one_sandbox_is_a_400_in_another(default, partner):
    a, b = partner(), partner()
    cursors = {}
    for name, target in (("a", a), ("b", b), ("default", default)):
        tokens = obtain_tokens(target.client)
        page = target.client.get("/v1/usage-units?limit=2", headers=tokens.bearer).get_json()
        cursors[name] = (target, tokens, page["pagination"]["next_cursor"])
    for here, (target, tokens, _) in cursors.items():
        for there, (_, _, cursor) in cursors.items():
            response = target.client.get(
                "/v1/usage-units", query_string={"limit": 2, "cursor": cursor},
                headers=tokens.bearer,
            )  # fmt: skip
            if here == there:
                assert response.status_code == 200
            else:
                assert (response.status_code, response.get_json()["errors"]) == (
                    400, {"cursor": ["Cursor does not belong to this query."]},
                )  # fmt: skip


# Controls per sandbox


def test_each_sandbox_takes_its_own_admin_key_only(default, partner):
    a, b = partner(), partner()
    for target in (default, a, b):
        for key_of in (default, a, b):
            response = target.client.get("/sandbox/clock", headers=key_of.admin)
            assert response.status_code == (200 if key_of is target else 401)


def test_the_admin_key_is_kept_only_as_its_digest(client, partner):
    one = partner()
    store = client.application.extensions["messpunkt"].registry.store(one.id)
    assert store.state().admin_key_hash == hashlib.sha256(one.admin_key.encode()).hexdigest()


def clock_of(target) -> str:
    return target.control("GET", "/sandbox/clock").get_json()["now"]


def test_moving_one_sandbox_clock_moves_no_other(default, partner):
    a, b = partner(), partner()
    response = a.control("POST", "/sandbox/clock/advance", {"by": "P1D"})
    assert response.status_code == 200
    assert clock_of(a) == "2026-11-24T09:00:00+00:00"
    assert clock_of(b) == clock_of(default) == FROZEN_AT


def test_resetting_one_sandbox_ends_its_sessions_only(default, partner):
    a, b = partner(), partner()
    tokens = {t: obtain_tokens(t.client) for t in (default, a, b)}
    assert a.control("POST", "/sandbox/reset").status_code == 200
    assert [whoami(t, tokens[t]).status_code for t in (default, a, b)] == [200, 401, 200]


def test_revoking_a_session_in_one_sandbox_touches_no_other(default, partner):
    a, b = partner(), partner()
    tokens = {t: obtain_tokens(t.client) for t in (default, a, b)}
    [session] = a.control("GET", "/sandbox/sessions").get_json()["data"]
    assert b.control("POST", f"/sandbox/sessions/{session['id']}/revoke").status_code == 404
    assert default.control("POST", f"/sandbox/sessions/{session['id']}/revoke").status_code == 404
    assert a.control("POST", f"/sandbox/sessions/{session['id']}/revoke").status_code == 200
    assert [whoami(t, tokens[t]).status_code for t in (default, a, b)] == [200, 401, 200]


# Choosing a data set


def test_choosing_a_data_set_resets_that_sandbox_only(default, partner):
    a, b = partner(), partner()
    tokens = {t: obtain_tokens(t.client) for t in (default, a, b)}
    response = a.control("POST", "/sandbox/data", {"data_set": "copy"})
    assert (response.status_code, response.get_json()) == (200, {
        "data_set": "copy", "tenants": 2, "properties": 3, "usage_units": 16, "clients": 4,
    })  # fmt: skip
    assert a.control("GET", "/sandbox/data").get_json()["data_set"] == "copy"
    assert b.control("GET", "/sandbox/data").get_json()["data_set"] == "default"
    assert default.control("GET", "/sandbox/data").get_json()["data_set"] == "default"
    assert [whoami(t, tokens[t]).status_code for t in (default, a, b)] == [200, 401, 200]
    assert whoami(a, obtain_tokens(a.client)).get_json()["tenant_name"] == COPY_TENANT_NAME
    assert whoami(b, tokens[b]).get_json()["tenant_name"] == TENANT_NAME


def test_a_sandbox_created_on_a_data_set_serves_it(partner):
    one = partner(data_set="copy")
    assert whoami(one, obtain_tokens(one.client)).get_json() == {
        "tenant_id": TENANT, "tenant_name": COPY_TENANT_NAME, "client_id": DEMO_CLIENT,
        "granted_scopes": list(DEMO_SCOPES), "property_scope": [QUICKSTART_PROPERTY],
    }  # fmt: skip


def test_the_default_sandbox_can_choose_a_data_set_by_name_too(
    default, client, copy_of_the_fixtures
):
    response = default.control("POST", "/sandbox/data", {"data_set": "copy"})
    assert (response.status_code, response.get_json()["data_set"]) == (200, "copy")
    assert response.get_json()["directory"] == str(copy_of_the_fixtures.resolve())
    assert whoami(default, obtain_tokens(client)).get_json()["tenant_name"] == COPY_TENANT_NAME


def test_a_data_set_loaded_from_a_directory_is_never_chosen_by_its_path(
    client, copy_of_the_fixtures
):
    platform = client.application.extensions["messpunkt"]
    loaded = platform.load(copy_of_the_fixtures)
    path = str(loaded.directory)
    assert platform.open().state.data_set == path
    assert platform.data_set(path) is None
    assert platform.data_set_names() == ["copy", "default"]


def test_an_unknown_data_set_is_refused_and_nothing_changes(partner):
    one = partner()
    tokens = obtain_tokens(one.client)
    response = one.control("POST", "/sandbox/data", {"data_set": "nope"})
    assert (response.status_code, response.mimetype, response.get_json()) == (422, PROBLEM, {
        "type": "about:blank", "title": "Unprocessable Entity", "status": 422,
        "detail": "no data set of this name",
        "errors": {"data_set": ["Unknown data set; the known ones: copy, default."]},
    })  # fmt: skip
    assert whoami(one, tokens).status_code == 200


def test_a_partner_sandbox_never_loads_a_directory(partner):
    one = partner()
    tokens = obtain_tokens(one.client)
    response = one.control("POST", "/sandbox/data", {"directory": str(DEFAULT_DATA_DIR)})
    assert (response.status_code, response.mimetype, response.get_json()["detail"]) == (
        403, PROBLEM,
        "a partner sandbox never reads the server's file system; "
        "choose a data set by name (data_set)",
    )  # fmt: skip
    assert whoami(one, tokens).status_code == 200
    assert "directory" not in one.control("GET", "/sandbox/data").get_json()


def test_with_a_store_url_no_sandbox_loads_a_directory(tmp_path, redis_server):
    from cryptography.hazmat.primitives import serialization

    from messpunkt.oauth.access_tokens import SigningKey

    pem = SigningKey.generate().private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    (tmp_path / "signing.pem").write_bytes(pem)
    app = create_app({
        "MESSPUNKT_SANDBOX_ADMIN_KEY": KEY, "MESSPUNKT_STORE_URL": redis_server.url,
        "MESSPUNKT_SIGNING_KEY": str(tmp_path / "signing.pem"), "MESSPUNKT_SECRET_KEY": "s",
    })  # fmt: skip
    response = app.test_client().post(
        "/sandbox/data", json={"directory": str(DEFAULT_DATA_DIR)},
        headers={"X-Sandbox-Admin-Key": KEY},
    )  # fmt: skip
    assert (response.status_code, response.get_json()["detail"]) == (
        403,
        "loading a directory is for a sandbox in one process only: with MESSPUNKT_STORE_URL "
        "set, other processes share this sandbox and cannot read this directory; choose a "
        "data set by name (data_set)",
    )
