"""Proof Key for Code Exchange (RFC 7636), S256 only as OAuth 2.1 §4.1.1 asks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from .errors import InvalidRequest

SUPPORTED_METHODS = ("S256",)

# RFC 7636 §4.1: code_verifier = 43*128unreserved
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding is exactly 43 characters.
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def s256(verifier: str) -> str:
    """Return the S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_challenge(challenge: str | None, method: str | None) -> str:
    """Validate an authorization request's challenge and return it."""
    if not challenge:
        raise InvalidRequest("code_challenge is required (PKCE, RFC 7636)")
    # OAuth 2.1 §4.1.1: "plain" MUST NOT be used; a missing method would mean plain.
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not _CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43 base64url characters (S256)")
    return challenge


def verify(verifier: str | None, challenge: str) -> bool:
    """Tell whether a token request's verifier matches the stored challenge."""
    if verifier is None or not is_well_formed_verifier(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)


def is_well_formed_verifier(verifier: str | None) -> bool:
    """Tell whether a verifier has RFC 7636 §4.1's form: 43–128 unreserved characters."""
    return verifier is not None and _VERIFIER.fullmatch(verifier) is not None
