"""Cursor pagination: opaque, signed cursors bound to the query that made them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from itertools import islice
from typing import Any, TypeVar

from flask import g, request
from flask_smorest import abort
from itsdangerous import BadData, URLSafeSerializer

from .context import platform, sandbox

Item = TypeVar("Item")


def paginate(
    items: Iterable[Item],
    limit: int,
    cursor: str | None,
    *,
    within: str | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Return one page of `items` in the list envelope, with the next cursor.

    A cursor holds in this request's sandbox and its generation only, or
    `within` what the caller names (a list that belongs to no sandbox).
    """
    offset = 0
    if cursor is not None:
        signer, binding = _signer(), _binding(filters, within)
        try:
            bound_to, offset = signer.loads(cursor)
        except (BadData, ValueError, TypeError):
            abort(400, message="the cursor is invalid", errors={"cursor": ["Invalid cursor."]})
        if bound_to != binding or not isinstance(offset, int) or offset < 0:
            abort(
                400,
                message="the cursor belongs to another query",
                errors={"cursor": ["Cursor does not belong to this query."]},
            )
    page = list(islice(items, offset, offset + limit + 1))
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        next_cursor = _signer().dumps([_binding(filters, within), offset + limit])
    return {"data": page, "pagination": {"next_cursor": next_cursor}}


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(platform().secret_key, salt="messpunkt.v1.cursor")


def _binding(filters: dict[str, Any], within: str | None) -> str:
    """Fingerprint the endpoint, the caller's view and the filters a cursor is valid for."""
    caller = g.get("principal")
    if within is None:
        served = sandbox()
        within = f"{served.id} {served.generation}"
    parts = [
        request.endpoint or "",
        str(request.view_args or {}),
        caller.tenant_id if caller else "",
        ",".join(sorted(caller.property_scope)) if caller else "",
        within,
        repr(sorted((k, str(v)) for k, v in filters.items())),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def paginate_by_id(
    items: Iterable[dict[str, Any]], limit: int, cursor: str | None, **filters: Any
) -> dict[str, Any]:
    """Return one page of `items` (numbered `id`s, newest first) in the list envelope.

    The cursor holds the last id given, not an offset: a log that grows while a
    partner pages through it neither repeats nor skips an entry.
    """
    before = None
    if cursor is not None:
        try:
            bound_to, before = _signer().loads(cursor)
        except (BadData, ValueError, TypeError):
            abort(400, message="the cursor is invalid", errors={"cursor": ["Invalid cursor."]})
        if bound_to != _binding(filters, None) or not isinstance(before, int):
            abort(
                400,
                message="the cursor belongs to another query",
                errors={"cursor": ["Cursor does not belong to this query."]},
            )
    older = (item for item in items if before is None or int(item["id"]) < before)
    page = list(islice(older, limit + 1))
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        next_cursor = _signer().dumps([_binding(filters, None), int(page[-1]["id"])])
    return {"data": page, "pagination": {"next_cursor": next_cursor}}
