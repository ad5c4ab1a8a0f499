"""Partner sandboxes: the registry, and the data sets loaded at start."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import TENANT, TENANT_NAME

from messpunkt import create_app
from messpunkt.cli import main
from messpunkt.clock import ClockState
from messpunkt.config import DEFAULT_DATA_DIR
from messpunkt.dataset import DataSetError, load_dataset
from messpunkt.sandbox import SandboxState
from messpunkt.sandboxes import (
    InMemoryRegistry,
    RegistryFull,
    SandboxRecord,
    SandboxStatus,
    is_sandbox_id,
    new_sandbox_id,
)
from messpunkt.testing import FROZEN_AT

KEY = "default-admin-key"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
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
        "MESSPUNKT_DATA_SETS": f"copy={copy_of_the_fixtures}",
    }


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
    monkeypatch.setattr("messpunkt.cli.serve", lambda *a, **k: pytest.fail("it served"))
    assert main(["--port", "0"]) == 2
    assert capsys.readouterr().err == (
        f"messpunkt-sandbox: MESSPUNKT_DATA_SETS: data set 'broken': {loading.value}\n"
    )
