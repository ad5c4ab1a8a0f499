"""Schemas of the operator's API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..sandboxes import SandboxStatus
from ..web.schemas import list_schema

DAY = 86400


class SandboxCreateSchema(Schema):
    expires_in = fields.Integer(
        strict=True,
        load_default=7 * DAY,
        validate=validate.Range(min=60, max=90 * DAY),
        metadata={"description": "Lifetime in seconds of real time (60 s to 90 days); 7 days."},
    )
    data_set = fields.String(
        load_default="default",
        validate=validate.Length(min=1, max=40),
        metadata={"description": "A data set loaded at start (`default`: the fixtures)."},
    )


class SandboxSchema(Schema):
    id = fields.String(required=True)
    issuer = fields.String(
        required=True, metadata={"description": "Its base URL: every path of the sandbox below."}
    )
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)
    data_set = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf([status.value for status in SandboxStatus])
    )


class CreatedSandboxSchema(SandboxSchema):
    admin_key = fields.String(
        required=True,
        metadata={"description": "Its key for /sandbox (X-Sandbox-Admin-Key). Shown once."},
    )


SandboxListSchema = list_schema(SandboxSchema, "SandboxList")
