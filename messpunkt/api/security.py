"""Bearer authentication and scope checks for every /v1 call."""

from __future__ import annotations

from flask import current_app, g, request

from ..metering.scope import ScopedCatalogue
from ..oauth.bearer import Principal
from ..web.context import sandbox


def authenticate() -> None:
    """Validate the bearer token and the view's scope before anything else runs."""
    # One context lookup, not one per attribute (LocalProxy's documented unwrapping).
    current = request._get_current_object()  # type: ignore[attr-defined]
    if current.method == "OPTIONS":
        return  # Flask answers it with Allow only; a preflight carries no token.
    served = sandbox()
    principal = served.auth.bearer.authenticate(
        current.environ.get("HTTP_AUTHORIZATION"), served.now
    )
    scope = _required_scope(current.endpoint or "")
    if scope is not None:
        principal.require(scope)
    g.principal = principal


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]


def visible_catalogue() -> ScopedCatalogue:
    """Return the catalogue as the caller may see it."""
    caller = principal()
    return ScopedCatalogue(sandbox().data.catalogue, caller.tenant_id, caller.property_scope)


def _required_scope(endpoint: str) -> str | None:
    """The scope `ApiBlueprint.requires` declared on the view (each /v1 view has one method)."""
    return getattr(current_app.view_functions.get(endpoint), "required_scope", None)
