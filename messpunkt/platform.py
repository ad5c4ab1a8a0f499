"""The process around the sandboxes: what every sandbox shares, and each request's sandbox.

`Platform` is the composition root. It holds the configuration, the signing
key, the cursor secret, the loaded data sets and the composed authorization
servers (caches), and resolves the sandbox a request is served by, once.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .clock import ClockState, system_time
from .dataset import DataSet, load_dataset
from .oauth.access_tokens import SigningKey
from .oauth.docs_client import docs_client
from .oauth.server import AuthorizationServer
from .oauth.store import Lifetimes
from .sandbox import (
    DEFAULT_ID,
    Sandbox,
    SandboxClock,
    SandboxState,
    SandboxStore,
    hash_admin_key,
)
from .stores.memory import InMemoryStore

DEFAULT_DATA_SET = "default"


class Platform:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        key_file = config["MESSPUNKT_SIGNING_KEY"]
        self.key = SigningKey.from_pem_file(key_file) if key_file else SigningKey.generate()
        self.secret_key = config["MESSPUNKT_SECRET_KEY"] or secrets.token_urlsafe(32)
        # The default sandbox's key, kept in plain text only to print it at start.
        self.admin_key = config["MESSPUNKT_SANDBOX_ADMIN_KEY"] or secrets.token_urlsafe(24)
        self.controls_enabled = config["MESSPUNKT_SANDBOX_CONTROLS"] == "on"
        self.lifetimes = Lifetimes(
            code=timedelta(seconds=config["MESSPUNKT_CODE_TTL"]),
            access_token=timedelta(seconds=config["MESSPUNKT_ACCESS_TOKEN_TTL"]),
            refresh_token=timedelta(seconds=config["MESSPUNKT_REFRESH_TOKEN_TTL"]),
            session=timedelta(seconds=config["MESSPUNKT_SESSION_MAX_AGE"]),
        )
        self.wall = system_time
        self.data_sets: dict[str, DataSet] = {
            DEFAULT_DATA_SET: load_dataset(config["MESSPUNKT_DATA_DIR"])
        }
        frozen_at = config["MESSPUNKT_FROZEN_AT"]
        first = SandboxState(
            clock=ClockState.starting(datetime.fromisoformat(frozen_at) if frozen_at else None),
            generation=1,
            data_set=DEFAULT_DATA_SET,
            admin_key_hash=hash_admin_key(self.admin_key),
        )
        self.store: SandboxStore = _default_store(config, first)
        self.clock = SandboxClock(self.store, self.wall)
        self._servers: dict[str, AuthorizationServer] = {}
        self._lock = threading.Lock()

    def open(self, sandbox_id: str = DEFAULT_ID) -> Sandbox:
        """Resolve a request's sandbox: its state read once, and the instant it is served at."""
        state = self.store.state()
        wall = self.wall()
        data = self.data_sets[state.data_set]
        auth = self._servers.get(state.data_set) or self._server(state.data_set, data)
        return Sandbox(sandbox_id, state, wall, state.clock.now(wall), data, self.store, auth)

    def load(self, directory: str | Path) -> DataSet:
        """Validate another data set, then switch the sandbox to it and reset."""
        data = load_dataset(directory)  # raises before anything is replaced
        name = str(data.directory)
        with self._lock:
            self.data_sets[name] = data
            self._servers.pop(name, None)
        self.store.reset(name)
        return data

    def _server(self, name: str, data: DataSet) -> AuthorizationServer:
        with self._lock:
            server = self._servers.get(name)
            if server is None:
                issuer = self.config["MESSPUNKT_ISSUER"]
                docs = docs_client(issuer)
                server = self._servers[name] = AuthorizationServer(
                    issuer=issuer,
                    audience=self.config["MESSPUNKT_AUDIENCE"],
                    clients={**data.clients, docs.client_id: docs},
                    store=self.store,
                    key=self.key,
                    lifetimes=self.lifetimes,
                )
            return server


def _default_store(config: dict[str, Any], first: SandboxState) -> SandboxStore:
    """The default sandbox's store: in this process, or on Redis when a URL is given."""
    url = config["MESSPUNKT_STORE_URL"]
    if not url:
        return InMemoryStore(first)
    from .stores import redis  # only a hosted sandbox needs redis-py

    grace = timedelta(seconds=config["MESSPUNKT_STORE_GRACE"])
    return redis.open_sandbox(redis.connect(url), DEFAULT_ID, first, grace=grace)
