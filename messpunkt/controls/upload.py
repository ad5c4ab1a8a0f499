"""A data set in the request body: upload, export and its JSON Schema.

`POST /sandbox/data` tells its two forms apart by the body's members: an
object with a collection (`tenants`, …) and neither `data_set` nor
`directory` is a data set itself, validated as a directory is and
swapped in with a reset, or refused with nothing changed; any other body
chooses a data set as before. Its limit is
MESSPUNKT_MAX_DATA_SET_BYTES, applied before a byte of the body is read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, ValidationError

from ..data_document import DirectoryChanged
from ..dataset import DataSet
from ..dataset_schema import COLLECTIONS, SCHEMA
from ..records import DataSetError
from ..web.blueprint import refuse_body
from ..web.bodies import read_body
from ..web.body_limit import data_set_bytes
from ..web.context import platform, sandbox
from ..web.json import json_response, loads
from .admin import ControlsBlueprint
from .schemas import LoadDataSchema

CHOICES = ("data_set", "directory")
# The upload's shape for OpenAPI 3.0 (whose schemas are not JSON Schema 2020-12): the
# collections; each item's fields are in the JSON Schema at /sandbox/data/schema.
DOCUMENT = {
    "type": "object",
    "description": "A data set: one array per collection, as the files of sandbox_data/. "
    "Its JSON Schema: `GET /sandbox/data/schema`.",
    "required": list(COLLECTIONS),
    "additionalProperties": False,
    "properties": {name: {"type": "array", "items": {"type": "object"}} for name in COLLECTIONS},
}
REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"oneOf": [LoadDataSchema, DOCUMENT]}}},
}


def route(blp: ControlsBlueprint) -> None:
    """Add the export and the schema to the data blueprint."""

    @blp.route("/data/export")
    class Export(MethodView):
        @blp.documented(409)
        @blp.response(200, {"type": "object"}, description="The data set, as uploaded.")
        def get(self) -> Response:
            """Download the data set in use, in the shape POST /sandbox/data takes"""
            served = sandbox()
            try:
                document = platform().export(served.state.data_set, served.store)
            except DirectoryChanged as error:
                abort(
                    409,
                    message="the directory this data set was loaded from has changed since "
                    f"({error.file}); load it again, or choose another data set",
                )
            return Response(document, 200, mimetype="application/json")

    @blp.route("/data/schema")
    class DataSetJsonSchema(MethodView):
        @blp.documented()
        @blp.response(
            200,
            {"type": "object"},
            description="A JSON Schema (2020-12).",
            content_type="application/schema+json",
        )
        def get(self) -> Response:
            """The JSON Schema of an uploaded data set"""
            return json_response(SCHEMA, mimetype="application/schema+json")


def read_document() -> Any:
    """Read the body as JSON within the data set limit; 400 when it is not JSON, or not
    sent as JSON (`application/json` or `…+json`), as every other control's body."""
    body = read_body(data_set_bytes(current_app))
    if not body:
        return {}  # as any control without a body: a choice of nothing, a 400
    if not request.is_json:
        refuse_body(sent_as_json=False)
    try:
        return loads(body, object_pairs_hook=_unique_members, parse_float=Decimal)
    except ValueError:
        refuse_body(sent_as_json=True)


def is_choice(document: Any) -> bool:
    """Tell whether a body chooses a data set (by name or directory) rather than being one:
    a data set is an object with a collection among its members, and no choice."""
    if not isinstance(document, dict) or any(name in document for name in CHOICES):
        return True
    return not any(name in document for name in COLLECTIONS)


def choice(document: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """Load a choice with `schema`, or answer 400 per field."""
    try:
        return schema.load(document)  # type: ignore[no-any-return]
    except ValidationError as error:
        abort(400, errors={"json": error.messages})
        raise  # unreachable: abort raises


def switch_to(document: Any) -> tuple[str, DataSet]:
    """Validate an uploaded data set and switch the sandbox to it, or answer 422."""
    try:
        return platform().upload(sandbox().store, document)
    except DataSetError as error:
        refuse(error)


def refuse(error: DataSetError) -> NoReturn:
    """Answer 422 naming the file or collection, the JSON path and the reason."""
    abort(
        422,
        message=f"the data set was refused and nothing changed: {error}",
        errors={error.file: [f"{error.path}: {error.reason}"]},
    )
    raise AssertionError("abort raises")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse a member given twice, as every other JSON body (its last value would win)."""
    members = dict(pairs)
    if len(members) < len(pairs):
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        abort(400, message=f"a member is given more than once: {', '.join(repeated)}")
    return members
