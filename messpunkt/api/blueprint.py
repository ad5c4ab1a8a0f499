"""The /v1 blueprint base: authenticated, documented, with 400 (not 422) for bad parameters."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

import flask_smorest
from webargs.flaskparser import FlaskParser

from .security import authenticate

View = TypeVar("View", bound=Callable[..., Any])


class _Parser(FlaskParser):
    # API.md: bad dates or metric are a 400, as partners expect from a REST API.
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(authenticate)

    def requires(self, scope: str | None) -> Callable[[View], View]:
        """Declare and document the scope a view needs (None: any valid token).

        `authenticate` enforces it before the view or its argument parsing runs.
        """

        def decorate(view: View) -> View:
            security = [{"oauth2": [scope] if scope else []}, {"bearerAuth": []}]
            documented = self.doc(security=security)(view)
            documented = self.errors(401, *([403] if scope else []))(documented)
            documented.required_scope = scope  # type: ignore[attr-defined]
            return documented

        return decorate

    def errors(self, *statuses: int) -> Callable[[View], View]:
        """Document problem+json error responses of a view."""

        def decorate(view: View) -> View:
            for status in statuses:
                view = self.alt_response(status, response=HTTPStatus(status).name)(view)
            return view

        return decorate
