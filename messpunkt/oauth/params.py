"""Request parameters as the OAuth endpoints see them: names to lists of values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import unquote_plus

from .errors import InvalidRequest

Params = Mapping[str, Sequence[str]]


def single(params: Params, name: str, *, required: bool = False) -> str | None:
    """Return a parameter that may appear at most once (RFC 6749 §3.1, §3.2)."""
    values = params.get(name, ())
    if len(values) > 1:
        raise InvalidRequest(f"{name} must not be repeated")
    value = values[0] if values else None
    if value == "":
        value = None
    if value is None and required:
        raise InvalidRequest(f"{name} is required")
    if value is not None and not value.isprintable():
        if any("\udc80" <= c <= "\udcff" for c in value):  # see parse_form's `errors`
            raise InvalidRequest(f"{name} is not UTF-8")
        raise InvalidRequest(f"{name} contains control characters")
    return value


def scope_list(value: str | None) -> tuple[str, ...]:
    """Split a space-delimited scope string (RFC 6749 §3.3), keeping first occurrences."""
    if value is None:
        return ()
    return tuple(scope for scope in dict.fromkeys(value.split(" ")) if scope)


def parse_form(text: str, max_fields: int, errors: str = "replace") -> dict[str, list[str]]:
    """Read an application/x-www-form-urlencoded body into names and their values.

    What `urllib.parse.parse_qsl(text, keep_blank_values=True, errors=errors)`
    reads, fields counted as it counts them (separators included), in one pass
    that unquotes only the fields that need it: a token request is three short
    fields, and parse_qsl cost as much as the rest of reading it. With
    errors="surrogateescape" an escape that is not UTF-8 stays visible as lone
    surrogates, which `single` refuses as "not UTF-8".
    """
    if text.count("&") >= max_fields:
        raise InvalidRequest(f"a form has at most {max_fields} fields")
    params: dict[str, list[str]] = {}
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name, value = unquote_plus(name, errors=errors), unquote_plus(value, errors=errors)
        params.setdefault(name, []).append(value)
    return params
