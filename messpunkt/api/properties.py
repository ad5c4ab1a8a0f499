"""/v1/properties: the buildings the token was granted."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import abort

from ..metering.model import Property
from ..metering.scope import ScopedCatalogue
from ..web.pagination import by_id, paginate
from .blueprint import ApiBlueprint
from .render import ok
from .schemas import ListQueryArgsSchema, PropertyListSchema, PropertySchema
from .security import visible_catalogue

blp = ApiBlueprint("properties", __name__, url_prefix="/v1/properties", description="Properties")


@blp.route("", methods=["GET"])
@blp.requires("read:units")
@blp.arguments(ListQueryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, PropertyListSchema)
def list_properties(limit: int, cursor: str | None = None) -> Response:
    """List the properties in the token's property scope"""
    catalogue = visible_catalogue()
    page = paginate(catalogue.properties(), limit, cursor, key=by_id)
    page["data"] = [property_document(catalogue, p) for p in page["data"]]
    return ok(page)


@blp.route("/<property_id>", methods=["GET"])
@blp.requires("read:units")
@blp.response(200, PropertySchema)
@blp.errors(404)
def show_property(property_id: str) -> Response:
    """Show one property"""
    catalogue = visible_catalogue()
    found = catalogue.property(property_id)
    if found is None:
        abort(404, message="no property with this id in the token's property scope")
    assert found is not None
    return ok(property_document(catalogue, found))


def property_document(catalogue: ScopedCatalogue, prop: Property) -> dict[str, Any]:
    units = catalogue.catalogue.usage_units(prop.id)
    return {
        "id": prop.id,
        "name": prop.name,
        "street": prop.street,
        "postal_code": prop.postal_code,
        "city": prop.city,
        "timezone": prop.timezone,
        "heating": prop.heating,
        "usage_unit_count": len(units),
    }
