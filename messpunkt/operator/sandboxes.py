"""/sandboxes: partner sandboxes, each with its own issuer, admin key and expiry."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import abort

from ..sandbox import hash_admin_key
from ..sandboxes import RegistryFull, SandboxRecord, SandboxStatus, is_sandbox_id
from ..web.blueprint import Blueprint
from ..web.context import SANDBOX_KEY, platform
from ..web.pagination import by_id, paginate
from ..web.problems import unknown_data_set
from ..web.schemas import ListQueryArgsSchema
from .schemas import CreatedSandboxSchema, SandboxCreateSchema, SandboxListSchema, SandboxSchema

OPERATOR_HEADER = "X-Operator-Key"

blp = Blueprint(
    "operator_sandboxes",
    __name__,
    url_prefix="/sandboxes",
    description="Operator: partner sandboxes (operator key)",
)

ENDED = {
    SandboxStatus.DELETED: "this sandbox was deleted",
    SandboxStatus.EXPIRED: "this sandbox has expired",
}


@blp.before_request
def _require_operator_key() -> None:
    if SANDBOX_KEY in request.environ:
        abort(404)  # the operator's API is the host's, not a sandbox's
    expected = platform().operator_key_hash
    presented = hash_admin_key(request.headers.get(OPERATOR_HEADER, ""))
    # Compared as digests in constant time, so the key cannot be guessed byte by byte.
    if expected is None or not hmac.compare_digest(presented, expected):
        abort(
            401,
            message=f"the operator's API needs the operator key in the {OPERATOR_HEADER} header",
            headers={"WWW-Authenticate": f'{OPERATOR_HEADER} realm="messpunkt operator"'},
        )


@blp.route("")
class Sandboxes(MethodView):
    @blp.secured("operatorKey")
    @blp.arguments(ListQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, SandboxListSchema)
    def get(self, limit: int, cursor: str | None = None) -> dict[str, Any]:
        """List the live partner sandboxes, oldest first"""
        page = paginate(platform().registry.list(), limit, cursor, key=by_id, within="operator")
        page["data"] = [sandbox_document(record) for record in page["data"]]
        return page

    @blp.secured("operatorKey", 409, 422)
    @blp.arguments(SandboxCreateSchema, required=False)
    @blp.response(201, CreatedSandboxSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a partner sandbox; its admin key is shown only here"""
        served = platform()
        if served.data_set(body["data_set"]) is None:
            unknown_data_set(served.data_set_names())
        lifetime = timedelta(seconds=body["expires_in"])
        try:
            record, admin_key = served.create_sandbox(lifetime, body["data_set"])
        except RegistryFull as full:
            abort(409, message=f"{full}: delete one, or wait until one expires")
        return {**sandbox_document(record), "admin_key": admin_key}


@blp.route("/<sandbox_id>")
class SandboxById(MethodView):
    @blp.secured("operatorKey", 404, 410)
    @blp.response(200, SandboxSchema)
    def get(self, sandbox_id: str) -> dict[str, Any]:
        """Show a partner sandbox"""
        return sandbox_document(_live(sandbox_id))

    @blp.secured("operatorKey", 404, 410)
    @blp.response(204)
    def delete(self, sandbox_id: str) -> None:
        """Delete a partner sandbox: every path of it is 404 at once, its records gone"""
        _live(sandbox_id)
        if not platform().registry.delete(sandbox_id):
            abort(410, message=ENDED[SandboxStatus.DELETED])  # deleted meanwhile


def sandbox_document(record: SandboxRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "issuer": platform().issuer(record.id),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "data_set": record.data_set,
        "status": record.status.value,
    }


def _live(sandbox_id: str) -> SandboxRecord:
    """Return a live partner sandbox, or answer 404 (never was) or 410 (ended)."""
    record = platform().registry.describe(sandbox_id) if is_sandbox_id(sandbox_id) else None
    if record is None:
        abort(404, message="no sandbox with this id")
    assert record is not None
    if record.status is not SandboxStatus.ACTIVE:
        abort(410, message=ENDED[record.status])
    return record
