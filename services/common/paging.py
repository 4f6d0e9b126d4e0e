"""List pagination as AIP-158 describes it: page_size 0 means the default, larger than
the maximum is capped, negative is refused; page tokens are opaque to callers.

A token holds a position (an offset, or the last key of the page) and a check sum over
the position and the query it was issued for, so a token that was altered, made up, or
issued for another query is INVALID_ARGUMENT rather than a wrong page or a failure."""

from __future__ import annotations

import base64
import binascii
import hashlib

from services.common.errors import InvalidArgument

# The largest id of an INTEGER key column (PostgreSQL's 32 bits), far beyond any offset:
# the check sum holds no secret, so a made-up token with a larger position must be refused
# here rather than reach the database as an out-of-range parameter.
MAX_POSITION = 2**31 - 1
_CHECK_BYTES = 6
_FOREIGN = "not a token this service issued for this query; start again without one"


def page_size(requested: int, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidArgument([("page_size", "must not be negative")])
    return min(requested or default, maximum)


def _check(position: int, scope: str) -> bytes:
    return hashlib.sha256(f"{scope}\n{position}".encode()).digest()[:_CHECK_BYTES]


def encode_token(position: int, scope: str = "") -> str:
    """The token of a position; ``scope`` names the query (method and filter), if any."""
    payload = position.to_bytes(8, "big") + _check(position, scope)
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: str, scope: str = "") -> int:
    """The position a token stands for (0 for the first page, an empty token)."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument([("page_token", _FOREIGN)]) from None
    position = int.from_bytes(payload[:8], "big")
    if len(payload) != 8 + _CHECK_BYTES or payload[8:] != _check(position, scope) or position > MAX_POSITION:
        raise InvalidArgument([("page_token", _FOREIGN)])
    return position
