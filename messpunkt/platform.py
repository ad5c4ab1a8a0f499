"""The process around the sandboxes: what every sandbox shares, and each request's sandbox.

`Platform` is the composition root. It holds the configuration, the signing
key, the cursor secret, the loaded data sets, the registry of sandboxes and
the composed authorization servers (caches), and resolves the sandbox a
request is served by, once.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .bounded import BoundedCache
from .clock import ClockState, system_time
from .config import DATA_SET_NAME, data_set_directories
from .data_document import export_directory, is_upload, load_canonical, upload
from .dataset import DataSet, load_dataset
from .faults import DelayPlaces
from .oauth.access_tokens import AccessTokenClaims, AccessTokens, SigningKey
from .oauth.bearer import bearer_token
from .oauth.docs_client import docs_client
from .oauth.personal_tokens import PREFIX as PERSONAL_PREFIX
from .oauth.registrations import SandboxGone
from .oauth.server import AuthorizationServer
from .oauth.store import Lifetimes
from .records import DataSetError
from .sandbox import (
    DEFAULT_ID,
    Sandbox,
    SandboxClock,
    SandboxState,
    SandboxStore,
    hash_admin_key,
)
from .sandboxes import (
    NoSuchSandbox,
    SandboxRecord,
    SandboxRegistry,
    new_sandbox_id,
)
from .stores.memory_registry import InMemoryRegistry

DEFAULT_DATA_SET = "default"


class Platform:
    # Composed servers kept, one per sandbox and data set, oldest out. Each keeps the
    # verified claims of up to AccessTokens.CACHE_SIZE of its own tokens.
    SERVERS_KEPT = 256
    # Uploaded data sets kept parsed, oldest out; a worker that meets one loads it again
    # from the store's bytes (the default set parsed takes about 10 MB).
    UPLOADS_KEPT = 8

    def __init__(self, config: dict[str, Any], registry: SandboxRegistry | None = None) -> None:
        self.config = config
        key_file = config["MESSPUNKT_SIGNING_KEY"]
        self.key = SigningKey.from_pem_file(key_file) if key_file else SigningKey.generate()
        self.secret_key = config["MESSPUNKT_SECRET_KEY"] or secrets.token_urlsafe(32)
        # The default sandbox's key, kept in plain text only to print it at start.
        self.admin_key = config["MESSPUNKT_SANDBOX_ADMIN_KEY"] or secrets.token_urlsafe(24)
        operator_key = config["MESSPUNKT_OPERATOR_KEY"]
        self.operator_key_hash = hash_admin_key(operator_key) if operator_key else None
        self.controls_enabled = config["MESSPUNKT_SANDBOX_CONTROLS"] == "on"
        # Half the process's threads may wait in injected delays (web.fault_injection).
        self.delays = DelayPlaces(max(1, config["MESSPUNKT_THREADS"] // 2))
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
        for name, directory in data_set_directories(config["MESSPUNKT_DATA_SETS"]).items():
            try:
                self.data_sets[name] = load_dataset(directory)
            except DataSetError as error:
                raise ValueError(f"MESSPUNKT_DATA_SETS: data set {name!r}: {error}") from None
        frozen_at = config["MESSPUNKT_FROZEN_AT"]
        self._clock = ClockState.starting(datetime.fromisoformat(frozen_at) if frozen_at else None)
        self.registry = registry or _registry(
            config,
            self._state(DEFAULT_DATA_SET, self.admin_key),
            # Read through the platform, so that whoever replaces `wall` moves expiry too.
            wall=lambda: self.wall(),
        )
        default = self.registry.store(DEFAULT_ID)
        assert default is not None, "a registry always holds the default sandbox"
        self.store: SandboxStore = default
        self.clock = SandboxClock(self.store, self.wall)
        self._servers: BoundedCache[tuple[str, str], AuthorizationServer] = BoundedCache(
            self.SERVERS_KEPT
        )
        self._access_tokens: BoundedCache[str, AccessTokens] = BoundedCache(self.SERVERS_KEPT)
        self._uploads: BoundedCache[str, DataSet] = BoundedCache(self.UPLOADS_KEPT)
        self._lock = threading.Lock()

    def open(self, sandbox_id: str = DEFAULT_ID, access: tuple[str, str] | None = None) -> Sandbox:
        """Resolve a request's sandbox: its state read once, and the instant it is served at.

        Raise NoSuchSandbox for one that is unknown, malformed, deleted or expired.
        `access` (a verified access token's session and jti) is read with the state.
        """
        store = self.registry.store(sandbox_id)
        if store is None:
            raise NoSuchSandbox(sandbox_id)
        read = None
        try:
            if access is None:
                state = store.state()
            else:
                state, read = store.state_and_access(*access)
        except LookupError:  # a shared store learns only here that it is gone
            self.registry.describe(sandbox_id)  # which ends it, if its time has come
            raise NoSuchSandbox(sandbox_id) from None
        wall = self.wall()
        data = self._data(state.data_set, store)
        key = (sandbox_id, state.data_set)
        auth = self._servers.get(key) or self._server(key, data, store)
        now = state.clock.now(wall)
        return Sandbox(sandbox_id, state, wall, now, data, store, auth, self._read_wall, read)

    def _read_wall(self) -> datetime:
        return self.wall()  # whoever replaces `wall` (tests) is read here too

    def verified_claims(
        self, sandbox_id: str, authorization: str | None
    ) -> AccessTokenClaims | None:
        """Verify a request's JWT for a sandbox before its state is read (no store needed);
        None for a personal access token. Raise InvalidToken for a bad one."""
        token = bearer_token(authorization)
        if token.startswith(PERSONAL_PREFIX):
            return None
        return self.access_tokens(sandbox_id).verify(token)

    def access_tokens(self, sandbox_id: str) -> AccessTokens:
        """The sandbox's token minting and verification (one per issuer, shared)."""
        found = self._access_tokens.get(sandbox_id)
        if found is None:
            issuer = self.issuer(sandbox_id)
            audience = (
                self.config["MESSPUNKT_AUDIENCE"] if sandbox_id == DEFAULT_ID else f"{issuer}/v1"
            )
            found = AccessTokens(self.key, issuer, audience)
            self._access_tokens.put(sandbox_id, found)
        return found

    def issuer(self, sandbox_id: str) -> str:
        """Return a sandbox's issuer: the configured one, or `<issuer>/s/<id>` for a partner."""
        if sandbox_id == DEFAULT_ID:
            return str(self.config["MESSPUNKT_ISSUER"])
        return f"{self.config['MESSPUNKT_ISSUER'].rstrip('/')}/s/{sandbox_id}"

    def data_set(self, name: str) -> DataSet | None:
        """Return a data set any sandbox may choose by name (never one loaded from a path)."""
        return self.data_sets.get(name) if DATA_SET_NAME.fullmatch(name) else None

    def data_set_names(self) -> list[str]:
        """Name the data sets any sandbox may choose."""
        return sorted(name for name in self.data_sets if DATA_SET_NAME.fullmatch(name))

    def create_sandbox(self, lifetime: timedelta, data_set: str) -> tuple[SandboxRecord, str]:
        """Create a partner sandbox on `data_set`; return it and its admin key, made here."""
        admin_key = secrets.token_urlsafe(32)
        now = self.wall()
        state = self._state(data_set, admin_key)
        record = self.registry.create(new_sandbox_id(), state, now + lifetime, created_at=now)
        return record, admin_key

    def _state(self, data_set: str, admin_key: str) -> SandboxState:
        """Return a new sandbox's state: the configured clock, generation 1."""
        return SandboxState(self._clock, 1, data_set, hash_admin_key(admin_key))

    def load(self, directory: str | Path) -> DataSet:
        """Validate another data set, then switch the sandbox to it and reset."""
        data = load_dataset(directory)  # raises before anything is replaced
        name = str(data.directory)
        with self._lock:
            self.data_sets[name] = data
            self._servers.discard((DEFAULT_ID, name))  # its clients may have changed
        self.store.reset(name)
        return data

    def upload(self, store: SandboxStore, document: object) -> tuple[str, DataSet]:
        """Validate an uploaded document, keep it in the sandbox's store and switch the
        sandbox to it with a reset; nothing changes when it is refused (DataSetError)."""
        name, canonical, data = upload(document)  # raises before anything is replaced
        self._uploads.put(name, data)
        store.reset(name, canonical)
        return name, data

    def export(self, name: str, store: SandboxStore) -> bytes:
        """Return the data set `name` of a sandbox as one document (the upload's shape)."""
        if is_upload(name):
            document = store.data_set_document(name)
            if document is None:  # kept with the switch to it (`reset`): the sandbox went
                raise SandboxGone(f"the uploaded data set {name!r} is gone with its sandbox")
            return document
        return export_directory(self._data(name, store))

    def _data(self, name: str, store: SandboxStore) -> DataSet:
        """The data set of this name: loaded at start, or uploaded (from the store's bytes
        when this process has not met it yet, or no longer keeps it)."""
        found = self.data_sets.get(name) or self._uploads.get(name)
        if found is None and is_upload(name):
            document = store.data_set_document(name)
            if document is not None:
                found = load_canonical(name, document)
                self._uploads.put(name, found)
        # Its bytes are gone only if a store lost them (kept and switched to in one step,
        # they go with the sandbox or another choice): the fixtures, rather than no answer
        # on every path. The export alone cannot pretend, and says the bytes are gone.
        return found or self.data_sets[DEFAULT_DATA_SET]

    def _server(
        self, key: tuple[str, str], data: DataSet, store: SandboxStore
    ) -> AuthorizationServer:
        sandbox_id = key[0]
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                access_tokens = self.access_tokens(sandbox_id)
                docs = docs_client(access_tokens.issuer)
                server = AuthorizationServer(
                    issuer=access_tokens.issuer,
                    audience=access_tokens.audience,
                    clients={**data.clients, docs.client_id: docs},
                    store=store,
                    key=self.key,
                    lifetimes=self.lifetimes,
                    access_tokens=access_tokens,
                    # Registering a client is a sandbox control: off with the controls.
                    registrations=store if self.controls_enabled else None,
                )
                self._servers.put(key, server)
            return server


def _registry(
    config: dict[str, Any], default: SandboxState, wall: Callable[[], datetime]
) -> SandboxRegistry:
    """The sandboxes: in this process, or on Redis when a store URL is given."""
    limit = config["MESSPUNKT_MAX_SANDBOXES"]
    url = config["MESSPUNKT_STORE_URL"]
    if not url:
        return InMemoryRegistry(default, wall=wall, limit=limit)
    from .stores import redis, redis_registry  # only a hosted sandbox needs redis-py

    grace = timedelta(seconds=config["MESSPUNKT_STORE_GRACE"])
    # Not reached for here: the command checks the store at start, and a worker started
    # while it is away answers 503 until it is back, as every worker then does.
    return redis_registry.RedisRegistry(
        redis.client_for(url), default, wall=wall, limit=limit, grace=grace
    )
