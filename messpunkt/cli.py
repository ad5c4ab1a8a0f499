"""`messpunkt-sandbox` (and `python -m messpunkt`): serve the sandbox with waitress."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import Flask

from . import create_app
from .access_log import AccessLog
from .clock import system_time
from .config import SETTINGS, from_environ
from .connections import Limits, waitress_server

PROG = "messpunkt-sandbox"


def whole_number(key: str) -> Callable[[str], int]:
    """Return a parser of the whole numbers setting `key` takes (its range in SETTINGS)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        refusal = SETTINGS[key].out_of_range(value)
        if refusal is not None:
            raise argparse.ArgumentTypeError(f"{refusal}, not {value}")
        return value

    return parse


# Checked here, before anything is bound, not left to waitress: a port over 65535 wraps
# around (73642 serves on 8106).
CHECKS = {
    key: whole_number(key)
    for key in ("MESSPUNKT_PORT", "MESSPUNKT_THREADS", "MESSPUNKT_WORKERS",
                "MESSPUNKT_CONNECTION_LIMIT", "MESSPUNKT_CHANNEL_TIMEOUT")
}  # fmt: skip

OPTIONS = {
    "host": "MESSPUNKT_HOST",
    "port": "MESSPUNKT_PORT",
    "threads": "MESSPUNKT_THREADS",
    "workers": "MESSPUNKT_WORKERS",
    "store-url": "MESSPUNKT_STORE_URL",
    "data": "MESSPUNKT_DATA_DIR",
    "issuer": "MESSPUNKT_ISSUER",
}


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, as the rest of the command's are."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def settings_table() -> str:
    """List every setting with its default and meaning, straight from SETTINGS."""
    option_of = {key: option for option, key in OPTIONS.items()}
    lines = [
        "settings: every MESSPUNKT_* environment variable, its default and meaning;",
        "an option overrides its variable, and the issuer follows --host and --port",
        "unless it is set:",
    ]
    for key, setting in SETTINGS.items():
        default = setting.default if setting.default != "" else "(empty)"
        option = f"   (--{option_of[key]})" if key in option_of else ""
        lines.append(f"  {key}={default}{option}")
        lines += textwrap.wrap(setting.meaning, 76, initial_indent=" " * 6,
                               subsequent_indent=" " * 6)  # fmt: skip
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None, environ: dict[str, str]) -> dict[str, Any]:
    """Merge command-line options over MESSPUNKT_* variables over the defaults."""
    config = from_environ(environ)
    for key, check in CHECKS.items():
        if key in environ:
            try:
                check(environ[key])
            except argparse.ArgumentTypeError as exc:
                raise ValueError(f"{key} {exc}") from None
    parser = Parser(
        prog=PROG,
        description="Serve the messpunkt.io Partner API sandbox.",
        epilog=settings_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option, key in OPTIONS.items():
        setting = SETTINGS[key]
        parser.add_argument(
            f"--{option}",
            type=CHECKS.get(key, setting.parse),
            default=None,
            help=f"{setting.meaning} (env {key}, default {config.get(key, setting.default)})",
        )
    given = {
        OPTIONS[name.replace("_", "-")]: value
        for name, value in vars(parser.parse_args(argv)).items()
    }
    config.update({key: value for key, value in given.items() if value is not None})
    for key in ("MESSPUNKT_HOST", "MESSPUNKT_PORT", "MESSPUNKT_THREADS", "MESSPUNKT_WORKERS",
                "MESSPUNKT_DATA_DIR"):  # fmt: skip
        config.setdefault(key, SETTINGS[key].default)
    if "MESSPUNKT_ISSUER" not in config:
        # The issuer must be the URL clients reach, so it follows the chosen port.
        host, port = config["MESSPUNKT_HOST"], config["MESSPUNKT_PORT"]
        name = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
        if ":" in name:  # an IPv6 address: bracketed in a URL (RFC 3986 §3.2.2)
            name = f"[{name}]"
        config["MESSPUNKT_ISSUER"] = f"http://{name}:{port}"
    return config


def banner(app: Flask) -> str:
    sandbox = app.extensions["messpunkt"]
    issuer = sandbox.config["MESSPUNKT_ISSUER"]
    lines = [
        f"messpunkt sandbox on {issuer}",
        f"  docs:          {issuer}/docs   (OpenAPI: {issuer}/openapi.json)",
        f"  data:          {sandbox.open().data.directory}",
        "  demo client:   sandbox-demo-client, redirect http://localhost:3000/callback",
    ]
    config = sandbox.config
    if config["MESSPUNKT_STORE_URL"]:
        store = urlsplit(config["MESSPUNKT_STORE_URL"])  # never the password it may carry
        lines.append(f"  store:         Redis at {store.hostname}:{store.port or 6379}")
    if config["MESSPUNKT_WORKERS"] > 1:
        lines.append(
            f"  workers:       {config['MESSPUNKT_WORKERS']} gunicorn processes"
            f" of {config['MESSPUNKT_THREADS']} threads"
        )
    if sandbox.controls_enabled:
        lines.append(f"  admin key:     {sandbox.admin_key}   (header X-Sandbox-Admin-Key)")
    else:
        lines.append("  controls:      off")
    lines += [
        "  first step of the quickstart (README.md):",
        "    VERIFIER=$(openssl rand -base64 48 | tr -d '=+/' | head -c 64)",
    ]
    return "\n".join(lines)


def _reason(exc: Exception) -> str:
    # waitress turns a failed name lookup into a bare ValueError; the lookup's own
    # error (socket.gaierror) is its context and says what went wrong.
    cause = exc.__context__ if isinstance(exc, ValueError) and exc.__context__ else exc
    return getattr(cause, "strerror", None) or str(cause)


def _tune_collector() -> None:
    """Set the collector up for a long-lived server whose app is built."""
    # The fixtures and the app are built: move them out of the collector's way, so a
    # collection walks only what requests create (gc.freeze, as long-lived servers do).
    gc.collect()
    gc.freeze()
    # A request leaves a few hundred short-lived containers behind for the collector;
    # at the default threshold (700) it ran every few requests and, once thousands of
    # sessions existed, a full collection stalled every thread for tens of
    # milliseconds (the refresh benchmark's p99 was 40-50 ms; with this, 6-8 ms).
    gc.set_threshold(10_000, 10, 10)


def _serve_workers(config: dict[str, Any], app: Flask, limits: Limits) -> int:
    """Serve with gunicorn: MESSPUNKT_WORKERS processes sharing the store."""
    from .hosting import GunicornServer  # a hosted sandbox only

    host, port = config["MESSPUNKT_HOST"], config["MESSPUNKT_PORT"]
    try:
        # Tried before the banner, as waitress's bind is: gunicorn itself would retry.
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        print(f"{PROG}: cannot listen on {host}:{port}: {_reason(exc)}", file=sys.stderr)
        return 2
    print(banner(app), flush=True)

    log_format = app.config["MESSPUNKT"]["MESSPUNKT_LOG_FORMAT"]

    def build() -> AccessLog:
        worker_app = create_app(config)  # in each worker, after the fork
        _tune_collector()
        # Closed as its worker exits (hosting.close_app), so its last lines are written.
        return AccessLog(worker_app, sys.stderr, system_time, log_format)

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    GunicornServer(
        build,
        bind=bind,
        workers=config["MESSPUNKT_WORKERS"],
        threads=config["MESSPUNKT_THREADS"],
        limits=limits,
    ).run()
    return 0


def _store_reachable(url: str) -> None:
    """Refuse to start, in one line, without the store (`StoreUnavailable`); a worker
    started later while it is away answers 503 instead (`stores.redis.client_for`)."""
    if url:
        from .stores.redis import connect  # a hosted sandbox only

        connect(url).close()


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = parse_args(argv, dict(os.environ))
        app = create_app(config)
        _store_reachable(app.config["MESSPUNKT"]["MESSPUNKT_STORE_URL"])
    except (ValueError, KeyError, ConnectionError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    settings = app.config["MESSPUNKT"]  # every setting, the defaults included
    limits = Limits.from_config(settings).within_open_files()
    if config["MESSPUNKT_WORKERS"] > 1:
        return _serve_workers(config, app, limits)
    access_log = AccessLog(app, sys.stderr, system_time, settings["MESSPUNKT_LOG_FORMAT"])
    try:
        host, port = config["MESSPUNKT_HOST"], config["MESSPUNKT_PORT"]
        try:
            # Bound before the banner, so a taken port never prints an admin key for nothing.
            server = waitress_server(access_log, host=host, port=port, limits=limits,
                                     threads=config["MESSPUNKT_THREADS"], ident=PROG)  # fmt: skip
        except (OSError, ValueError) as exc:
            print(f"{PROG}: cannot listen on {host}:{port}: {_reason(exc)}", file=sys.stderr)
            return 2
        print(banner(app), flush=True)
        _tune_collector()
        # SIGTERM ends waitress's loop like Ctrl-C does, so the log's last lines are written.
        signal.signal(signal.SIGTERM, _exit)
        server.run()
    finally:
        access_log.close()
    return 0
