"""/oauth/register: dynamic client registration (RFC 7591) and management (RFC 7592).

The sandbox's admin key is the initial access token of `POST /oauth/register`
(RFC 7591 §3); each client's registration access token opens its
`registration_client_uri`. Errors are RFC 6749 §5.2 JSON with RFC 7591 §3.2.2
codes; a missing or wrong token is `401` with a Bearer challenge (RFC 6750 §3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..metering.catalogue import Catalogue
from ..oauth.bearer import bearer_token
from ..oauth.errors import (
    InvalidClientMetadata,
    InvalidRequest,
    InvalidToken,
    MissingToken,
    OAuthError,
    RequestTooLarge,
)
from ..oauth.registration import RegistrationEndpoint
from ..oauth.registrations import TooManyRegistrations
from .bodies import read_body
from .context import sandbox
from .json import json_response, loads
from .oauth import NO_STORE, oauth_error

bp = Blueprint("registration", __name__, url_prefix="/oauth")

REALM = 'Bearer realm="messpunkt"'


class TooManyClients(InvalidRequest):
    status = 409


class CatalogueTenancy:
    """Which tenants and properties a registration may name: the sandbox's data set's."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def properties_of(self, tenant_id: str) -> frozenset[str] | None:
        if self.catalogue.tenant(tenant_id) is None:
            return None
        return frozenset(p.id for p in self.catalogue.properties() if p.tenant_id == tenant_id)


@bp.post("/register")
def register() -> Response:
    """Register a client; the admin key is the initial access token."""

    def answer(endpoint: RegistrationEndpoint) -> Response:
        served = sandbox()
        if not served.state.admits(bearer_token(_authorization())):
            raise InvalidToken("the initial access token is the sandbox's admin key")
        body = endpoint.register(
            _document(), CatalogueTenancy(served.data.catalogue), served.moment
        )
        return json_response(body, 201, NO_STORE)

    return _answer(answer)


@bp.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
def configuration(client_id: str) -> Response:
    """Read, replace or delete a registration with its registration access token."""

    def answer(endpoint: RegistrationEndpoint) -> Response:
        served = sandbox()
        token = bearer_token(_authorization())
        if request.method == "PUT":
            tenancy = CatalogueTenancy(served.data.catalogue)
            body = endpoint.update(client_id, token, _document(), tenancy, served.moment)
            return json_response(body, 200, NO_STORE)
        if request.method == "DELETE":
            endpoint.delete(client_id, token, served.now)
            return Response(status=204, headers=NO_STORE)
        # GET, or the HEAD Flask adds to it (safe, RFC 9110 §9.2.1: the same answer, no body).
        return json_response(endpoint.read(client_id, token), 200, NO_STORE)

    return _answer(answer)


def _answer(answer: Callable[[RegistrationEndpoint], Response]) -> Response:
    endpoint = sandbox().auth.registration
    assert endpoint is not None, "every sandbox's server has a store for registrations"
    try:
        return answer(endpoint)
    except RequestEntityTooLarge:
        return oauth_error(RequestTooLarge("the request body is too large"))
    except TooManyRegistrations as full:
        # A state of the sandbox, not a fault of the metadata: 409, RFC 6749 §5.2 JSON.
        description = f"{full}: delete one (DELETE its registration_client_uri) first"
        return oauth_error(TooManyClients(description))
    except InvalidToken as error:
        return _challenge(error)
    except OAuthError as error:
        return oauth_error(error)


def _challenge(error: InvalidToken) -> Response:
    """RFC 6750 §3.1: no error code for a request without a Bearer token, else invalid_token."""
    challenge = REALM
    if not isinstance(error, MissingToken):
        challenge += f', error="invalid_token", error_description="{error.description}"'
    return json_response(error.as_dict(), 401, (*NO_STORE, ("WWW-Authenticate", challenge)))


def _authorization() -> str | None:
    return request.environ.get("HTTP_AUTHORIZATION")  # type: ignore[no-any-return]


def _document() -> object:
    """Read the request's JSON document (RFC 7591 §3.1), a member given twice refused."""
    mimetype = request.environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if mimetype != "application/json":
        raise InvalidClientMetadata("send the client metadata as application/json")
    try:
        return loads(read_body(), object_pairs_hook=_unique)
    except ValueError as error:
        raise InvalidClientMetadata(f"the body is not a JSON document: {error}") from None


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a member is given twice")
    return found
