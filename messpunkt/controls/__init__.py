"""/sandbox: controls over time and state that production does not have.

A clock that moves forward on demand, reset, sessions with their history,
personal access tokens, loading or uploading another data set, the request
log and faults on demand. Every call needs the admin key;
`MESSPUNKT_SANDBOX_CONTROLS=off` removes them all.
"""

from __future__ import annotations

from ..web.openapi import ProblemApi


def register(api: ProblemApi) -> None:
    """Add the /sandbox blueprints and their admin-key scheme to the documented API."""
    from . import admin, clients, clock, data, faults, requests, sessions

    api.document(
        lambda spec: spec.components.security_scheme(
            "adminKey", {"type": "apiKey", "in": "header", "name": admin.ADMIN_HEADER}
        )
    )
    for module in (clock, data, sessions, requests, faults):
        api.register_blueprint(module.blp)
    api.register_blueprint(clients.blp)
