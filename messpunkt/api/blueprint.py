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

    def load_querystring(self, req: Any, schema: Any) -> Any:
        """Give the schema each parameter once, or all of its values when repeated.

        A repeated single-valued parameter (`?limit=1&limit=2`) then fails its
        field's type check and is a 400, never silently the first value. A
        plain dict also spares werkzeug's MultiDict its KeyError per missing
        parameter, the most expensive part of parsing a query.
        """
        return {key: v[0] if len(v) == 1 else v for key, v in req.args.lists()}


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()

    def __init__(self, *args: Any, bearer: bool = True, **kwargs: Any) -> None:
        """Create a blueprint whose views need a bearer token, unless `bearer` is False."""
        super().__init__(*args, **kwargs)
        if bearer:
            self.before_request(authenticate)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        # One schema instance per view, not one per request (webargs instantiates classes).
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def requires(self, scope: str | None) -> Callable[[View], View]:
        """Declare and document the scope a view needs (None: any valid token).

        `authenticate` enforces it before the view or its argument parsing runs.
        """

        def decorate(view: View) -> View:
            documented = self.errors(401, *([403] if scope else []))(view)
            # Written into the doc directly rather than through `doc()`, which would
            # wrap the view in one more call on every request.
            apidoc = documented.__dict__.setdefault("_apidoc", {})
            apidoc.setdefault("manual_doc", {})["security"] = [
                {"oauth2": [scope] if scope else []},
                {"bearerAuth": []},
            ]
            documented.required_scope = scope  # type: ignore[attr-defined]
            return documented

        return decorate

    def errors(self, *statuses: int) -> Callable[[View], View]:
        """Document problem+json error responses of a view.

        What `alt_response` records, without the call layer it wraps around the view.
        """

        def decorate(view: View) -> View:
            apidoc = view.__dict__.setdefault("_apidoc", {})
            responses = apidoc.setdefault("response", {}).setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, []).append(HTTPStatus(status).name)
            return view

        return decorate
