"""Periodic return visits (定期回访), apart from complaint follow-ups: a plan per period
samples customers by star level and zone (the share of each group comes from a rule
set), each sampled customer becomes a task for a phone clerk or an inspector, and the
answer records the satisfaction per question, opinions and whether each committed item
was delivered. A task is answered once; an answered task is closed.

The answer is checked against what the company committed to and what its staff
recorded: every item asked about must be on the customer's commitment card, and what
the customer says is compared with the visit cards (拜访记录卡) of the period. An item
the customer says was not delivered while a visit card records it, or a service due at
every visit that the customer says was delivered while no card records it, is a
discrepancy kept with the answer. The items the customer says were not delivered count
against the card's responsible person (undelivered_commitments in kpi-scoring)."""

from __future__ import annotations

import datetime
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from services.evaluation.domain.errors import Invalid, Refused, require
from services.evaluation.domain.people import check_id
from services.evaluation.domain.supervision import CommitmentCard
from services.evaluation.domain.visits import DUE_AT_EVERY_VISIT

OPEN, CLOSED = "open", "closed"
MAX_QUESTIONS, MAX_ITEMS, MAX_TEXT = 50, 50, 2000
# What the customer says against what the visit cards record.
RECORDED_NOT_DELIVERED = "recorded_not_delivered"  # a card records it; the customer says it was not done
DELIVERED_NOT_RECORDED = "delivered_not_recorded"  # due at every visit; done, says the customer, on no card
DISCREPANCY_KINDS = (RECORDED_NOT_DELIVERED, DELIVERED_NOT_RECORDED)


@dataclass(frozen=True)
class Discrepancy:
    service: str
    kind: str
    card_ids: tuple[str, ...]  # the visit cards that record it (none for delivered_not_recorded)
    description: str


def discrepancies(delivered, recorded: dict[str, tuple[str, ...]]) -> tuple[Discrepancy, ...]:
    """What the customer says (service, delivered) against the visit cards of the period:
    ``recorded`` names, per service, the cards that record it."""
    found = []
    for service, done in delivered:
        cards = tuple(recorded.get(service, ()))
        if not done and cards:
            found.append(
                Discrepancy(
                    service,
                    RECORDED_NOT_DELIVERED,
                    tuple(cards),
                    f"the customer says {service} was not delivered; {len(cards)} visit card(s) record it",
                )
            )
        elif done and not cards and service in DUE_AT_EVERY_VISIT:
            found.append(
                Discrepancy(
                    service,
                    DELIVERED_NOT_RECORDED,
                    (),
                    f"the customer says {service} was delivered; no visit card of the period records it",
                )
            )
    return tuple(found)


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
    staff_id: str = ""  # the card's responsible person when the answer was taken
    card_version: int = 0  # the commitment card the answer was checked against
    discrepancies: tuple[Discrepancy, ...] = ()

    @property
    def undelivered(self) -> int:
        """Committed items the customer says were not delivered."""
        return sum(1 for _, done in self.delivered if not done)

    def overdue(self, today: datetime.date) -> bool:
        return self.state == OPEN and today > self.due_on

    def answered(
        self,
        by: str,
        satisfaction,
        opinion: str,
        delivered,
        at: datetime.datetime,
        card: CommitmentCard,
        recorded: dict[str, tuple[str, ...]],
    ) -> ReturnVisitTask:
        """Closes the task with the answer, checked against the customer's commitment
        ``card`` and the services the period's visit cards ``recorded``."""
        require(answer_problems(by, satisfaction, opinion, delivered, card))
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
            staff_id=card.responsible_person,
            card_version=card.version,
            discrepancies=discrepancies(delivered, recorded),
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


def answer_problems(by: str, satisfaction, opinion: str, delivered, card: CommitmentCard | None = None):
    """What is wrong with an answer, field by field; without a ``card``, all but whether
    the items asked about are on it."""
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
    elif card is not None:
        listed = ", ".join(card.services()) or "none"
        problems += [
            (f"delivered[{index}].service", f"{service} is not on the customer's card (on it: {listed})")
            for index, service in enumerate(services)
            if service not in card.services()
        ]
    return problems


def undelivered_commitments(tasks, window: tuple[datetime.datetime, datetime.datetime]) -> dict[str, int]:
    """Per responsible staff member, the committed items customers said were not
    delivered in the return visits answered in the window."""
    counts: dict[str, int] = {}
    for task in tasks:
        if task.state == CLOSED and task.staff_id and window[0] <= task.answered_at < window[1]:
            counts[task.staff_id] = counts.get(task.staff_id, 0) + task.undelivered
    return counts
