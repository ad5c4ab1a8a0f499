"""Schemas of the sandbox controls."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..web.schemas import ListQueryArgsSchema, StrictInteger, list_schema

SCOPES = ["read:units", "read:devices", "read:readings"]
STATES = ["active", "revoked", "expired"]


class ClockSchema(Schema):
    now = fields.DateTime(required=True)
    frozen = fields.Boolean(required=True)


class FreezeSchema(Schema):
    at = fields.AwareDateTime(
        load_default=None,
        metadata={
            "description": "Instant to stop at (not in the past, not after 9000-01-01T00:00Z); "
            "omitted: now."
        },
    )


class AdvanceSchema(Schema):
    by = fields.String(
        load_default=None,
        validate=validate.Length(max=40),
        metadata={"description": "ISO 8601 duration, e.g. PT1H or P31D.", "example": "PT1H"},
    )
    to = fields.AwareDateTime(
        load_default=None,
        metadata={"description": "Instant to move to (not after 9000-01-01T00:00Z)."},
    )

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("by") is None) == (data.get("to") is None):
            raise ValidationError("give exactly one of by and to", field_name="by")


class SessionEventSchema(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["issued", "rotated", "replay_detected", "revoked", "expired"]),
    )
    detail = fields.String(required=True)


class SessionSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            ["authorization_code", "client_credentials", "personal_access_token"]
        ),
    )
    client_id = fields.String(required=True)
    tenant_id = fields.String(required=True)
    subject = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    scopes = fields.List(fields.String(), required=True)
    property_ids = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(
        required=True, metadata={"description": "When it stops working unless renewed or revoked."}
    )
    absolute_expires_at = fields.DateTime(
        required=True, metadata={"description": "The cap no refresh can pass."}
    )
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    revoked_reason = fields.String(required=True, allow_none=True)
    events = fields.List(fields.Nested(SessionEventSchema), required=True)


class PersonalAccessTokenQueryArgsSchema(ListQueryArgsSchema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    tenant_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class SessionQueryArgsSchema(PersonalAccessTokenQueryArgsSchema):
    client_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class PersonalAccessTokenCreateSchema(Schema):
    tenant_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=100),
            # Shown back in every list: no NUL, escape sequences or other control characters.
            validate.Regexp(
                r"^[^\x00-\x1f\x7f-\x9f]*$", error="Must not contain control characters."
            ),
        ],
    )
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)),
        required=True,
        validate=validate.Length(min=1, max=len(SCOPES)),
    )
    property_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )
    expires_in = StrictInteger(
        60,
        366 * 86400,
        load_default=30 * 86400,
        metadata={"description": "Lifetime in seconds (60 s to a year); default 30 days."},
    )


class PersonalAccessTokenSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    tenant_id = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    property_ids = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))


class CreatedPersonalAccessTokenSchema(PersonalAccessTokenSchema):
    token = fields.String(
        required=True, metadata={"description": "The secret. Shown once; store it now."}
    )


class LoadDataSchema(Schema):
    data_set = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "A data set loaded at start (`default`: the fixtures)."},
    )
    directory = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=4096),
        metadata={
            "description": "A directory on the server to load (the local default sandbox only)."
        },
    )

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("data_set") is None) == (data.get("directory") is None):
            raise ValidationError("give exactly one of data_set and directory", "data_set")


class DataSetSchema(Schema):
    data_set = fields.String(required=True)
    directory = fields.String(
        metadata={"description": "Where it was loaded from; the local default sandbox only."}
    )
    tenants = fields.Integer(required=True)
    properties = fields.Integer(required=True)
    usage_units = fields.Integer(required=True)
    clients = fields.Integer(required=True)


SessionListSchema = list_schema(SessionSchema, "SessionList")
PersonalAccessTokenListSchema = list_schema(PersonalAccessTokenSchema, "PersonalAccessTokenList")
