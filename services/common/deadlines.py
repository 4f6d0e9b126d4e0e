"""Deadlines for downstream calls.

grpcio does not pass a caller's deadline on, and with no deadline set
``time_remaining()`` is a huge number that breaks a downstream call; so clamp it.
A downstream call also gets a little less than the caller left us: when a part hangs,
our call to it times out first and there is still time to answer the caller with the
part named (UNAVAILABLE), instead of the caller's own DEADLINE_EXCEEDED."""

from __future__ import annotations

from services.common.interceptors import current_context

MINIMUM_SECONDS = 0.05
# Kept back from the caller's remaining time to answer it: a tenth, at most this much.
MAXIMUM_RESERVE_SECONDS = 0.25


def downstream_timeout(default_seconds: float) -> float:
    """Seconds a downstream call may take: what the caller left us, at most the default."""
    context = current_context.get()
    remaining = context.time_remaining() if context is not None else None
    if remaining is None:
        return default_seconds
    reserve = min(remaining / 10, MAXIMUM_RESERVE_SECONDS)
    return max(MINIMUM_SECONDS, min(remaining - reserve, default_seconds))
