"""/sandbox/reset and /sandbox/data: back to the fixtures, or another data set."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import abort

from ..dataset import DataSet, DataSetError
from ..web.context import platform, sandbox
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
        """Describe the loaded data set"""
        return _data_document(sandbox().data)

    @blp.documented(422)
    @blp.arguments(LoadDataSchema)
    @blp.response(200, DataSetSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Load another data set directory; validated first, and a reset follows"""
        try:
            data = platform().load(body["directory"])
        except DataSetError as error:
            abort(
                422,
                message=f"the data set was refused and nothing changed: {error}",
                errors={error.file: [f"{error.path}: {error.reason}"]},
            )
        return _data_document(data)


def _data_document(data: DataSet) -> dict[str, Any]:
    catalogue = data.catalogue
    return {
        "directory": str(data.directory),
        "tenants": len(catalogue.tenants()),
        "properties": len(catalogue.properties()),
        "usage_units": sum(len(catalogue.usage_units(p.id)) for p in catalogue.properties()),
        "clients": len(data.clients),
    }
