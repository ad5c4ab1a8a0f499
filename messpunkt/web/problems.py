"""Problem details for HTTP APIs (RFC 9457) and bearer challenges (RFC 6750 §3)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from flask import Response
from flask_smorest import abort
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from ..oauth.errors import InsufficientScope, MissingToken, OAuthError
from .json import json_response

MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build an application/problem+json response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return json_response(body, status, (headers or {}).items(), mimetype=MEDIA_TYPE)


def problem_from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _field_errors(data.get("messages") or data.get("errors"))
    detail = data.get("message") or (
        "some parameters are invalid; see errors" if errors else _default_detail(error)
    )
    response = problem(status, detail, errors=errors)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response


def problem_from_oauth_error(error: OAuthError) -> Response:
    """Answer a failed /v1 authentication with its Bearer challenge (RFC 6750 §3)."""
    challenge = 'Bearer realm="messpunkt"'
    # §3.1: a request without credentials gets the bare challenge, no error code.
    if not isinstance(error, MissingToken):
        code = "insufficient_scope" if isinstance(error, InsufficientScope) else "invalid_token"
        description = _challenge_text(error.description)
        challenge += f', error="{code}", error_description="{description}"'
    return problem(error.status, error.description, headers={"WWW-Authenticate": challenge})


def _challenge_text(text: str) -> str:
    """Fit text into error_description's characters: %x20-21 / %x23-5B / %x5D-7E (§3).

    A quote or backslash there would end or escape the quoted string early.
    """
    text = text.replace('"', "'").replace("\\", "/")
    return "".join(char if " " <= char <= "~" else "?" for char in text)


def unknown_data_set(known: Iterable[str]) -> NoReturn:
    """Answer 422 for a data set name that is not among `known`, naming those."""
    listed = ", ".join(known)
    abort(
        422,
        message="no data set of this name",
        errors={"data_set": [f"Unknown data set; the known ones: {listed}."]},
    )
    raise AssertionError("abort raises")


def _default_detail(error: HTTPException) -> str:
    if error.code == 404:
        return "no such resource"
    if error.code and error.code >= 500:
        return "the sandbox failed to answer this request"
    return str(error.description or HTTP_STATUS_CODES.get(error.code or 500, "error"))


def _field_errors(messages: Any) -> dict[str, list[str]] | None:
    """Flatten webargs' {location: {field: [messages]}} into {field: [messages]}."""
    if not isinstance(messages, dict):
        return None
    flat: dict[str, list[str]] = {}
    for location_or_field, value in messages.items():
        if isinstance(value, dict) and location_or_field in (
            "query", "json", "form", "headers", "files", "path", "view_args",
        ):  # fmt: skip
            for name, field_messages in value.items():
                flat.setdefault(str(name), []).extend(_strings(field_messages))
        else:
            flat.setdefault(str(location_or_field), []).extend(_strings(value))
    return flat


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _strings(v)]
    return [str(value)]
