"""The /v1 blueprint: every view needs a bearer token and declares its scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..web.blueprint import Blueprint, View
from .security import authenticate


class ApiBlueprint(Blueprint):
    """A /v1 blueprint: authenticated before any view runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(authenticate)

    def requires(self, scope: str | None) -> Callable[[View], View]:
        """Declare and document the scope a view needs (None: any valid token).

        `authenticate` enforces it before the view or its argument parsing runs.
        """

        def decorate(view: View) -> View:
            security = [{"oauth2": [scope] if scope else []}, {"bearerAuth": []}]
            documented = self.errors(401, *([403] if scope else []))(
                self.doc(security=security)(view)
            )
            documented.required_scope = scope  # type: ignore[attr-defined]
            return documented

        return decorate
