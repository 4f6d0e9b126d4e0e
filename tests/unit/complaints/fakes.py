"""In-memory stand-ins for the complaints service's ports, for the unit tests."""

from __future__ import annotations

from services.complaints.calendar import CalendarYear
from services.complaints.calendar_source import ChineseCalendarLibrary


class FixedCalendarSource:
    """A calendar data source holding exactly the years given."""

    def __init__(self, years: list[CalendarYear]):
        self._years = list(years)

    def years(self) -> list[CalendarYear]:
        return list(self._years)


def library_without(*missing: int) -> FixedCalendarSource:
    """The chinesecalendar library's years but the ones named: years it "does not know"."""
    return FixedCalendarSource([y for y in ChineseCalendarLibrary().years() if y.year not in missing])
