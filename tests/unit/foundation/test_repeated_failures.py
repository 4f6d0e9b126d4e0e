"""A background step failing at every poll: the first failure with its traceback, then a
line at the 2nd, 4th, 8th... failure in a row, and the first success after them once."""

from __future__ import annotations

import logging

from services.common.logs import RepeatedFailures

LOG = logging.getLogger("retailcare.test.failures")


def _fail(failures: RepeatedFailures, times: int) -> None:
    for _ in range(times):
        try:
            raise ConnectionError("database down")
        except ConnectionError:
            failures.failed(rule_set="r")


def test_a_lasting_failure_is_logged_with_its_traceback_once_then_at_powers_of_two(caplog):
    failures = RepeatedFailures(LOG, "job step failed")
    with caplog.at_level("INFO", logger=LOG.name):
        _fail(failures, 9)
    lines = [(r.getMessage(), getattr(r, "in_a_row", 1), r.exc_info is not None) for r in caplog.records]
    assert lines == [
        ("job step failed", 1, True),
        ("job step failed again", 2, False),
        ("job step failed again", 4, False),
        ("job step failed again", 8, False),
    ]
    assert {r.rule_set for r in caplog.records} == {"r"}
    assert caplog.records[1].error == "ConnectionError('database down')"


def test_the_first_success_after_failures_is_logged_once_and_starts_counting_again(caplog):
    failures = RepeatedFailures(LOG, "job step failed")
    with caplog.at_level("INFO", logger=LOG.name):
        failures.succeeded()  # nothing had failed: nothing to say
        _fail(failures, 3)
        failures.succeeded()
        failures.succeeded()
        _fail(failures, 1)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("ERROR", "job step failed"),
        ("ERROR", "job step failed again"),
        ("INFO", "job step failed before; works again"),
        ("ERROR", "job step failed"),
    ]
    assert caplog.records[2].failures == 3
    assert caplog.records[3].exc_info is not None
