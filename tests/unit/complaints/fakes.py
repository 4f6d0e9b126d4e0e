"""In-memory stand-ins for the complaints service's ports, for the unit tests.

A unit of work works on a copy of the store and puts it back on commit(), so a use
case that fails half-way leaves the store as it was, as a rolled-back transaction does.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from dataclasses import dataclass, field

from services.complaints import domain
from services.complaints.calendar import CHINA, CalendarBook, CalendarChange, CalendarYear, WorkingCalendar
from services.complaints.calendar_source import ChineseCalendarLibrary
from services.complaints.domain import Complaint, Event, Outcome, ReturnVisit
from services.complaints.ports import ComplaintFilter, CustomerCheck, DuplicateKey


class FixedCalendarSource:
    """A calendar data source holding exactly the years given."""

    def __init__(self, years: list[CalendarYear]):
        self._years = list(years)

    def years(self) -> list[CalendarYear]:
        return list(self._years)


DAY = datetime.date
# National Day week 2030 as a schedule might set it: Tue 1 - Mon 7 Oct off (weekdays
# 1, 2, 3, 4, 7), Sunday 29 Sep and Saturday 12 Oct make-up working days. 2031 has no data.
YEAR_2030 = CalendarYear(
    2030,
    "library",
    frozenset({DAY(2030, 10, 1), DAY(2030, 10, 2), DAY(2030, 10, 3), DAY(2030, 10, 4), DAY(2030, 10, 7)}),
    frozenset({DAY(2030, 9, 29), DAY(2030, 10, 12)}),
)
CALENDAR = WorkingCalendar([YEAR_2030])


def cst(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=CHINA).astimezone(datetime.UTC)


def end_of(day: str) -> datetime.datetime:
    return cst(day + "T00:00") + datetime.timedelta(days=1)


def library_without(*missing: int) -> FixedCalendarSource:
    """The chinesecalendar library's years but the ones named: years it "does not know"."""
    return FixedCalendarSource([y for y in ChineseCalendarLibrary().years() if y.year not in missing])


@dataclass
class Store:
    complaints: dict[str, Complaint] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    visits: list[ReturnVisit] = field(default_factory=list)
    years: dict[int, CalendarYear] = field(default_factory=dict)
    changes: list[CalendarChange] = field(default_factory=list)


class FakeComplaints:
    def __init__(self, store: Store):
        self.store = store

    def add(self, complaint: Complaint, events: list[Event]) -> None:
        if any(c.idempotency_key == complaint.idempotency_key for c in self.store.complaints.values()):
            raise DuplicateKey(complaint.idempotency_key)
        self.store.complaints[complaint.id] = copy.deepcopy(complaint)
        self.store.events[complaint.id] = list(events)

    def get(self, complaint_id: str, *, for_update: bool = False) -> Complaint | None:
        return copy.deepcopy(self.store.complaints.get(complaint_id))

    def by_idempotency_key(self, key: str) -> Complaint | None:
        found = [c for c in self.store.complaints.values() if c.idempotency_key == key]
        return copy.deepcopy(found[0]) if found else None

    def save(self, complaint: Complaint, events: list[Event]) -> None:
        assert complaint.id in self.store.complaints, "save() is for complaints read from the store"
        self.store.complaints[complaint.id] = copy.deepcopy(complaint)
        self.store.events[complaint.id].extend(events)

    def add_return_visit(self, visit: ReturnVisit) -> None:
        self.store.visits.append(visit)

    def events(self, complaint_id: str) -> list[Event]:
        return list(self.store.events.get(complaint_id, []))

    def _open(self) -> list[Complaint]:
        ordered = sorted(self.store.complaints.values(), key=lambda c: (c.received_at, c.id))
        return [c for c in ordered if c.state in domain.OPEN_STATES]

    def matching(self, where: ComplaintFilter, offset: int, limit: int) -> list[Complaint]:
        def matches(c: Complaint) -> bool:
            return (
                all(
                    not getattr(where, n) or getattr(c, n) == getattr(where, n)
                    for n in ("licence_number", "owner", "team_id")
                )
                and (not where.states or c.state in where.states)
                and (not where.overdue_only or c.overdue_at is not None)
                and (where.received_from is None or c.received_at >= where.received_from)
                and (where.received_to is None or c.received_at < where.received_to)
            )

        ordered = sorted(self.store.complaints.values(), key=lambda c: (c.received_at, c.id))
        return copy.deepcopy([c for c in ordered if matches(c)][offset : offset + limit])

    def flagged(self, limit: int) -> list[tuple[str, str]]:
        return [(c.id, c.licence_number) for c in self._open() if c.needs_verification][:limit]

    def warn_due(self, moment: datetime.datetime, limit: int) -> int:
        due = [c for c in self._open() if c.warned_at is None and c.warn_at <= moment][:limit]
        for complaint in due:
            complaint.warned_at = moment
            self.store.events[complaint.id].append(domain.warning(moment))
        return len(due)

    def due_for_escalation(self, moment: datetime.datetime, limit: int) -> list[Complaint]:
        due = [c for c in self._open() if c.next_escalation_at is not None and c.next_escalation_at <= moment]
        return copy.deepcopy(due[:limit])

    def open_between(self, start: datetime.datetime, end: datetime.datetime) -> list[Complaint]:
        return copy.deepcopy([c for c in self._open() if c.received_at < end and c.deadline_at > start])

    def outcomes(self, period_from, period_to, group_by: str) -> list[Outcome]:
        return [
            Outcome(
                c.owner if group_by == "owner" else c.team_id,
                c.resolved_at,
                c.deadline_at,
                c.overdue_at,
                c.resolution_working_days,
                c.satisfaction,
            )
            for c in self.store.complaints.values()
            if period_from <= c.received_at < period_to
        ]


class FakeCalendar:
    def __init__(self, store: Store):
        self.store = store

    def book(self) -> CalendarBook:
        return CalendarBook(dict(self.store.years), list(self.store.changes))

    def add_year(self, data: CalendarYear, actor: str, moment: datetime.datetime) -> None:
        assert data.year not in self.store.years
        self.store.years[data.year] = data

    def put_year(self, data: CalendarYear, actor: str, moment: datetime.datetime) -> None:
        self.store.years[data.year] = data

    def add_change(self, change: CalendarChange) -> CalendarChange:
        stored = dataclasses.replace(change, id=len(self.store.changes) + 1)
        self.store.changes.append(stored)
        return stored

    def save_change(self, change: CalendarChange) -> None:
        index = next(i for i, c in enumerate(self.store.changes) if c.id == change.id)
        self.store.changes[index] = change


class FakeUnitOfWork:
    def __init__(self, store: Store, *, read_only: bool = False):
        self.store = store
        self.read_only = read_only

    def __enter__(self) -> FakeUnitOfWork:
        self._working = copy.deepcopy(self.store)
        self.complaints = FakeComplaints(self._working)
        self.calendar = FakeCalendar(self._working)
        return self

    def commit(self) -> None:
        assert not self.read_only, "a reading unit of work never commits"
        self.store.__dict__.update(copy.deepcopy(self._working).__dict__)

    def __exit__(self, *exc) -> None:
        self._working = None


@dataclass
class Decision:
    version: int
    outputs: dict


class FakePolicy:
    """The rule-set registry: decides ``outputs`` as ``version``, or fails when told to."""

    def __init__(self, version: int = 1, outputs: dict | None = None, failure: Exception | None = None):
        self.version, self.outputs, self.failure = version, outputs or {}, failure
        self.asked: list[dict] = []

    def decide(self, name: str, facts: dict) -> Decision:
        self.asked.append(facts)
        if self.failure is not None:
            raise self.failure
        return Decision(self.version, dict(self.outputs))


class FakeCustomers:
    """Classification as the customer check sees it: known licences and their teams;
    ``reachable = False`` is an outage."""

    def __init__(self, teams: dict[str, str] | None = None):
        self.teams = teams if teams is not None else {"L-1": "team-1", "L-2": "team-2"}
        self.reachable = True

    def check(self, licence_number: str) -> CustomerCheck:
        if not self.reachable:
            return CustomerCheck(None)
        if licence_number not in self.teams:
            return CustomerCheck(False, why=f"no customer with licence number {licence_number!r}")
        return CustomerCheck(True, self.teams[licence_number])
