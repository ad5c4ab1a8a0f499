"""/v1: the resource API, built with flask-smorest so that it documents itself."""

from __future__ import annotations

from flask_smorest import Api


def register(api: Api) -> None:
    """Add the /v1 blueprints to the documented API."""
    from . import consumption, devices, properties, usage_units, whoami

    for module in (whoami, properties, usage_units, consumption, devices):
        api.register_blueprint(module.blp)
