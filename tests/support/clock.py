"""The settable clock for tests (services/common/times.py).

``clock`` sets "now" for this process, that is for the code under test and every service
a test runs in-process; children started through tests/support/services.py inherit the
moment through ``RETAILCARE_TEST_CLOCK``. The fixture puts the clock back afterwards.
"""

from __future__ import annotations

import datetime

import pytest

from services.common import times

CHINA = datetime.timezone(datetime.timedelta(hours=8), "CST")


def cst(text: str) -> datetime.datetime:
    """A moment written in China Standard Time: ``cst("2027-01-01T09:00")``."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=CHINA)


def clock_environment() -> dict[str, str]:
    """The variable that starts a child's clock at this process's "now", when it is set."""
    if times.clock.setting is None:
        return {}
    return {times.CLOCK_ENV: times.now().isoformat()}


@pytest.fixture
def clock():
    """The process clock; ``clock.set(moment)`` freezes it there, ``clock.advance(delta)``."""
    saved = times.clock.setting
    try:
        yield times.clock
    finally:
        times.clock.restore(saved)
