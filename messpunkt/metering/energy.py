"""Energy in kWh for every heat-related monthly value, as HeizkostenV §6a(2) Nr. 1 asks.

- heat meters measure kWh: taken as they are;
- warm water by HeizkostenV §9(2): Q = 2.5 kWh/(m³·K) × V × (tw − 10 °C), with
  tw = 60 °C where the warm water temperature is not measured (125 kWh per m³);
- heat cost allocators count rated units, not energy: a month's units get their share
  of the property's central heat meter, in proportion to all the property's units.

Every result is whole kWh, ties rounded half up (kaufmännisch).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .model import Metric

KWH = Decimal(1)
# HeizkostenV §9(2): 2.5 kWh/(m³·K), between 10 °C cold water and tw = 60 °C (not measured).
WATER_HEAT_CAPACITY = Decimal("2.5")
COLD_WATER_C = Decimal(10)
DEFAULT_WARM_WATER_C = Decimal(60)


def warm_water_kwh(volume_m3: Decimal, warm_water_c: Decimal = DEFAULT_WARM_WATER_C) -> Decimal:
    """Return the energy that heated `volume_m3` of warm water (HeizkostenV §9(2))."""
    return _whole(WATER_HEAT_CAPACITY * volume_m3 * (warm_water_c - COLD_WATER_C))


def allocated_kwh(units: Decimal, central_kwh: Decimal, property_units: Decimal) -> Decimal:
    """Return the central heat meter's kWh that `units` of `property_units` account for."""
    if property_units == 0:
        return _whole(Decimal(0))
    return _whole(central_kwh * units / property_units)


def kwh(
    metric: Metric, value: Decimal, kwh_per_unit: tuple[Decimal, Decimal] | None
) -> Decimal | None:
    """Return a monthly value in kWh; None for cold water, or allocators with no central share.

    `kwh_per_unit` is the month's (central heat meter kWh, all allocator units of the
    property), known only when both are complete.
    """
    if metric is Metric.HEAT:
        return _whole(value)
    if metric is Metric.WATER_WARM:
        return warm_water_kwh(value)
    if metric is Metric.HEAT_ALLOCATION and kwh_per_unit is not None:
        return allocated_kwh(value, *kwh_per_unit)
    return None


def _whole(energy: Decimal) -> Decimal:
    return energy.quantize(KWH, rounding=ROUND_HALF_UP)
