"""Schemas of the consumption calls: per segment, per metric and per month."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..metering.model import Quality, Reason
from ..web.schemas import StrictInteger
from .schemas import (
    EARLIEST,
    FIRST_DAY,
    LAST_DAY,
    LATEST,
    METRICS,
    DayRangeSchema,
    day_field,
    number_field,
)


class ConsumptionQueryArgsSchema(DayRangeSchema):
    from_ = day_field(FIRST_DAY, required=True, data_key="from")
    to = day_field(LAST_DAY, required=True)
    metric = fields.String(
        validate=validate.OneOf(METRICS),
        metadata={"description": "One metric; omitted means all."},
    )


class DeviceRefSchema(Schema):
    id = fields.String(required=True)
    serial_number = fields.String(required=True)


class ReadingSchema(Schema):
    timestamp = fields.DateTime(required=True)
    value = number_field(required=True)
    quality = fields.String(required=True, validate=validate.OneOf([q.value for q in Quality]))
    reason = fields.String(required=True, validate=validate.OneOf([r.value for r in Reason]))


class SegmentSchema(Schema):
    device = fields.Nested(DeviceRefSchema, required=True)
    from_ = fields.DateTime(data_key="from", required=True)
    to = fields.DateTime(required=True)
    readings = fields.List(
        fields.Nested(ReadingSchema),
        required=True,
        validate=validate.Length(equal=2),
        metadata={"description": "Start and end; consumption = readings[1] − readings[0]."},
    )
    consumption = number_field(required=True)


class MeasuringPointConsumptionSchema(Schema):
    id = fields.String(required=True)
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    unit = fields.String(required=True)
    location = fields.String(required=True)
    segments = fields.List(fields.Nested(SegmentSchema), required=True)
    consumption = number_field(required=True)
    complete = fields.Boolean(
        required=True,
        metadata={"description": "False when part of the window has no data (see warnings)."},
    )


class UncoveredSchema(Schema):
    measuring_point_id = fields.String(required=True)
    from_ = fields.DateTime(data_key="from", required=True)
    to = fields.DateTime(required=True)
    code = fields.String(
        required=True, validate=validate.OneOf(["no_readings", "no_device_installed"])
    )


class TotalSchema(Schema):
    value = number_field(required=True)
    unit = fields.String(required=True)
    complete = fields.Boolean(
        required=True,
        metadata={"description": "False when a period of a point of this metric has no data."},
    )
    uncovered = fields.List(
        fields.Nested(UncoveredSchema),
        required=True,
        metadata={"description": "The periods the value leaves out; its use is unknown."},
    )


class WarningSchema(Schema):
    code = fields.String(
        required=True, validate=validate.OneOf(["no_readings", "no_device_installed"])
    )
    measuring_point_id = fields.String(required=True)
    from_ = fields.DateTime(data_key="from", required=True)
    to = fields.DateTime(required=True)
    detail = fields.String(required=True)


class ConsumptionSchema(Schema):
    usage_unit_id = fields.String(required=True)
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    measuring_points = fields.List(fields.Nested(MeasuringPointConsumptionSchema), required=True)
    totals = fields.Dict(
        keys=fields.String(validate=validate.OneOf(METRICS)),
        values=fields.Nested(TotalSchema),
        required=True,
    )
    warnings = fields.List(fields.Nested(WarningSchema), required=True)


class MonthlyQueryArgsSchema(Schema):
    year = StrictInteger(EARLIEST.year + 1, LATEST.year, required=True)
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))


class MonthAmountSchema(Schema):
    month = fields.String(required=True, metadata={"example": "2026-01"})
    value = number_field(
        required=True, allow_none=True, metadata={"description": "null when no data"}
    )
    kwh = number_field(
        required=True,
        allow_none=True,
        metadata={
            "description": "The value in kWh (HeizkostenV §6a(2) Nr. 1): heat as measured, warm "
            "water 2.5 kWh/(m³·K) × V × (60 − 10) K (§9(2)), allocator units as their share of "
            "the central heat meter; null for cold water or when that share is unknown."
        },
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(["complete", "estimated", "incomplete", "no_data"]),
        metadata={"description": "estimated: a point's use rests on no measured reading."},
    )


class PropertyAverageSchema(Schema):
    value = number_field(
        required=True,
        allow_none=True,
        metadata={
            "description": "The average per m² of the property's other units of the same "
            "category, times this unit's area."
        },
    )
    kwh = number_field(required=True, allow_none=True, metadata={"description": "In kWh."})
    status = fields.String(required=True, validate=validate.OneOf(["complete", "no_data"]))
    units_compared = fields.Integer(
        required=True,
        metadata={"description": "Other units of the category with data for the whole month."},
    )
    category = fields.String(required=True, validate=validate.OneOf(["residential", "commercial"]))


class MonthSchema(Schema):
    month = fields.String(required=True, metadata={"example": "2026-01"})
    consumption = fields.Nested(MonthAmountSchema, required=True)
    previous_month = fields.Nested(MonthAmountSchema, required=True)
    same_month_last_year = fields.Nested(MonthAmountSchema, required=True)
    property_average = fields.Nested(PropertyAverageSchema, required=True)


class MonthlyConsumptionSchema(Schema):
    usage_unit_id = fields.String(required=True)
    year = fields.Integer(required=True)
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    unit = fields.String(required=True)
    area_m2 = number_field(required=True)
    category = fields.String(required=True, validate=validate.OneOf(["residential", "commercial"]))
    months = fields.List(
        fields.Nested(MonthSchema), required=True, validate=validate.Length(equal=12)
    )
