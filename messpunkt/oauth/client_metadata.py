"""Client metadata of a registration request, checked field by field (RFC 7591 §2).

`parse_metadata` turns the request's JSON document into `ClientMetadata` or
raises `InvalidRedirectUri` / `InvalidClientMetadata` (§3.2.2). Fields it does
not know are ignored, as §2 asks. Which tenants and properties exist is the
data set's, asked through `Tenancy`, so the OAuth core knows nothing of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from .errors import InvalidClientMetadata, InvalidRedirectUri

AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
# RFC 8252 §7.3, §8.3: plain http only for a loopback interface.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
# A redirect URI's authority: a DNS name (labels of letters, digits, hyphens) or an IP
# literal, and a port. Nothing a browser would decode into another host (%65), and
# nothing that means more inside the consent page's CSP form-action (; , * ').
AUTHORITY = re.compile(
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(:[0-9]+)?"
)
MAX_NAME_LENGTH = 200
MAX_PROPERTIES = 1000


class Tenancy(Protocol):
    def properties_of(self, tenant_id: str) -> frozenset[str] | None:
        """Return the ids of a tenant's properties; None for an unknown tenant."""


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """What a client registered, in RFC 7591 §2's terms (plus the tenant binding)."""

    client_name: str | None
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    scopes: tuple[str, ...]
    # Extension fields, as the fixtures' clients.json has them: the tenant a client acts
    # for (required for client_credentials, optional for the code flow) and, for
    # client_credentials, the tenant's properties its tokens reach.
    tenant_id: str | None = None
    property_ids: tuple[str, ...] = ()

    @property
    def is_confidential(self) -> bool:
        return self.token_endpoint_auth_method != "none"  # noqa: S105 - a method name

    def document(self) -> dict[str, Any]:
        """Return the metadata as a registration response names it (RFC 7591 §3.2.1)."""
        found: dict[str, Any] = {
            "redirect_uris": list(self.redirect_uris),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "scope": " ".join(self.scopes),
        }
        if self.client_name is not None:
            found["client_name"] = self.client_name
        if self.tenant_id is not None:
            found["tenant_id"] = self.tenant_id
        if self.property_ids:
            found["property_ids"] = list(self.property_ids)
        return found


def parse_metadata(
    document: object, scopes_offered: Sequence[str], tenancy: Tenancy
) -> ClientMetadata:
    """Check a registration request's metadata (RFC 7591 §2) against what the sandbox offers."""
    if not isinstance(document, dict):
        raise InvalidClientMetadata("the body must be a JSON object of client metadata")
    require_utf8(document)
    method = _text(document, "token_endpoint_auth_method")
    if method is None:
        method = "client_secret_basic"  # §2: the default when left out (not when empty)
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}"
        )
    grants = _grant_types(document, method)
    redirect_uris = _redirect_uris(document, grants)
    tenant_id, property_ids = _tenant(document, grants, tenancy)
    return ClientMetadata(
        client_name=_name(document),
        redirect_uris=redirect_uris,
        token_endpoint_auth_method=method,
        grant_types=grants,
        response_types=_response_types(document, grants),
        scopes=_scopes(document, scopes_offered),
        tenant_id=tenant_id,
        property_ids=property_ids,
    )


def require_utf8(document: dict[str, Any]) -> None:
    """Refuse a document with any string, name or value, that UTF-8 cannot encode.

    JSON's \\u escapes can spell a lone surrogate (`"\\ud800"`), which a Python string
    holds but no UTF-8 text can: hashing it as a secret, or answering it in an error,
    would fail with a 500. Such a member is named, its value never echoed.
    """
    for name, value in document.items():
        if not utf8_encodable(name):
            raise InvalidClientMetadata("a member's name is not UTF-8 text (a lone surrogate)")
        if not utf8_encodable(value):
            raise InvalidClientMetadata(f"{name} is not UTF-8 text (a lone surrogate)")


def utf8_encodable(value: object) -> bool:
    """Whether UTF-8 can encode every string in `value` (none holds a lone surrogate)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(utf8_encodable(item) for item in value)
    if isinstance(value, dict):
        return all(utf8_encodable(k) and utf8_encodable(v) for k, v in value.items())
    return True


def _text(document: dict[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidClientMetadata(f"{name} must be a string")
    return value


def _texts(document: dict[str, Any], name: str, error: type[Exception]) -> list[str] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise error(f"{name} must be an array of strings")
    return list(dict.fromkeys(value))


def _name(document: dict[str, Any]) -> str | None:
    name = _text(document, "client_name")
    if name is not None and not (0 < len(name) <= MAX_NAME_LENGTH and name.isprintable()):
        raise InvalidClientMetadata(
            f"client_name must be 1 to {MAX_NAME_LENGTH} printable characters"
        )
    return name


def _grant_types(document: dict[str, Any], method: str) -> tuple[str, ...]:
    grants = _texts(document, "grant_types", InvalidClientMetadata)
    if grants is None:
        grants = ["authorization_code"]  # RFC 7591 §2's default
    unknown = [grant for grant in grants if grant not in GRANT_TYPES]
    if unknown or not grants:
        raise InvalidClientMetadata(f"grant_types must be among {', '.join(GRANT_TYPES)}")
    if "client_credentials" in grants:
        if len(grants) > 1:
            raise InvalidClientMetadata(
                "client_credentials stands alone: a service client acts for its tenant, "
                "not for a user"
            )
        if method == "none":
            # RFC 6749 §4.4: only a confidential client may use client credentials.
            raise InvalidClientMetadata(
                "client_credentials needs client authentication: "
                "token_endpoint_auth_method cannot be none"
            )
    elif "authorization_code" not in grants:
        raise InvalidClientMetadata("refresh_token needs authorization_code beside it")
    return tuple(grants)


def _response_types(document: dict[str, Any], grants: tuple[str, ...]) -> tuple[str, ...]:
    # §2.1: authorization_code goes with the code response type, and nothing else does.
    expected = ["code"] if "authorization_code" in grants else []
    given = _texts(document, "response_types", InvalidClientMetadata)
    if given is not None and given != expected:
        raise InvalidClientMetadata(
            f"response_types must be {expected} with grant_types {list(grants)} (RFC 7591 §2.1)"
        )
    return tuple(expected)


def _redirect_uris(document: dict[str, Any], grants: tuple[str, ...]) -> tuple[str, ...]:
    uris = _texts(document, "redirect_uris", InvalidRedirectUri)
    if "authorization_code" not in grants:
        if uris:
            raise InvalidRedirectUri("redirect_uris are for the authorization_code grant only")
        return ()
    if not uris:
        # §2: required for redirect-based flows.
        raise InvalidRedirectUri("redirect_uris must name at least one URI")
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidRedirectUri(f"at most {MAX_REDIRECT_URIS} redirect_uris")
    for uri in uris:
        check_redirect_uri(uri)
    return tuple(uris)


def check_redirect_uri(uri: str) -> None:
    """An absolute https URI, or http on a loopback host (RFC 8252 §7.3), no fragment;
    a registered client's and a data set's client's alike."""
    if len(uri) > MAX_URI_LENGTH or not uri.isprintable() or any(c.isspace() for c in uri):
        raise InvalidRedirectUri(f"not a usable URI: {uri[:100]!r}")
    if "\\" in uri:
        # Browsers read a backslash as a slash (WHATWG URL), Python's parser does not: the
        # host checked here would not be the one a redirect goes to.
        raise InvalidRedirectUri(f"a redirect URI has no backslash: {uri[:100]!r}")
    try:
        parts = urlsplit(uri)
        host, _ = parts.hostname, parts.port  # the port is checked when read
    except ValueError:
        raise InvalidRedirectUri(f"not a URI: {uri[:100]!r}") from None
    if "#" in uri:
        # RFC 6749 §3.1.2: the redirection endpoint URI must not include a fragment.
        raise InvalidRedirectUri(f"a redirect URI has no fragment: {uri[:100]!r}")
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidRedirectUri(f"must be an absolute https URI: {uri[:100]!r}")
    if parts.username is not None:
        raise InvalidRedirectUri(f"must not carry user information: {uri[:100]!r}")
    if not AUTHORITY.fullmatch(parts.netloc):
        raise InvalidRedirectUri(f"the host must be a DNS name or an IP: {uri[:100]!r}")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise InvalidRedirectUri(
            f"http only on a loopback host (127.0.0.1, [::1], localhost): {uri[:100]!r}"
        )


def _scopes(document: dict[str, Any], offered: Sequence[str]) -> tuple[str, ...]:
    scope = _text(document, "scope")
    if scope is None:
        return tuple(offered)  # §2: the server may register a default set
    scopes = tuple(dict.fromkeys(scope.split(" ")))
    unknown = [s for s in scopes if s not in offered]
    if unknown or not scope:
        raise InvalidClientMetadata(f"scope must be among {' '.join(offered)}")
    return scopes


def _tenant(
    document: dict[str, Any], grants: tuple[str, ...], tenancy: Tenancy
) -> tuple[str | None, tuple[str, ...]]:
    tenant_id = _text(document, "tenant_id")
    property_ids = _texts(document, "property_ids", InvalidClientMetadata) or []
    service = "client_credentials" in grants
    if service and (tenant_id is None or not property_ids):
        raise InvalidClientMetadata(
            "a client_credentials client names its tenant_id and the property_ids it may read"
        )
    if not service and property_ids:
        raise InvalidClientMetadata(
            "property_ids are for client_credentials; in the code flow the user grants them"
        )
    if len(property_ids) > MAX_PROPERTIES:
        raise InvalidClientMetadata(f"at most {MAX_PROPERTIES} property_ids")
    if tenant_id is None:
        return None, ()
    owned = tenancy.properties_of(tenant_id)
    if owned is None:
        raise InvalidClientMetadata(f"unknown tenant_id {tenant_id[:100]!r}")
    foreign = [p for p in property_ids if p not in owned]
    if foreign:
        raise InvalidClientMetadata(
            f"not a property of tenant {tenant_id}: {', '.join(p[:100] for p in foreign[:5])}"
        )
    return tenant_id, tuple(property_ids)
