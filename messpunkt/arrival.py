"""A request as it arrives on a connection, read without a thread until it is whole.

The gunicorn worker (`messpunkt.hosting`) feeds it what each read brings and
acts on its answer; nothing here touches a socket.
"""

from __future__ import annotations

from .connections import Limits


class Arrival:
    """The bytes of one request as they arrive, and what they need next.

    `add` answers "more" (wait for more bytes), "continue" (send 100 Continue,
    then wait), "serve" (whole: hand to a thread) or "refuse" (the head is over
    the limit). A body is waited for when its declared length is within the
    limit; one over it is served at once, unread, for the app to refuse. A
    chunked body, or a head gunicorn's parser will refuse, is served as soon as
    the head is whole: the thread reads the rest.
    """

    def __init__(self, limits: Limits, deadline: float) -> None:
        self.limits, self.deadline = limits, deadline
        self.data = bytearray()
        self.start = 0  # RFC 9112 §2.2: empty lines before a request line are ignored
        self.scanned = 0
        self.body_start: int | None = None
        self.length = 0
        self.verdict = "more"
        self.continued = False

    def add(self, data: bytes) -> str:
        self.data += data
        if self.body_start is None:
            self._find_head()
        if self.verdict in ("more", "continue") and self.body_start is not None:
            whole = len(self.data) - self.body_start >= self.length
            self.verdict = "serve" if whole else "more" if self.continued else self.verdict
        return self.verdict

    def _find_head(self) -> None:
        data, limit = self.data, self.limits.header_bytes
        while self.start < len(data) and data[self.start] in b"\r\n":
            self.start += 1
        end = data.find(b"\r\n\r\n", max(self.start, self.scanned - 3))
        self.scanned = len(data)
        if end < 0:
            self.verdict = "refuse" if len(data) - self.start > limit else "more"
            return
        if end - self.start > limit:
            self.verdict = "refuse"
            return
        self.body_start = end + 4
        request_line, *lines = bytes(data[self.start : end]).split(b"\r\n")
        fields: dict[bytes, list[bytes]] = {}
        for line in lines:
            name, _, value = line.partition(b":")
            fields.setdefault(name.strip().lower(), []).append(value.strip().lower())
        lengths = fields.get(b"content-length", [b"0"])
        if b"transfer-encoding" in fields or len(lengths) != 1 or not lengths[0].isdigit():
            self.verdict = "serve"
            return
        self.length = int(lengths[0])
        target = request_line.split(b" ")[1] if request_line.count(b" ") == 2 else b""
        path = target.partition(b"?")[0].decode("latin-1")
        if self.length > self.limits.body_limit(path):
            self.verdict = "serve"
        elif fields.get(b"expect") == [b"100-continue"] and request_line.endswith(b"/1.1"):
            self.verdict = "continue"  # RFC 9110 §10.1.1: the client waits for it
