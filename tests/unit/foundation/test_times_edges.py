"""The settable clock: in this process, and in a child through RETAILCARE_TEST_CLOCK."""

import datetime
import subprocess
import sys

import pytest

from services.common import times
from tests.support.clock import clock_environment, cst
from tests.support.services import child_environment

NEW_YEAR = cst("2027-01-01T00:30")


def test_unset_clock_is_the_real_one(clock):
    clock.restore(None)
    before = datetime.datetime.now(datetime.UTC)
    moment = times.now()
    assert before <= moment <= datetime.datetime.now(datetime.UTC)
    assert moment.tzinfo is datetime.UTC
    assert clock_environment() == {}


def test_a_set_clock_stays_frozen_and_reads_utc(clock):
    clock.set(NEW_YEAR)
    assert times.now() == times.now() == NEW_YEAR
    assert times.now().tzinfo is datetime.UTC
    assert times.now().isoformat() == "2026-12-31T16:30:00+00:00"


def test_advance_moves_a_set_clock(clock):
    clock.set(NEW_YEAR)
    clock.advance(datetime.timedelta(days=1, hours=2))
    assert times.now() == cst("2027-01-02T02:30")
    clock.advance(datetime.timedelta(hours=-3))
    assert times.now() == cst("2027-01-01T23:30")


def test_advance_needs_a_set_clock(clock):
    clock.restore(None)
    with pytest.raises(RuntimeError):
        clock.advance(datetime.timedelta(seconds=1))


def test_a_running_clock_starts_at_the_moment_and_goes_on(clock):
    clock.set(NEW_YEAR, frozen=False)
    first = times.now()
    assert NEW_YEAR <= first < NEW_YEAR + datetime.timedelta(seconds=5)
    clock.advance(datetime.timedelta(days=2))
    assert times.now() >= first + datetime.timedelta(days=2)


def test_set_clock_refuses_a_naive_moment(clock):
    with pytest.raises(ValueError, match="aware"):
        times.set_clock(datetime.datetime(2027, 1, 1))
    times.set_clock(NEW_YEAR)
    assert times.now() == NEW_YEAR
    times.set_clock(None)
    assert times.clock.setting is None


def test_the_fixture_puts_the_clock_back(clock):
    saved = times.clock.setting
    clock.set(NEW_YEAR)
    assert times.clock.setting != saved


@pytest.mark.parametrize(
    ("raw", "why"),
    [("tomorrow", "not an ISO 8601 moment"), ("2027-01-01T09:00", "needs its UTC offset")],
)
def test_a_malformed_setting_names_the_variable(raw, why):
    with pytest.raises(ValueError, match=f"RETAILCARE_TEST_CLOCK: .*{why}"):
        times.parse_clock_setting(raw)


def test_parse_clock_setting_keeps_the_offset():
    assert times.parse_clock_setting(" 2027-01-01T09:00:00+08:00 ") == cst("2027-01-01T09:00")


def test_a_child_process_starts_at_the_parents_moment(clock):
    clock.set(NEW_YEAR)
    env = child_environment({})
    assert env[times.CLOCK_ENV] == NEW_YEAR.astimezone(datetime.UTC).isoformat()
    printed = subprocess.run(
        [sys.executable, "-c", "from services.common.times import now; print(now().isoformat())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    child_now = datetime.datetime.fromisoformat(printed.strip())
    assert NEW_YEAR <= child_now < NEW_YEAR + datetime.timedelta(minutes=1)


def test_a_child_with_a_malformed_setting_fails_naming_it():
    done = subprocess.run(
        [sys.executable, "-c", "import services.common.times"],
        env=child_environment({times.CLOCK_ENV: "soon"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "RETAILCARE_TEST_CLOCK" in done.stderr
