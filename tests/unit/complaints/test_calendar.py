"""Deadlines across weekends, public holidays and make-up working days (调休), written
out by hand from the State Council's published schedules, and the year without data."""

import datetime

import pytest

from services.complaints.calendar import CHINA, CalendarYear, WorkingCalendar
from services.complaints.calendar_source import ChineseCalendarLibrary

CALENDAR = WorkingCalendar(ChineseCalendarLibrary().years())


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
    ],
)
def test_three_working_day_deadlines(received, due_end_of, why):
    deadline = CALENDAR.deadline(cst(received), 3)
    assert deadline.due_at == end_of(due_end_of), why
    assert not deadline.estimated


def test_receipt_time_is_taken_in_china_time():
    utc_evening = datetime.datetime(2025, 3, 10, 17, 30, tzinfo=datetime.UTC)  # 01:30 on 11 Mar in Beijing
    assert CALENDAR.deadline(utc_evening, 3).due_at == end_of("2025-03-14")


def test_a_year_without_data_uses_monday_to_friday_and_says_so():
    deadline = CALENDAR.deadline(cst("2027-03-01T09:00"), 3)
    assert deadline.due_at == end_of("2027-03-04") and deadline.estimated
    across = CALENDAR.deadline(cst("2026-12-30T09:00"), 3)  # 31 Dec known, 1 Jan 2027 guessed
    assert across.estimated


def test_an_administrator_supplies_a_year():
    year = CalendarYear(
        2027,
        "admin",
        frozenset({datetime.date(2027, 1, 1)}),
        frozenset(),
    )
    calendar = WorkingCalendar([*ChineseCalendarLibrary().years(), year])
    deadline = calendar.deadline(cst("2026-12-30T09:00"), 3)
    assert deadline.due_at == end_of("2027-01-05") and not deadline.estimated


def test_working_days_between_and_extend():
    assert CALENDAR.working_days_between(datetime.date(2024, 9, 30), datetime.date(2024, 10, 8)) == (1, False)
    extended = CALENDAR.extend(end_of("2024-09-30"), 1)
    assert extended.due_at == end_of("2024-10-08")
