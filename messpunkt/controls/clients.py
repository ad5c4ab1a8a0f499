"""/sandbox/clients: every client of the sandbox, from its data set and registered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ..oauth.clients import Client
from ..web.context import sandbox
from ..web.pagination import paginate
from ..web.schemas import ListQueryArgsSchema, list_schema
from .admin import ControlsBlueprint

blp = ControlsBlueprint("sandbox_clients", __name__, "Sandbox controls: clients (admin key)")

ORIGINS = ["fixture", "registered"]


class ClientQueryArgsSchema(ListQueryArgsSchema):
    origin = fields.String(validate=validate.OneOf(ORIGINS))


class ClientSchema(Schema):
    client_id = fields.String(required=True)
    client_name = fields.String(required=True)
    origin = fields.String(
        required=True,
        validate=validate.OneOf(ORIGINS),
        metadata={"description": "`fixture`: from the data set (or /docs); `registered`: "
                  "through /oauth/register."},
    )  # fmt: skip
    type = fields.String(required=True, validate=validate.OneOf(["public", "confidential"]))
    token_endpoint_auth_methods = fields.List(fields.String(), required=True)
    redirect_uris = fields.List(fields.String(), required=True)
    grant_types = fields.List(fields.String(), required=True)
    scopes = fields.List(fields.String(), required=True)
    tenant_id = fields.String(required=True, allow_none=True)
    property_ids = fields.List(fields.String(), required=True)
    registered_at = fields.DateTime(required=True, allow_none=True)


ClientListSchema = list_schema(ClientSchema, "ClientList")


@blp.route("/clients")
class Clients(MethodView):
    @blp.documented()
    @blp.arguments(ClientQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ClientListSchema)
    def get(
        self, limit: int, cursor: str | None = None, origin: str | None = None
    ) -> dict[str, Any]:
        """List the sandbox's clients, the data set's first, never a secret"""
        served = sandbox()
        found: list[tuple[Client, datetime | None]] = []
        if origin in (None, "fixture"):
            found += [(client, None) for client in served.auth.clients.values()]
        if origin in (None, "registered"):
            found += [(r.client(), r.issued_at) for r in served.store.registrations()]
        page = paginate(found, limit, cursor, key=_client_id, origin=origin)
        page["data"] = [client_document(c, at) for c, at in page["data"]]
        return page


def client_document(client: Client, registered_at: datetime | None) -> dict[str, Any]:
    if client.auth_method is not None:
        methods = [client.auth_method]
    elif client.is_confidential:
        methods = ["client_secret_basic", "client_secret_post"]
    else:
        methods = ["none"]
    return {
        "client_id": client.client_id,
        "client_name": client.name,
        "origin": "fixture" if registered_at is None else "registered",
        "type": client.type.value,
        "token_endpoint_auth_methods": methods,
        "redirect_uris": list(client.redirect_uris),
        "grant_types": sorted(client.grant_types),
        "scopes": list(client.scopes),
        "tenant_id": client.tenant_id,
        "property_ids": list(client.property_ids),
        "registered_at": registered_at,
    }


def _client_id(listed: tuple[Client, datetime | None]) -> str:
    return listed[0].client_id
