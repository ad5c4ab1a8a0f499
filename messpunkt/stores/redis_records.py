"""How a sandbox's records are written to Redis and read back (`redis.RedisStore`).

A record is a hash of text fields; instants are whole milliseconds of the
sandbox clock since the epoch; a session's events are `at|kind|detail` strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..clock import ClockState
from ..faults import Fault
from ..oauth.registrations import Registration, metadata_from_json
from ..oauth.store import EventKind, Grant, Issue, NewSession, Session, SessionEvent, SessionKind
from ..sandbox import SandboxState

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
SESSION_FIELDS = (
    "g", "kind", "client_id", "tenant_id", "subject", "scopes", "property_ids", "created_at",
    "expires_at", "name", "usable_until", "revoked_at", "revoked_reason", "first",
)  # fmt: skip


SESSION_KEYS = tuple(name.encode() for name in SESSION_FIELDS)


def stored_fields(stored: dict[bytes, bytes]) -> list[bytes | None]:
    """A session hash (HGETALL) as `session_from` takes it: SESSION_FIELDS in order."""
    return [stored.get(name) for name in SESSION_KEYS]


def ms(instant: datetime) -> int:
    """Return an instant as whole milliseconds since the epoch (the clock's resolution)."""
    return (instant - EPOCH) // MILLISECOND


def instant(value: bytes | str | int) -> datetime:
    return EPOCH + int(value) * MILLISECOND


def optional_instant(value: bytes | None) -> datetime | None:
    return instant(value) if value else None


def text(value: bytes | None) -> str:
    return value.decode() if value else ""


def opening(new: NewSession, grant: Grant, issue: Issue) -> list[object]:
    """The arguments of the scripts' `open`: the session, its grant, then its issue."""
    return [
        new.id, new.kind.value, grant.client_id, grant.tenant_id, grant.subject,
        " ".join(grant.scopes), " ".join(grant.property_ids), ms(new.expires_at), new.name or "",
        new.personal_token_hash or "", issue.access_ttl // MILLISECOND,
        issue.refresh_token_hash or "", issue.refresh_ttl // MILLISECOND,
        "1" if new.client_registered else "",
    ]  # fmt: skip


def session_from(
    session_id: str, fields: list[bytes | None], generation: bytes | None, events: Any = ()
) -> Session | None:
    """The session in `fields` if it is of `generation`; with its first event and `events`,
    or with none when `events` is None (as a state change answers, see `Issued`)."""
    (g, kind, client_id, tenant_id, subject, scopes, property_ids, created_at, expires_at, name,
     usable_until, revoked_at, revoked_reason, first) = fields  # fmt: skip
    if g is None or g != generation:
        return None
    return Session(
        id=session_id,
        kind=SessionKind(text(kind)),
        client_id=text(client_id),
        tenant_id=text(tenant_id),
        subject=text(subject),
        scopes=tuple(text(scopes).split()),
        property_ids=tuple(text(property_ids).split()),
        created_at=instant(created_at or 0),
        expires_at=instant(expires_at or 0),
        name=text(name) or None,
        usable_until=optional_instant(usable_until),
        revoked_at=optional_instant(revoked_at),
        revoked_reason=text(revoked_reason) or None,
        events=() if events is None else tuple(event_from(r) for r in (first, *events) if r),
    )


CLIENT_FIELDS = ("doc", "secret_hash", "token_hash", "issued_at")


def registration_from(client_id: str, fields: list[bytes | None]) -> Registration | None:
    doc, secret_hash, token_hash, issued_at = fields
    if doc is None or token_hash is None or issued_at is None:
        return None
    return Registration(
        client_id, metadata_from_json(doc), text(secret_hash) or None, token_hash.decode(),
        instant(issued_at),
    )  # fmt: skip


def event_from(raw: bytes) -> SessionEvent:
    at, kind, detail = raw.decode().split("|", 2)
    return SessionEvent(instant(at), EventKind(kind), detail)


def clock_fields(clock: ClockState) -> dict[str, str]:
    return {
        "frozen_at": str(ms(clock.frozen_at)) if clock.frozen_at else "",
        "offset": str(clock.offset // timedelta(microseconds=1)),
        "initial": str(ms(clock.initial_frozen_at)) if clock.initial_frozen_at else "",
    }


def state_fields(state: SandboxState) -> dict[str, str]:
    return {
        **clock_fields(state.clock),
        "gen": str(state.generation),
        "data_set": state.data_set,
        "admin_key_hash": state.admin_key_hash,
    }


def state_from(fields: dict[bytes, bytes]) -> SandboxState:
    def field(name: str) -> str:
        return fields.get(name.encode(), b"").decode()

    clock = ClockState(
        frozen_at=optional_instant(fields.get(b"frozen_at")),
        offset=int(field("offset") or 0) * timedelta(microseconds=1),
        initial_frozen_at=optional_instant(fields.get(b"initial")),
    )
    faults = tuple(
        Fault.from_json(rule, count_from(fields.get(b"fc:" + name[2:])))
        for name, rule in fields.items()
        if name.startswith(b"f:")
    )
    return SandboxState(
        clock, int(field("gen")), field("data_set"), field("admin_key_hash"), faults
    )


def count_from(value: bytes | None) -> int | None:
    return None if value is None else int(value)
