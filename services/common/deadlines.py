"""Deadlines for downstream calls.

grpcio does not pass a caller's deadline on, and with no deadline set
``time_remaining()`` is a huge number that breaks a downstream call; so clamp it."""

from __future__ import annotations

from services.common.interceptors import current_context

MINIMUM_SECONDS = 0.05


def downstream_timeout(default_seconds: float) -> float:
    """Seconds a downstream call may take: what the caller left us, at most the default."""
    context = current_context.get()
    remaining = context.time_remaining() if context is not None else None
    if remaining is None:
        return default_seconds
    return max(MINIMUM_SECONDS, min(remaining, default_seconds))
