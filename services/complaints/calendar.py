"""The working-day calendar (工作日历) on the official Chinese schedule, and deadlines.

A year's data is its weekday holidays and its weekend make-up working days (调休). Years
come from the database: seeded from a calendar data source (the ``chinesecalendar``
library by default, services/complaints/calendar_source.py) for the years it knows, set
by an administrator for years it does not know yet. For a year with no data
the fallback is Monday to Friday with no holidays, and every answer that used it says
``estimated`` so nobody mistakes it for the official schedule. On top of a year's data an
administrator may lay explicit changes of single days (``CalendarChange``): a day off
declared at short notice, a make-up day cancelled; they are kept, listed and removable,
and the official data beneath them is never rewritten.

How a deadline is counted (docs/complaints.md): the day of receipt does not count;
the deadline falls due at the end (24:00, China Standard Time) of the N-th working day
after the day of receipt. A complaint received on a Saturday, a holiday or at 08:00 on a
Tuesday alike starts counting on the next working day.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
LIBRARY, ADMIN = "library", "admin"  # where a year's data came from


@dataclass(frozen=True)
class CalendarYear:
    year: int
    source: str  # "library" (from the data source) or "admin" (set by an administrator)
    holidays: frozenset = field(default_factory=frozenset)  # weekdays that are not working days
    make_up_workdays: frozenset = field(default_factory=frozenset)  # weekend days that are

    def is_working(self, day: datetime.date) -> bool:
        if day.weekday() < 5:
            return day not in self.holidays
        return day in self.make_up_workdays

    def with_changes(self, changes: list[CalendarChange]) -> CalendarYear:
        """This year with the administrator's changes of single days laid over it."""
        holidays, make_up = set(self.holidays), set(self.make_up_workdays)
        for change in changes:
            if change.day.year != self.year:
                continue
            weekday = change.day.weekday() < 5
            days = holidays if weekday else make_up
            if change.working == weekday:
                days.discard(change.day)
            else:
                days.add(change.day)
        return CalendarYear(self.year, self.source, frozenset(holidays), frozenset(make_up))


@dataclass(frozen=True)
class CalendarChange:
    """An administrator's change of one day, laid over a year's data: audited (who,
    when, why) and removable; ``removed_at`` set means it no longer applies."""

    id: int
    day: datetime.date
    working: bool  # True: a working day; False: a day off
    reason: str
    actor: str
    at: datetime.datetime
    removed_at: datetime.datetime | None = None
    removed_by: str = ""

    @property
    def active(self) -> bool:
        return self.removed_at is None


YEARS = (2000, 2100)  # the years the calendar accepts data for


def year_problems(year: int) -> list[tuple[str, str]]:
    return [] if YEARS[0] <= year <= YEARS[1] else [("year", f"must be between {YEARS[0]} and {YEARS[1]}")]


def parse_day(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def parse_year(
    year: int, holidays: list[str], make_up_workdays: list[str]
) -> tuple[list[tuple[str, str]], CalendarYear]:
    """An administrator's data for a whole year, and what is wrong with it: every date
    YYYY-MM-DD in that year, holidays on weekdays, make-up days on weekends."""
    problems = year_problems(year)
    parsed: dict[str, set] = {}
    for name, values, weekend in (
        ("holidays", holidays, False),
        ("make_up_workdays", make_up_workdays, True),
    ):
        days = parsed[name] = set()
        for value in values:
            day = parse_day(value)
            if day is None:
                problems.append((name, f"{value[:20]!r} is not a date YYYY-MM-DD"))
            elif day.year != year:
                problems.append((name, f"{value} is not in {year}"))
            elif (day.weekday() >= 5) != weekend:
                problems.append((name, f"{value} is a {'weekday' if weekend else 'weekend day'}"))
            else:
                days.add(day)
    return problems, CalendarYear(
        year, ADMIN, frozenset(parsed["holidays"]), frozenset(parsed["make_up_workdays"])
    )


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


class CalendarRefused(Exception):
    """A calendar change that does not fit the data it would change (FAILED_PRECONDITION)."""

    def __init__(self, message: str, subject: str = ""):
        super().__init__(message)
        self.subject = subject


class UnknownChange(Exception):
    def __init__(self, change_id: int):
        super().__init__(f"no calendar change {change_id}")
        self.change_id = change_id


@dataclass
class CalendarBook:
    """Everything the working calendar is made of: each year's data (from the data
    source or an administrator) and the administrator's changes laid over it."""

    years: dict[int, CalendarYear] = field(default_factory=dict)
    changes: list[CalendarChange] = field(default_factory=list)

    def effective(self, year: int) -> CalendarYear | None:
        data = self.years.get(year)
        return None if data is None else data.with_changes([c for c in self.changes if c.active])

    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar([self.effective(year) for year in self.years])

    def changes_of(self, year: int) -> list[CalendarChange]:
        return sorted((c for c in self.changes if c.day.year == year), key=lambda c: (c.at, c.id))

    def set_year(self, data: CalendarYear, replace_known_year: bool) -> None:
        """A whole year from an administrator. A year the data source supplied is only
        replaced when asked to in so many words; changes of single days stay laid over."""
        known = self.years.get(data.year)
        if known is not None and known.source == LIBRARY and not replace_known_year:
            raise CalendarRefused(
                f"{data.year} is an official year from the calendar library: change single days"
                " (ChangeCalendarDays), or replace the whole year with replace_known_year",
                str(data.year),
            )
        self.years[data.year] = data

    def change_day(
        self, day: datetime.date, working: bool, reason: str, actor: str, moment: datetime.datetime
    ) -> CalendarChange:
        """Lays a change of one day over its year; the id is the store's to give."""
        current = self.effective(day.year)
        if current is None:
            raise CalendarRefused(f"no data for {day.year} yet: set the year first", day.isoformat())
        earlier = next((c for c in self.changes if c.active and c.day == day), None)
        if earlier is not None:
            raise CalendarRefused(
                f"{day.isoformat()} already has change {earlier.id}: remove it first", day.isoformat()
            )
        if current.is_working(day) == working:
            what = "a working day" if working else "a day off"
            raise CalendarRefused(f"{day.isoformat()} is {what} already", day.isoformat())
        change = CalendarChange(0, day, working, reason, actor, moment)
        self.changes.append(change)
        return change

    def stored(self, change: CalendarChange) -> None:
        """The store has given a new change its id."""
        index = next(i for i, c in enumerate(self.changes) if c.id == 0 and c.day == change.day)
        self.changes[index] = change

    def remove_change(self, change_id: int, actor: str, moment: datetime.datetime) -> CalendarChange:
        for index, change in enumerate(self.changes):
            if change.id == change_id:
                if not change.active:
                    raise CalendarRefused(f"calendar change {change_id} was removed already", str(change_id))
                removed = dataclasses.replace(change, removed_at=moment, removed_by=actor)
                self.changes[index] = removed
                return removed
        raise UnknownChange(change_id)


def year_window(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    """The year in China Standard Time, as UTC moments [start, end)."""
    return end_of_day(datetime.date(year - 1, 12, 31)), end_of_day(datetime.date(year, 12, 31))
