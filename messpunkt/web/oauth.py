"""/oauth: the authorization and token endpoints over HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..consent import Consent
from ..oauth.authorization import AuthorizationFailed, UnsafeRequest
from ..oauth.errors import InvalidClient, InvalidRequest, OAuthError, RequestTooLarge
from ..oauth.params import Params, parse_form
from .bodies import FORM_READ, read_body, wsgi_text
from .consent_text import TEXT, negotiate
from .context import sandbox
from .json import json_response, loads
from .security_headers import HTML_CSP

bp = Blueprint("oauth", __name__, url_prefix="/oauth")

MAX_FORM_FIELDS = 100
# A value escaped from bytes that are not UTF-8 (RFC 6749 Appendix B) is kept as lone
# surrogates, which `single` refuses by name: replaced by U+FFFD, a state the client never
# sent would go back to it as its own. (The token endpoints only compare what they read.)
NOT_UTF8 = "surrogateescape"
FORM = "application/x-www-form-urlencoded"

# The authorization request's own parameters: the consent form carries them as hidden
# fields, and the "Sign in as" links repeat them with another tenant and user.
AUTHORIZATION_PARAMS = (
    "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
    "response_type",
)  # fmt: skip
# Sent by the rendered consent form and by nothing else: see `_asks_again`.
CONSENT_FORM = "consent_form"


@bp.get("/authorize")
def consent() -> Any:
    """Show the consent page for an authorization request."""
    try:
        params = _query()
    except InvalidRequest as error:  # too many fields
        return _error_page(error.description)
    return _consent_page(params, response_type_required=True)


@bp.post("/authorize")
def decide() -> Any:
    """Answer the consent: approve (with properties) or deny."""
    served = sandbox()
    auth = served.auth
    if _from_another_site():
        return _error_page(
            "a consent answered from another site is refused: approve on the consent page, "
            "or post without a browser",
            status=403,
        )
    try:
        params = _form()
        if _asks_again(params):
            return _consent_page(params, response_type_required=False, asks_again=True)
        consent = Consent(served.data.catalogue)
        location = auth.authorization.decide(params, consent, served.moment).location
    except RequestEntityTooLarge:
        return _error_page("the request body is too large", status=413)
    except (UnsafeRequest, InvalidRequest) as error:
        return _error_page(error.description)
    except AuthorizationFailed as failure:
        location = failure.redirect(auth.issuer).location
    return redirect(location, code=302)


def _from_another_site() -> bool:
    """Tell whether a browser says this consent was posted by another site's page.

    RFC 6749 §10.12: a page the user never saw must not obtain a code. Browsers send
    Sec-Fetch-Site, and older ones at least Origin; curl and scripts (the quickstart's
    headless POST) send neither and are let through. The rule is Go's
    http.CrossOriginProtection: the fetch metadata if present, else Origin against Host.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    site_of_origin = urlsplit(origin).netloc.lower()  # "null" (an opaque origin) has none
    return not site_of_origin or site_of_origin != request.headers.get("Host", "").lower()


def _asks_again(params: Params) -> bool:
    """Tell whether the consent form approved with no property ticked.

    Nothing is ticked by default, so that is the user's slip, not the client's: the
    page comes back with a hint rather than sending invalid_request to the client.
    Only the rendered form sends consent_form=1; every other caller (the quickstart's
    headless POST, scripts) keeps the rule "granting none is invalid_request",
    redirected to the client (RFC 6749 §4.1.2.1).
    """
    return (
        params.get(CONSENT_FORM) == ["1"]
        and params.get("decision") == ["approve"]
        and not params.get("property")
    )


def _consent_page(params: Params, *, response_type_required: bool, asks_again: bool = False) -> Any:
    """Render the consent page for the request in `params`, or answer why not.

    Asked again, the page is a 400: the form's answer could not be acted on, and
    the status says so to anything but the user, who reads the hint.
    """
    served = sandbox()
    auth = served.auth
    try:
        authorization = auth.authorization.check(
            params, response_type_required=response_type_required
        )
    except UnsafeRequest as error:
        return _error_page(error.description)
    except AuthorizationFailed as failure:
        return redirect(failure.redirect(auth.issuer).location, code=302)
    lang = negotiate(request.accept_languages)
    text = TEXT[lang]
    consent = Consent(served.data.catalogue)
    client = authorization.client
    tenants = consent.tenants_for(client)
    try:
        tenant, user = consent.signed_in(client, _first(params, "tenant"), _first(params, "user"))
    except OAuthError as error:
        denied = AuthorizationFailed(error, authorization.redirect_uri, authorization.state)
        return redirect(denied.redirect(auth.issuer).location, code=302)
    request_params = {name: params[name][0] for name in AUTHORIZATION_PARAMS if name in params}
    # Each link carries the request once, then its own tenant and user: appended to the
    # current query, a second switch would lose to the first one's values.
    switches = [
        (f"{u.name} ({t.name})", "?" + urlencode({**request_params, "tenant": t.id, "user": u.id}))
        for t in tenants
        for u in t.demo_users
        if u.id != user.id
    ]
    target = urlsplit(authorization.redirect_uri)
    html = render_template(
        "consent.html",
        lang=lang,
        text=text,
        title=text.title.format(client=client.name),
        client=client,
        scopes=[(s, text.scopes.get(s, s)) for s in authorization.scopes],
        tenant=tenant,
        user=user,
        switches=switches,
        properties=consent.properties_to_offer(client, tenant),
        hidden={**request_params, "tenant": tenant.id, "user": user.id, CONSENT_FORM: "1"},
        return_host=target.netloc.rpartition("@")[2],
        select_a_property=asks_again,
    )
    # CSP form-action also governs the redirect that answers the form (Chromium enforces
    # it), so the checked redirect URI's origin is allowed as a target, and only it.
    csp = HTML_CSP.replace(
        "form-action 'self'", f"form-action 'self' {target.scheme}://{target.netloc}"
    )
    return Response(
        html,
        status=400 if asks_again else 200,
        mimetype="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": csp,
            "Content-Language": lang,
            "Vary": "Accept-Language",
        },
    )


@bp.post("/token")
def token() -> Any:
    """Issue tokens: authorization_code, refresh_token and client_credentials grants."""
    served = sandbox()
    return _answer(served.auth.tokens.handle, served.moment)


@bp.post("/revoke")
def revoke() -> Any:
    """Revoke a refresh token (its whole session) or an access token (RFC 7009)."""
    served = sandbox()
    return _answer(served.auth.revocation.revoke, served.now)


@bp.post("/introspect")
def introspect() -> Any:
    """Tell a confidential client whether its token is active, and what it grants (RFC 7662)."""
    served = sandbox()
    return _answer(served.auth.introspection.introspect, served.now)


def _answer(handler: Any, at: Any) -> Response:
    """Answer `handler(params, authorization, at)`: `at` is the instant served at, as the
    handler takes it (a `Moment` where it writes records stamped with it)."""
    authorization = request.environ.get("HTTP_AUTHORIZATION")
    try:
        body = handler(_body_params(), authorization, at)
    except RequestEntityTooLarge:
        return oauth_error(RequestTooLarge("the request body is too large"))
    except OAuthError as error:
        basic = (authorization or "").partition(" ")[0].lower() == "basic"
        return oauth_error(error, basic_challenge=isinstance(error, InvalidClient) and basic)
    return json_response(body, headers=NO_STORE)


# RFC 6749 §5.1: token responses must not be cached.
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
# RFC 6749 §5.2: answer a failed Authorization header with a challenge.
BASIC_CHALLENGE = (*NO_STORE, ("WWW-Authenticate", 'Basic realm="messpunkt sandbox"'))


def oauth_error(error: OAuthError, *, basic_challenge: bool = False) -> Response:
    """Render an error per RFC 6749 §5.2."""
    headers = BASIC_CHALLENGE if basic_challenge else NO_STORE
    return json_response(error.as_dict(), error.status, headers)


def _body_params() -> Params:
    """Read the token request from a form or a JSON body; never from the URL."""
    environ = request.environ
    if environ.get("QUERY_STRING") and request.args:
        raise InvalidRequest("send parameters in the request body, not in the URL")
    # What request.mimetype answers, without parsing the parameters after ";".
    mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if mimetype == "application/json":
        try:
            document = loads(read_body(), object_pairs_hook=_Members)
        except ValueError:
            document = None
        if not isinstance(document, _Members) or not all(isinstance(v, str) for _, v in document):
            raise InvalidRequest("the JSON body must be an object of string values")
        params: dict[str, list[str]] = {}
        for key, value in document:  # a repeated member fails like a repeated form field
            params.setdefault(key, []).append(value)
        return params
    if mimetype != FORM:
        raise InvalidRequest("use application/x-www-form-urlencoded or application/json")
    return _urlencoded()


class _Members(list[tuple[str, Any]]):
    """A JSON object's members in order, a repeated name kept rather than overwritten."""


def _form() -> Params:
    """Read the consent form: urlencoded as a browser sends it, or multipart."""
    if request.mimetype != FORM:
        return _multi(request.form)
    return _urlencoded(NOT_UTF8)


def _urlencoded(errors: str = "replace") -> Params:
    """Read a urlencoded form; one that is not UTF-8 is refused, not read as empty.

    Parsed here in one pass: werkzeug drops every field of a body that is not
    UTF-8, and its form machinery cost more than the rest of a refresh.
    """
    try:
        text = read_body().decode()
    except UnicodeDecodeError:
        raise InvalidRequest("the form body is not UTF-8") from None
    params = parse_form(text, MAX_FORM_FIELDS, errors)
    if errors == "replace":  # else the log reads it again, as text it can write
        request.environ[FORM_READ] = params
    return params


def _query() -> Params:
    """Read the authorization request's query as the consent form is read (`NOT_UTF8`)."""
    text = wsgi_text(request.environ.get("QUERY_STRING", ""), NOT_UTF8)
    return parse_form(text, MAX_FORM_FIELDS, NOT_UTF8)


def _first(params: Params, name: str) -> str | None:
    return next(iter(params.get(name, ())), None)


def _multi(values: Any) -> Params:
    return {key: values.getlist(key) for key in values}


def _error_page(description: str, status: int = 400) -> Response:
    html = render_template("error.html", description=description, status=status)
    return Response(html, status=status, mimetype="text/html")
