"""The sandbox a request is served by, resolved once per request."""

from __future__ import annotations

from flask import current_app, g

from ..platform import Platform
from ..sandbox import Sandbox


def platform() -> Platform:
    return current_app.extensions["messpunkt"]  # type: ignore[no-any-return]


def sandbox() -> Sandbox:
    """Return this request's sandbox: its state, data and `now`, read on first use only."""
    found: Sandbox | None = g.get("sandbox")
    if found is None:
        found = g.sandbox = platform().open()
    return found
