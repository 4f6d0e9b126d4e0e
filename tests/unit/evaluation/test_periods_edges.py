"""Periods: each refusal with its field and wording, the bounds of a period, runs and
publishing recorded exactly."""

import datetime

import pytest

from services.evaluation.domain.errors import Invalid, Refused
from services.evaluation.domain.periods import Period

D = datetime.date
UTC = datetime.UTC
AT = datetime.datetime(2026, 6, 2, 9, 30, tzinfo=UTC)


def violations(period):
    with pytest.raises(Invalid) as error:
        period.validate()
    return error.value.violations


def test_a_valid_period_is_returned_as_it_is():
    period = Period("2026-05", "month", D(2026, 5, 1), D(2026, 5, 31))
    assert period.validate() is period
    assert period.months == 1 and not period.published


def test_every_bad_field_is_named_with_why():
    assert violations(Period("", "week", D(2026, 5, 2), D(2026, 5, 1))) == [
        ("period.id", "is required"),
        ("period.kind", "must be one of month, quarter, half_year, year"),
        ("period.ends_on", "must not be before starts_on"),
    ]
    assert violations(Period("a b", "year", D(2026, 1, 1), D(2027, 1, 3))) == [
        ("period.id", "must be 1-64 letters, digits, '.', '-', '_' or ':'"),
        ("period.ends_on", "a period is at most a year"),
    ]


def test_a_one_day_period_and_a_leap_year_are_allowed_one_day_more_is_not():
    assert Period("d", "month", D(2026, 5, 1), D(2026, 5, 1)).validate().ends_on == D(2026, 5, 1)
    assert Period("y", "year", D(2028, 1, 1), D(2029, 1, 1)).validate()  # 366 days apart
    assert violations(Period("y", "year", D(2028, 1, 1), D(2029, 1, 2))) == [
        ("period.ends_on", "a period is at most a year")
    ]


def test_months_per_kind():
    kinds = {
        kind: Period("p", kind, D(2026, 1, 1), D(2026, 1, 2)).months
        for kind in ("quarter", "half_year", "year")
    }
    assert kinds == {"quarter": 3, "half_year": 6, "year": 12}


def test_contains_both_end_days_and_window_is_half_open_in_utc():
    period = Period("2026-05", "month", D(2026, 5, 1), D(2026, 5, 31))
    assert period.contains(datetime.datetime(2026, 5, 1, 0, tzinfo=UTC))
    assert not period.contains(datetime.datetime(2026, 4, 30, 23, 59, tzinfo=UTC))
    assert period.window() == (
        datetime.datetime(2026, 5, 1, tzinfo=UTC),
        datetime.datetime(2026, 6, 1, tzinfo=UTC),
    )


def test_a_run_is_counted_and_timed():
    period = Period("2026-05", "month", D(2026, 5, 1), D(2026, 5, 31))
    once = period.ran(AT)
    twice = once.ran(AT + datetime.timedelta(hours=1))
    assert (once.runs, once.last_run_at) == (1, AT)
    assert (twice.runs, twice.last_run_at) == (2, AT + datetime.timedelta(hours=1))
    assert period.runs == 0 and period.last_run_at is None


def test_publishing_records_who_and_when_and_then_refuses_with_the_period_named():
    period = Period("2026-05", "month", D(2026, 5, 1), D(2026, 5, 31)).ran(AT)
    published = period.publish("boss", AT)
    assert (published.state, published.published, published.published_at, published.published_by) == (
        "published",
        True,
        AT,
        "boss",
    )
    with pytest.raises(Refused) as error:
        published.ran(AT)
    assert (str(error.value), error.value.subject) == (
        "period 2026-05 is published; a re-run is no longer possible",
        "2026-05",
    )
    with pytest.raises(Refused) as error:
        published.publish("boss", AT)
    assert (str(error.value), error.value.subject) == (
        "period 2026-05 is published; publishing again is no longer possible",
        "2026-05",
    )


def test_publishing_needs_a_publisher_and_a_run():
    period = Period("2026-05", "month", D(2026, 5, 1), D(2026, 5, 31))
    with pytest.raises(Invalid) as error:
        period.ran(AT).publish("", AT)
    assert error.value.violations == [("published_by", "is required")]
    with pytest.raises(Refused) as error:
        period.publish("boss", AT)
    assert (error.value.message, error.value.subject) == (
        "period 2026-05 has no results yet; run it before publishing",
        "2026-05",
    )
