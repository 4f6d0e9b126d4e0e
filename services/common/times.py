"""Time values: everything stored and compared is an aware UTC datetime.

``now()`` is the one way the services read the current moment. Tests set it: in-process
with ``set_clock`` (the ``clock`` fixture in tests/support/clock.py), in a child process
with the environment variable ``RETAILCARE_TEST_CLOCK`` holding an ISO 8601 moment with
its offset (``2027-01-01T09:00:00+08:00``); the child's clock starts there when the
module is imported and runs on at the real pace. A running service never sets it.
"""

from __future__ import annotations

import datetime
import os
import threading
import time

from google.protobuf import timestamp_pb2

CLOCK_ENV = "RETAILCARE_TEST_CLOCK"


class Clock:
    """The real clock, or one set to a moment: frozen there, or running on from there."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._setting: tuple[datetime.datetime, float | None] | None = None

    def now(self) -> datetime.datetime:
        setting = self._setting
        if setting is None:
            return datetime.datetime.now(datetime.UTC)
        moment, started = setting
        if started is None:
            return moment
        return moment + datetime.timedelta(seconds=time.monotonic() - started)

    def set(self, moment: datetime.datetime | None, *, frozen: bool = True) -> None:
        """Sets the clock to an aware moment (None: back to the real clock)."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError(f"the clock needs an aware moment, got {moment!r}")
        with self._lock:
            if moment is None:
                self._setting = None
            else:
                self._setting = (moment.astimezone(datetime.UTC), None if frozen else time.monotonic())

    @property
    def setting(self) -> tuple[datetime.datetime, float | None] | None:
        """What the clock is set to, for ``restore`` (None: the real clock)."""
        return self._setting

    def restore(self, setting: tuple[datetime.datetime, float | None] | None) -> None:
        with self._lock:
            self._setting = setting

    def advance(self, delta: datetime.timedelta) -> None:
        """Moves a set clock on (or back, for a negative delta)."""
        with self._lock:
            if self._setting is None:
                raise RuntimeError("advance() needs a set clock; set() it first")
            moment, started = self._setting
            self._setting = (moment + delta, started)


def parse_clock_setting(raw: str) -> datetime.datetime:
    """The moment a ``RETAILCARE_TEST_CLOCK`` value names; it must carry an offset."""
    try:
        moment = datetime.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"{CLOCK_ENV}: not an ISO 8601 moment: {raw!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{CLOCK_ENV}: the moment needs its UTC offset, got {raw!r}")
    return moment


clock = Clock()
if os.environ.get(CLOCK_ENV):
    clock.set(parse_clock_setting(os.environ[CLOCK_ENV]), frozen=False)


def now() -> datetime.datetime:
    return clock.now()


def set_clock(moment: datetime.datetime | None, *, frozen: bool = True) -> None:
    clock.set(moment, frozen=frozen)


def utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def to_timestamp(moment: datetime.datetime | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf Timestamp, or None (the field stays unset) for no time."""
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(utc(moment))
    return stamp


def from_timestamp(message, field: str) -> datetime.datetime | None:
    """The datetime of a Timestamp field, or None when the caller left it unset."""
    return getattr(message, field).ToDatetime(tzinfo=datetime.UTC) if message.HasField(field) else None
