"""Bearer authentication and scope checks for every /v1 call."""

from __future__ import annotations

from flask import current_app, g, request

from ..metering.scope import ScopedCatalogue
from ..oauth.bearer import Principal
from ..web.context import sandbox


def authenticate() -> None:
    """Validate the bearer token and the view's scope before anything else runs."""
    state = sandbox().state
    principal = state.auth.bearer.authenticate(
        request.headers.get("Authorization"), sandbox().clock.now()
    )
    scope = _required_scope()
    if scope is not None:
        principal.require(scope)
    g.principal = principal


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]


def visible_catalogue() -> ScopedCatalogue:
    """Return the catalogue as the caller may see it."""
    caller = principal()
    return ScopedCatalogue(sandbox().state.data.catalogue, caller.tenant_id, caller.property_scope)


def _required_scope() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, request.method.lower(), None)
    return getattr(view, "required_scope", None)
