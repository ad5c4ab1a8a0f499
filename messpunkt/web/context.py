"""The sandbox a request is served by, resolved once per request."""

from __future__ import annotations

from flask import current_app, g, request

from ..platform import Platform
from ..sandbox import DEFAULT_ID, Sandbox

# The environ key naming a partner's sandbox (set by `partition.SandboxPartition`).
SANDBOX_KEY = "messpunkt.sandbox"


def platform() -> Platform:
    return current_app.extensions["messpunkt"]  # type: ignore[no-any-return]


def sandbox(access: tuple[str, str] | None = None) -> Sandbox:
    """Return this request's sandbox: its state, data and `now`, read on first use only
    (with the access token's session and jti when `access` names them).

    Raise NoSuchSandbox when the sandbox named in the environ is not served.
    """
    found: Sandbox | None = g.get("sandbox")
    if found is None:
        found = g.sandbox = platform().open(sandbox_id(), access)
    return found


def sandbox_id() -> str:
    """Name the sandbox this request is for (the default one, or a partner's)."""
    # One context lookup, not a proxy's per attribute (as in api.security).
    environ = request._get_current_object().environ  # type: ignore[attr-defined]
    return environ.get(SANDBOX_KEY, DEFAULT_ID)  # type: ignore[no-any-return]
