"""Where the official calendar's years come from: the ``chinesecalendar`` library.

The working calendar never imports the library itself; it is handed a data source
(services/complaints/ports.py: CalendarSource), so a test can give it one that lacks
a year and a library upgrade is the only way new official years arrive.
"""

from __future__ import annotations

from services.complaints.calendar import LIBRARY, CalendarYear


class ChineseCalendarLibrary:
    """Every year the installed chinesecalendar release knows."""

    def years(self) -> list[CalendarYear]:
        import chinese_calendar

        years: dict[int, tuple[set, set]] = {}
        for day in chinese_calendar.holidays:
            if day.weekday() < 5:
                years.setdefault(day.year, (set(), set()))[0].add(day)
        for day in chinese_calendar.workdays:
            if day.weekday() >= 5:
                years.setdefault(day.year, (set(), set()))[1].add(day)
        return [
            CalendarYear(year, LIBRARY, frozenset(h), frozenset(w)) for year, (h, w) in sorted(years.items())
        ]
