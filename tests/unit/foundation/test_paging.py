"""Page sizes and opaque page tokens (AIP-158)."""

import base64

import pytest

from services.common import paging
from services.common.errors import InvalidArgument


def test_page_sizes_default_cap_and_refuse_negative():
    assert paging.page_size(0, 50, 200) == 50
    assert paging.page_size(10_000, 50, 200) == 200
    assert paging.page_size(7, 50, 200) == 7
    with pytest.raises(InvalidArgument):
        paging.page_size(-1, 50, 200)


@pytest.mark.parametrize("position", [0, 1, 49, 2**31 - 2, paging.MAX_POSITION])
def test_a_token_gives_back_its_position(position):
    assert paging.decode_token(paging.encode_token(position, "versions/a"), "versions/a") == position


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


ISSUED = paging.encode_token(50, "versions/a")
NOT_ISSUED = [
    "garbage",
    "%%%",
    "é",
    _b64(b"50"),  # the old form: a bare number
    _b64(str(2**64).encode()),
    _b64((2**63).to_bytes(8, "big") + b"\0" * 6),  # huge, without a valid check
    ISSUED[:-1],
    ISSUED + "A",
    "=" + ISSUED,
    ISSUED.replace(ISSUED[3], "B" if ISSUED[3] != "B" else "C", 1),  # one character changed
    paging.encode_token(50, "versions/b"),  # issued for another query
    paging.encode_token(paging.MAX_POSITION + 1, "versions/a"),  # beyond any table
]


@pytest.mark.parametrize("token", NOT_ISSUED)
def test_a_token_not_issued_for_this_query_is_invalid_argument(token):
    with pytest.raises(InvalidArgument) as refused:
        paging.decode_token(token, "versions/a")
    assert [field for field, _ in refused.value.violations] == ["page_token"]


def test_an_empty_token_is_the_first_page():
    assert paging.decode_token("", "versions/a") == 0
