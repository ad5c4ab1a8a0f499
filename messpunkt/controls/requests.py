"""/sandbox/requests: the sandbox's request log, newest first (`web.request_log` writes it)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import abort

from ..path_pattern import matches
from ..web.context import sandbox
from ..web.pagination import paginate_by_id
from .admin import ControlsBlueprint
from .schemas import RequestEntryListSchema, RequestEntrySchema, RequestQueryArgsSchema

blp = ControlsBlueprint(
    "sandbox_requests", __name__, "Sandbox controls: request log and faults (admin key)"
)


@blp.route("/requests")
class Requests(MethodView):
    @blp.documented()
    @blp.arguments(RequestQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, RequestEntryListSchema)
    def get(
        self,
        limit: int,
        cursor: str | None = None,
        client_id: str | None = None,
        status: int | None = None,
        path: str | None = None,
    ) -> dict[str, Any]:
        """List this sandbox's latest requests, newest first, secrets redacted"""
        filters = {"client_id": client_id, "status": status, "path": path}
        chosen = (
            entry
            for entry in sandbox().store.requests()
            if client_id in (None, entry["client_id"])
            and status in (None, entry["status"])
            and (path is None or matches(path, entry["path"]))
        )
        return paginate_by_id(chosen, limit, cursor, **filters)


@blp.route("/requests/<entry_id>")
class RequestById(MethodView):
    @blp.documented(404)
    @blp.response(200, RequestEntrySchema)
    def get(self, entry_id: str) -> dict[str, Any]:
        """Show one logged request"""
        for entry in sandbox().store.requests():
            if entry["id"] == entry_id:
                return entry
        abort(404, message="no logged request with this id (the log keeps the newest only)")
        raise AssertionError("abort raises")
