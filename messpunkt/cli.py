"""`messpunkt-sandbox` (and `python -m messpunkt`): serve the sandbox with waitress."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from flask import Flask
from waitress import serve

from . import create_app
from .access_log import AccessLog
from .clock import system_time
from .config import SETTINGS, from_environ


def parse_args(argv: Sequence[str] | None, environ: dict[str, str]) -> dict[str, Any]:
    """Merge command-line options over MESSPUNKT_* variables over the defaults."""
    config = from_environ(environ)
    parser = argparse.ArgumentParser(
        prog="messpunkt-sandbox", description="Serve the messpunkt.io Partner API sandbox."
    )
    for option, key in OPTIONS.items():
        setting = SETTINGS[key]
        parser.add_argument(
            f"--{option}",
            type=setting.parse,
            default=None,
            help=f"{setting.meaning} (env {key}, default {config.get(key, setting.default)})",
        )
    given = {OPTIONS[name]: value for name, value in vars(parser.parse_args(argv)).items()}
    config.update({key: value for key, value in given.items() if value is not None})
    for key in ("MESSPUNKT_HOST", "MESSPUNKT_PORT", "MESSPUNKT_THREADS", "MESSPUNKT_DATA_DIR"):
        config.setdefault(key, SETTINGS[key].default)
    if "MESSPUNKT_ISSUER" not in config:
        # The issuer must be the URL clients reach, so it follows the chosen port.
        host, port = config["MESSPUNKT_HOST"], config["MESSPUNKT_PORT"]
        name = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
        config["MESSPUNKT_ISSUER"] = f"http://{name}:{port}"
    return config


OPTIONS = {
    "host": "MESSPUNKT_HOST",
    "port": "MESSPUNKT_PORT",
    "threads": "MESSPUNKT_THREADS",
    "data": "MESSPUNKT_DATA_DIR",
    "issuer": "MESSPUNKT_ISSUER",
}


def banner(app: Flask) -> str:
    sandbox = app.extensions["messpunkt"]
    issuer = sandbox.config["MESSPUNKT_ISSUER"]
    lines = [
        f"messpunkt sandbox on {issuer}",
        f"  docs:          {issuer}/docs   (OpenAPI: {issuer}/openapi.json)",
        f"  data:          {sandbox.open().data.directory}",
        "  demo client:   sandbox-demo-client, redirect http://localhost:3000/callback",
    ]
    if sandbox.controls_enabled:
        lines.append(f"  admin key:     {sandbox.admin_key}   (header X-Sandbox-Admin-Key)")
    else:
        lines.append("  controls:      off")
    lines += [
        "  first step of the quickstart (README.md):",
        "    VERIFIER=$(openssl rand -base64 48 | tr -d '=+/' | head -c 64)",
    ]
    return "\n".join(lines)


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = parse_args(argv, dict(os.environ))
        app = create_app(config)
    except (ValueError, KeyError) as exc:
        print(f"messpunkt-sandbox: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    print(banner(app), flush=True)
    # The fixtures and the app are built: move them out of the collector's way, so a
    # collection walks only what requests create (gc.freeze, as long-lived servers do).
    gc.collect()
    gc.freeze()
    # A request leaves a few hundred short-lived containers behind for the collector;
    # at the default threshold (700) it ran every few requests and, once thousands of
    # sessions existed, a full collection stalled every thread for tens of
    # milliseconds (the refresh benchmark's p99 was 40-50 ms; with this, 6-8 ms).
    gc.set_threshold(10_000, 10, 10)
    access_log = AccessLog(app, sys.stderr, clock=system_time)
    # SIGTERM ends waitress's loop like Ctrl-C does, so the log's last lines are written.
    signal.signal(signal.SIGTERM, _exit)
    try:
        serve(access_log, host=config["MESSPUNKT_HOST"], port=config["MESSPUNKT_PORT"],
              threads=config["MESSPUNKT_THREADS"], ident="messpunkt-sandbox")  # fmt: skip
    finally:
        access_log.close()
    return 0
