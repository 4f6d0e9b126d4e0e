"""Counts each thread keeps for itself and a scrape sums: the hot path adds to numbers no
other thread writes, so it takes no lock; the reader takes every thread's as they are."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerThread(Generic[T]):
    """One ``make()`` per thread that asks, kept for as long as this object (a thread that
    ended leaves its counts, which still count)."""

    def __init__(self, make: Callable[[], T]):
        self._make = make
        self._local = threading.local()
        self._every: list[T] = []
        self._lock = threading.Lock()

    def mine(self) -> T:
        """This thread's: only this thread writes it."""
        try:
            return self._local.value
        except AttributeError:
            value = self._local.value = self._make()
            with self._lock:  # once per thread
                self._every.append(value)
            return value

    def every(self) -> list[T]:
        """Every thread's so far (a reader copies what it sums: the threads go on adding)."""
        with self._lock:
            return list(self._every)
