"""/sandbox/reset and /sandbox/data: back to the fixtures, or another data set.

Data sets are loaded at start and shared, read-only, by every sandbox; a
sandbox chooses one by name. Loading a directory reads the server's file
system, which only the local default sandbox may have done.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import abort

from ..dataset import DataSet, DataSetError
from ..sandbox import DEFAULT_ID
from ..web.context import platform, sandbox
from ..web.problems import unknown_data_set
from .admin import ControlsBlueprint
from .clock import clock_document
from .schemas import ClockSchema, DataSetSchema, LoadDataSchema

blp = ControlsBlueprint("sandbox_data", __name__, "Sandbox controls: state and data (admin key)")


@blp.route("/reset")
class Reset(MethodView):
    @blp.documented()
    @blp.response(200, ClockSchema)
    def post(self) -> dict[str, Any]:
        """Return to the fixtures: every session, code and token is gone, the clock reset"""
        return clock_document(sandbox().store.reset().clock)


@blp.route("/data")
class Data(MethodView):
    @blp.documented()
    @blp.response(200, DataSetSchema)
    def get(self) -> dict[str, Any]:
        """Describe the data set in use"""
        served = sandbox()
        return _data_document(served.state.data_set, served.data)

    @blp.documented(403, 422)
    @blp.arguments(LoadDataSchema)
    @blp.response(200, DataSetSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Switch to a data set by name, or load a directory; a reset follows"""
        name = body["data_set"]
        if name is not None:
            chosen = platform().data_set(name)
            if chosen is None:
                unknown_data_set(platform().data_set_names())
            sandbox().store.reset(name)
            return _data_document(name, chosen)
        _refuse_a_directory()
        try:
            data = platform().load(body["directory"])
        except DataSetError as error:
            abort(
                422,
                message=f"the data set was refused and nothing changed: {error}",
                errors={error.file: [f"{error.path}: {error.reason}"]},
            )
        return _data_document(str(data.directory), data)


def _refuse_a_directory() -> None:
    """Answer 403 where loading a directory is not allowed, and say why."""
    if sandbox().id != DEFAULT_ID:
        abort(
            403,
            message="a partner sandbox never reads the server's file system; "
            "choose a data set by name (data_set)",
        )
    if platform().config["MESSPUNKT_STORE_URL"]:
        abort(
            403,
            message="loading a directory is for a sandbox in one process only: with "
            "MESSPUNKT_STORE_URL set, other processes share this sandbox and cannot read "
            "this directory; choose a data set by name (data_set)",
        )


def _data_document(name: str, data: DataSet) -> dict[str, Any]:
    catalogue = data.catalogue
    where = {"directory": str(data.directory)} if sandbox().id == DEFAULT_ID else {}
    return {
        "data_set": name,
        **where,
        "tenants": len(catalogue.tenants()),
        "properties": len(catalogue.properties()),
        "usage_units": sum(len(catalogue.usage_units(p.id)) for p in catalogue.properties()),
        "clients": len(data.clients),
    }
