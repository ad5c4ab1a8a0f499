"""The data set's JSON Schema, held to the loader that enforces it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from messpunkt.config import DEFAULT_DATA_DIR
from messpunkt.data_document import load_document
from messpunkt.dataset import FILES
from messpunkt.dataset_schema import COLLECTIONS, ITEMS, SCHEMA
from messpunkt.records import DataSetError


def fixtures() -> dict:
    """The default data set as one document."""
    return {
        name: json.loads(
            (Path(DEFAULT_DATA_DIR) / f"{name}.json").read_text(encoding="utf-8"),
            parse_float=Decimal,  # as the loader reads them
        )
        for name in COLLECTIONS
    }


def test_the_schema_names_exactly_the_loaders_files():
    assert [f"{name}.json" for name in COLLECTIONS] == list(FILES)


def test_the_schema_is_valid_json_schema_and_the_fixtures_satisfy_it():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(fixtures())


def test_the_schema_refuses_what_the_loader_refuses_first():
    document = fixtures()
    document["measuring_points"][0]["metric"] = "gas"
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document))
    assert [error.json_path for error in errors] == ["$.measuring_points[0].metric"]


REQUIRED = [(name, field) for name, item in ITEMS.items() for field in item["required"]]


@pytest.mark.parametrize(("collection", "field"), REQUIRED, ids=[f"{c}.{f}" for c, f in REQUIRED])
def test_every_field_the_schema_requires_is_refused_by_the_loader_when_missing(collection, field):
    document = fixtures()
    # The last item: by then every record it refers to has been read.
    index = len(document[collection]) - 1
    del document[collection][index][field]
    with pytest.raises(DataSetError) as refused:
        load_document(document)
    assert refused.value.file == collection
    assert refused.value.path.startswith(f"$.{collection}[{index}]")


def test_the_schema_bounds_an_access_token_ttl_by_a_session_of_30_days():
    validator = jsonschema.Draft202012Validator(SCHEMA)
    document = fixtures()
    document["clients"][2]["access_token_ttl"] = 30 * 86400
    assert list(validator.iter_errors(document)) == []
    document["clients"][2]["access_token_ttl"] = 30 * 86400 + 1
    errors = list(validator.iter_errors(document))
    assert [(e.json_path, e.validator) for e in errors] == [
        ("$.clients[2].access_token_ttl", "maximum")
    ]
