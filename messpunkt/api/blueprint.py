"""The /v1 blueprint base: authenticated, with 400 (not 422) for bad parameters."""

from __future__ import annotations

from typing import Any

import flask_smorest
from webargs.flaskparser import FlaskParser

from .security import authenticate


class _Parser(FlaskParser):
    # API.md: bad dates or metric are a 400, as partners expect from a REST API.
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(authenticate)
