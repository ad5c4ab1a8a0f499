"""/sandboxes: the operator creates, lists and deletes partner sandboxes.

`MESSPUNKT_OPERATOR_KEY` turns it on; without it every /sandboxes path is
404. Every call needs that key in the `X-Operator-Key` header.
"""

from __future__ import annotations

from ..web.openapi import ProblemApi


def register(api: ProblemApi) -> None:
    """Add the /sandboxes blueprint and its operator-key scheme to the documented API."""
    from . import sandboxes

    api.document(
        lambda spec: spec.components.security_scheme(
            "operatorKey", {"type": "apiKey", "in": "header", "name": sandboxes.OPERATOR_HEADER}
        )
    )
    api.register_blueprint(sandboxes.blp)
