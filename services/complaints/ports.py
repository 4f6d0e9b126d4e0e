"""What the complaints use cases need from the outside world, as small Protocols."""

from __future__ import annotations

from typing import Protocol

from services.complaints.calendar import CalendarYear


class CalendarSource(Protocol):
    """The official years of the working calendar (the chinesecalendar library by
    default: services/complaints/calendar_source.py)."""

    def years(self) -> list[CalendarYear]: ...
