"""Serving with gunicorn: several worker processes (gthread), each with threads.

gunicorn's own idiom for embedding (a `BaseApplication` subclass, as its docs
show for custom applications): settings from the sandbox's configuration, and
each worker builds its own app after the fork, so no Redis connection or
thread crosses a fork. The sandboxes' state lives in the shared store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with `workers` gthread processes of `threads` threads serving `build()`."""

    def __init__(self, build: Callable[[], Any], *, bind: str, workers: int, threads: int) -> None:
        self.build = build
        self.options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            # The sandbox writes its own access log, without query strings or tokens.
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "messpunkt-sandbox",
            "graceful_timeout": 5,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self.build()
