"""Marshmallow schemas of /v1: what goes in, what comes out, and the OpenAPI document."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..metering.model import Metric
from ..web.schemas import ListQueryArgsSchema, StrictAwareDateTime, StrictDate, list_schema

METRICS = [m.value for m in Metric]
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def number_field(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(as_string=False, **kwargs)


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
    category = fields.String(
        required=True,
        validate=validate.OneOf(["residential", "commercial"]),
        metadata={"description": "HeizkostenV §6a user category: compared within it."},
    )
    floor = fields.String(required=True, metadata={"example": "1. OG"})
    area_m2 = number_field(required=True, metadata={"example": 72.4})


class UsageUnitQueryArgsSchema(ListQueryArgsSchema):
    property_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Only units of this property."},
    )


class PropertySchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True, metadata={"example": "Wohnanlage Lindenhof"})
    street = fields.String(required=True)
    postal_code = fields.String(required=True)
    city = fields.String(required=True)
    timezone = fields.String(required=True, metadata={"example": "Europe/Berlin"})
    heating = fields.String(
        required=True, validate=validate.OneOf(["heat_cost_allocators", "heat_meters"])
    )
    usage_unit_count = fields.Integer(required=True)


class MeasuringPointSchema(Schema):
    id = fields.String(required=True)
    usage_unit_id = fields.String(required=True)
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    unit = fields.String(required=True, metadata={"example": "m3"})
    location = fields.String(required=True, metadata={"example": "Bad"})
    commissioned_on = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "First day in service; before it the point does not exist."},
    )
    decommissioned_on = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "The day its service ends; null while in service."},
    )
    device_ids = fields.List(
        fields.String(), required=True, metadata={"description": "Devices by installation time."}
    )


class DeviceSchema(Schema):
    id = fields.String(required=True)
    serial_number = fields.String(required=True)
    manufacturer = fields.String(required=True)
    model = fields.String(required=True)
    measuring_point_id = fields.String(required=True)
    usage_unit_id = fields.String(required=True)
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    unit = fields.String(required=True)
    installed_at = fields.DateTime(required=True)
    removed_at = fields.DateTime(required=True, allow_none=True)


class DeviceQueryArgsSchema(ListQueryArgsSchema):
    usage_unit_id = fields.String(validate=validate.Length(min=1, max=64))
    measuring_point_id = fields.String(validate=validate.Length(min=1, max=64))
    metric = fields.String(validate=validate.OneOf(METRICS))
    active_on = StrictDate(
        validate=validate.Range(min=EARLIEST, max=LATEST),
        metadata={"description": "Only devices installed at some time of this day."},
    )


class DeviceReadingSchema(Schema):
    timestamp = fields.DateTime(required=True)
    recorded_at = fields.DateTime(
        required=True,
        metadata={"description": "When the reading reached messpunkt; not before timestamp."},
    )
    value = number_field(required=True)
    unit = fields.String(required=True)
    quality = fields.String(required=True, validate=validate.OneOf(["measured", "estimated"]))
    reason = fields.String(
        required=True,
        validate=validate.OneOf(["periodic", "installation", "removal", "billing_date_reset"]),
        metadata={
            "description": "billing_date_reset: a heat cost allocator's value on 1 January, "
            "just before it restarts from 0."
        },
    )


class DayRangeSchema(Schema):
    """`from` and `to`: inclusive calendar days in the property's time zone, in order."""

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        first, last = data.get("from_"), data.get("to")
        if first is not None and last is not None and first > last:
            raise ValidationError("must not be before from", field_name="to")


def day_field(description: str, *, required: bool, **kwargs: Any) -> fields.Date:
    """A calendar day within the supported years."""
    return StrictDate(
        required=required,
        validate=validate.Range(min=EARLIEST, max=LATEST),
        metadata={"description": description},
        **kwargs,
    )


FIRST_DAY = "First day, inclusive, in the property's time zone."
LAST_DAY = "Last day, inclusive."


class ReadingQueryArgsSchema(ListQueryArgsSchema, DayRangeSchema):
    from_ = day_field(FIRST_DAY, required=False, data_key="from")
    to = day_field(LAST_DAY, required=False)
    since = StrictAwareDateTime(
        format="iso",
        metadata={
            "description": "Only readings recorded after this instant (ISO 8601 with a UTC "
            "offset; write + as %2B): pass the latest `recorded_at` you have seen."
        },
    )


PropertyListSchema = list_schema(PropertySchema, "PropertyList")
UsageUnitListSchema = list_schema(UsageUnitSchema, "UsageUnitList")
MeasuringPointListSchema = list_schema(MeasuringPointSchema, "MeasuringPointList")
DeviceListSchema = list_schema(DeviceSchema, "DeviceList")
ReadingListSchema = list_schema(DeviceReadingSchema, "ReadingList")
