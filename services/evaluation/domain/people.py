"""Staff, teams and membership history (a person moves between teams; a period is
scored with the team they belonged to on its last day)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from services.evaluation.domain.errors import Invalid, require

ROLES = (
    "market_manager",
    "customer_manager",
    "brand_manager",
    "phone_order_clerk",
    "team_leader",
    "inspector",
)
LINES = ("marketing", "customer_service", "logistics")
LEVELS = ("county", "city")
SPECIALTIES = ("customer_communication", "market_analysis", "key_customer_guidance")
MANAGING_ROLES = ("team_leader", "market_manager")  # may rate competency

_ID = re.compile(r"^[\w.\-:]{1,64}$")


def id_problem(value: str) -> str:
    """Why a value is not an identifier, or ''."""
    if not value:
        return "is required"
    if not _ID.match(value):
        return "must be 1-64 letters, digits, '.', '-', '_' or ':'"
    return ""


def check_id(field: str, value: str) -> list[tuple[str, str]]:
    problem = id_problem(value)
    return [(field, problem)] if problem else []


@dataclass(frozen=True)
class Staff:
    id: str
    name: str
    role: str
    line: str
    level: str = ""
    active: bool = True

    def validate(self, prefix: str = "staff") -> Staff:
        problems = check_id(f"{prefix}.id", self.id)
        if not self.name.strip() or len(self.name) > 200:
            problems.append((f"{prefix}.name", "is required, at most 200 characters"))
        if self.role not in ROLES:
            problems.append((f"{prefix}.role", f"must be one of {', '.join(ROLES)}"))
        if self.line not in LINES:
            problems.append((f"{prefix}.line", f"must be one of {', '.join(LINES)}"))
        if self.role == "inspector" and self.level not in LEVELS:
            problems.append((f"{prefix}.level", "an inspector's level must be county or city"))
        if self.role != "inspector" and self.level:
            problems.append((f"{prefix}.level", "only inspectors have a level"))
        require(problems)
        return self


@dataclass(frozen=True)
class Team:
    id: str
    name: str

    def validate(self) -> Team:
        problems = check_id("team.id", self.id)
        if not self.name.strip() or len(self.name) > 200:
            problems.append(("team.name", "is required, at most 200 characters"))
        require(problems)
        return self


@dataclass(frozen=True)
class Membership:
    staff_id: str
    team_id: str
    specialty: str
    from_date: datetime.date
    to_date: datetime.date | None = None  # exclusive; None while current

    def covers(self, day: datetime.date) -> bool:
        return self.from_date <= day and (self.to_date is None or day < self.to_date)


def move(history: list[Membership], staff_id: str, team_id: str, specialty: str, from_date: datetime.date):
    """The memberships after a move: (the one that ends, or None; the new one)."""
    if specialty not in SPECIALTIES:
        raise Invalid([("specialty", f"must be one of {', '.join(SPECIALTIES)}")])
    current = next((m for m in history if m.to_date is None), None)
    if current is not None and from_date <= current.from_date:
        raise Invalid([("from_date", f"must be after the current membership's start {current.from_date}")])
    ended = None
    if current is not None:
        ended = Membership(current.staff_id, current.team_id, current.specialty, current.from_date, from_date)
    return ended, Membership(staff_id, team_id, specialty, from_date)


def membership_on(history: list[Membership], day: datetime.date) -> Membership | None:
    return next((m for m in history if m.covers(day)), None)


def parse_date(field: str, text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise Invalid([(field, "must be a date YYYY-MM-DD")]) from None
