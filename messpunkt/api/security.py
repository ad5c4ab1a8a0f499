"""Bearer authentication and scope checks for every /v1 call."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import NotFound

from ..metering.scope import ScopedCatalogue
from ..oauth.bearer import Principal
from ..oauth.errors import InvalidToken
from ..sandbox import Sandbox
from ..sandboxes import NoSuchSandbox
from ..web.context import platform, sandbox, sandbox_id
from ..web.fault_injection import inject


def authenticate() -> None:
    """Validate the bearer token and the view's scope before anything else runs."""
    # One context lookup, not one per attribute (LocalProxy's documented unwrapping).
    current = request._get_current_object()  # type: ignore[attr-defined]
    if current.method == "OPTIONS":
        return  # Flask answers it with Allow only; a preflight carries no token.
    authorization = current.environ.get("HTTP_AUTHORIZATION")
    served = _sandbox_for(authorization)
    inject(served)  # an armed fault answers before the token is judged, as an outage would
    principal = served.auth.bearer.authenticate(authorization, served.now, served.access)
    scope = _required_scope(current.endpoint or "")
    if scope is not None:
        principal.require(scope)
    g.principal = principal


def _sandbox_for(authorization: str | None) -> Sandbox:
    """Open the request's sandbox, reading the token's session with its state.

    The token is verified first (no store needed), so that a shared store answers
    the state, the session and the jti in one round trip. A sandbox that is not
    served is a 404 whatever the token, as on every other path.
    """
    try:
        claims = platform().verified_claims(sandbox_id(), authorization)
    except InvalidToken:
        claims = None  # answered below, once the sandbox is known to be served
    try:
        return sandbox((claims.session_id, claims.token_id) if claims else None)
    except NoSuchSandbox:
        raise NotFound() from None


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]


def visible_catalogue() -> ScopedCatalogue:
    """Return the catalogue as the caller may see it."""
    caller = principal()
    served = sandbox()  # the request's sandbox, and its clock's `now`, read once
    return ScopedCatalogue(
        served.data.catalogue, caller.tenant_id, caller.property_scope, served.now
    )


def _required_scope(endpoint: str) -> str | None:
    """The scope `ApiBlueprint.requires` declared on the view (each /v1 view has one method)."""
    return getattr(current_app.view_functions.get(endpoint), "required_scope", None)
