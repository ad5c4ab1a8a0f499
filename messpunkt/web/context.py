"""The sandbox a request is served by, resolved once per request."""

from __future__ import annotations

from flask import current_app, g, request

from ..platform import Platform
from ..sandbox import DEFAULT_ID, Sandbox

# The environ key naming a partner's sandbox (set by `partition.SandboxPartition`).
SANDBOX_KEY = "messpunkt.sandbox"


def platform() -> Platform:
    return current_app.extensions["messpunkt"]  # type: ignore[no-any-return]


def sandbox() -> Sandbox:
    """Return this request's sandbox: its state, data and `now`, read on first use only.

    Raise NoSuchSandbox when the sandbox named in the environ is not served.
    """
    found: Sandbox | None = g.get("sandbox")
    if found is None:
        # One context lookup, not a proxy's per attribute (as in api.security).
        environ = request._get_current_object().environ  # type: ignore[attr-defined]
        found = g.sandbox = platform().open(environ.get(SANDBOX_KEY, DEFAULT_ID))
    return found
