"""Complaints: the state machine, the checks on input, and the policy snapshot each
complaint keeps (so a later policy change never rewrites an existing deadline)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from services.complaints.rules import CATEGORIES, CHANNELS, SEVERITIES

RECEIVED, ACCEPTED, IN_PROGRESS, WAITING = "received", "accepted", "in_progress", "waiting_on_retailer"
ESCALATED, RESOLVED, RETURN_VISITED, CLOSED, REOPENED = (
    "escalated",
    "resolved",
    "return_visited",
    "closed",
    "reopened",
)
STATES = (RECEIVED, ACCEPTED, IN_PROGRESS, WAITING, ESCALATED, RESOLVED, RETURN_VISITED, CLOSED, REOPENED)
# States in which the deadline clock runs and the escalation sweep looks.
OPEN_STATES = (RECEIVED, ACCEPTED, IN_PROGRESS, WAITING, ESCALATED, REOPENED)

TRANSITIONS = {
    (RECEIVED, "accept"): ACCEPTED,
    (RECEIVED, "escalate"): ESCALATED,
    (ACCEPTED, "start_work"): IN_PROGRESS,
    (ACCEPTED, "wait_on_retailer"): WAITING,
    (ACCEPTED, "escalate"): ESCALATED,
    (ACCEPTED, "resolve"): RESOLVED,
    (IN_PROGRESS, "wait_on_retailer"): WAITING,
    (IN_PROGRESS, "escalate"): ESCALATED,
    (IN_PROGRESS, "resolve"): RESOLVED,
    (WAITING, "resume"): IN_PROGRESS,
    (WAITING, "escalate"): ESCALATED,
    (ESCALATED, "start_work"): IN_PROGRESS,
    (ESCALATED, "resolve"): RESOLVED,
    (RESOLVED, "record_return_visit"): RETURN_VISITED,
    (RESOLVED, "reopen"): REOPENED,
    (RETURN_VISITED, "close"): CLOSED,
    (RETURN_VISITED, "reopen"): REOPENED,
    (REOPENED, "start_work"): IN_PROGRESS,
    (REOPENED, "escalate"): ESCALATED,
    (REOPENED, "resolve"): RESOLVED,
}
ACTIONS = sorted({action for _, action in TRANSITIONS})
DISSATISFIED_AT_MOST = 2  # a return visit scoring 1 or 2 reopens the complaint
RETURN_VISIT_AFTER_WORKING_DAYS = 2
CLOCK_SKEW = datetime.timedelta(minutes=1)


class IllegalTransition(Exception):
    def __init__(self, state: str, action: str):
        allowed = sorted(a for (s, a) in TRANSITIONS if s == state)
        super().__init__(
            f"cannot {action.replace('_', ' ')} a complaint that is {state.replace('_', ' ')}"
            f" (allowed: {', '.join(allowed) or 'nothing, it is closed'})"
        )


def next_state(state: str, action: str) -> str:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action) from None


def check_intake(values: dict, now: datetime.datetime) -> list[tuple[str, str]]:
    problems = []
    for name in ("idempotency_key", "licence_number", "received_by"):
        if not (values.get(name) or "").strip():
            problems.append((name, "is required"))
    if not (values.get("description") or "").strip():
        problems.append(("description", "must not be empty"))
    for name, allowed in (("channel", CHANNELS), ("category", CATEGORIES), ("severity", SEVERITIES)):
        if values.get(name) not in allowed:
            problems.append((name, f"unknown value {values.get(name)!r}: use one of {', '.join(allowed)}"))
    received_at = values.get("received_at")
    if received_at is not None and received_at > now + CLOCK_SKEW:
        problems.append(("received_at", "is in the future"))
    return problems


@dataclass(frozen=True)
class PolicySnapshot:
    """What the complaint-policy rule set decided for one complaint, kept with it."""

    version: int
    deadline_working_days: int
    pause_clock_while_waiting: bool
    warn_at_share: float
    escalation_levels: tuple[str, ...]
    escalation_interval_working_days: int

    @classmethod
    def from_decision(cls, decision) -> PolicySnapshot:
        outputs = decision.outputs
        return cls(
            version=decision.version,
            deadline_working_days=outputs.get("deadline_working_days", 3),
            pause_clock_while_waiting=outputs.get("pause_clock_while_waiting", True),
            warn_at_share=outputs.get("warn_at_share", 0.75),
            escalation_levels=tuple(
                outputs.get("escalation_levels", ("owner", "team_leader", "county", "city"))
            ),
            escalation_interval_working_days=outputs.get("escalation_interval_working_days", 1),
        )
