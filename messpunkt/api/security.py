"""Bearer authentication and scope checks for every /v1 call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_smorest import Blueprint as SmorestBlueprint

from ..metering.scope import ScopedCatalogue
from ..oauth.bearer import Principal
from ..web.context import sandbox

View = TypeVar("View", bound=Callable[..., Any])


def requires(scope: str) -> Callable[[View], View]:
    """Declare (and document) the scope a view needs; `authenticate` enforces it."""

    def decorate(view: View) -> View:
        documented = SmorestBlueprint.doc(security=[{"bearerAuth": [scope]}])(view)
        documented.required_scope = scope  # type: ignore[attr-defined]
        return documented  # type: ignore[no-any-return]

    return decorate


def any_token(view: View) -> View:
    """Document that a view takes any valid token, whatever its scope."""
    return SmorestBlueprint.doc(security=[{"bearerAuth": []}])(view)  # type: ignore[no-any-return]


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
