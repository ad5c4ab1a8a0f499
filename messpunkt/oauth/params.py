"""Request parameters as the OAuth endpoints see them: names to lists of values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
        raise InvalidRequest(f"{name} contains control characters")
    return value


def scope_list(value: str | None) -> tuple[str, ...]:
    """Split a space-delimited scope string (RFC 6749 §3.3), keeping first occurrences."""
    if value is None:
        return ()
    return tuple(scope for scope in dict.fromkeys(value.split(" ")) if scope)
