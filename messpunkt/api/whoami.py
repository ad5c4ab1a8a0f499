"""GET /v1/whoami: the tenant and scopes behind the caller's token."""

from __future__ import annotations

from flask import Response

from ..web.context import sandbox
from .blueprint import ApiBlueprint
from .render import ok
from .schemas import WhoamiSchema
from .security import principal

blp = ApiBlueprint("whoami", __name__, url_prefix="/v1/whoami", description="The caller")


@blp.route("", methods=["GET"])
@blp.requires(None)
@blp.response(200, WhoamiSchema)
def whoami() -> Response:
    """Show the tenant, client, scopes and properties of the access token"""
    caller = principal()
    tenant = sandbox().data.catalogue.tenant(caller.tenant_id)
    return ok(
        {
            "tenant_id": caller.tenant_id,
            "tenant_name": tenant.name if tenant else "",
            "client_id": caller.client_id,
            "granted_scopes": list(caller.scopes),
            "property_scope": sorted(caller.property_scope),
        }
    )
