"""The token endpoints' form reader reads what `urllib.parse.parse_qsl` reads (hypothesis).

`parse_form` is a one-pass replacement for parse_qsl on the token path, so
the standard library is the oracle: for any body, both give the same names,
values and order, and both refuse the same bodies for having too many fields.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from messpunkt.oauth.errors import InvalidRequest
from messpunkt.oauth.params import parse_form

# Separators, escapes (valid, truncated, not UTF-8), plus signs and non-ASCII text.
PIECES = st.sampled_from(["&", "=", "+", "%", "%2", "%20", "%3D", "%26", "%FF", "%C3%A4", "ä"])
BODIES = st.lists(st.one_of(PIECES, st.text("abcXYZ019-._~", max_size=3)), max_size=30).map("".join)


def stdlib(text: str, max_fields: int) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields):
        grouped.setdefault(name, []).append(value)
    return grouped


@settings(max_examples=300, derandomize=True)
@given(BODIES)
@example("grant_type=refresh_token&refresh_token=a%2Bb+c&client_id=x")
@example("a=1&&a=2&b&=c&d==e")
def test_reads_a_body_as_parse_qsl_reads_it(text):
    assert parse_form(text, 100) == stdlib(text, 100)


@pytest.mark.parametrize(
    ("text", "max_fields", "refused"),
    [
        ("a=1&b=2&c=3", 3, False),
        ("a=1&b=2&c=3&d=4", 3, True),
        ("a=1&&&", 3, True),  # empty fields count, as parse_qsl counts them
        ("", 1, False),
    ],
)
def test_refuses_the_bodies_parse_qsl_refuses(text, max_fields, refused):
    try:
        stdlib(text, max_fields)
    except ValueError:
        expected = True
    else:
        expected = False
    assert expected is refused
    if refused:
        with pytest.raises(InvalidRequest, match=f"at most {max_fields} fields"):
            parse_form(text, max_fields)
    else:
        assert parse_form(text, max_fields) == stdlib(text, max_fields)
