"""Marshmallow schemas of /v1: what goes in, what comes out, and the OpenAPI document."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..metering.model import Metric, Quality, Reason

METRICS = [m.value for m in Metric]
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _number(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(as_string=False, **kwargs)


class ListQueryArgsSchema(Schema):
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "Items per page, 1–200."},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=512),
        metadata={"description": "`pagination.next_cursor` of the previous page."},
    )


class PaginationSchema(Schema):
    next_cursor = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page."},
    )


class WhoamiSchema(Schema):
    tenant_id = fields.String(required=True)
    tenant_name = fields.String(required=True)
    client_id = fields.String(required=True)
    granted_scopes = fields.List(fields.String(), required=True)
    property_scope = fields.List(fields.String(), required=True)


class UsageUnitSchema(Schema):
    id = fields.String(required=True)
    property_id = fields.String(required=True)
    name = fields.String(required=True, metadata={"example": "WE 01"})
    kind = fields.String(required=True, validate=validate.OneOf(["residential", "commercial"]))
    floor = fields.String(required=True, metadata={"example": "1. OG"})
    area_m2 = _number(required=True, metadata={"example": 72.4})


class UsageUnitQueryArgsSchema(ListQueryArgsSchema):
    property_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Only units of this property."},
    )


class UsageUnitListSchema(Schema):
    data = fields.List(fields.Nested(UsageUnitSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class ConsumptionQueryArgsSchema(Schema):
    from_ = fields.Date(
        data_key="from",
        required=True,
        validate=validate.Range(min=EARLIEST, max=LATEST),
        metadata={"description": "First day, inclusive, in the property's time zone."},
    )
    to = fields.Date(
        required=True,
        validate=validate.Range(min=EARLIEST, max=LATEST),
        metadata={"description": "Last day, inclusive."},
    )
    metric = fields.String(
        load_default=None,
        validate=validate.OneOf(METRICS),
        metadata={"description": "One metric; omitted means all."},
    )

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if "from_" in data and "to" in data and data["from_"] > data["to"]:
            raise ValidationError("must not be before from", field_name="to")


class DeviceRefSchema(Schema):
    id = fields.String(required=True)
    serial_number = fields.String(required=True)


class ReadingSchema(Schema):
    timestamp = fields.DateTime(required=True)
    value = _number(required=True)
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
    consumption = _number(required=True)


class MeasuringPointConsumptionSchema(Schema):
    id = fields.String(required=True)
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    unit = fields.String(required=True)
    location = fields.String(required=True)
    segments = fields.List(fields.Nested(SegmentSchema), required=True)
    consumption = _number(required=True)
    complete = fields.Boolean(
        required=True,
        metadata={"description": "False when part of the window has no data (see warnings)."},
    )


class TotalSchema(Schema):
    value = _number(required=True)
    unit = fields.String(required=True)


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
