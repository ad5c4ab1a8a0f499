"""What one connection may cost: the limits both servers keep, and waitress held to them.

waitress's defaults let about 100 idle keep-alive connections, or 200 clients
sending a header line every few seconds, lock everyone else out
(connection_limit=100, channel_timeout=120, select(), which cannot watch a
descriptor above 1024). Here the limit is in the thousands, the loop uses
poll(), an idle connection is closed after MESSPUNKT_CHANNEL_TIMEOUT seconds,
and so is one whose request has not arrived whole within that time since its
first byte. A request head is parsed without a thread, so a slow client costs
a connection slot, never a thread.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.utilities import RequestEntityTooLarge

# Descriptors a process needs besides its clients' connections: listening sockets,
# waitress's trigger pipe, log files, connections to the store.
RESERVED_FILES = 64
# Where a partner uploads a data set, in the default sandbox or a partner's.
DATA_PATH = "/sandbox/data"
DATA_UPLOAD = re.compile(r"(/s/[A-Za-z0-9_-]{22})?/sandbox/data")

log = logging.getLogger("messpunkt")


@dataclass(frozen=True)
class Limits:
    """The connection limits of MESSPUNKT_* settings, as both servers apply them."""

    connections: int
    timeout: int
    header_bytes: int
    body_bytes: int
    data_set_bytes: int = 0  # a data set uploaded to /sandbox/data, when larger

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        return cls(
            connections=config["MESSPUNKT_CONNECTION_LIMIT"],
            timeout=config["MESSPUNKT_CHANNEL_TIMEOUT"],
            header_bytes=config["MESSPUNKT_MAX_HEADER_BYTES"],
            body_bytes=config["MESSPUNKT_MAX_BODY_BYTES"],
            data_set_bytes=config["MESSPUNKT_MAX_DATA_SET_BYTES"],
        )

    def body_limit(self, path: str) -> int:
        """Return the largest body a request to `path` (as sent, `/s/<id>` and all) may have."""
        if DATA_UPLOAD.fullmatch(path):
            return max(self.body_bytes, self.data_set_bytes)
        return self.body_bytes

    def within_open_files(self) -> Limits:
        """Raise the open-file limit for the connections, or lower them to fit it."""
        allowed = _raise_open_files(self.connections + RESERVED_FILES) - RESERVED_FILES
        if allowed >= self.connections:
            return self
        log.warning(
            "the open-file limit allows %d connections, not %d", max(allowed, 1), self.connections
        )
        return replace(self, connections=max(allowed, 1))


def _raise_open_files(wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards `wanted`; return what it is."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted
    raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
    return raised


def waitress_server(app: Any, *, host: str, port: int, threads: int, ident: str,
                    limits: Limits, sockets: dict[int, Any] | None = None) -> Any:  # fmt: skip
    """Bind waitress to `host`:`port` with `limits` (OSError or ValueError if it cannot);
    `sockets`, when given, is the socket map its loop serves (create_server's `map`)."""
    server = create_server(
        app,
        map=sockets,
        host=host,
        port=port,
        threads=threads,
        ident=ident,
        connection_limit=limits.connections,
        # select() fails on a descriptor above 1024, and there will be thousands.
        asyncore_use_poll=True,
        channel_timeout=limits.timeout,
        # How often idle and late connections are looked for: a third of the timeout,
        # so one is closed at most a third late.
        cleanup_interval=max(1, limits.timeout // 3),
        max_request_header_size=limits.header_bytes,
        # waitress refuses a length at or over this; one byte more keeps it out of the
        # app's way, which answers over the limit itself (see RequestParser).
        max_request_body_size=limits.body_limit(DATA_PATH) + 1,
    )
    # Each request is held to its own path's limit (RequestParser), this one the largest.
    parser = type("RequestParser", (RequestParser,), {"limits": limits})
    channel = type("Channel", (Channel,), {"parser_class": parser})
    listeners = [server] if isinstance(server, BaseWSGIServer) else list(server.map.values())
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    return server


class RequestParser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's parser, but a declared body over the limit goes to the app unread.

    waitress would answer `Expect: 100-continue` with 100 Continue (RFC 9110
    §10.1.1 lets a server refuse instead) and then read the body up to its limit
    before refusing in plain text. Here the request is complete at its head: the
    app sees the declared CONTENT_LENGTH and answers 413 in the endpoint's own
    format without reading, and the connection closes after that answer, so the
    body the client may still send is never read.
    """

    error: Any
    expect_continue: bool
    limits: Limits | None = None  # set by waitress_server

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        path = getattr(self, "path", "")  # set once the head is parsed
        limit = self.limits.body_limit(path) if self.limits else None
        if (
            limit is not None
            and self.error is None
            and self.body_rcv is not None
            and self.body_bytes_received > limit
        ):  # a chunked body past its path's limit, which is below waitress's own
            self.error = RequestEntityTooLarge(f"exceeds max_body of {limit + 1}")
            self.completed = True
        if (
            (
                isinstance(self.error, RequestEntityTooLarge)
                or (
                    limit is not None
                    and self.headers_finished
                    and self.error is None
                    and self.content_length > limit
                )
            )
            and not self.chunked
            and self.body_bytes_received == 0
        ):
            self.completed = True
            self.error = None
            self.expect_continue = False
            self.headers["CONNECTION"] = "close"
            return len(data)  # what came with the head is body: dropped, never parsed
        return consumed


class Channel(HTTPChannel):  # type: ignore[misc]
    """waitress's channel, with a deadline for a whole request from its first byte.

    waitress closes a channel idle for channel_timeout, and any byte counts as
    activity: a client sending a header line every few seconds stayed forever.
    Here a request in progress keeps the time its first byte arrived, so the same
    check closes it once it is channel_timeout old and still not whole.
    """

    parser_class = RequestParser
    last_activity: float
    _arriving: tuple[Any, float] | None = None  # the request being received, since when

    def handle_read(self) -> None:
        super().handle_read()
        request = self.request
        if request is None:
            self._arriving = None
        elif self._arriving is None or self._arriving[0] is not request:
            # The network's own time, as waitress keeps `last_activity`: a connection's
            # timeout is real time, never the sandbox's movable clock.
            self._arriving = (request, self.last_activity or time.time())
        else:
            self.last_activity = self._arriving[1]
