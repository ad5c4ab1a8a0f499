"""Careless and hostile clients against a real `messpunkt-sandbox`, with waitress and gunicorn.

Every connection is opened on loopback by the test and closed by it; each mode's
server runs once per module. Found against a live server before: about 100
idle keep-alive connections made waitress stop accepting anyone, 200 slowloris
connections kept every fresh client out (of gunicorn's workers too), and a
body declared too large was read to its end, after a `100 Continue`, before
the 413.
"""

from __future__ import annotations

import json
import select
import socket
import time

import pytest
from live_sandbox import ADMIN_KEY, LiveSandbox, hosted

from messpunkt.connections import RESERVED_FILES, Limits

pytestmark = pytest.mark.live

IDLE, SLOWLORIS = 500, 200
MODES = ["waitress", "gunicorn"]
ANSWER_WITHIN = 2.0  # seconds a crowd's own request may take before the server counts as stuck


def _raise_open_files(needed: int) -> None:
    """Let this process hold `needed` sockets (the soft limit is often 1024)."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the open-file limit ({hard}) is below the {needed} sockets needed")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _start(request, tmp_path_factory, **settings: str) -> LiveSandbox:
    directory = tmp_path_factory.mktemp(request.param)
    if request.param == "gunicorn":
        redis_server = request.getfixturevalue("redis_server")
        settings = {**hosted(redis_server.url.rsplit("/", 1)[0] + "/2", directory), **settings}
    return LiveSandbox(directory, **settings)


@pytest.fixture(scope="module", params=MODES)
def served(request, tmp_path_factory):
    """The sandbox with its default limits."""
    _raise_open_files(IDLE + SLOWLORIS + 256)
    sandbox = _start(request, tmp_path_factory)
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module", params=MODES)
def impatient(request, tmp_path_factory):
    """The sandbox with a channel timeout of 2 s, to watch it run out."""
    sandbox = _start(request, tmp_path_factory, MESSPUNKT_CHANNEL_TIMEOUT="2")
    yield sandbox
    sandbox.stop()


ASK = b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read one response: its head (status line and fields) and its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")), 0,
    )  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection within the body"
        body += chunk
    return head, body


def closed_by_server(sock: socket.socket) -> bool:
    """Tell whether the server closed `sock` (nothing else is sent on these connections)."""
    poller = select.poll()  # select() cannot watch a descriptor above 1024
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except ConnectionError:
        return True


class Crowd:
    """Connections held open against a server: idle ones and slowloris ones, all closed at exit."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sockets: list[socket.socket] = []
        self.slow: list[socket.socket] = []
        self.lines = 0

    def __enter__(self) -> Crowd:
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self.sockets:
            sock.close()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_WITHIN)
        self.sockets.append(sock)
        return sock

    def idle(self, count: int) -> None:
        """Half answered once and kept alive, half never sending a byte."""
        for number in range(count):
            sock = self.connect()
            if number % 2 == 0:
                sock.sendall(ASK)
                try:
                    assert read_response(sock)[0].startswith(b"HTTP/1.1 200 ")
                except TimeoutError:
                    pytest.fail(f"no answer within {ANSWER_WITHIN} s with {number} idle open")

    def slowloris(self, count: int) -> None:
        """Connections sending a request line and one header field, the rest never."""
        for _ in range(count):
            sock = self.connect()
            sock.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.slow.append(sock)

    def lingering(self, count: int) -> None:
        """Connections asking to be closed after their answer, then reading nothing, ever."""
        for _ in range(count):
            ask = ASK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
            self.connect().sendall(ask)

    def trickle(self) -> None:
        """One more header field on every slowloris connection."""
        self.lines += 1
        for sock in self.slow:
            sock.sendall(b"X-Trickle-%d: a\r\n" % self.lines)

    def open(self) -> int:
        return sum(not closed_by_server(sock) for sock in self.sockets)


def test_a_fresh_client_is_answered_with_500_idle_and_200_slowloris_connections_open(served):
    with Crowd(served.port) as crowd:
        crowd.idle(IDLE)
        crowd.slowloris(SLOWLORIS)
        for _ in range(3):
            crowd.trickle()
            # A timeout of 1 s for each step: the request must not time out.
            status, _ = served.get("/.well-known/oauth-authorization-server", timeout=1)
            assert status == 200
        assert crowd.open() == IDLE + SLOWLORIS  # the crowd was all there while it was served


def test_a_fresh_client_is_answered_while_closed_connections_are_left_open_by_clients(served):
    with Crowd(served.port) as crowd:
        crowd.lingering(40)  # gthread read each for up to 2 s, blocking its whole worker
        for _ in range(3):
            status, _ = served.get("/.well-known/oauth-authorization-server", timeout=1)
            assert status == 200


def test_a_request_still_not_whole_after_the_channel_timeout_is_closed_however_it_trickles(
    impatient,
):
    with Crowd(impatient.port) as crowd:
        crowd.slowloris(3)
        crowd.idle(2)  # one answered and idle since, one that never sent a byte
        deadline = time.monotonic() + 15
        while crowd.open() and time.monotonic() < deadline:
            crowd.trickle()  # a header field every 0.2 s: never idle, never whole
            time.sleep(0.2)
        assert crowd.open() == 0


def test_a_connection_that_keeps_completing_requests_outlives_the_channel_timeout(impatient):
    with Crowd(impatient.port) as crowd:
        sock = crowd.connect()
        until = time.monotonic() + 5  # two and a half timeouts
        while time.monotonic() < until:
            sock.sendall(ASK)
            assert read_response(sock)[0].startswith(b"HTTP/1.1 200 ")
            time.sleep(0.2)
        assert crowd.open() == 1


# Bodies: a declared length over the limit (64 KiB) is refused before the body is sent.

TOO_LARGE_OAUTH = {"error": "invalid_request", "error_description": "the request body is too large"}
TOO_LARGE_PROBLEM = {
    "type": "about:blank", "title": "Request Entity Too Large", "status": 413,
    "detail": "The data value transmitted exceeds the capacity limit.",
}  # fmt: skip
REFUSED = [
    pytest.param("/oauth/token", "application/x-www-form-urlencoded", "application/json",
                 TOO_LARGE_OAUTH, id="token"),
    pytest.param("/oauth/revoke", "application/json", "application/json", TOO_LARGE_OAUTH,
                 id="revoke"),
    pytest.param("/sandbox/personal-access-tokens", "application/json",
                 "application/problem+json", TOO_LARGE_PROBLEM, id="personal-token"),
]  # fmt: skip


def _head(path: str, content_type: str, length: int, *extra: str) -> bytes:
    fields = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}",
              f"Content-Length: {length}", f"X-Sandbox-Admin-Key: {ADMIN_KEY}", *extra]  # fmt: skip
    return ("\r\n".join(fields) + "\r\n\r\n").encode()


def _status(head: bytes) -> int:
    version, status, _ = head.split(b" ", 2)
    assert version in (b"HTTP/1.0", b"HTTP/1.1")  # waitress answers a head it refused in 1.0
    return int(status)


def _fields(head: bytes) -> dict[str, str]:
    lines = head.decode().split("\r\n")[1:]
    return {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "expect-100-continue"])
@pytest.mark.parametrize(("path", "content_type", "mimetype", "body"), REFUSED)
def test_a_declared_body_over_the_limit_is_refused_in_the_endpoints_format_before_it_is_sent(
    served, path, content_type, mimetype, body, expect
):
    extra = ["Expect: 100-continue"] if expect else []
    with Crowd(served.port) as crowd:
        sock = crowd.connect()
        sock.sendall(_head(path, content_type, 64_000_000, *extra))  # and not a byte of body
        head, answer = read_response(sock)  # the first answer: 413, never 100 Continue

        assert _status(head) == 413
        assert _fields(head)["content-type"] == mimetype
        assert json.loads(answer) == body
        assert _fields(head)["connection"] == "close"


def test_expect_100_continue_within_the_limit_is_answered_100_then_served(served):
    form = (b"grant_type=client_credentials&client_id=sandbox-service-client"
            b"&client_secret=sandbox-service-client-secret-change-me")  # fmt: skip
    content_type = "application/x-www-form-urlencoded"
    with Crowd(served.port) as crowd:
        sock = crowd.connect()
        sock.sendall(_head("/oauth/token", content_type, len(form), "Expect: 100-continue"))
        interim = sock.recv(65536)
        sock.sendall(form)
        head, answer = read_response(sock)

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert _status(head) == 200
    assert json.loads(answer)["token_type"] == "Bearer"


def test_a_head_over_the_limit_is_refused_with_431(served):
    with Crowd(served.port) as crowd:
        sock = crowd.connect()
        padding = "".join(f"X-Padding-{n}: {'a' * 100}\r\n" for n in range(170))  # 17 KiB
        sock.sendall(f"GET /v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n{padding}\r\n".encode())
        head, _ = read_response(sock)

    assert _status(head) == 431


# The open-file limit: raised for the connections, or the connections lowered to fit it.


@pytest.mark.parametrize(("soft", "hard", "raised_to", "connections"), [
    (1024, 1 << 20, 4096 + RESERVED_FILES, 4096),
    (1024, 2048, 2048, 2048 - RESERVED_FILES),
    (8192, 8192, None, 4096),
])  # fmt: skip
def test_the_open_file_limit_is_raised_for_the_connection_limit_or_lowers_it(
    monkeypatch, soft, hard, raised_to, connections
):
    resource = pytest.importorskip("resource")
    raised = []
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (soft, hard))
    monkeypatch.setattr(resource, "setrlimit", lambda kind, limits: raised.append(limits))

    limits = Limits(connections=4096, timeout=30, header_bytes=16384, body_bytes=65536)

    assert limits.within_open_files().connections == connections
    assert raised == ([] if raised_to is None else [(raised_to, hard)])
