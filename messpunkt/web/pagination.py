"""Cursor pagination: opaque, signed cursors bound to the query that made them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
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
    key: Callable[[Item], str],
    within: str | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Return one page of `items` in the list envelope, with the next cursor.

    A cursor holds in this request's sandbox and its generation only, or
    `within` what the caller names (a list that belongs to no sandbox). It
    holds its place twice: the offset of the next item, and the `key` (unique
    in the list) of the last item given. Where the list has changed before
    that place since (the sandbox clock brought a device or a late reading, a
    session started, a sandbox was deleted), the next page starts after that
    item wherever it now is: nothing is given twice or passed over. An item
    that came in before the place is not given; one that came after is.
    """
    rest: Iterator[Item] = iter(items)
    offset = 0
    if cursor is not None:
        offset, last = _place(cursor, _binding(filters, within))
        passed = list(islice(rest, offset))
        if len(passed) < offset or key(passed[-1]) != last:
            # The list changed before the cursor's place: find its last item again.
            whole = [*passed, *rest]
            keys = [key(item) for item in whole]
            if last not in keys:
                abort(
                    400,
                    message="the list has changed: the item this cursor continues after is "
                    "gone; list again from the first page",
                    errors={"cursor": ["Cursor's place is gone."]},
                )
            offset = keys.index(last) + 1
            rest = iter(whole[offset:])
    page = list(islice(rest, limit + 1))
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        place = [_binding(filters, within), offset + limit, key(page[-1])]
        next_cursor = _signer().dumps(place)
    return {"data": page, "pagination": {"next_cursor": next_cursor}}


def by_id(item: Any) -> str:
    """The key of an item with an `id` (units, devices, sessions, sandboxes, …)."""
    return str(item.id)


def _place(cursor: str, binding: str) -> tuple[int, str]:
    """Read a cursor's place (offset, last key); 400 for a bad cursor or another query's."""
    try:
        bound_to, offset, last = _signer().loads(cursor)
    except (BadData, ValueError, TypeError):
        abort(400, message="the cursor is invalid", errors={"cursor": ["Invalid cursor."]})
    if (
        bound_to != binding
        or not isinstance(offset, int)
        or offset < 1
        or not isinstance(last, str)
    ):
        abort(
            400,
            message="the cursor belongs to another query",
            errors={"cursor": ["Cursor does not belong to this query."]},
        )
    return offset, last


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
    partner pages through it neither repeats nor skips an entry. It is bound to the
    sandbox, not its generation: the log, and its numbering, outlive a reset.
    """
    within = sandbox().id
    before = None
    if cursor is not None:
        try:
            bound_to, before = _signer().loads(cursor)
        except (BadData, ValueError, TypeError):
            abort(400, message="the cursor is invalid", errors={"cursor": ["Invalid cursor."]})
        if bound_to != _binding(filters, within) or not isinstance(before, int):
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
        next_cursor = _signer().dumps([_binding(filters, within), int(page[-1]["id"])])
    return {"data": page, "pagination": {"next_cursor": next_cursor}}
