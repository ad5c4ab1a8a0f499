"""JSON rendering that writes exact decimals as JSON numbers."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


def number(value: Decimal) -> int | float:
    """Return a metering decimal as the JSON number it is written as.

    Metering values carry at most 3 decimals and well under 15 significant
    digits, so the shortest float representation Python writes is exactly
    the decimal's digits (IEEE 754 doubles round-trip 15): 25.614 stays
    25.614, never 25.613999999999997. Whole numbers are written as integers.
    The loader refuses values finer than a metric's precision, which keeps
    every value inside that bound.
    """
    converted = float(value)
    return int(converted) if converted.is_integer() else converted


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return number(o)
    return DefaultJSONProvider.default(o)


def dumps(document: Any) -> bytes:
    """Write `document` as compact UTF-8 JSON, key order kept, decimals as numbers.

    orjson, not the standard library: a consumption answer (1.2 kB, eight
    decimals) took 12 µs with json's C encoder and 2 µs with orjson, with
    the same bytes. Both write floats in their shortest round-trip form.
    """
    return orjson.dumps(document, default=_default, option=orjson.OPT_APPEND_NEWLINE)


def json_response(
    document: Any,
    status: int = 200,
    headers: Iterable[tuple[str, str]] = (),
    mimetype: str = "application/json",
) -> Response:
    """Render `document` as a JSON response (what jsonify does, in one step)."""
    return Response(dumps(document), status, headers, mimetype=mimetype)


class DecimalJSONProvider(DefaultJSONProvider):
    """Flask's JSON for everything else (jsonify, flask-smorest): the same rules."""

    sort_keys = False
    compact = True

    @staticmethod
    def default(o: Any) -> Any:
        return _default(o)
