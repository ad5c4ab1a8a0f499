"""Schemas every documented blueprint shares: list arguments, the list envelope, problems."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


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
