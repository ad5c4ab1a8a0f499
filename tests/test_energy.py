"""§6a(2) Nr. 1 in kWh and Nr. 3's comparison user, on hand-built values."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from messpunkt.metering.energy import allocated_kwh, kwh, warm_water_kwh
from messpunkt.metering.model import (
    Category,
    Device,
    MeasuringPoint,
    Metric,
    Quality,
    Reading,
    Reason,
    UsageUnit,
)
from messpunkt.metering.monthly import Status, monthly_report

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        # HeizkostenV §9(2): Q = 2.5 kWh/(m³·K) × V × (60 − 10) K = 125 kWh per m³.
        ("1.000", "125"),
        ("4.273", "534"),  # 534.125 -> 534
        ("2.100", "263"),  # 262.5 -> a tie, half up -> 263 (half to even: 262)
        ("0.004", "1"),  # 0.5 -> a tie, half up -> 1 (half to even: 0)
        ("0.000", "0"),
    ],
)
def test_warm_water_is_125_kwh_per_cubic_metre_rounded_half_up(volume, expected):
    assert warm_water_kwh(Decimal(volume)) == Decimal(expected)
    assert kwh(Metric.WATER_WARM, Decimal(volume), None) == Decimal(expected)


def test_a_measured_warm_water_temperature_replaces_the_60_degrees():
    # 2.5 × 2.000 m³ × (55 − 10) K = 225 kWh.
    assert warm_water_kwh(Decimal("2.000"), Decimal(55)) == Decimal(225)


def test_heat_meters_are_taken_as_measured_and_cold_water_has_no_energy():
    assert kwh(Metric.HEAT, Decimal(812), None) == Decimal(812)
    assert kwh(Metric.WATER_COLD, Decimal("3.5"), (Decimal(1), Decimal(1))) is None


def test_allocator_units_get_their_share_of_the_central_heat_meter():
    # The central meter gave 10,000 kWh; the property's allocators counted 4,000 rated units;
    # a flat's 1,000 units are a quarter: 2,500 kWh. 333 units: 832.5 -> 833 (half up).
    assert allocated_kwh(Decimal(1000), Decimal(10000), Decimal(4000)) == Decimal(2500)
    assert allocated_kwh(Decimal(333), Decimal(10000), Decimal(4000)) == Decimal(833)
    assert kwh(Metric.HEAT_ALLOCATION, Decimal(1000), (Decimal(10000), Decimal(4000))) == 2500
    # Without the central meter's month (or a unit's), the share is unknown.
    assert kwh(Metric.HEAT_ALLOCATION, Decimal(1000), None) is None


def instant(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=BERLIN)


def meter(point: MeasuringPoint, values: list[str], metric: Metric) -> Device:
    """A device read on the 1st of January 2025 .. January 2027, values one per month."""
    readings = tuple(
        Reading(instant(2025 + k // 12, k % 12 + 1), Decimal(v), Quality.MEASURED,
                Reason.BILLING_DATE_RESET if k % 12 == 0 and k and metric.resets_at_billing_date
                else Reason.PERIODIC)
        for k, v in enumerate(values)
    )  # fmt: skip
    return Device.create(
        id=f"d-{point.id}", measuring_point_id=point.id, metric=metric,
        serial_number=point.id, manufacturer="m", model="m",
        installed_at=datetime(2020, 3, 2, 8, tzinfo=BERLIN), removed_at=None, readings=readings,
    )  # fmt: skip


def linear(per_month: int, months: int = 25) -> list[str]:
    return [str(per_month * k) for k in range(months)]


def flat(name: str, area: str, per_month: int, category: Category = Category.RESIDENTIAL):
    unit = UsageUnit(name, "prop", name, category.value, "EG", Decimal(area), category)
    point = MeasuringPoint(f"{name}-warm", name, Metric.WATER_WARM, "Bad")
    return unit, [(point, [meter(point, linear(per_month), Metric.WATER_WARM)])]


def test_the_comparison_user_is_the_same_category_per_m2_without_the_unit_itself():
    # Warm water a month, 2026: A (50 m²) 2 m³, B (100 m²) 6 m³, a shop (100 m², commercial)
    # 30 m³. A's comparison user is B alone: 6 / 100 × 50 = 3.000 m³ (375 kWh); neither A
    # itself nor the shop counts. (Pooled, as before: 38 / 250 × 50 = 7.600 m³.)
    a, b, shop = flat("A", "50", 2), flat("B", "100", 6), flat("S", "100", 30, Category.COMMERCIAL)
    months = monthly_report(a[0], a[1], [a, b, shop], Metric.WATER_WARM, 2026, BERLIN)

    for month in months:
        average = month.property_average
        assert (average.value, average.kwh) == (Decimal("3.000"), Decimal(375))
        assert (average.units_compared, average.category) == (1, Category.RESIDENTIAL)
        # A's own 2 m³ is 250 kWh.
        assert (month.consumption.value, month.consumption.kwh) == (Decimal(2), Decimal(250))
    # The shop is compared with no one: no other commercial unit.
    shop_months = monthly_report(shop[0], shop[1], [a, b, shop], Metric.WATER_WARM, 2026, BERLIN)
    assert shop_months[0].property_average.status is Status.NO_DATA


def test_a_month_of_allocator_units_is_in_kwh_through_the_central_heat_meter():
    # January 2026: the central meter gives 3,000 kWh; flat A's allocator counts 300 units,
    # flat B's 900 (1,200 in all). A: 3,000 × 300 / 1,200 = 750 kWh; its comparison user
    # (B, 100 m², scaled to A's 50 m²) 450 units, 3,000 × 450 / 1,200 = 1,125 kWh.
    def allocator_unit(name: str, area: str, per_month: int):
        unit = UsageUnit(name, "prop", name, "residential", "EG", Decimal(area))
        point = MeasuringPoint(f"{name}-hca", name, Metric.HEAT_ALLOCATION, "Wohnzimmer")
        values = [str(per_month * (k % 12 or (12 if k else 0))) for k in range(25)]
        return unit, [(point, [meter(point, values, Metric.HEAT_ALLOCATION)])]

    a, b = allocator_unit("A", "50", 300), allocator_unit("B", "100", 900)
    central = MeasuringPoint("central", None, Metric.HEAT, "Heizraum", property_id="prop")
    central_heat = [(central, [meter(central, linear(3000), Metric.HEAT)])]

    january = monthly_report(
        a[0], a[1], [a, b], Metric.HEAT_ALLOCATION, 2026, BERLIN, central_heat
    )[0]

    assert (january.consumption.value, january.consumption.kwh) == (Decimal(300), Decimal(750))
    assert january.property_average.value == Decimal(450)
    assert january.property_average.kwh == Decimal(1125)
    # With no central meter the units stay units: kWh unknown, never guessed.
    alone = monthly_report(a[0], a[1], [a, b], Metric.HEAT_ALLOCATION, 2026, BERLIN)[0]
    assert (alone.consumption.value, alone.consumption.kwh) == (Decimal(300), None)


def test_allocator_kwh_is_unknown_while_a_unit_has_allocators_in_service_but_unread():
    # A (50 m²) counts 300 units a month, B (50 m²) 300 too; the central meter gives 3,000
    # kWh. B's allocator stays installed but its last reading is on 1 February 2026: from
    # February, B's share of the 3,000 kWh is unknown, and so is A's. A shop with no
    # allocator at all used none: it never makes a share unknown.
    def allocator_unit(name: str, months: int):
        unit = UsageUnit(name, "prop", name, "residential", "EG", Decimal(50))
        point = MeasuringPoint(f"{name}-hca", name, Metric.HEAT_ALLOCATION, "Wohnzimmer")
        values = [str(300 * (k % 12 or (12 if k else 0))) for k in range(months)]
        return unit, [(point, [meter(point, values, Metric.HEAT_ALLOCATION)])]

    a, b = allocator_unit("A", 25), allocator_unit("B", 14)
    shop = (UsageUnit("S", "prop", "S", "commercial", "EG", Decimal(80), Category.COMMERCIAL), [])
    central = MeasuringPoint("central", None, Metric.HEAT, "Heizraum", property_id="prop")
    central_heat = [(central, [meter(central, linear(3000), Metric.HEAT)])]

    months = monthly_report(
        a[0], a[1], [a, b, shop], Metric.HEAT_ALLOCATION, 2026, BERLIN, central_heat
    )

    january, february = months[0].consumption, months[1].consumption
    assert (january.value, january.kwh) == (Decimal(300), Decimal(1500))  # 3,000 × 300 / 600
    assert (february.value, february.status, february.kwh) == (Decimal(300), Status.COMPLETE, None)


def test_a_month_before_the_first_reading_has_no_kwh_either():
    a = flat("A", "50", 2)
    december_2024 = monthly_report(a[0], a[1], [a], Metric.WATER_WARM, 2025, BERLIN)[0]
    assert december_2024.previous_month.month == date(2024, 12, 1)
    assert (december_2024.previous_month.value, december_2024.previous_month.kwh) == (None, None)
