"""JSON rendering that writes exact decimals as JSON numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider


class DecimalJSONProvider(DefaultJSONProvider):
    """Render `Decimal` as a number, not a string, and keep key order.

    Metering values carry at most 3 decimals and well under 15 significant
    digits, so the shortest float representation Python writes is exactly
    the decimal's digits (IEEE 754 doubles round-trip 15): 25.614 stays
    25.614, never 25.613999999999997. Whole numbers are written as integers.
    The loader refuses values finer than a metric's precision, which keeps
    every value inside that bound.
    """

    sort_keys = False
    compact = True

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            number = float(o)
            return int(number) if number.is_integer() else number
        return DefaultJSONProvider.default(o)
