"""One sandbox: its state as a store keeps it, and its view for one request.

A sandbox has a clock, a data set, an admin key and its auth records (codes,
sessions, tokens); `reset` bumps its generation and forgets the records. The
process around it (`messpunkt.platform.Platform`) holds what every sandbox
shares: configuration, the signing key, the loaded data sets.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from .clock import ClockState
from .faults import Fault
from .oauth.registrations import RegistrationStore
from .oauth.store import Access, AuthStore, Moment

if TYPE_CHECKING:
    from .dataset import DataSet
    from .oauth.server import AuthorizationServer

DEFAULT_ID = "default"


class LoggedRequest(Protocol):
    """A request as the log took it (`messpunkt.web.request_log`), secrets already out."""

    def entry(self) -> dict[str, Any]:
        """Shape its log entry (every member but `id`)."""


def hash_admin_key(key: str) -> str:
    """Return the stored form of an admin key (random and long, so one SHA-256 suffices)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SandboxState:
    """What a store keeps of a sandbox, besides its auth records."""

    clock: ClockState
    generation: int
    data_set: str  # a name among the platform's loaded data sets
    admin_key_hash: str
    # Armed ones (`messpunkt.faults`); a reset keeps those whose `until` has not come.
    faults: tuple[Fault, ...] = ()

    def moment(self, now: datetime) -> Moment:
        """Return `now`, an instant of this state's clock, as the store's steps take it."""
        return Moment(now, self.generation, self.clock)

    def admits(self, presented: str) -> bool:
        """Tell whether `presented` is the admin key, compared in constant time."""
        return hmac.compare_digest(hash_admin_key(presented), self.admin_key_hash)


class SandboxStore(AuthStore, RegistrationStore):
    """An auth store that also keeps its sandbox's state and registered clients; each
    change is one step.

    A shared store learns only when it is used that its sandbox was deleted or has expired
    meanwhile: reading or changing the sandbox's state then raises `SandboxGone`, which a
    request answers as the 404 of a sandbox not served.
    """

    @abstractmethod
    def state(self) -> SandboxState: ...

    @abstractmethod
    def move_clock(self, change: Callable[[ClockState], ClockState]) -> SandboxState:
        """Replace the clock with `change(clock)`; what `change` raises leaves it as it was."""

    @abstractmethod
    def state_and_access(self, session_id: str, token_id: str) -> tuple[SandboxState, Access]:
        """Read the state and an access token's `read_access` as one (a /v1 request's one
        round trip to a shared store)."""

    @abstractmethod
    def reset(self, data_set: str | None = None, document: bytes | None = None) -> SandboxState:
        """Forget every code, session and token, reset the clock and bump the generation;
        switch to `data_set` when given, which forgets the registered clients too (and the
        uploaded data set it replaces).

        `document` is an uploaded data set's canonical bytes (`messpunkt.data_document`),
        kept as `data_set` for as long as the sandbox lives. Keeping them and switching to
        them is this one step: a change in between could otherwise leave the sandbox on
        an upload whose bytes it has dropped."""

    # Uploaded data sets

    @abstractmethod
    def data_set_document(self, name: str) -> bytes | None:
        """Return an uploaded data set's bytes; None once it is replaced or was never kept."""

    # The request log (`messpunkt.web.request_log`); a reset keeps it

    @abstractmethod
    def log_request(self, logged: LoggedRequest, keep: int) -> None:
        """Add a request to the log under the next id, keeping the newest `keep`.

        A store may keep `logged` as it is and shape its entry when it is read."""

    @abstractmethod
    def requests(self) -> list[dict[str, Any]]:
        """Return the logged requests, newest first, each with its `id`."""

    # Faults (`messpunkt.faults`), kept in the state

    @abstractmethod
    def arm_fault(self, fault: Fault) -> bool:
        """Add a rule; False when `faults.MOST_ARMED` are armed already."""

    @abstractmethod
    def disarm_fault(self, fault_id: str) -> bool:
        """Remove a rule; False when there is none of this id."""

    @abstractmethod
    def take_fault(self, fault_id: str) -> bool:
        """Count a rule down for one request, as one step for every thread and process;
        False when it has none left (another request took the last) or is gone."""


@dataclass(frozen=True, slots=True)
class Sandbox:
    """One request's view of a sandbox: read once, with the instant it is served at."""

    id: str
    state: SandboxState
    # The machine's time when the request was resolved, and the sandbox's instant then.
    wall: datetime
    now: datetime
    data: DataSet
    store: SandboxStore
    auth: AuthorizationServer
    # The machine's clock, read again only inside a move of the sandbox clock.
    read_wall: Callable[[], datetime]
    # The access token's facts, read with the state when the request brought one.
    access: Access | None = None

    @property
    def generation(self) -> int:
        return self.state.generation

    @property
    def moment(self) -> Moment:
        """The instant served at, as the store's writing steps take it."""
        return self.state.moment(self.now)

    def move_clock(
        self, change: Callable[[ClockState, datetime], ClockState]
    ) -> tuple[ClockState, datetime]:
        """Move the clock as `change(clock, wall)` says, in one step; return the new clock and
        the instant it reads then. See `moved`."""
        return moved(self.store, change, self.read_wall)


def moved(
    store: SandboxStore,
    change: Callable[[ClockState, datetime], ClockState],
    read_wall: Callable[[], datetime],
) -> tuple[ClockState, datetime]:
    """Move a sandbox's clock; return it and the instant it reads.

    The machine's time is read inside the store's step, not before it: a move that
    waited for the step (another move, a sweep) would otherwise set the clock from an
    older time, behind instants other requests were served at meanwhile.
    """
    walls: list[datetime] = []

    def step(clock: ClockState) -> ClockState:
        walls.append(read_wall())
        return change(clock, walls[-1])

    clock = store.move_clock(step).clock
    return clock, clock.now(walls[-1])


class SandboxClock:
    """A handle on one sandbox's clock for code outside a request (tests, the plugin).

    Each call reads the machine's time and moves the clock in the store.
    """

    def __init__(self, store: SandboxStore, wall: Callable[[], datetime]) -> None:
        self._store = store
        self._wall = wall

    @property
    def frozen(self) -> bool:
        return self._store.state().clock.frozen

    def now(self) -> datetime:
        return self._store.state().clock.now(self._wall())

    def freeze(self, at: datetime | None = None) -> datetime:
        return self._move(lambda clock, wall: clock.freeze(wall, at))

    def unfreeze(self) -> datetime:
        return self._move(lambda clock, wall: clock.unfreeze(wall))

    def advance(self, by: timedelta) -> datetime:
        return self._move(lambda clock, wall: clock.advance(wall, by))

    def advance_to(self, at: datetime) -> datetime:
        return self._move(lambda clock, wall: clock.advance_to(wall, at))

    def _move(self, change: Callable[[ClockState, datetime], ClockState]) -> datetime:
        return moved(self._store, change, self._wall)[1]
