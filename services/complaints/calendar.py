"""The working-day calendar (工作日历) on the official Chinese schedule, and deadlines.

A year's data is its weekday holidays and its weekend make-up working days (调休). Years
come from the database: seeded from a calendar data source (the ``chinesecalendar``
library by default, services/complaints/calendar_source.py) for the years it knows, set
by an administrator for years it does not know yet. For a year with no data
the fallback is Monday to Friday with no holidays, and every answer that used it says
``estimated`` so nobody mistakes it for the official schedule.

How a deadline is counted (docs/complaints.md): the day of receipt does not count;
the deadline falls due at the end (24:00, China Standard Time) of the N-th working day
after the day of receipt. A complaint received on a Saturday, a holiday or at 08:00 on a
Tuesday alike starts counting on the next working day.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CalendarYear:
    year: int
    source: str  # "library" (from the data source) or "admin" (set by an administrator)
    holidays: frozenset = field(default_factory=frozenset)  # weekdays that are not working days
    make_up_workdays: frozenset = field(default_factory=frozenset)  # weekend days that are


@dataclass(frozen=True)
class Deadline:
    due_at: datetime.datetime  # UTC
    estimated: bool


def local_date(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(CHINA).date()


def end_of_day(day: datetime.date) -> datetime.datetime:
    """24:00 China Standard Time of that day, in UTC."""
    midnight = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=CHINA)
    return midnight.astimezone(datetime.UTC)


class WorkingCalendar:
    def __init__(self, years: list[CalendarYear]):
        self.years = {year.year: year for year in years}

    def is_workday(self, day: datetime.date) -> tuple[bool, bool]:
        """(working, estimated)."""
        data = self.years.get(day.year)
        if data is None:
            return day.weekday() < 5, True
        if day.weekday() < 5:
            return day not in data.holidays, False
        return day in data.make_up_workdays, False

    def add_working_days(self, start: datetime.date, count: int) -> tuple[datetime.date, bool]:
        """The count-th working day after start (start itself never counts)."""
        day, estimated = start, False
        remaining = count
        while remaining > 0:
            day += datetime.timedelta(days=1)
            working, guessed = self.is_workday(day)
            estimated |= guessed
            remaining -= working
        return day, estimated

    def working_days_between(self, start: datetime.date, end: datetime.date) -> tuple[int, bool]:
        """Working days d with start < d <= end."""
        count, estimated, day = 0, False, start
        while day < end:
            day += datetime.timedelta(days=1)
            working, guessed = self.is_workday(day)
            count += working
            estimated |= guessed
        return count, estimated

    def deadline(self, received_at: datetime.datetime, working_days: int) -> Deadline:
        day, estimated = self.add_working_days(local_date(received_at), working_days)
        return Deadline(end_of_day(day), estimated)

    def extend(self, deadline_at: datetime.datetime, working_days: int) -> Deadline:
        """A deadline moved on by whole working days (for a paused clock, an escalation step)."""
        day, estimated = self.add_working_days(
            local_date(deadline_at - datetime.timedelta(seconds=1)), working_days
        )
        return Deadline(end_of_day(day), estimated)
