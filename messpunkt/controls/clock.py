"""/sandbox/clock: read the sandbox's time, freeze it, move it forward."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import abort

from ..clock import ClockError, ClockState, parse_duration
from ..web.context import sandbox
from .admin import ControlsBlueprint
from .schemas import AdvanceSchema, ClockSchema, FreezeSchema, NothingSchema

blp = ControlsBlueprint("sandbox_clock", __name__, "Sandbox controls: the clock (admin key)")


@blp.route("/clock")
class Clock(MethodView):
    @blp.documented()
    @blp.response(200, ClockSchema)
    def get(self) -> dict[str, Any]:
        """Read the sandbox clock"""
        return clock_document(sandbox().state.clock)


@blp.route("/clock/freeze")
class ClockFreeze(MethodView):
    @blp.documented(409)
    @blp.arguments(FreezeSchema, required=False)  # no body: freeze now (the README's walkthrough)
    @blp.response(200, ClockSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Stop the clock, now or at a later instant"""
        return _move(lambda clock, wall: clock.freeze(wall, body["at"]), field="at")


@blp.route("/clock/unfreeze")
class ClockUnfreeze(MethodView):
    @blp.documented()
    @blp.arguments(NothingSchema, required=False, as_kwargs=True)  # `{}` or no body
    @blp.response(200, ClockSchema)
    def post(self) -> dict[str, Any]:
        """Let the clock run again from where it stands"""
        return clock_document(*sandbox().move_clock(lambda clock, wall: clock.unfreeze(wall)))


@blp.route("/clock/advance")
class ClockAdvance(MethodView):
    @blp.documented(409)
    @blp.arguments(AdvanceSchema)
    @blp.response(200, ClockSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Move the clock forward by a duration (PT1H, P31D) or to an instant"""
        if body["by"] is not None:
            try:
                delta = parse_duration(body["by"])
            except ValueError as exc:
                abort(400, message=str(exc), errors={"by": [str(exc)]})
            return _move(lambda clock, wall: clock.advance(wall, delta), field="by")
        return _move(lambda clock, wall: clock.advance_to(wall, body["to"]), field="to")


def clock_document(clock: ClockState, now: datetime | None = None) -> dict[str, Any]:
    """Describe a clock: `now`, or as it reads at this request's wall time."""
    return {"now": now or clock.now(sandbox().wall), "frozen": clock.frozen}


def _move(change: Any, *, field: str) -> dict[str, Any]:
    """Apply a clock change; report an impossible one on the field that asked for it."""
    try:
        return clock_document(*sandbox().move_clock(change))
    except ClockError as exc:
        abort(409, message=str(exc))
    except OverflowError:
        abort(400, message="that instant is out of range", errors={field: ["Out of range."]})
    raise AssertionError("abort raises")
