"""One log line per request, written off the request's thread.

Writing a line to stderr from the request thread cost more than the rest
of a whoami on a loaded server, and so did waking a writer thread for each
line: every hand-over of the GIL between threads is a context switch.
Requests drop a tuple on a `SimpleQueue` (no lock, nobody woken); a writer
thread wakes ten times a second and writes whatever has piled up in one
call. Lines appear at most 0.1 s late.

What a client sent is escaped before it is written (CWE-117): a path may carry
a percent-encoded CR, LF or ESC, which the server decodes into PATH_INFO, and
written as is they would forge a line or drive the terminal that shows the log.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

import orjson

# A request as logged: when, method, path, status, milliseconds, sandbox id or None.
Entry = tuple[datetime, str, str, str, float, str | None]


class AccessLog:
    """WSGI middleware: method, path, status, duration. Never a query string or a header,
    so no token or code reaches the log."""

    INTERVAL = 0.1  # seconds between writes

    def __init__(
        self, app: Any, stream: TextIO, clock: Callable[[], datetime], log_format: str = "text"
    ) -> None:
        """Log `app`'s requests to `stream`, stamped by `clock` (the wall clock, not the
        sandbox's movable one: a log line says when the request really happened), one
        line of fields (`text`) or one JSON object (`json`) per request."""
        self.app = app
        self._clock = clock
        self._format = format_json if log_format == "json" else format_text
        self._lines: queue.SimpleQueue[Entry] = queue.SimpleQueue()
        self._stream = stream
        self._closed = threading.Event()
        self._writer = threading.Thread(target=self._write, name="access-log", daemon=True)
        self._writer.start()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        status = "-"

        def capture(line: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status
            status = line[:3]
            return start_response(line, headers, exc_info)

        try:
            return self.app(environ, capture)
        finally:
            self._lines.put(
                (
                    self._clock(),
                    environ.get("REQUEST_METHOD", "-"),
                    environ.get("PATH_INFO", ""),
                    status,
                    (time.perf_counter() - started) * 1000,
                    _sandbox_id(environ.get("messpunkt.sandbox")),
                )
            )

    def close(self) -> None:
        """Write what is queued and stop the writer."""
        self._closed.set()
        self._writer.join(timeout=5)

    def _write(self) -> None:
        while not self._closed.wait(self.INTERVAL):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        lines = []
        while True:
            try:
                lines.append(self._format(self._lines.get_nowait()))
            except queue.Empty:
                break
        if lines:
            self._stream.write("".join(lines))
            self._stream.flush()


def _sandbox_id(found: Any) -> str | None:
    """Return the sandbox a hosted request was served by, if the app said (an id or its
    object's `id`); the log works without it."""
    found = getattr(found, "id", found)
    return found if isinstance(found, str) else None


def format_text(entry: Entry) -> str:
    at, method, path, status, elapsed, _ = entry
    stamp = at.isoformat(timespec="seconds")[:19]  # strftime costs three times as much
    return f"{stamp} {escape(method)} {escape(path)} {status} {elapsed:.1f}ms\n"


def format_json(entry: Entry) -> str:
    at, method, path, status, elapsed, sandbox = entry
    line: dict[str, Any] = {
        "time": at.isoformat(timespec="milliseconds"),
        "method": escape(method),
        "path": escape(path),
        "status": int(status) if status.isdigit() else None,
        "duration_ms": round(elapsed, 1),
    }
    if sandbox is not None:
        line["sandbox"] = escape(sandbox)
    return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE).decode()


def escape(text: str) -> str:
    r"""Write what a client sent so that it shows as one field and drives nothing.

    WSGI carries the request's bytes as Latin-1 (PEP 3333); they are read as
    UTF-8, so a path with umlauts shows as sent. Every character that is not
    printable (controls C0 and C1 such as CR, LF, ESC and CSI, line and
    paragraph separators, bidirectional and other format characters), the
    space (fields are separated by spaces) and the backslash (the escapes'
    own sign) is written as \xNN, \uNNNN or \UNNNNNNNN; a byte that is not
    UTF-8 as \xNN.
    """
    if text.isascii() and text.isprintable() and " " not in text and "\\" not in text:
        return text  # nearly every request: nothing to escape
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:  # not from a server (a test, a WSGI wrapper): as it is
        raw = text.encode("utf-8", "surrogatepass")
    decoded = raw.decode("utf-8", "surrogateescape")
    return "".join(_escape_char(char) for char in decoded)


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if char.isprintable() and char not in " \\":
        return char
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
