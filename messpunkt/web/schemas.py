"""Schemas every documented blueprint shares: list arguments, the list envelope, problems."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, validate

# Digits 0-9 without a leading zero, perhaps negative.
_PLAIN = re.compile(r"0|-?[1-9][0-9]*")


class StrictInteger(fields.Integer):
    """A whole number from `minimum` to `maximum`, as a JSON number or in plain digits.

    marshmallow's Integer takes whatever `int()` takes: " 50", "+50", "050",
    "5_0", Arabic-Indic digits, and a JSON 50.5 as 50. Here text must be
    digits 0-9 only (a minus can only make it fall outside the range), and
    one with more digits than the range's ends is refused unparsed.
    """

    default_error_messages = {  # noqa: RUF012 - as marshmallow declares it
        "invalid": "Not a valid integer: digits 0-9 only, without sign, spaces or leading zeros."
    }

    def __init__(self, minimum: int, maximum: int, **kwargs: Any) -> None:
        self.range = validate.Range(min=minimum, max=maximum)
        super().__init__(validate=self.range, strict=True, **kwargs)
        self.digits = max(len(str(abs(minimum))), len(str(abs(maximum))))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if type(value) is int:
            return value  # a JSON number; the range decides
        if not isinstance(value, str) or not _PLAIN.fullmatch(value):
            raise self.make_error("invalid")
        if len(value.lstrip("-")) > self.digits:
            # Outside the range whatever the digits: say so without parsing them.
            self.range(self.range.min - 1 if value.startswith("-") else self.range.max + 1)
        return int(value)


# RFC 3339's full-date and date-time (seconds may be left out), in ASCII digits.
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?"  # without one: AwareDateTime says it is naive
)


class StrictDate(fields.Date):
    """A calendar day written YYYY-MM-DD, as its documented `format: date` says: Python's
    `date.fromisoformat`, which marshmallow uses, also takes 20260301 and 2026-W10-1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not _FULL_DATE.fullmatch(value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictAwareDateTime(fields.AwareDateTime):
    """An instant with its UTC offset, written as RFC 3339 (`format: date-time`) writes it,
    not in ISO 8601's basic or week forms."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return super()._deserialize(value, attr, data, **kwargs)


class ListQueryArgsSchema(Schema):
    limit = StrictInteger(
        1, 200, load_default=50, metadata={"description": "Items per page, 1–200."}
    )
    cursor = fields.String(
        validate=validate.Length(max=512),
        metadata={"description": "`pagination.next_cursor` of the previous page."},
    )


class PaginationSchema(Schema):
    next_cursor = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page."},
    )


def list_schema(item: type[Schema], name: str) -> type[Schema]:
    """Make the list envelope `{"data": [...], "pagination": {...}}` of one item schema."""
    return Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item), required=True),
            "pagination": fields.Nested(PaginationSchema, required=True),
        },
        name=name,
    )


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True, metadata={"example": "Bad Request"})
    status = fields.Integer(required=True, metadata={"example": 400})
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages per parameter, for invalid parameters."},
    )
