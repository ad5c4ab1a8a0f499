"""Access to the running sandbox from inside a request."""

from __future__ import annotations

from flask import current_app

from ..sandbox import Sandbox


def sandbox() -> Sandbox:
    return current_app.extensions["messpunkt"]  # type: ignore[no-any-return]
