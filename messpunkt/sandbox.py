"""The composition root: builds the sandbox's parts from configuration and holds them."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .clock import SandboxClock
from .dataset import DataSet, load_dataset
from .oauth.access_tokens import SigningKey
from .oauth.docs_client import docs_client
from .oauth.server import AuthorizationServer
from .oauth.sessions import Lifetimes
from .oauth.store import InMemoryAuthStore


@dataclass(frozen=True)
class State:
    """Everything that `reset` or loading a data set replaces, swapped as one value."""

    data: DataSet
    auth: AuthorizationServer
    generation: int


class Sandbox:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        frozen_at = config["MESSPUNKT_FROZEN_AT"]
        self.clock = SandboxClock(
            frozen_at=datetime.fromisoformat(frozen_at) if frozen_at else None
        )
        key_file = config["MESSPUNKT_SIGNING_KEY"]
        self.key = SigningKey.from_pem_file(key_file) if key_file else SigningKey.generate()
        self.secret_key = config["MESSPUNKT_SECRET_KEY"] or secrets.token_urlsafe(32)
        self.admin_key = config["MESSPUNKT_SANDBOX_ADMIN_KEY"] or secrets.token_urlsafe(24)
        self.controls_enabled = config["MESSPUNKT_SANDBOX_CONTROLS"] == "on"
        self.lifetimes = Lifetimes(
            code=timedelta(seconds=config["MESSPUNKT_CODE_TTL"]),
            access_token=timedelta(seconds=config["MESSPUNKT_ACCESS_TOKEN_TTL"]),
            refresh_token=timedelta(seconds=config["MESSPUNKT_REFRESH_TOKEN_TTL"]),
            session=timedelta(seconds=config["MESSPUNKT_SESSION_MAX_AGE"]),
        )
        self._lock = threading.Lock()
        self._generation = 0
        self.state = self._build(load_dataset(config["MESSPUNKT_DATA_DIR"]))

    def _build(self, data: DataSet) -> State:
        self._generation += 1
        docs = docs_client(self.config["MESSPUNKT_ISSUER"])
        auth = AuthorizationServer(
            issuer=self.config["MESSPUNKT_ISSUER"],
            audience=self.config["MESSPUNKT_AUDIENCE"],
            clients={**data.clients, docs.client_id: docs},
            catalogue=data.catalogue,
            store=InMemoryAuthStore(),
            key=self.key,
            lifetimes=self.lifetimes,
            clock=self.clock.now,
        )
        return State(data, auth, self._generation)

    def reset(self) -> None:
        """Return to the loaded fixtures: every code, session and token is gone."""
        with self._lock:
            self.clock.reset()
            self.state = self._build(self.state.data)

    def load(self, directory: str | Path) -> DataSet:
        """Validate another data set, then replace the current one and reset."""
        data = load_dataset(directory)  # raises before anything is replaced
        with self._lock:
            self.clock.reset()
            self.state = self._build(data)
        return data
