"""A data set as one JSON document: one array per fixture file, as a partner uploads it.

The document is validated by the directory's loader, collection for file, so
the rules and their reasons are the same; a failure names the collection and
the JSON path from the document's root (`$.tenants[0].name`). A valid
document is kept in a canonical form (compact JSON, keys in the order given,
numbers as the API writes them) and named by its digest, so every worker
that sees the name can fetch the same bytes and load the same data.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from .dataset import FILES, DataSet, _Loader, files_signature
from .dataset_schema import COLLECTIONS
from .oauth.client_metadata import utf8_encodable
from .records import INEXACT, DataSetError

UPLOAD_PREFIX = "upload-"
# JSON may escape a lone surrogate ("\ud800"); UTF-8, and so the canonical form, cannot hold one.
NOT_UNICODE = "not valid Unicode (a lone surrogate)"


def is_upload(name: str) -> bool:
    """Tell whether a data set name is that of an uploaded document."""
    return name.startswith(UPLOAD_PREFIX)


def upload(document: Any) -> tuple[str, bytes, DataSet]:
    """Validate a parsed document as a data set; return its name, canonical bytes and data.

    What is validated is the canonical form, which every other worker loads too.
    Raise DataSetError for the first fault.
    """
    if not isinstance(document, dict):
        raise DataSetError("$", "$", "must be a JSON object with one array per collection")
    try:
        name, data = canonical(document, _exact_number)
    except orjson.JSONEncodeError:
        raise _unwritable(document) from None
    return name, data, load_canonical(name, data)


def load_canonical(name: str, data: bytes) -> DataSet:
    """Load a document in its canonical form (as the store keeps it)."""
    return load_document(json.loads(data, parse_float=Decimal), name)


def load_document(document: Any, name: str = "") -> DataSet:
    """Validate a parsed document as a data set; raise DataSetError for the first fault."""
    if not isinstance(document, dict):
        raise DataSetError("$", "$", "must be a JSON object with one array per collection")
    for key in document:
        if key not in COLLECTIONS:
            raise DataSetError(
                key, f"$.{key}", f"unknown collection; the collections: {', '.join(COLLECTIONS)}"
            )
    collecting = gc.isenabled()
    gc.disable()  # as the directory's loader does, for the same reason
    try:
        return _DocumentLoader(document, name).load()
    except DataSetError as error:
        raise _in_document(error) from None
    finally:
        if collecting:
            gc.enable()


def canonical(
    document: Any, number: Callable[[Any], int | float] | None = None
) -> tuple[str, bytes]:
    """Return a valid document's name (`upload-` and its digest) and its canonical bytes.

    `number` writes each decimal (`_number` unless given).
    """
    data = orjson.dumps(document, default=number or _number)
    return UPLOAD_PREFIX + hashlib.sha256(data).hexdigest()[:24], data


class DirectoryChanged(Exception):
    """A data set's file changed (edited, broken, gone) since its directory was loaded."""

    def __init__(self, file: str) -> None:
        super().__init__(f"{file} changed since its load")
        self.file = file


def export_directory(data: DataSet) -> bytes:
    """Return a data set loaded from a directory as one document, in its canonical form.

    It is read from the directory again, so a file changed since the load (its mtime or
    size) raises `DirectoryChanged` rather than export what is not the data in use."""
    now = files_signature(data.directory)
    changed = [file for file, was, is_ in zip(FILES, data.signature, now, strict=True)
               if was != is_]  # fmt: skip
    if changed:
        raise DirectoryChanged(changed[0])
    document = {}
    for file in FILES:
        try:
            with (data.directory / file).open("rb") as handle:
                document[file.removesuffix(".json")] = json.load(handle, parse_float=Decimal)
        except (OSError, ValueError):  # changed since the look above (ValueError: not JSON)
            raise DirectoryChanged(file) from None
    return canonical(document)[1]


class _DocumentLoader(_Loader):
    """The directory's loader, reading each file's array from the document instead."""

    def __init__(self, document: dict[str, Any], name: str) -> None:
        self.root = Path(name or "upload")
        self.document = document

    def _array(self, name: str) -> list[Any]:
        collection = name.removesuffix(".json")
        if collection not in self.document:
            raise DataSetError(name, "$", "collection is missing")
        found = self.document[collection]
        if not isinstance(found, list):
            raise DataSetError(name, "$", "must be a JSON array of objects")
        return found


def _in_document(error: DataSetError) -> DataSetError:
    """Say where a fault lies in the document: the collection, and the path from its root."""
    if error.file not in FILES:
        return error
    collection = error.file.removesuffix(".json")
    return DataSetError(collection, f"$.{collection}{error.path[1:]}", error.reason)


def _unwritable(document: dict[str, Any]) -> DataSetError:
    """Say what the canonical form could not write, and where.

    Walks the document again, in the order orjson wrote it, so only a refused upload
    pays for the walk.
    """
    for key, value in document.items():
        if not utf8_encodable(key):
            return DataSetError("$", "$", f"a member name is {NOT_UNICODE}")
        found = _fault(value, f"$.{key}")
        if found is not None:
            return DataSetError(key, *found)
    return DataSetError("$", "$", "cannot be written as JSON")  # not reached: orjson found one


def _fault(value: Any, path: str) -> tuple[str, str] | None:
    """The path and reason of the first value in `value` that orjson cannot write."""
    if isinstance(value, str):
        return None if utf8_encodable(value) else (path, NOT_UNICODE)
    if isinstance(value, Decimal):
        return None if _exact(value) else (path, INEXACT)
    if isinstance(value, int) and not isinstance(value, bool):
        return None if -(2**63) <= value < 2**64 else (path, "an integer beyond 64 bits")
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _fault(item, f"{path}[{index}]")
            if found is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            if not utf8_encodable(key):
                return path, f"a member name is {NOT_UNICODE}"
            found = _fault(item, f"{path}.{key}")
            if found is not None:
                return found
    return None


def _number(value: Any) -> int | float:
    """Write a decimal as the API does (`web.json.number`): a valid data set's values have
    at most 3 decimals, which the shortest float writes exactly; whole numbers as integers."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{type(value).__name__} is not JSON")
    converted = float(value)
    return int(converted) if converted.is_integer() else converted


def _exact_number(value: Any) -> int | float:
    """Write a decimal as `_number` does, refusing one the double would change.

    An upload keeps its numbers as given or is refused: 72.40000000000000001 or
    123456789012345678.5 were taken as 72.4 and 123456789012345680, though a directory
    keeps them and the API could write neither.
    """
    if isinstance(value, Decimal) and not _exact(value):
        raise ValueError(INEXACT)
    return _number(value)


def _exact(value: Decimal) -> bool:
    """Tell whether the shortest double of a decimal is that decimal."""
    return Decimal(repr(float(value))) == value
