"""/sandbox/faults: arm a fault for matching requests, list the armed ones, disarm one."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import abort

from ..faults import MOST_ARMED, Fault
from ..web.context import sandbox
from ..web.pagination import paginate
from .admin import ControlsBlueprint
from .schemas import FaultCreateSchema, FaultListSchema, FaultSchema, ListQueryArgsSchema

blp = ControlsBlueprint("sandbox_faults", __name__, "Sandbox controls: faults on demand")


@blp.route("/faults")
class Faults(MethodView):
    @blp.documented(409)
    @blp.arguments(FaultCreateSchema)
    @blp.response(201, FaultSchema)
    def post(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Arm a fault: an error status, a delay or a revoked token, for matching requests"""
        served = sandbox()
        cap = current_app.config["MESSPUNKT"]["MESSPUNKT_MAX_FAULT_DELAY_MS"]
        if rule["delay_ms"] is not None and rule["delay_ms"] > cap:
            abort(400, errors={"json": {"delay_ms": [f"Must be at most {cap} (ms)."]}})
        if rule["until"] is not None:
            if rule["until"] <= served.now:
                abort(400, errors={"json": {"until": ["Must be after the sandbox's now."]}})
            # In UTC, as every instant is answered; after now, it is far from datetime.min.
            rule["until"] = rule["until"].astimezone(UTC)
        for stale in served.state.faults:  # past their instant: they free their place
            if stale.ended(served.now):
                served.store.disarm_fault(stale.id)
        fault = Fault.new(**rule)
        if not served.store.arm_fault(fault):
            abort(409, message=f"{MOST_ARMED} faults are armed, the most a sandbox may have; "
                  "disarm one first")  # fmt: skip
        return fault_document(fault)

    @blp.documented()
    @blp.arguments(ListQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, FaultListSchema)
    def get(self, limit: int, cursor: str | None = None) -> dict[str, Any]:
        """List the armed faults, oldest first, with what each has left"""
        served = sandbox()
        armed = [fault_document(f) for f in served.state.faults if not f.ended(served.now)]
        return paginate(armed, limit, cursor, key=_id)


@blp.route("/faults/<fault_id>")
class FaultById(MethodView):
    @blp.documented(404)
    @blp.response(204)
    def delete(self, fault_id: str) -> Response:
        """Disarm a fault"""
        if not sandbox().store.disarm_fault(fault_id):
            abort(404, message="no armed fault with this id")
        return Response(status=204)


def fault_document(fault: Fault) -> dict[str, Any]:
    """Show a rule as the controls do; `count` is what it has left."""
    return asdict(fault)


def _id(document: dict[str, Any]) -> str:
    return str(document["id"])
