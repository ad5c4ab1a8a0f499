"""Serving with gunicorn: several worker processes (gthread), each with threads.

gunicorn's own idiom for embedding (a `BaseApplication` subclass, as its docs
show for custom applications): settings from the sandbox's configuration, and
each worker builds its own app after the fork, so no Redis connection or
thread crosses a fork. The sandboxes' state lives in the shared store.

gthread hands a connection to a thread at its first byte (or lets a thread
wait up to 5 s for one), and the thread reads the request head with blocking
calls: 200 clients sending a header line every 5 s held every thread of two
workers, and 250 silent connections kept them waiting for minutes. Its worker
here reads each request in the main loop, without blocking, and hands it to a
thread only once it has arrived whole (`messpunkt.arrival`). It leans on gthread's
internals, so the `hosting` extra pins gunicorn's major version.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, ThreadWorker

from .arrival import Arrival
from .connections import Limits

# Seconds a closing connection is read from after its last answer (gthread's own 2 s).
LINGER = 2.0
# gunicorn refuses a longer request line whatever it is told (RFC 9112 §3 leaves it open).
LONGEST_REQUEST_LINE = 8190
_TOO_LARGE = b"the request header fields are too large\n"
# RFC 6585 §5, answered by the worker itself: the app never sees a head it could not parse.
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
)


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with `workers` gthread processes of `threads` threads serving `build()`;
    an app with a `close()` (the access log) is closed as its worker exits."""

    def __init__(
        self, build: Callable[[], Any], *, bind: str, workers: int, threads: int, limits: Limits
    ) -> None:
        self.build = build
        self.limits = limits  # read by each worker (WholeRequestWorker)
        self.options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": WholeRequestWorker,
            "worker_connections": limits.connections,
            # How long a kept-alive connection may wait for its next request; here also
            # how long a request may take to arrive whole (WholeRequestWorker).
            "keepalive": limits.timeout,
            "limit_request_line": min(limits.header_bytes, LONGEST_REQUEST_LINE),
            "limit_request_field_size": limits.header_bytes,
            # gunicorn's `timeout` is the workers' heartbeat, not a client's: gthread's main
            # loop beats every second whatever its clients do, so its default (30 s) stays.
            # The sandbox writes its own access log, without query strings or tokens.
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "messpunkt-sandbox",
            "graceful_timeout": 5,
            "worker_exit": close_app,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self.build()


def close_app(server: Any, worker: Any) -> None:
    """gunicorn's `worker_exit` hook, in the exiting worker: close the app it built.

    The app is the access log, whose writer thread writes every 0.1 s and dies with
    the process: closed here, it writes the lines still queued (the last requests'
    before a SIGTERM), as the waitress command does when it stops.
    """
    close = getattr(getattr(worker, "wsgi", None), "close", None)  # none if it never loaded
    if callable(close):
        close()


class WholeRequestWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, but a request reaches a thread only once it has arrived whole.

    A connection waits in the main loop's poller, costing no thread, until its
    request is whole; one still not whole `keepalive` seconds after it opened,
    or after its request's first byte, is closed.
    """

    def init_process(self) -> None:
        self.limits: Limits = self.app.limits
        self.arriving: dict[Any, Arrival] = {}  # by deadline: every wait is equally long
        self.closing: dict[Any, float] = {}  # lingering after their last answer, by deadline
        self.stopping_by: float | None = None  # set as the worker begins to stop
        super().init_process()

    def enqueue_req(self, conn: Any) -> None:
        arrival = Arrival(self.limits, time.monotonic() + self.cfg.keepalive)
        self.arriving[conn] = arrival
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._receive, conn))
        if conn.parser is not None:  # what a thread read past its request: the next one
            self._advance(conn, arrival, conn.parser.unreader.take_buffered())

    def _receive(self, conn: Any, _: Any) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        arrival = self.arriving.get(conn)
        if arrival is None:
            return
        if not data:  # the client went away
            self._drop(conn)
            return
        self._advance(conn, arrival, data)

    def _advance(self, conn: Any, arrival: Arrival, data: bytes) -> None:
        if not data:
            return
        verdict = arrival.add(data)
        try:
            if verdict == "continue":
                arrival.continued = True
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            elif verdict == "refuse":
                conn.sock.send(HEAD_TOO_LARGE)
                self._drop(conn)
            elif verdict == "serve":
                self._stop_watching(conn)
                conn.arrived, conn.continued = bytes(arrival.data), arrival.continued
                super().enqueue_req(conn)
        except OSError:
            self._drop(conn)

    def _stop_watching(self, conn: Any) -> None:
        self.arriving.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):  # not registered any more
            self.poller.unregister(conn.sock)

    def _drop(self, conn: Any) -> None:
        if conn in self.arriving:
            self._stop_watching(conn)
            self.nr_conns -= 1
            conn.close()

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and self.stopping_by is None:
            # As gthread keeps its kept-alive connections while it stops: a request that
            # arrives whole meanwhile is answered (with `Connection: close`), not reset.
            self.stopping_by = now + STOP_KEEPALIVE_LINGER
        while self.arriving:
            conn, arrival = next(iter(self.arriving.items()))
            deadline = arrival.deadline
            if self.stopping_by is not None:
                deadline = min(deadline, self.stopping_by)  # keeps the dict's order
            if deadline > now:
                break
            self._drop(conn)
        while self.closing:
            conn, deadline = next(iter(self.closing.items()))
            if deadline > now and self.alive:
                break
            self._closed(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """Close a connection after its last answer without blocking the main loop.

        gthread's lingering close (RFC 9112 §9.6: half-close, then read what the
        client still sends, so the answer is not cut off by a reset) blocked the
        main loop for up to 2 s per connection: 20 clients that kept their
        socket open after `Connection: close` stalled two workers for 20 s.
        Here the reading waits in the poller, for the same 2 s at most.
        """
        if fs.cancelled() or fs.exception() is not None or fs.result() is not False:
            super().finish_request(conn, fs)
            return
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._linger, conn))
        except (OSError, ValueError, KeyError):
            self.nr_conns -= 1
            conn.close()
            return
        self.closing[conn] = time.monotonic() + LINGER

    def _linger(self, conn: Any, _: Any) -> None:
        try:
            if conn.sock.recv(65536):
                return  # read and dropped: what a client sends after the last answer
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._closed(conn)

    def _closed(self, conn: Any) -> None:
        del self.closing[conn]
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def handle(self, conn: Any) -> Any:
        """Serve the arrived request in this thread (gthread's handle, given the bytes)."""
        conn.init()
        conn.parser.unreader.unread(getattr(conn, "arrived", b""))
        conn.arrived = b""
        conn.data_ready = True  # gthread would otherwise wait for bytes already read
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        declared = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), "0")
        limit = self.limits.body_limit(req.path or "")
        too_large = declared.isdigit() and int(declared) > limit
        if too_large or getattr(conn, "continued", False):
            # Sent already, or not to be sent: the app refuses the body without reading it.
            req._expected_100_continue = False
        if too_large:
            req.must_close = True  # its unread body must not be parsed as a next request
        conn.continued = False
        return super().handle_request(req, conn)
