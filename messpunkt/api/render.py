"""Render /v1 documents straight to JSON.

Views build plain dicts in the documented shape and return them as a
response; flask-smorest then uses the `@blp.response` schema only to
document the operation, not to dump (marshmallow's dump cost more than the
rest of a request). `tests/test_openapi.py` holds every real response to
its declared schema, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from flask import Response

from ..web.json import json_response


def ok(document: Any) -> Response:
    return json_response(document)


def local(instant: datetime, zone: tzinfo) -> str:
    """Write an instant in the property's time zone (RFC 3339 with its offset)."""
    return instant.astimezone(zone).isoformat()
