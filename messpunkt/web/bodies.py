"""Reading a request body: whole and within the limit, or RequestEntityTooLarge."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

READ = "messpunkt.body"  # the environ key of the body once read
FORM_READ = "messpunkt.form"  # the environ key of a urlencoded body once parsed


def wsgi_text(raw: str, errors: str = "replace") -> str:
    """Read a WSGI string (the bytes as sent, as latin-1: é arrives as Ã©) as UTF-8 text.

    A string that is not latin-1 did not come from a WSGI server; it is taken as it is.
    """
    if raw.isascii():
        return raw
    try:
        return raw.encode("latin-1").decode(errors=errors)
    except UnicodeEncodeError:
        return raw


def read_body(limit: int | None = None) -> bytes:
    """Return the request body whole, or raise RequestEntityTooLarge past `limit`
    (MAX_CONTENT_LENGTH unless given).

    A declared length within the limit is read in one call: werkzeug's
    get_data wraps the input in a stream that reads it in chunks, which cost
    more than parsing a token request. A body without one (chunked, which
    gunicorn passes on with `wsgi.input_terminated`) is read up to one byte
    past the limit: werkzeug's stream would stop at the limit and hand back
    the first 64 KiB as if they were the body.
    """
    environ = request.environ
    limit = current_app.config["MAX_CONTENT_LENGTH"] if limit is None else limit
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH", "")
    if length.isascii() and length.isdigit() and "HTTP_TRANSFER_ENCODING" not in environ:
        if int(length) > limit:
            raise RequestEntityTooLarge()
        body: bytes = stream.read(int(length))
    elif "wsgi.input_terminated" not in environ:
        # PEP 3333: without a length, reading may wait forever; werkzeug reads no body.
        body = request.get_data()
    else:
        chunks, size = [], 0
        while size <= limit and (chunk := stream.read(limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
        body = b"".join(chunks)
    environ[READ] = body  # the request log keeps /oauth bodies (web.request_log)
    return body
