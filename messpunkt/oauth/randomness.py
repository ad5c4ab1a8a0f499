"""Random secrets for codes, tokens and ids, drawn from the OS in blocks.

`secrets.token_urlsafe` makes one getrandom() call per token, and each call
releases the GIL: on a loaded waitress server every token response handed
the interpreter to another thread three or four times. The bytes here are
the same os.urandom bytes, read 4 KiB at a time and each handed out once.
"""

from __future__ import annotations

import base64
import os
import threading

_BLOCK = 4096


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._position = 0
        self._pid = -1

    def take(self, size: int) -> bytes:
        with self._lock:
            # A forked child must not hand out its parent's remaining bytes again.
            if self._position + size > len(self._buffer) or self._pid != os.getpid():
                self._buffer, self._position, self._pid = os.urandom(_BLOCK), 0, os.getpid()
            chunk = self._buffer[self._position : self._position + size]
            self._position += size
            return chunk


_pool = _Pool()


def token_urlsafe(size: int) -> str:
    """Return `size` random bytes as unpadded base64url, like `secrets.token_urlsafe`."""
    return base64.urlsafe_b64encode(_pool.take(size)).rstrip(b"=").decode("ascii")


def token_hex(size: int) -> str:
    """Return `size` random bytes as hex, like `secrets.token_hex`."""
    return _pool.take(size).hex()
