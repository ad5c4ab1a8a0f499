"""OAuth error codes (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1).

Each error is one small class carrying its registered `error` code and the
HTTP status the token endpoint answers it with.
"""

from __future__ import annotations


class OAuthError(Exception):
    error = "server_error"
    status = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class RequestTooLarge(OAuthError):
    error = "invalid_request"
    status = 413


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the bearer token is missing, expired, revoked or malformed."""

    error = "invalid_token"
    status = 401


class MissingToken(InvalidToken):
    """RFC 6750 §3.1: the request has no bearer credentials at all.

    Its challenge carries no error code: the client may not have known that
    authentication is needed, or tried a scheme other than Bearer.
    """


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status = 403


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1's temporarily_unavailable, sent to the client's redirect URI: the
    request may succeed when made again shortly (`web.outage` answers the same code as a
    503 with Retry-After where an answer can carry one)."""

    error = "temporarily_unavailable"
    status = 503


class ServerError(OAuthError):
    """RFC 6749 §5.2's server_error: the server failed, not the request."""

    error = "server_error"
    status = 500


class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2: a redirect URI in the registration request is not acceptable."""

    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2: a client metadata field is invalid or inconsistent."""

    error = "invalid_client_metadata"
