"""Periodic return visits (定期回访), apart from complaint follow-ups: a plan per period
samples customers by star level and zone (the share of each group comes from a rule
set), each sampled customer becomes a task for a phone clerk or an inspector, and the
answer records the satisfaction per question, opinions and whether each committed item
was delivered. A task is answered once; an answered task is closed."""

from __future__ import annotations

import datetime
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from services.evaluation.domain.errors import Invalid, Refused, require
from services.evaluation.domain.people import check_id

OPEN, CLOSED = "open", "closed"
MAX_QUESTIONS, MAX_ITEMS, MAX_TEXT = 50, 50, 2000


@dataclass(frozen=True)
class Customer:
    licence_number: str
    star_level: int
    zone: str


@dataclass(frozen=True)
class ReturnVisitTask:
    id: str
    period_id: str
    licence_number: str
    star_level: int
    zone: str
    assignee_id: str
    due_on: datetime.date
    state: str = OPEN
    satisfaction: tuple[int, ...] = ()
    opinion: str = ""
    delivered: tuple[tuple[str, bool], ...] = ()  # (service, delivered) per committed item
    answered_by: str = ""
    answered_at: datetime.datetime | None = None

    def overdue(self, today: datetime.date) -> bool:
        return self.state == OPEN and today > self.due_on

    def answered(
        self, by: str, satisfaction, opinion: str, delivered, at: datetime.datetime
    ) -> ReturnVisitTask:
        problems = check_id("answered_by", by)
        if not satisfaction or len(satisfaction) > MAX_QUESTIONS:
            problems.append(("satisfaction", f"give 1-{MAX_QUESTIONS} answers"))
        elif any(not 1 <= answer <= 5 for answer in satisfaction):
            problems.append(("satisfaction", "each answer is 1 to 5"))
        if len(opinion) > MAX_TEXT:
            problems.append(("opinion", f"at most {MAX_TEXT} characters"))
        services = [service for service, _ in delivered]
        if len(services) > MAX_ITEMS or any(check_id("delivered", s) for s in services):
            problems.append(("delivered", f"at most {MAX_ITEMS} items, each naming a service"))
        elif len(set(services)) != len(services):
            problems.append(("delivered", "each service at most once"))
        require(problems)
        if self.state == CLOSED:
            raise Refused(f"return visit {self.id} is already answered and closed", self.id)
        return replace(
            self,
            state=CLOSED,
            satisfaction=tuple(satisfaction),
            opinion=opinion,
            delivered=tuple(delivered),
            answered_by=by,
            answered_at=at,
        )


def sample(customers, share_of: Callable[[int, str], float], seed: str) -> list[Customer]:
    """From each group of one star level and zone, ceil(share x size) customers, chosen
    by a hash of the seed and the licence: the same plan again samples the same ones."""
    groups: dict[tuple[int, str], list[Customer]] = {}
    for customer in customers:
        groups.setdefault((customer.star_level, customer.zone), []).append(customer)
    chosen = []
    for (star_level, zone), members in sorted(groups.items()):
        share = share_of(star_level, zone)
        if not 0 <= share <= 1:
            raise Invalid([("share", f"the rule set gave {share} for {star_level} stars in {zone}")])
        members.sort(key=lambda c: hashlib.sha256(f"{seed}:{c.licence_number}".encode()).hexdigest())
        chosen += members[: math.ceil(share * len(members))]
    return chosen


def assign(customers, assignees: list[str]) -> list[tuple[Customer, str]]:
    """Round robin over the assignees, in the sampled order."""
    return [(customer, assignees[index % len(assignees)]) for index, customer in enumerate(customers)]
