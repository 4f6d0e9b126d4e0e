"""What the use cases need from storage and from the other services."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import grpc

from services.common.errors import DomainError
from services.evaluation.domain.people import Membership, Staff, Team
from services.evaluation.domain.periods import Period
from services.evaluation.domain.plans import ImprovementPlan
from services.evaluation.domain.ratings import Rating
from services.evaluation.domain.results import PeriodResult
from services.evaluation.domain.return_visits import Customer, ReturnVisitTask
from services.evaluation.domain.supervision import CommitmentCard, Finding
from services.evaluation.domain.visits import Menu, VisitCard, VisitTotals


class People(Protocol):
    def staff(self, staff_id: str) -> Staff | None: ...
    def all_staff(self) -> list[Staff]: ...
    def save_staff(self, staff: Staff) -> None: ...
    def team(self, team_id: str) -> Team | None: ...
    def all_teams(self) -> list[Team]: ...
    def save_team(self, team: Team) -> None: ...
    def memberships_of(self, staff_id: str) -> list[Membership]: ...
    def memberships_on(self, day: datetime.date, team_id: str = "") -> list[Membership]: ...
    def save_move(self, ended: Membership | None, started: Membership) -> None: ...


class Periods(Protocol):
    def get(self, period_id: str, lock: bool = False) -> Period | None: ...
    def save(self, period: Period) -> None: ...


class Cards(Protocol):
    def get(self, card_id: str) -> VisitCard | None: ...
    def add(self, card: VisitCard) -> None: ...
    def update(self, card: VisitCard) -> None: ...
    def unchecked(self, limit: int) -> list[VisitCard]: ...
    def count_unchecked(self) -> int: ...
    def find(
        self, staff_id: str, licence_number: str, window, include_superseded: bool
    ) -> list[VisitCard]: ...
    def totals(self, window) -> dict[str, VisitTotals]: ...
    def save_menu(
        self, licence_number: str, visits_per_month: int, version: int, at: datetime.datetime
    ) -> None: ...
    def visits_per_month(self) -> dict[str, int]: ...


class Ratings(Protocol):
    def get(self, key: tuple) -> Rating | None: ...
    def save(self, rating: Rating) -> None: ...
    def of_period(self, period_id: str, subject_id: str = "", mode: str = "") -> list[Rating]: ...


class Actuals(Protocol):
    def of_period(self, period_id: str) -> dict[tuple[str, str], tuple[float | None, float | None]]: ...
    def upsert(self, period_id: str, rows: Iterable[tuple[str, str, float | None, float | None]]) -> None: ...


class Results(Protocol):
    def replace(self, period_id: str, results: Iterable[PeriodResult]) -> None: ...
    def of_period(self, period_id: str, subject_kind: str = "", team_id: str = "") -> list[PeriodResult]: ...


class Plans(Protocol):
    def get(self, plan_id: str) -> ImprovementPlan | None: ...
    def save(self, plan: ImprovementPlan) -> None: ...
    def find(
        self, subject_id: str = "", state: str = "", not_closed: bool = False
    ) -> list[ImprovementPlan]: ...


class CommitmentCards(Protocol):
    def latest(self, licence_number: str, at: datetime.datetime | None = None) -> CommitmentCard | None:
        """The last version issued (at or before ``at`` when given)."""
        ...

    def add(self, card: CommitmentCard) -> None: ...


class Findings(Protocol):
    def get(self, finding_id: str, lock: bool = False) -> Finding | None: ...
    def add(self, finding: Finding) -> None: ...
    def update(self, finding: Finding) -> None: ...
    def find(self, staff_id: str = "", licence_number: str = "", team_id: str = "") -> list[Finding]: ...
    def upheld_in(self, window) -> list[Finding]: ...


class ReturnVisits(Protocol):
    def get(self, task_id: str, lock: bool = False) -> ReturnVisitTask | None: ...
    def add_all(self, tasks: list[ReturnVisitTask]) -> None: ...
    def update(self, task: ReturnVisitTask) -> None: ...
    def planned(self, period_id: str) -> bool: ...
    def of_period(self, period_id: str, assignee_id: str = "") -> list[ReturnVisitTask]: ...


class UnitOfWork(Protocol):
    """One transaction: entered, used, committed on a clean exit, rolled back otherwise."""

    people: People
    periods: Periods
    cards: Cards
    ratings: Ratings
    actuals: Actuals
    results: Results
    plans: Plans
    commitment_cards: CommitmentCards
    findings: Findings
    return_visits: ReturnVisits

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc) -> None: ...


@dataclass(frozen=True)
class ComplaintFigures:
    received: int
    resolved: int
    resolved_on_time: int
    overdue: int
    mean_satisfaction: float  # 0: no return visit


class CustomerDirectory(Protocol):
    """The classification service. Raises DownstreamUnavailable when it cannot be asked
    and services.evaluation.domain.errors.Missing for an unknown customer."""

    def menu(self, licence_number: str) -> Menu: ...
    def check_customer(self, licence_number: str) -> None: ...
    def customers_by_manager(self) -> dict[str, list[str]]: ...
    def zones_of(self, team_id: str) -> list[str]: ...
    def active_customers(self) -> list[Customer]:
        """Every active customer with its star level and market zone."""
        ...

    def commitment_card(self, licence_number: str) -> CommitmentCard:
        """The card the live menu makes (not yet versioned)."""
        ...


class ComplaintStatistics(Protocol):
    """The complaints service: figures per owner (staff) and per team for a window."""

    def figures(self, window, group_by: str) -> dict[str, ComplaintFigures]: ...


class Unreachable(DomainError):
    """Another service could not be asked (UNAVAILABLE, naming it)."""

    code = grpc.StatusCode.UNAVAILABLE

    def __init__(self, service: str):
        super().__init__(f"the {service} service could not be reached; nothing was changed, try again")
        self.service = service


class Conflict(DomainError):
    """A concurrent write to the same thing got there first (ABORTED: try again)."""

    code = grpc.StatusCode.ABORTED

    def __init__(self):
        super().__init__("a concurrent change got there first; nothing was changed, try again")
