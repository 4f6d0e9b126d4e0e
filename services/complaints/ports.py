"""What the complaints use cases need from the outside world, as small Protocols.

storage.py implements them over SQL; tests/unit/complaints/fakes.py in memory.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

from services.complaints.calendar import CalendarBook, CalendarChange, CalendarYear
from services.complaints.domain import Complaint, Event, Outcome, ReturnVisit


class CalendarSource(Protocol):
    """The official years of the working calendar (the chinesecalendar library by
    default: services/complaints/calendar_source.py)."""

    def years(self) -> list[CalendarYear]: ...


@dataclass(frozen=True)
class CustomerCheck:
    known: bool | None  # None: classification could not be asked
    team_id: str = ""
    why: str = ""  # why the licence number is not a customer's
    licence_number: str = ""  # as classification stores it (normalised), when known


class Customers(Protocol):
    """The classification service as the intake sees it (services/complaints/customers.py)."""

    def check(self, licence_number: str) -> CustomerCheck: ...


class PolicyDecider(Protocol):
    """The rule-set registry as the use cases see it: ``decide`` returns a decision with
    ``version`` and ``outputs``, or raises; ``serving_version`` says which version decides."""

    def decide(self, name: str, facts: dict): ...

    def serving_version(self, name: str) -> int:
        """The version this process decides with (0 before it has loaded one)."""


class DuplicateKey(Exception):
    """A complaint with this idempotency key is stored already."""


class Conflict(Exception):
    """commit() found that another transaction stored the same thing first."""


@dataclass(frozen=True)
class ComplaintFilter:
    licence_number: str = ""
    owner: str = ""
    team_id: str = ""
    states: tuple[str, ...] = ()
    overdue_only: bool = False
    received_from: datetime.datetime | None = None  # inclusive
    received_to: datetime.datetime | None = None  # exclusive


class ComplaintRepository(Protocol):
    def add(self, complaint: Complaint, events: list[Event]) -> None:
        """Raises DuplicateKey when the idempotency key is taken."""

    def get(self, complaint_id: str, *, for_update: bool = False) -> Complaint | None: ...

    def by_idempotency_key(self, key: str) -> Complaint | None: ...

    def save(self, complaint: Complaint, events: list[Event]) -> None:
        """Stores a complaint read from this repository and appends its new events."""

    def add_return_visit(self, visit: ReturnVisit) -> None: ...

    def events(self, complaint_id: str) -> list[Event]:
        """Oldest first."""

    def matching(self, where: ComplaintFilter, offset: int, limit: int) -> list[Complaint]:
        """By receipt time, then id."""

    def flagged(self, limit: int) -> list[tuple[str, str]]:
        """(id, licence number) of open complaints awaiting the customer check, oldest first."""

    def warn_due(self, moment: datetime.datetime, limit: int) -> int:
        """Records the warning (domain.warning) on up to ``limit`` open complaints whose
        warning time has come and who were not warned yet; how many."""

    def due_for_escalation(self, moment: datetime.datetime, limit: int) -> list[Complaint]:
        """Open complaints whose next escalation is due, locked for this unit of work
        (skipping those another sweep holds)."""

    def open_between(self, start: datetime.datetime, end: datetime.datetime) -> list[Complaint]:
        """Open complaints whose clock runs over part of [start, end): received before
        end, deadline after start; locked for this unit of work."""

    def may_follow(
        self,
        version: int,
        moment: datetime.datetime,
        after_id: str,
        limit: int,
        created_since: datetime.datetime | None = None,
    ) -> list[Complaint]:
        """Up to ``limit`` open complaints a newly activated policy ``version`` may still move
        (Complaint.may_follow at ``moment``) with an id after ``after_id``, by id; only those
        created at or after ``created_since`` when given; locked for this unit of work."""

    def outcomes(
        self, period_from: datetime.datetime, period_to: datetime.datetime, group_by: str
    ) -> list[Outcome]:
        """Complaints received in [period_from, period_to), keyed by owner or team."""


class CalendarRepository(Protocol):
    def book(self) -> CalendarBook: ...

    def add_year(self, data: CalendarYear, actor: str, moment: datetime.datetime) -> None:
        """Stores a year not stored yet."""

    def put_year(self, data: CalendarYear, actor: str, moment: datetime.datetime) -> None:
        """Stores a year, replacing what was stored for it."""

    def add_change(self, change: CalendarChange) -> CalendarChange:
        """Stores a new change; returns it with its id."""

    def save_change(self, change: CalendarChange) -> None:
        """Stores the removal of a change."""


class UnitOfWork(Protocol):
    """One transaction: ``with uow: ...; uow.commit()``; leaving the block without
    commit() (or by an exception) rolls back."""

    complaints: ComplaintRepository
    calendar: CalendarRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc) -> None: ...

    def commit(self) -> None:
        """Raises Conflict when another transaction stored the same thing first."""
