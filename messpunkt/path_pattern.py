"""Path patterns of the request log's filter and of faults: `/v1/usage-units/*/consumption`.

A pattern is a path whose segments are literal or `*`, which stands for exactly
one segment; a final `**` stands for any rest of the path, one segment or more.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_LENGTH = 200
_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()+,;=:@%-]*")  # RFC 3986 pchar, without * and /


class BadPattern(ValueError):
    """A pattern that is not a path of literal and `*` segments."""


def check(pattern: str) -> str:
    """Return `pattern` if it is a valid path pattern; raise BadPattern saying why."""
    if not pattern.startswith("/") or len(pattern) > MAX_LENGTH:
        raise BadPattern(f"must start with / and be at most {MAX_LENGTH} characters")
    segments = pattern[1:].split("/")
    for index, segment in enumerate(segments):
        if segment in ("*", ""):
            continue
        if segment == "**" and index == len(segments) - 1:
            continue
        if "*" in segment:
            raise BadPattern("* stands for a whole segment only (and ** for the rest, last)")
        if not _SEGMENT.fullmatch(segment):
            raise BadPattern(f"the segment {segment!r} is not part of a path")
    return pattern


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    parts = []
    for segment in pattern[1:].split("/"):
        parts.append(".+" if segment == "**" else "[^/]+" if segment == "*" else re.escape(segment))
    return re.compile("/" + "/".join(parts))


def matches(pattern: str, path: str) -> bool:
    """Tell whether `path` is one of the paths `pattern` stands for."""
    return _compiled(pattern).fullmatch(path) is not None
