"""PKCE (RFC 7636): the S256 transformation, verifier syntax and challenge checks."""

from __future__ import annotations

import pytest

from messpunkt.oauth import pkce
from messpunkt.oauth.errors import InvalidRequest

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_matches_rfc_7636_appendix_b():
    assert pkce.s256(RFC_VERIFIER) == RFC_CHALLENGE


def test_verify_accepts_rfc_7636_appendix_b_pair():
    assert pkce.verify(RFC_VERIFIER, RFC_CHALLENGE) is True


def test_verify_refuses_verifier_of_another_challenge():
    other = "A" * 43
    assert pkce.verify(other, RFC_CHALLENGE) is False


def test_verify_refuses_missing_verifier():
    assert pkce.verify(None, RFC_CHALLENGE) is False


def test_verify_refuses_the_challenge_presented_as_verifier():
    # "plain" in disguise: the challenge itself must not pass as its verifier.
    assert pkce.verify(RFC_CHALLENGE, RFC_CHALLENGE) is False


@pytest.mark.parametrize(
    ("length", "accepted"),
    [(42, False), (43, True), (128, True), (129, False)],
)
def test_verifier_length_must_be_43_to_128(length, accepted):
    verifier = ("abcDEF123-._~" * 10)[:length]
    assert len(verifier) == length
    assert pkce.is_well_formed_verifier(verifier) is accepted
    # Even with its own matching challenge, a verifier of the wrong length fails.
    assert pkce.verify(verifier, pkce.s256(verifier)) is accepted


@pytest.mark.parametrize(
    "bad_character",
    ["+", "/", "=", " ", "%", "ä", "\n", "\x00"],
    ids=["plus", "slash", "equals", "space", "percent", "non-ascii", "newline", "nul"],
)
def test_verifier_with_character_outside_unreserved_set_is_refused(bad_character):
    verifier = RFC_VERIFIER[:-1] + bad_character
    assert len(verifier) == 43
    assert pkce.is_well_formed_verifier(verifier) is False
    assert pkce.verify(verifier, RFC_CHALLENGE) is False


def test_verifier_may_use_every_unreserved_character():
    verifier = "ABCXYZabcxyz0189-._~" * 3
    assert pkce.is_well_formed_verifier(verifier) is True
    assert pkce.verify(verifier, pkce.s256(verifier)) is True


def test_check_challenge_returns_a_valid_s256_challenge():
    assert pkce.check_challenge(RFC_CHALLENGE, "S256") == RFC_CHALLENGE


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        (RFC_CHALLENGE, "plain"),
        (RFC_CHALLENGE, None),
        (RFC_CHALLENGE, ""),
        (RFC_CHALLENGE, "s256"),
        (RFC_CHALLENGE, "S512"),
        (None, "S256"),
        ("", "S256"),
        (RFC_CHALLENGE[:-1], "S256"),
        (RFC_CHALLENGE + "A", "S256"),
        (RFC_CHALLENGE + "=", "S256"),
        (RFC_CHALLENGE[:-1] + "+", "S256"),
        (RFC_CHALLENGE[:-1] + "/", "S256"),
        (RFC_CHALLENGE[:-1] + ".", "S256"),
    ],
    ids=[
        "method-plain",
        "method-missing",
        "method-empty",
        "method-lower-case",
        "method-unknown",
        "challenge-missing",
        "challenge-empty",
        "challenge-42-chars",
        "challenge-44-chars",
        "challenge-padded",
        "challenge-plus",
        "challenge-slash",
        "challenge-dot",
    ],
)
def test_check_challenge_refuses_anything_but_a_well_formed_s256_challenge(challenge, method):
    with pytest.raises(InvalidRequest) as raised:
        pkce.check_challenge(challenge, method)
    assert raised.value.error == "invalid_request"


def test_only_s256_is_advertised():
    assert pkce.SUPPORTED_METHODS == ("S256",)
