"""Bearer authentication and scope checks for every /v1 call."""

from __future__ import annotations

from flask import current_app, g, request

from ..metering.scope import ScopedCatalogue
from ..oauth.bearer import Principal
from ..web.context import sandbox


def authenticate() -> None:
    """Validate the bearer token and the view's scope before anything else runs."""
    if request.method == "OPTIONS":
        return  # Flask answers it with Allow only; a preflight carries no token.
    running = sandbox()
    principal = running.state.auth.bearer.authenticate(
        request.environ.get("HTTP_AUTHORIZATION"), running.clock.now()
    )
    scope = _required_scope(request.endpoint or "", request.method)
    if scope is not None:
        principal.require(scope)
    g.principal = principal


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]


def visible_catalogue() -> ScopedCatalogue:
    """Return the catalogue as the caller may see it."""
    caller = principal()
    return ScopedCatalogue(sandbox().state.data.catalogue, caller.tenant_id, caller.property_scope)


def _required_scope(endpoint: str, method: str) -> str | None:
    # Views are fixed once the app is built, so the answer per endpoint is too.
    key = (endpoint, method)
    scopes = current_app.extensions.setdefault("messpunkt.required_scopes", {})
    if key not in scopes:
        view = current_app.view_functions.get(endpoint)
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            view = getattr(view_class, method.lower(), None)
        scopes[key] = getattr(view, "required_scope", None)
    return scopes[key]  # type: ignore[no-any-return]
