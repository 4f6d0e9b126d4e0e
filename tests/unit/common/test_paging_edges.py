"""Page sizes and page tokens (services/common/paging.py) at their edges."""

import base64

import pytest

from services.common import paging
from services.common.errors import InvalidArgument


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(0, 50), (1, 1), (49, 49), (50, 50), (499, 499), (500, 500), (501, 500), (10**9, 500)],
)
def test_page_size_default_and_cap(requested, expected):
    assert paging.page_size(requested, 50, 500) == expected


@pytest.mark.parametrize("requested", [-1, -500])
def test_negative_page_size_is_refused_on_its_field(requested):
    with pytest.raises(InvalidArgument) as refused:
        paging.page_size(requested, 50, 500)
    assert refused.value.violations == [("page_size", "must not be negative")]


@pytest.mark.parametrize("position", [0, 1, 7, 255, 256, 2**31 - 1, paging.MAX_POSITION])
@pytest.mark.parametrize("scope", ["", "customers?market_type=rural"])
def test_tokens_round_trip(position, scope):
    token = paging.encode_token(position, scope)
    assert paging.decode_token(token, scope) == position
    assert "=" not in token and token.isascii()


def test_an_empty_token_is_the_first_page():
    assert paging.decode_token("") == 0
    assert paging.decode_token("", "some scope") == 0


def _refused(token: str, scope: str = "") -> list:
    with pytest.raises(InvalidArgument) as refused:
        paging.decode_token(token, scope)
    return refused.value.violations


def test_a_token_of_another_query_is_refused():
    token = paging.encode_token(5, "rural")
    assert [field for field, _ in _refused(token, "urban")] == ["page_token"]
    assert [field for field, _ in _refused(token)] == ["page_token"]


def test_a_position_beyond_the_maximum_is_refused_even_when_signed():
    payload = (paging.MAX_POSITION + 1).to_bytes(8, "big") + paging._check(paging.MAX_POSITION + 1, "")
    token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    assert [field for field, _ in _refused(token)] == ["page_token"]


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        "é",
        "A",  # one character: no padding makes it base64
        base64.urlsafe_b64encode(b"12").decode(),  # the old plain-number tokens
        base64.urlsafe_b64encode((7).to_bytes(8, "big")).decode(),  # a position without its check
    ],
)
def test_malformed_tokens_are_refused_on_their_field(token):
    violations = _refused(token)
    assert [field for field, _ in violations] == ["page_token"]
    assert "start again without one" in violations[0][1]


def test_a_token_with_a_changed_check_or_position_is_refused():
    token = paging.encode_token(40)
    payload = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for index in (7, len(payload) - 1):  # the last byte of the position, of the check
        tampered = bytearray(payload)
        tampered[index] ^= 1
        text = base64.urlsafe_b64encode(bytes(tampered)).decode().rstrip("=")
        assert [field for field, _ in _refused(text)] == ["page_token"]
    assert [field for field, _ in _refused(token + "AA")] == ["page_token"]


def test_the_default_scope_is_the_empty_one():
    assert paging.decode_token(paging.encode_token(7, "")) == 7
    assert paging.decode_token(paging.encode_token(7), "") == 7


def test_characters_outside_the_token_alphabet_are_refused():
    token = paging.encode_token(12)
    for spoiled in (token[:5] + "!!" + token[5:], token[:5] + "\n\n" + token[5:], token + "=="):
        assert [field for field, _ in _refused(spoiled)] == ["page_token"], spoiled
