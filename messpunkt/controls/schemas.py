"""Schemas of the sandbox controls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ..clock import LATEST
from ..faults import METHODS, PATHS, RETRY_STATUSES, STATUSES
from ..oauth.client_metadata import utf8_encodable
from ..path_pattern import BadPattern, check
from ..web.schemas import ListQueryArgsSchema, StrictAwareDateTime, StrictInteger, list_schema

SCOPES = ["read:units", "read:devices", "read:readings"]


def validate_fault_path(value: str) -> None:
    """Refuse a pattern outside the partner's API (faults never touch the controls), and one
    no request it applies to can have: it would hold one of the armed places, never to match.

    Clients remove `.` and `..` segments before sending (RFC 3986 §5.2.4); no endpoint's
    path has an empty segment, and /v1 is routed, `//` merged, before its faults apply. (The
    request log's filter takes both: it matches the paths requests came with.)
    """
    validate_path_pattern(value)
    if not value.startswith(PATHS):
        raise ValidationError("faults apply under /v1/ and /oauth/ only")
    segments = value[1:].split("/")
    if any(segment in (".", "..") for segment in segments):
        raise ValidationError(
            "a . or .. segment never reaches the server: clients remove them (RFC 3986 §5.2.4)"
        )
    if "" in segments:
        raise ValidationError("an empty segment (// or a final /) is in no endpoint's path")


def not_after_latest(value: datetime) -> None:
    """Refuse an instant the sandbox clock can never reach (`clock.LATEST`)."""
    if value > LATEST:
        raise ValidationError(f"Must not be after {LATEST.isoformat()}, the clock's last instant.")


def validate_path_pattern(value: str) -> None:
    """Refuse what is not a path pattern (`path_pattern.check`), saying why."""
    try:
        check(value)
    except BadPattern as error:
        raise ValidationError(str(error)) from None


STATES = ["active", "revoked", "expired"]


class JsonInteger(fields.Integer):
    """A member of a JSON body that is a whole number from `minimum` to `maximum`: a JSON
    integer only, as its `type: integer` says; "3600", true and 1.5 are "Not a valid
    integer.", as for `status`. (StrictInteger is for query parameters, which are text.)"""

    def __init__(self, minimum: int, maximum: int, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(minimum, maximum), **kwargs)


class NothingSchema(Schema):
    """The body of a control that takes none: no body or `{}`; a member given is refused by
    name ("Unknown field."), rather than acted on as if it were not there. (No Meta
    description: apispec would then leave out `additionalProperties: false`.)"""


class ClockSchema(Schema):
    now = fields.DateTime(required=True)
    frozen = fields.Boolean(required=True)


class FreezeSchema(Schema):
    at = StrictAwareDateTime(
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
        metadata={
            "description": "ISO 8601 duration of weeks, days, hours, minutes and seconds, the "
            "seconds to the millisecond at most (P1W2D, PT1H30M, PT0.5S); not years or months, "
            "which have no fixed length.",
            "example": "PT1H",
        },
    )
    to = StrictAwareDateTime(
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
    events = fields.List(
        fields.Nested(SessionEventSchema),
        required=True,
        metadata={
            "description": "Oldest first: its start and its newest 49 events (50 kept), "
            "then its expiry once that has come."
        },
    )


class PersonalAccessTokenQueryArgsSchema(ListQueryArgsSchema):
    state = fields.String(validate=validate.OneOf(STATES))
    tenant_id = fields.String(validate=validate.Length(min=1, max=64))


class SessionQueryArgsSchema(PersonalAccessTokenQueryArgsSchema):
    client_id = fields.String(validate=validate.Length(min=1, max=100))


def _utf8_text(text: str) -> None:
    """JSON may escape a lone surrogate; UTF-8 (and so Redis) cannot hold one."""
    if not utf8_encodable(text):
        raise ValidationError("Must be UTF-8 text (no lone surrogate).")


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
            _utf8_text,
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
    expires_in = JsonInteger(
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
    # A refused directory is named back in its 422, which cannot be written with a lone
    # surrogate in it (a 500); no data set's name holds one either.
    data_set = fields.String(
        load_default=None,
        validate=[validate.Length(min=1, max=40), _utf8_text],
        metadata={"description": "A data set loaded at start (`default`: the fixtures)."},
    )
    directory = fields.String(
        load_default=None,
        validate=[validate.Length(min=1, max=4096), _utf8_text],
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


class RequestQueryArgsSchema(ListQueryArgsSchema):
    client_id = fields.String(validate=validate.Length(min=1, max=100))
    status = StrictInteger(100, 599)
    path = fields.String(
        validate=validate_path_pattern,
        metadata={
            "description": "A path, or a pattern: `*` for one segment, a final `**` for the "
            "rest (`/v1/usage-units/*/consumption`)."
        },
    )


class RequestEntrySchema(Schema):
    id = fields.String(required=True)
    time = fields.String(required=True, metadata={"description": "Real time (wall clock)."})
    sandbox_time = fields.String(required=True, metadata={"description": "The sandbox clock."})
    method = fields.String(required=True)
    path = fields.String(required=True, metadata={"description": "Within the sandbox."})
    query = fields.String(required=True, metadata={"description": "Secrets redacted."})
    status = fields.Integer(required=True)
    duration_ms = fields.Float(required=True)
    client_id = fields.String(required=True, allow_none=True)
    session_id = fields.String(required=True, allow_none=True)
    error = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The OAuth `error`, or the problem's `type`."},
    )
    detail = fields.String(required=True, allow_none=True)
    injected_fault = fields.String(
        required=True, allow_none=True, metadata={"description": "The fault rule that answered."}
    )
    request_body = fields.Raw(
        required=True, allow_none=True, metadata={"description": "/oauth only; secrets redacted."}
    )
    response_body = fields.Raw(
        required=True, allow_none=True, metadata={"description": "/oauth only; secrets redacted."}
    )


class FaultCreateSchema(Schema):
    method = fields.String(
        required=True,
        validate=validate.OneOf(METHODS),
        metadata={"description": "The request method it applies to; `*` for any."},
    )
    path = fields.String(
        required=True,
        validate=validate_fault_path,
        metadata={
            "description": "A path under /v1/ or /oauth/, or a pattern: `*` for one segment, "
            "a final `**` for the rest. Never /sandbox.",
            "example": "/v1/usage-units/*/consumption",
        },
    )
    status = fields.Integer(
        load_default=None,
        strict=True,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Answer with this status, in the endpoint's error format."},
    )
    retry_after = JsonInteger(
        0,
        3600,
        load_default=None,
        metadata={"description": "Seconds in `Retry-After`, with 429 and 503 only; default 1."},
    )
    delay_ms = JsonInteger(
        1,
        10**9,
        load_default=None,
        metadata={"description": "Answer as usual, this late (MESSPUNKT_MAX_FAULT_DELAY_MS)."},
    )
    invalid_token = fields.Boolean(
        load_default=False,
        truthy={True},
        falsy={False},
        metadata={"description": "On /v1: 401 exactly as for a revoked access token."},
    )
    count = JsonInteger(
        1, 1000, load_default=None, metadata={"description": "For this many matching requests."}
    )
    until = StrictAwareDateTime(
        load_default=None,
        validate=not_after_latest,
        metadata={
            "description": "Until this instant of the sandbox clock (after its now, not after "
            "9000-01-01T00:00Z); answered in UTC."
        },
    )

    @validates_schema
    def _one_fault(self, data: dict[str, Any], **_: Any) -> None:
        chosen = [data["status"] is not None, data["delay_ms"] is not None, data["invalid_token"]]
        if chosen.count(True) != 1:
            raise ValidationError(
                "give exactly one of status, delay_ms and invalid_token", "status"
            )
        if data["retry_after"] is not None and data["status"] not in RETRY_STATUSES:
            raise ValidationError("goes with status 429 or 503 only", "retry_after")
        if data["count"] is None and data["until"] is None:
            raise ValidationError("give count, until or both", "count")
        if data["invalid_token"] and not data["path"].startswith("/v1/"):
            raise ValidationError("a token is judged on /v1/ paths only", "invalid_token")

    @post_load
    def _default_retry_after(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data["status"] in RETRY_STATUSES and data["retry_after"] is None:
            data["retry_after"] = 1
        return data


class FaultSchema(Schema):
    id = fields.String(required=True)
    method = fields.String(required=True)
    path = fields.String(required=True)
    status = fields.Integer(required=True, allow_none=True)
    retry_after = fields.Integer(required=True, allow_none=True)
    delay_ms = fields.Integer(required=True, allow_none=True)
    invalid_token = fields.Boolean(required=True)
    count = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Matching requests left."}
    )
    until = fields.DateTime(required=True, allow_none=True)


SessionListSchema = list_schema(SessionSchema, "SessionList")
FaultListSchema = list_schema(FaultSchema, "FaultList")
RequestEntryListSchema = list_schema(RequestEntrySchema, "RequestEntryList")
PersonalAccessTokenListSchema = list_schema(PersonalAccessTokenSchema, "PersonalAccessTokenList")
