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

from ..bounded import BoundedCache
from ..web.json import json_response

# Readings fall on the same instants across devices (month starts, billing dates) and
# windows on the same days across units, so the same few instants are written again
# and again; converting and formatting one cost ten times looking it up.
_written: BoundedCache[tuple[datetime, int, tzinfo], str] = BoundedCache(16_384)


def ok(document: Any) -> Response:
    return json_response(document)


def local(instant: datetime, zone: tzinfo) -> str:
    """Write an instant in the property's time zone (RFC 3339 with its offset)."""
    # `fold` belongs in the key: datetimes sharing a ZoneInfo compare (and hash) by
    # wall clock, so the two instants of the repeated autumn hour would be one key.
    key = (instant, instant.fold, zone)
    written = _written.get(key)
    if written is None:
        written = instant.astimezone(zone).isoformat()
        _written.put(key, written)
    return written
