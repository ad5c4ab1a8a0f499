"""/sandbox/reset and /sandbox/data: back to the fixtures, or another data set.

Data sets are loaded at start and shared, read-only, by every sandbox; a
sandbox chooses one by name. Loading a directory reads the server's file
system, which only the local default sandbox may have done.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import abort

from ..data_document import is_upload
from ..dataset import DataSet, DataSetError
from ..sandbox import DEFAULT_ID
from ..web.context import platform, sandbox
from ..web.problems import unknown_data_set
from . import upload
from .admin import ControlsBlueprint
from .clock import clock_document
from .schemas import ClockSchema, DataSetSchema, LoadDataSchema, NothingSchema

blp = ControlsBlueprint("sandbox_data", __name__, "Sandbox controls: state and data (admin key)")
upload.route(blp)


@blp.route("/reset")
class Reset(MethodView):
    @blp.documented()
    # `{}` or no body (curl -X POST); a member (`data_set`, which is POST /sandbox/data's) is a 400.
    @blp.arguments(NothingSchema, required=False, as_kwargs=True)
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
        return data_document(served.state.data_set, served.data)

    @blp.documented(400, 403, 413, 422)
    @blp.doc(requestBody=upload.REQUEST_BODY)
    @blp.response(200, DataSetSchema)
    def post(self) -> dict[str, Any]:
        """Upload a data set, switch to one by name, or load a directory; a reset follows

        An object with collections (`tenants`, …) is a data set itself, one array per
        collection (its schema: `GET /sandbox/data/schema`); `data_set` or `directory` choose.
        """
        document = upload.read_document()
        if not upload.is_choice(document):
            return data_document(*upload.switch_to(document))
        body = upload.choice(document, LoadDataSchema())
        name = body["data_set"]
        if name is not None:
            chosen = platform().data_set(name)
            if chosen is None:
                unknown_data_set(platform().data_set_names())
            sandbox().store.reset(name)
            return data_document(name, chosen)
        _refuse_a_directory()
        try:
            data = platform().load(body["directory"])
        except DataSetError as error:
            upload.refuse(error)
        return data_document(str(data.directory), data)


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


def data_document(name: str, data: DataSet) -> dict[str, Any]:
    """Describe a data set: its name, where it was loaded from, how much it holds."""
    catalogue = data.catalogue
    local = sandbox().id == DEFAULT_ID and not is_upload(name)
    where = {"directory": str(data.directory)} if local else {}
    return {
        "data_set": name,
        **where,
        "tenants": len(catalogue.tenants()),
        "properties": len(catalogue.properties()),
        "usage_units": sum(len(catalogue.usage_units(p.id)) for p in catalogue.properties()),
        "clients": len(data.clients),
    }
