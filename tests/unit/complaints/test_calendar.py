"""Deadlines across weekends, public holidays and make-up working days (调休), on years
written out by hand from the State Council's published schedules, and the year without
data. The calendar is given its years, so no test here depends on which years the
installed calendar library knows; one test checks that the library adapter agrees with
the hand-written days."""

import datetime

import pytest

from services.complaints.calendar import CHINA, LIBRARY, CalendarYear, WorkingCalendar
from services.complaints.calendar_source import ChineseCalendarLibrary


def _days(*texts: str) -> frozenset:
    return frozenset(datetime.date.fromisoformat(text) for text in texts)


# (first day, last day) -> (weekday holidays, weekend make-up working days) in between.
PUBLISHED = {
    ("2024-09-20", "2024-10-20"): (
        _days("2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-07"),
        _days("2024-09-29", "2024-10-12"),
    ),
    ("2025-01-20", "2025-03-31"): (
        _days("2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-03", "2025-02-04"),
        _days("2025-01-26", "2025-02-08"),
    ),
    ("2026-01-01", "2026-03-05"): (
        _days("2026-01-01", "2026-01-02")
        | _days("2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23"),
        _days("2026-01-04", "2026-02-14", "2026-02-28"),
    ),
    ("2026-09-15", "2026-12-31"): (
        _days("2026-09-25", "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"),
        _days("2026-09-20", "2026-10-10"),
    ),
}


def _years() -> list[CalendarYear]:
    years: dict[int, tuple[frozenset, frozenset]] = {}
    for (first, _), (holidays, make_up) in PUBLISHED.items():
        year = int(first[:4])
        known = years.get(year, (frozenset(), frozenset()))
        years[year] = (known[0] | holidays, known[1] | make_up)
    return [CalendarYear(year, LIBRARY, h, w) for year, (h, w) in sorted(years.items())]


CALENDAR = WorkingCalendar(_years())  # knows 2024-2026, not 2027


def cst(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=CHINA)


def end_of(day: str) -> datetime.datetime:
    return cst(day + "T00:00") + datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("received", "due_end_of", "why"),
    [
        ("2025-03-11T08:00", "2025-03-14", "an ordinary week: receipt day does not count"),
        ("2025-03-08T15:00", "2025-03-12", "received on a Saturday: counting starts Monday"),
        ("2025-03-14T23:59", "2025-03-19", "received late on a Friday"),
        (
            "2024-09-27T10:00",
            "2024-10-08",
            "National Day 2024: Sunday 29 Sep is a make-up working day, 1-7 Oct off",
        ),
        ("2025-01-24T09:00", "2025-02-05", "Spring Festival 2025: Sunday 26 Jan works, 28 Jan - 4 Feb off"),
        ("2025-02-06T09:00", "2025-02-10", "Saturday 8 Feb 2025 is a make-up working day"),
        ("2026-02-12T09:00", "2026-02-24", "Spring Festival 2026: Saturday 14 Feb works, 15-23 Feb off"),
        ("2026-09-30T09:00", "2026-10-10", "National Day 2026: 1-7 Oct off, Saturday 10 Oct works"),
        ("2026-01-01T12:00", "2026-01-06", "New Year 2026: 1-3 Jan off, Sunday 4 Jan works"),
        ("2026-01-01T00:00", "2026-01-06", "the first moment of the year"),
    ],
)
def test_three_working_day_deadlines(received, due_end_of, why):
    deadline = CALENDAR.deadline(cst(received), 3)
    assert deadline.due_at == end_of(due_end_of), why
    assert not deadline.estimated


def test_receipt_time_is_taken_in_china_time():
    utc_evening = datetime.datetime(2025, 3, 10, 17, 30, tzinfo=datetime.UTC)  # 01:30 on 11 Mar in Beijing
    assert CALENDAR.deadline(utc_evening, 3).due_at == end_of("2025-03-14")
    assert CALENDAR.deadline(utc_evening, 3).due_at.tzinfo == datetime.UTC


@pytest.mark.parametrize(
    ("received", "due_end_of"),
    [
        ("2027-03-01T09:00", "2027-03-04"),  # Monday: Tuesday to Thursday
        ("2027-01-01T00:30", "2027-01-06"),  # 1 January, a Friday: Monday to Wednesday
        ("2027-01-02T10:00", "2027-01-06"),  # a Saturday
    ],
)
def test_a_year_without_data_uses_monday_to_friday_and_says_so(received, due_end_of):
    deadline = CALENDAR.deadline(cst(received), 3)
    assert (deadline.due_at, deadline.estimated) == (end_of(due_end_of), True)


def test_one_guessed_day_makes_the_deadline_estimated():
    across = CALENDAR.deadline(cst("2026-12-30T09:00"), 3)  # 31 Dec known; 1 and 4 Jan 2027 guessed
    assert (across.due_at, across.estimated) == (end_of("2027-01-04"), True)
    inside = CALENDAR.deadline(cst("2026-12-28T09:00"), 3)  # 29-31 Dec: all known
    assert (inside.due_at, inside.estimated) == (end_of("2026-12-31"), False)


def test_an_administrator_supplies_a_year():
    year = CalendarYear(2027, "admin", _days("2027-01-01"), frozenset())
    calendar = WorkingCalendar([*_years(), year])
    deadline = calendar.deadline(cst("2026-12-30T09:00"), 3)
    assert deadline.due_at == end_of("2027-01-05") and not deadline.estimated


def test_working_days_between_and_extend():
    assert CALENDAR.working_days_between(datetime.date(2024, 9, 30), datetime.date(2024, 10, 8)) == (1, False)
    assert CALENDAR.working_days_between(datetime.date(2024, 9, 27), datetime.date(2024, 9, 30)) == (2, False)
    assert CALENDAR.working_days_between(datetime.date(2024, 10, 8), datetime.date(2024, 10, 8)) == (0, False)
    assert CALENDAR.working_days_between(datetime.date(2026, 12, 31), datetime.date(2027, 1, 4)) == (2, True)
    extended = CALENDAR.extend(end_of("2024-09-30"), 1)
    assert (extended.due_at, extended.estimated) == (end_of("2024-10-08"), False)
    assert CALENDAR.extend(end_of("2026-12-31"), 1) == CALENDAR.deadline(cst("2026-12-31T23:59"), 1)


@pytest.mark.parametrize("window", sorted(PUBLISHED))
def test_the_library_adapter_agrees_with_the_published_days(window):
    """The pinned chinesecalendar release (constraints.txt) knows these past years."""
    first, last = (datetime.date.fromisoformat(day) for day in window)
    library = {year.year: year for year in ChineseCalendarLibrary().years()}[first.year]
    assert library.source == LIBRARY
    holidays = {day for day in library.holidays if first <= day <= last}
    make_up = {day for day in library.make_up_workdays if first <= day <= last}
    assert (holidays, make_up) == PUBLISHED[window]


def test_the_library_adapter_splits_days_by_weekday():
    for year in ChineseCalendarLibrary().years():
        assert all(day.weekday() < 5 and day.year == year.year for day in year.holidays), year.year
        assert all(day.weekday() >= 5 and day.year == year.year for day in year.make_up_workdays), year.year
