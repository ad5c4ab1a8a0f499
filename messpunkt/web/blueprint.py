"""The blueprint base of /v1 and /sandbox: documented, with 400 (not 422) for bad parameters."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any, NoReturn, TypeVar

import flask_smorest
from flask import request
from flask_smorest import abort
from marshmallow import ValidationError
from webargs.flaskparser import FlaskParser

from ..bounded import BoundedCache
from .bodies import read_body
from .json import loads

View = TypeVar("View", bound=Callable[..., Any])


class _Parser(FlaskParser):
    # API.md: bad dates or metric are a 400, as partners expect from a REST API.
    # Used for the documentation of argument errors; requests are parsed by `_load`.
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()

    def arguments(
        self, schema: Any, *, location: str = "json", as_kwargs: bool = False, **kwargs: Any
    ) -> Callable[[View], View]:
        """Document the view's arguments as flask-smorest does, and parse them lean.

        flask-smorest's decorator goes through webargs on every request: a new
        schema, a MultiDict proxy, a KeyError per missing parameter. Here one
        schema instance loads a plain dict. A repeated single-valued parameter
        (`?limit=1&limit=2`) reaches its field as a list and fails as a 400,
        and so does an unknown one.

        Query strings are parsed once: loading depends on nothing but the
        query string (no clock, no token), so the arguments of a query string
        seen before are remembered, as `re` remembers compiled patterns. A
        partner syncing unit after unit sends the same `from`, `to` and
        `metric` every time.

        The gain, in process (the WSGI callable, one thread, min of 9 rounds),
        against flask-smorest's own `arguments`: usage units 110 against 171 µs
        of CPU, consumption WE 01 181 against 272 µs; `make bench` spends 422 and
        580 µs of server CPU on those rows, so about 14% of each.
        """
        instance = schema() if isinstance(schema, type) else schema
        document = super().arguments(instance, location=location, as_kwargs=as_kwargs, **kwargs)
        parsed = ParsedQueries() if location == "query" else None

        def decorate(view: View) -> View:
            @wraps(view)
            def parse_then_call(*args: Any, **kw: Any) -> Any:
                if parsed is None:
                    data = _load(instance, location)
                else:
                    query = request.environ.get("QUERY_STRING", "")
                    data = parsed.get(query, lambda: _load(instance, location))
                if as_kwargs:
                    return view(*args, **kw, **data)
                return view(*args, data, **kw)

            parse_then_call._apidoc = document(view)._apidoc  # type: ignore[attr-defined]
            return parse_then_call  # type: ignore[return-value]

        return decorate

    def secured(self, scheme: str, *statuses: int) -> Callable[[View], View]:
        """Document a view's security scheme and its error responses, 401 among them."""

        def decorate(view: View) -> View:
            return self.errors(401, *statuses)(self.doc(security=[{scheme: []}])(view))

        return decorate

    def errors(self, *statuses: int) -> Callable[[View], View]:
        """Document problem+json error responses of a view."""

        def decorate(view: View) -> View:
            for status in statuses:
                view = self.alt_response(status, response=HTTPStatus(status).name)(view)
            return view

        return decorate


class ParsedQueries:
    """The loaded arguments of recent query strings, bounded in entries and in bytes.

    A query string longer than `MAX_QUERY` is loaded every time and never
    remembered: padding such as `limit=50&&&…` is valid, and a thousand padded
    strings of 200 KB each once held 245 MB. So one view keeps at most `SIZE`
    strings of at most `MAX_QUERY` characters (1 MiB) and what was loaded from
    them: at worst 2.3 MiB in all, measured with tracemalloc (a 512-character
    cursor and a path pattern filling each string, both kept as loaded values).
    """

    SIZE = 1024
    MAX_QUERY = 1024  # characters; a WSGI query string is latin-1, one byte each

    def __init__(self) -> None:
        self._loaded: BoundedCache[str, dict[str, Any]] = BoundedCache(self.SIZE)

    def get(self, query: str, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Return the arguments of `query`, calling `load` the first time it is seen."""
        loaded = self._loaded.get(query)
        if loaded is None:
            loaded = load()  # a bad query raises, and is not remembered
            if len(query) <= self.MAX_QUERY:
                self._loaded.put(query, loaded)
        return dict(loaded)  # the view may change its own copy


def _load(schema: Any, location: str) -> dict[str, Any]:
    """Load query parameters or a JSON body with `schema`, or answer 400 per field."""
    if location == "query":
        # Unknown parameters are refused: a typo (`?propertyid=`) must not widen a list.
        raw: Any = {key: v[0] if len(v) == 1 else v for key, v in request.args.lists()}
    elif location == "json":
        raw = _json_body()
    else:  # pragma: no cover - no view uses another location
        raise ValueError(f"unsupported argument location {location!r}")
    try:
        return schema.load(raw)  # type: ignore[no-any-return]
    except ValidationError as error:
        messages = error.messages
        if location == "query":
            messages = _given_twice(schema, raw, messages)
        abort(400, errors={location: messages})
        raise  # unreachable: abort raises


def _given_twice(schema: Any, raw: Any, messages: Any) -> Any:
    """Name a known query parameter given more than once as that, not by its type's error
    (`?limit=1&limit=2` reaches `limit` as a list: "Not a valid integer" misleads)."""
    if not isinstance(messages, dict):  # pragma: no cover - a schema error is per field
        return messages
    known = {field.data_key or name for name, field in schema.fields.items()}
    return {
        key: ["Given more than once."] if key in known and isinstance(raw.get(key), list) else m
        for key, m in messages.items()
    }


def _json_body() -> Any:
    """The JSON body, `{}` without one; not JSON, or a member given twice, is a 400.

    `null` is JSON: the schema refuses it as any other body that is not an object.
    """
    body = read_body()
    if not body:
        return {}
    if not request.is_json:
        refuse_body(sent_as_json=False)
    try:
        return loads(body, object_pairs_hook=_unique_members)
    except ValueError:
        refuse_body(sent_as_json=True)


def refuse_body(*, sent_as_json: bool) -> NoReturn:
    """Answer a body that is not JSON with a 400; one sent as another media type is told so
    (`curl -d '{…}'` without its header sends a form: valid JSON, read as none)."""
    if sent_as_json:
        abort(400, message="the body is not JSON", errors={"json": ["Invalid JSON body."]})
    abort(
        400,
        message="the body is not JSON: send it as application/json",
        errors={"json": ["Not sent as application/json."]},
    )
    raise AssertionError("abort raises")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse `{"by": "PT1H", "by": "P31D"}` rather than keep the last value silently."""
    members = dict(pairs)
    if len(members) < len(pairs):
        names = [name for name, _ in pairs]
        repeated = {name: ["Given more than once."] for name in names if names.count(name) > 1}
        abort(400, errors={"json": repeated})
    return members
