"""`messpunkt-sandbox` (and `python -m messpunkt`): serve the sandbox with waitress."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from flask import Flask
from waitress import serve

from . import create_app
from .config import SETTINGS, from_environ

log = logging.getLogger("messpunkt.access")


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
            default=config.get(key, setting.default),
            help=f"{setting.meaning} (env {key}, default %(default)s)",
        )
    args = vars(parser.parse_args(argv))
    config.update({OPTIONS[name]: value for name, value in args.items()})
    if "MESSPUNKT_ISSUER" not in environ and args["issuer"] == SETTINGS["MESSPUNKT_ISSUER"].default:
        # The issuer must be the URL clients reach, so it follows the chosen port.
        host = "localhost" if args["host"] in ("127.0.0.1", "0.0.0.0", "::") else args["host"]  # noqa: S104
        config["MESSPUNKT_ISSUER"] = f"http://{host}:{args['port']}"
    return config


OPTIONS = {
    "host": "MESSPUNKT_HOST",
    "port": "MESSPUNKT_PORT",
    "threads": "MESSPUNKT_THREADS",
    "data": "MESSPUNKT_DATA_DIR",
    "issuer": "MESSPUNKT_ISSUER",
}


class AccessLog:
    """WSGI middleware: one line per request (method, path, status, duration).

    Never the query string or a header, so no token or code reaches the log.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

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
            elapsed = (time.perf_counter() - started) * 1000
            log.info(
                "%s %s %s %.1fms",
                environ.get("REQUEST_METHOD", "-"),
                environ.get("PATH_INFO", ""),
                status,
                elapsed,
            )


def banner(app: Flask) -> str:
    sandbox = app.extensions["messpunkt"]
    issuer = sandbox.config["MESSPUNKT_ISSUER"]
    lines = [
        f"messpunkt sandbox on {issuer}",
        f"  docs:          {issuer}/docs   (OpenAPI: {issuer}/openapi.json)",
        f"  data:          {sandbox.state.data.directory}",
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


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = parse_args(argv, dict(os.environ))
        app = create_app(config)
    except (ValueError, KeyError) as exc:
        print(f"messpunkt-sandbox: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("waitress").setLevel(logging.WARNING)
    print(banner(app), flush=True)
    serve(AccessLog(app), host=config["MESSPUNKT_HOST"], port=config["MESSPUNKT_PORT"],
          threads=config["MESSPUNKT_THREADS"], ident="messpunkt-sandbox")  # fmt: skip
    return 0
