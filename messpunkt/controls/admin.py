"""What every sandbox control shares: the admin key and how it is documented."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import abort

from ..web.blueprint import Blueprint
from ..web.context import sandbox

ADMIN_HEADER = "X-Sandbox-Admin-Key"


class ControlsBlueprint(Blueprint):
    """A /sandbox blueprint: the admin key instead of a bearer token."""

    def __init__(self, name: str, import_name: str, description: str) -> None:
        super().__init__(name, import_name, url_prefix="/sandbox", description=description)
        self.before_request(_require_admin_key)

    def documented(self, *statuses: int) -> Any:
        """Document the admin key and the error responses of a control."""
        return self.secured("adminKey", *statuses)


def _require_admin_key() -> None:
    presented = request.headers.get(ADMIN_HEADER, "")
    # Compared as digests in constant time, so the key cannot be guessed byte by byte.
    if not sandbox().state.admits(presented):
        abort(
            401,
            message=f"the sandbox controls need the admin key in the {ADMIN_HEADER} header",
            headers={"WWW-Authenticate": f'{ADMIN_HEADER} realm="messpunkt sandbox"'},
        )
