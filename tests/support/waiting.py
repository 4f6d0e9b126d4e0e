"""Waiting for a condition in an end-to-end test: poll it, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str, timeout: float, interval: float = 0.1) -> T:
    """The first truthy value ``condition()`` returns within ``timeout`` seconds; an
    AssertionError naming ``what`` when none came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout}s: {what}")
