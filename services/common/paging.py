"""List pagination as AIP-158 describes it: page_size 0 means the default, larger than
the maximum is capped, negative is refused; page tokens are opaque to callers."""

from __future__ import annotations

import base64

from services.common.errors import InvalidArgument


def page_size(requested: int, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidArgument([("page_size", "must not be negative")])
    return min(requested or default, maximum)


def decode_token(token: str) -> int:
    """The position a token stands for (0 for the first page)."""
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise InvalidArgument([("page_token", "not a token this service issued")]) from None


def encode_token(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode()
