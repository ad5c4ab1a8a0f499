"""The JSON Schema of a data set as one document: one array per fixture file.

The one place that names the collections and describes their fields. The
loader (`dataset.py`) enforces the rules, with the file, path and reason of
each failure; `tests/test_dataset_schema.py` holds this schema to it: the
fixtures are valid here, and every field required here is refused there when
it is missing. Items allow fields beyond those listed, so a new field is one
line here and one rule there.
"""

from __future__ import annotations

from typing import Any

from .metering.model import Category, Metric, Quality, Reason
from .oauth.clients import MAX_ACCESS_TOKEN_TTL, ClientType
from .records import FIRST_YEAR, LAST_YEAR

SCHEMA_ID = "https://api.sandbox.messpunkt.io/schemas/data-set.json"

TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
OPTIONAL_TEXT: dict[str, Any] = {"type": ["string", "null"], "minLength": 1}
YEARS = f"In the years {FIRST_YEAR} to {LAST_YEAR}."
INSTANT: dict[str, Any] = {**TEXT, "format": "date-time", "description": YEARS}
DAY: dict[str, Any] = {**TEXT, "format": "date", "description": YEARS}
NUMBER: dict[str, Any] = {"type": "number", "minimum": 0}
TEXTS: dict[str, Any] = {"type": "array", "items": TEXT}


def _item(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


# Collection name (its file is `<name>.json`) → the schema of one of its items.
ITEMS: dict[str, dict[str, Any]] = {
    "tenants": _item(
        {
            "id": TEXT,
            "name": TEXT,
            "demo_users": {
                "type": "array",
                "minItems": 1,
                "items": _item({"id": TEXT, "name": TEXT, "email": TEXT}),
            },
        }
    ),
    "properties": _item(
        {
            "id": TEXT,
            "tenant_id": TEXT,
            "name": TEXT,
            "street": TEXT,
            "postal_code": TEXT,
            "city": TEXT,
            "timezone": {**TEXT, "description": "An IANA time zone."},
            "heating": TEXT,
        }
    ),
    "usage_units": _item(
        {
            "id": TEXT,
            "property_id": TEXT,
            "name": TEXT,
            "kind": TEXT,
            "floor": TEXT,
            "area_m2": NUMBER,
        },
        {
            "category": {
                "enum": [c.value for c in Category],
                "description": "HeizkostenV §6a user category; absent: residential.",
            }
        },
    ),
    "measuring_points": _item(
        {
            "id": TEXT,
            "metric": {"enum": [m.value for m in Metric]},
            "unit": {"enum": sorted({m.unit for m in Metric}), "description": "The metric's."},
            "location": TEXT,
        },
        {
            "usage_unit_id": {
                **TEXT,
                "type": ["string", "null"],
                "description": "The unit it measures; null for a property's central heat meter.",
            },
            "property_id": {
                **TEXT,
                "type": ["string", "null"],
                "description": "Only for a property's central heat meter (metric heat).",
            },
            "commissioned_on": {
                **DAY,
                "type": ["string", "null"],
                "description": "First day in service (property's time zone); before it the "
                "point does not exist. Its first device may be installed later that day.",
            },
            "decommissioned_on": {
                **DAY,
                "type": ["string", "null"],
                "description": "The day its service ends; every device is removed by then.",
            },
        },
    ),
    "devices": _item(
        {
            "id": TEXT,
            "measuring_point_id": TEXT,
            "serial_number": TEXT,
            "manufacturer": TEXT,
            "model": TEXT,
            "installed_at": INSTANT,
        },
        {
            "removed_at": {
                **INSTANT,
                "type": ["string", "null"],
                "description": f"Not before installed_at; null: still installed. {YEARS}",
            }
        },
    ),
    "readings": _item(
        {
            "device_id": TEXT,
            "timestamp": INSTANT,
            "value": NUMBER,
            "quality": {"enum": [Quality.MEASURED.value, Quality.ESTIMATED.value]},
            "reason": {"enum": [r.value for r in Reason if r is not Reason.WINDOW_BOUNDARY]},
        },
        {
            "recorded_at": {
                **INSTANT,
                "type": ["string", "null"],
                "description": "When the reading reached the system, not before `timestamp` "
                "(absent: at it). Before it the reading does not exist in the API.",
            }
        },
    ),
    "clients": _item(
        {
            "client_id": TEXT,
            "name": TEXT,
            "type": {"enum": [t.value for t in ClientType]},
            "redirect_uris": TEXTS,
            "grant_types": TEXTS,
            "scopes": TEXTS,
            "property_ids": TEXTS,
        },
        {
            "secret_hash": {**OPTIONAL_TEXT, "description": "Confidential clients only."},
            "tenant_id": OPTIONAL_TEXT,
            "access_token_ttl": {
                "type": ["integer", "null"],
                "exclusiveMinimum": 0,
                "maximum": MAX_ACCESS_TOKEN_TTL,
                "description": "Seconds (null: the sandbox's access token lifetime); at "
                "most a session's cap, 30 days.",
            },
        },
    ),
}

COLLECTIONS = tuple(ITEMS)

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "messpunkt sandbox data set",
    "description": "One array per fixture file of sandbox_data/ (see its README).",
    "type": "object",
    "required": list(COLLECTIONS),
    "additionalProperties": False,
    "properties": {name: {"type": "array", "items": item} for name, item in ITEMS.items()},
}
