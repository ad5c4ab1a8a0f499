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
    25.614, never 25.613999999999997.
    """

    sort_keys = False
    compact = True

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            if o == o.to_integral_value():
                return int(o)
            if len(o.as_tuple().digits) > 15:
                raise ValueError(f"{o} has more digits than a JSON number keeps exactly")
            return float(o)
        return DefaultJSONProvider.default(o)
