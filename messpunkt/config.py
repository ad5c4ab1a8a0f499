"""Configuration: every key, its default and what it means, in one place.

`create_app` takes a plain mapping with these keys; `from_environ` builds
one from `MESSPUNKT_*` environment variables for `app.py` and the CLI.
"""

from __future__ import annotations

import atexit
import re
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .clock import LATEST


def _installed_fixtures() -> Path:
    """Return the fixtures shipped as `messpunkt.sandbox_data` as a directory on disk."""
    # On disk (any pip install, editable too) as_file hands the directory back as it is;
    # from a zip (Python 3.12+) it extracts it, kept until the process exits.
    kept = ExitStack()
    atexit.register(kept.close)
    return kept.enter_context(resources.as_file(resources.files("messpunkt.sandbox_data")))


DEFAULT_DATA_DIR = _installed_fixtures()


@dataclass(frozen=True)
class Setting:
    default: Any
    meaning: str
    parse: type = str
    low: int | None = None  # a whole number's smallest value (every int setting has one)
    high: int | None = None  # and its largest, where there is one

    def out_of_range(self, value: int) -> str | None:
        """Say what a whole number outside this setting's range must be, or None if in it:
        the words of every refusal, from `resolve` and the command line alike."""
        low, high = self.low, self.high
        assert low is not None, "every whole-number setting declares its smallest value"
        if value < low or (high is not None and value > high):
            return (
                f"must be from {low} to {high}" if high is not None else f"must be at least {low}"
            )
        return None


# The longest lifetime or grace, in seconds (about 31 years): far past any a partner tests
# with, and far from where a timedelta or an instant overflows (a stack trace at start).
LONGEST = 10**9


SETTINGS: dict[str, Setting] = {
    "MESSPUNKT_HOST": Setting("127.0.0.1", "interface the server listens on"),
    "MESSPUNKT_PORT": Setting(8000, "TCP port the server listens on", int, low=1, high=65535),
    "MESSPUNKT_THREADS": Setting(
        8, "threads per process (waitress, or each gunicorn worker)", int, low=1
    ),
    "MESSPUNKT_WORKERS": Setting(
        1,
        "processes; more than 1 serves with gunicorn (gthread) and needs a store URL",
        int,
        low=1,
        high=64,
    ),
    "MESSPUNKT_STORE_GRACE": Setting(
        600,
        "seconds a record stays in the store after its own end (garbage only)",
        int,
        low=0,
        high=LONGEST,
    ),
    "MESSPUNKT_STORE_URL": Setting(
        "", "redis://host:port/db keeps the sandboxes on Redis; empty means in this process"
    ),
    "MESSPUNKT_ISSUER": Setting(
        "http://localhost:8000", "issuer URL: the `iss` of tokens and the metadata's base"
    ),
    "MESSPUNKT_AUDIENCE": Setting("", "`aud` of access tokens; empty means ISSUER + '/v1'"),
    "MESSPUNKT_DATA_DIR": Setting(str(DEFAULT_DATA_DIR), "directory of the JSON fixtures"),
    "MESSPUNKT_CODE_TTL": Setting(
        300, "authorization code lifetime, seconds", int, low=1, high=LONGEST
    ),
    "MESSPUNKT_ACCESS_TOKEN_TTL": Setting(
        3600, "access token lifetime, seconds", int, low=1, high=LONGEST
    ),
    "MESSPUNKT_REFRESH_TOKEN_TTL": Setting(
        7 * 86400, "refresh token lifetime, seconds", int, low=1, high=LONGEST
    ),
    "MESSPUNKT_SESSION_MAX_AGE": Setting(
        30 * 86400, "absolute session cap from the consent, seconds", int, low=1, high=LONGEST
    ),
    "MESSPUNKT_SIGNING_KEY": Setting(
        "", "PEM file of the P-256 signing key; empty means a fresh key per process"
    ),
    "MESSPUNKT_SECRET_KEY": Setting(
        "", "secret for signed cursors; empty means a fresh one per process"
    ),
    "MESSPUNKT_FROZEN_AT": Setting(
        "", "ISO 8601 instant to freeze the clock at start; empty means real time"
    ),
    "MESSPUNKT_MAX_BODY_BYTES": Setting(64 * 1024, "largest request body accepted", int, low=1),
    "MESSPUNKT_MAX_DATA_SET_BYTES": Setting(
        32 * 1024 * 1024, "largest data set a partner may upload (POST /sandbox/data)", int, low=1
    ),
    "MESSPUNKT_REQUEST_LOG_SIZE": Setting(
        500, "requests each sandbox's log keeps (GET /sandbox/requests); 0 turns it off", int, low=0
    ),
    "MESSPUNKT_MAX_FAULT_DELAY_MS": Setting(
        30_000,
        "longest delay a fault may add to a request (POST /sandbox/faults), ms",
        int,
        low=0,
    ),
    "MESSPUNKT_MAX_HEADER_BYTES": Setting(
        16 * 1024, "largest request line and header fields together, bytes", int, low=1
    ),
    "MESSPUNKT_CONNECTION_LIMIT": Setting(
        4096,
        "open connections per process; past it the server accepts no more until one closes",
        int,
        low=1,
    ),
    "MESSPUNKT_CHANNEL_TIMEOUT": Setting(
        30, "seconds a connection may stay idle, and a request may take to arrive whole", int, low=1
    ),
    "MESSPUNKT_LOG_FORMAT": Setting(
        "text", "access log lines: `text` (one line of fields) or `json` (one object a line)"
    ),
    "MESSPUNKT_SANDBOX_CONTROLS": Setting(
        "on", "`off` removes every /sandbox path and /oauth/register (404)"
    ),
    "MESSPUNKT_CORS_ORIGINS": Setting(
        "",
        "comma-separated origins that may call /oauth/token, /revoke, /introspect and /v1 "
        "from a browser, or *; empty means the origins of the clients' redirect URIs",
    ),
    "MESSPUNKT_SANDBOX_ADMIN_KEY": Setting(
        "", "key for /sandbox (X-Sandbox-Admin-Key); empty means generated and printed at start"
    ),
    "MESSPUNKT_OPERATOR_KEY": Setting(
        "", "key for /sandboxes (X-Operator-Key); empty means no operator API (404)"
    ),
    "MESSPUNKT_MAX_SANDBOXES": Setting(1000, "most partner sandboxes alive at once", int, low=0),
    "MESSPUNKT_DATA_SETS": Setting(
        "", "more named data sets beside `default`, as name=directory,…; empty means none"
    ),
}

# A data set's name, as partners choose it; never a path.
DATA_SET_NAME = re.compile(r"[a-z0-9-]{1,40}")


def defaults() -> dict[str, Any]:
    """Return every setting at its default."""
    return {key: setting.default for key, setting in SETTINGS.items()}


def resolve(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge overrides over the defaults, refusing keys that do not exist and values that
    are out of their setting's range (ValueError, one line naming the setting)."""
    config = defaults()
    for key, value in (overrides or {}).items():
        if key not in SETTINGS:
            raise KeyError(f"unknown setting {key!r}")
        config[key] = value
    for key, setting in SETTINGS.items():
        if setting.parse is int:
            config[key] = _whole_number(key, config[key])
    if config["MESSPUNKT_SANDBOX_CONTROLS"] not in ("on", "off"):
        raise ValueError("MESSPUNKT_SANDBOX_CONTROLS must be on or off")
    if config["MESSPUNKT_LOG_FORMAT"] not in ("text", "json"):
        raise ValueError("MESSPUNKT_LOG_FORMAT must be text or json")
    _check_issuer(config["MESSPUNKT_ISSUER"])
    _check_frozen_at(config["MESSPUNKT_FROZEN_AT"])
    _check_hosting(config)
    if not config["MESSPUNKT_AUDIENCE"]:
        config["MESSPUNKT_AUDIENCE"] = config["MESSPUNKT_ISSUER"].rstrip("/") + "/v1"
    return config


def _whole_number(key: str, value: Any) -> int:
    """Return a whole-number setting's value, or refuse it in the words the command line's
    `whole_number` uses; text is read as its MESSPUNKT_* variable would be (`_parsed`)."""
    if isinstance(value, str):
        value = _parsed(key, value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be a whole number, not {value!r}")
    refusal = SETTINGS[key].out_of_range(value)
    if refusal is not None:
        raise ValueError(f"{key} {refusal}, not {value}")
    return value


def _check_issuer(issuer: Any) -> None:
    """Refuse an issuer that is not an absolute http(s) URL without query or fragment (RFC 8414
    §2): it is every token's `iss` and the base of every URL the metadata names."""
    if not _is_http_url(issuer):
        raise ValueError(
            "MESSPUNKT_ISSUER must be an absolute http or https URL without query or fragment, "
            f"not {issuer!r}"
        )


def _is_http_url(text: Any) -> bool:
    if not isinstance(text, str) or any(c.isspace() or not c.isprintable() for c in text):
        return False
    if "?" in text or "#" in text:
        return False
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError for one that is not a port number
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _check_frozen_at(frozen_at: Any) -> None:
    """Refuse a MESSPUNKT_FROZEN_AT the clock could not stand at: not an instant, one
    without its offset, or one past the clock's last (clock.LATEST)."""
    if frozen_at == "":
        return
    try:
        instant = datetime.fromisoformat(frozen_at)
        fits = instant.tzinfo is not None and instant <= LATEST
    except (TypeError, ValueError):
        fits = False
    if not fits:
        raise ValueError(
            "MESSPUNKT_FROZEN_AT must be an ISO 8601 instant with its UTC offset, such as "
            f"2026-11-23T09:00:00+00:00, at the latest {LATEST.isoformat()}, or empty for real "
            f"time, not {frozen_at!r}"
        )


# With a shared store, every worker and every host must sign, verify and page alike.
SHARED_SECRETS = ("MESSPUNKT_SIGNING_KEY", "MESSPUNKT_SECRET_KEY", "MESSPUNKT_SANDBOX_ADMIN_KEY")


def _check_hosting(config: dict[str, Any]) -> None:
    """Refuse a hosted setup that would give each worker its own state or secrets."""
    if config["MESSPUNKT_WORKERS"] > 1 and not config["MESSPUNKT_STORE_URL"]:
        raise ValueError(
            "MESSPUNKT_WORKERS above 1 needs MESSPUNKT_STORE_URL: workers must share one store"
        )
    if config["MESSPUNKT_STORE_URL"]:
        missing = [key for key in SHARED_SECRETS if not config[key]]
        if missing:
            raise ValueError(
                f"MESSPUNKT_STORE_URL needs {', '.join(missing)} set: every worker and host "
                "must sign, verify and page alike"
            )


def data_set_directories(text: str) -> dict[str, str]:
    """Read MESSPUNKT_DATA_SETS (`name=directory,…`) as names and their directories."""
    found: dict[str, str] = {}
    for item in text.split(",") if text else ():
        name, equals, directory = item.partition("=")
        if not equals or not directory:
            raise ValueError(f"MESSPUNKT_DATA_SETS: {item!r} is not name=directory")
        if DATA_SET_NAME.fullmatch(name) is None:
            raise ValueError(f"MESSPUNKT_DATA_SETS: {name!r} is not a name of [a-z0-9-]{{1,40}}")
        if name == "default" or name in found or name.startswith("upload-"):
            raise ValueError(f"MESSPUNKT_DATA_SETS: the name {name!r} is taken")
        found[name] = directory
    return found


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read every known `MESSPUNKT_*` variable present in `environ`."""
    return {key: _parsed(key, environ[key]) for key in SETTINGS if key in environ}


def _parsed(key: str, text: str) -> Any:
    """Read a setting given as text, as its variable: `int()` for a whole number."""
    try:
        return SETTINGS[key].parse(text)
    except ValueError as exc:
        raise ValueError(f"{key}={text!r}: {exc}") from None
