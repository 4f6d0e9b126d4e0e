"""Complaints (投诉): the state machine, the deadline clock, the escalation ladder, the
checks on intake, and the policy snapshot each complaint keeps (so a later policy change
never rewrites an existing deadline, unless the new version says open complaints follow it).

Standard library only. Every change is a method of ``Complaint`` that takes the moment
(and the working calendar where days are counted) and returns the events to record;
a change the rules forbid raises ``Refused``.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from services.common.licences import normalise_licence
from services.complaints.calendar import WorkingCalendar, local_date

CATEGORIES = (
    "service_attitude",
    "supply_allocation",
    "price",
    "ordering",
    "delivery",
    "settlement",
    "staff_conduct",
    "other",
)
SEVERITIES = ("low", "normal", "high", "critical")
CHANNELS = ("hotline", "retailer_app", "visit", "inspection", "other")
ESCALATION_LEVELS = ("owner", "team_leader", "county", "city")

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
# What ChangeComplaintState may ask for; a return visit has its own call.
STATE_ACTIONS = tuple(a for a in ACTIONS if a != "record_return_visit")
DEFAULT_SEVERITY = "normal"
DISSATISFIED_AT_MOST = 2  # a return visit scoring 1 or 2 reopens the complaint
RETURN_VISIT_AFTER_WORKING_DAYS = 2
CLOCK_SKEW = datetime.timedelta(minutes=1)
# The window a receipt time must fall in: nothing was filed before it, and a clock a
# little ahead is tolerated by CLOCK_SKEW, a day ahead is refused outright.
RECEIVED_NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
SYSTEM = "system"
# What a complaint-policy version says of the complaints still open when it is activated
# (its output open_complaints): their deadline follows it, or they keep theirs (the default).
FOLLOW_NEW_VERSION, KEEP = "follow_new_version", "keep"
OPEN_COMPLAINTS_CHOICES = (FOLLOW_NEW_VERSION, KEEP)
DEADLINE_RECOMPUTED = "deadline_recomputed"  # the event of a deadline that moved


class Refused(Exception):
    """A change the complaint's rules do not allow now (FAILED_PRECONDITION)."""

    def __init__(self, message: str, subject: str = ""):
        super().__init__(message)
        self.subject = subject


class IllegalTransition(Refused):
    def __init__(self, state: str, action: str, subject: str = ""):
        allowed = sorted(a for (s, a) in TRANSITIONS if s == state)
        super().__init__(
            f"cannot {action.replace('_', ' ')} a complaint that is {state.replace('_', ' ')}"
            f" (allowed: {', '.join(allowed) or 'nothing, it is closed'})",
            subject,
        )


def next_state(state: str, action: str, subject: str = "") -> str:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action, subject) from None


@dataclass(frozen=True)
class Event:
    """One line of a complaint's append-only history."""

    at: datetime.datetime
    actor: str
    action: str
    from_state: str
    to_state: str
    note: str


@dataclass(frozen=True)
class ReturnVisit:
    complaint_id: str
    visited_at: datetime.datetime
    visited_by: str
    satisfaction: int
    comment: str


@dataclass(frozen=True)
class Intake:
    """A complaint as filed: what the caller said, trimmed, the severity defaulted."""

    idempotency_key: str
    licence_number: str
    channel: str
    category: str
    severity: str
    description: str
    received_by: str
    received_at: datetime.datetime | None = None  # None: now

    @classmethod
    def of(cls, **values) -> Intake:
        intake = cls(**values)
        return replace(
            intake,
            idempotency_key=intake.idempotency_key.strip(),
            licence_number=normalise_licence(intake.licence_number),
            received_by=intake.received_by.strip(),
            description=intake.description.strip(),
            severity=intake.severity or DEFAULT_SEVERITY,
        )

    def problems(self, now: datetime.datetime) -> list[tuple[str, str]]:
        found = [
            (name, "is required")
            for name in ("idempotency_key", "licence_number", "received_by")
            if not getattr(self, name)
        ]
        if not self.description:
            found.append(("description", "must not be empty"))
        for name, allowed in (("channel", CHANNELS), ("category", CATEGORIES), ("severity", SEVERITIES)):
            value = getattr(self, name)
            if value not in allowed:
                found.append((name, f"unknown value {value[:40]!r}: use one of {', '.join(allowed)}"))
        if self.received_at is not None:
            found.extend(("received_at", why) for why in received_at_problems(self.received_at, now))
        return found

    def facts(self) -> dict:
        """What the complaint policy decides on."""
        return {"category": self.category, "severity": self.severity, "channel": self.channel}

    def differences(self, complaint: Complaint) -> list[str]:
        """The fields in which this intake differs from a complaint filed under its key.
        A receipt time left out (now) matches whatever the complaint was filed with."""
        pairs = {
            "licence_number": complaint.licence_number,
            "channel": complaint.channel,
            "category": complaint.category,
            "severity": complaint.severity,
            "description": complaint.description,
            "received_by": complaint.owner,
        }
        found = [name for name, value in pairs.items() if getattr(self, name) != value]
        if self.received_at is not None and self.received_at != complaint.received_at:
            found.append("received_at")
        return found


def received_at_problems(moment: datetime.datetime, now: datetime.datetime) -> list[str]:
    if moment < RECEIVED_NOT_BEFORE:
        return [f"must not be before {RECEIVED_NOT_BEFORE.date().isoformat()}"]
    if moment > now + CLOCK_SKEW:
        return ["is in the future"]
    return []


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
    def defaults(cls) -> PolicySnapshot:
        """The documented defaults (docs/complaints.md), as version 0: what a complaint
        is filed under when the policy cannot decide."""
        return cls(
            version=0,
            deadline_working_days=3,
            pause_clock_while_waiting=True,
            warn_at_share=0.75,
            escalation_levels=ESCALATION_LEVELS,
            escalation_interval_working_days=1,
        )

    @classmethod
    def from_outputs(cls, version: int, outputs: dict) -> PolicySnapshot:
        """A decision's outputs; what the rule set left out keeps its default."""
        default = cls.defaults()
        return cls(
            version=version,
            deadline_working_days=outputs.get("deadline_working_days", default.deadline_working_days),
            pause_clock_while_waiting=outputs.get(
                "pause_clock_while_waiting", default.pause_clock_while_waiting
            ),
            warn_at_share=outputs.get("warn_at_share", default.warn_at_share),
            escalation_levels=tuple(outputs.get("escalation_levels", default.escalation_levels)),
            escalation_interval_working_days=outputs.get(
                "escalation_interval_working_days", default.escalation_interval_working_days
            ),
        )


def follows_new_version(outputs: dict) -> bool:
    """Whether a policy decision says the complaint's deadline follows its version when the
    complaint is still open at the version's activation (output open_complaints)."""
    return outputs.get("open_complaints", KEEP) == FOLLOW_NEW_VERSION


@dataclass
class Complaint:
    id: str
    idempotency_key: str
    licence_number: str
    channel: str
    category: str
    severity: str
    description: str
    owner: str  # who received it: accountable until closed (首问责任制)
    handler: str  # who works on it now
    team_id: str
    state: str
    received_at: datetime.datetime
    policy: PolicySnapshot
    deadline_at: datetime.datetime
    deadline_estimated: bool
    needs_verification: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime
    warn_at: datetime.datetime | None = None
    warned_at: datetime.datetime | None = None
    overdue_at: datetime.datetime | None = None
    escalation_level: int = 0
    escalated_to: str = ""
    next_escalation_at: datetime.datetime | None = None
    paused_at: datetime.datetime | None = None
    paused_working_days: int = 0  # working days the clock stood still, added to the deadline
    resolved_at: datetime.datetime | None = None
    resolution_working_days: int | None = None
    return_visit_due_at: datetime.datetime | None = None
    satisfaction: int | None = None

    # -- intake -------------------------------------------------------------------------
    @classmethod
    def file(
        cls,
        intake: Intake,
        *,
        complaint_id: str,
        team_id: str,
        needs_verification: bool,
        policy: PolicySnapshot,
        calendar: WorkingCalendar,
        moment: datetime.datetime,
    ) -> tuple[Complaint, list[Event]]:
        received_at = intake.received_at or moment
        deadline = calendar.deadline(received_at, policy.deadline_working_days)
        complaint = cls(
            id=complaint_id,
            idempotency_key=intake.idempotency_key,
            licence_number=intake.licence_number,
            channel=intake.channel,
            category=intake.category,
            severity=intake.severity,
            description=intake.description,
            owner=intake.received_by,
            handler=intake.received_by,
            team_id=team_id,
            state=RECEIVED,
            received_at=received_at,
            policy=policy,
            deadline_at=deadline.due_at,
            deadline_estimated=deadline.estimated,
            needs_verification=needs_verification,
            created_at=moment,
            updated_at=moment,
        )
        complaint._schedule()
        note = "customer not verified: classification unreachable" if needs_verification else ""
        return complaint, [Event(moment, intake.received_by, "file", "", RECEIVED, note)]

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def facts(self) -> dict:
        """What the complaint policy decides on (as at intake)."""
        return {"category": self.category, "severity": self.severity, "channel": self.channel}

    # -- the clock ----------------------------------------------------------------------
    def _set_deadline(self, due_at: datetime.datetime, estimated: bool) -> None:
        self.deadline_at, self.deadline_estimated = due_at, estimated
        self._schedule()

    def _schedule(self) -> None:
        """The warning and, before the first level, the first escalation follow the deadline."""
        self.warn_at = self.received_at + (self.deadline_at - self.received_at) * self.policy.warn_at_share
        if self.escalation_level == 0:
            self.next_escalation_at = self.deadline_at if self.policy.escalation_levels else None

    def _resume_clock(self, moment: datetime.datetime, calendar: WorkingCalendar) -> None:
        """Waiting on the retailer stopped the clock: the deadline moves on by the working
        days d with pause day < d <= resume day (not once the deadline has passed)."""
        paused, self.paused_at = self.paused_at, None
        days, _ = calendar.working_days_between(local_date(paused), local_date(moment))
        if days and self.overdue_at is None:
            deadline = calendar.extend(self.deadline_at, days)
            self.paused_working_days += days
            self._set_deadline(deadline.due_at, self.deadline_estimated or deadline.estimated)

    def recompute_deadline(
        self, calendar: WorkingCalendar, moment: datetime.datetime, why: str
    ) -> list[Event]:
        """The deadline on a changed calendar (the paused days still added); an event
        when it moved or stopped being an estimate."""
        deadline = calendar.deadline(
            self.received_at, self.policy.deadline_working_days + self.paused_working_days
        )
        if (deadline.due_at, deadline.estimated) == (self.deadline_at, self.deadline_estimated):
            return []
        before = self.deadline_at
        self._set_deadline(deadline.due_at, deadline.estimated)
        self.updated_at = moment
        note = f"{why}: {before.isoformat()} -> {deadline.due_at.isoformat()}"
        return [Event(moment, SYSTEM, DEADLINE_RECOMPUTED, self.state, self.state, note)]

    def may_follow(self, version: int, moment: datetime.datetime) -> bool:
        """Whether a newly activated policy ``version`` may still move this complaint's
        deadline: it is open, decided on another version, and its deadline has not passed
        (a deadline that passed, and the overdue it made, stand)."""
        return (
            self.is_open
            and self.policy.version != version
            and self.overdue_at is None
            and self.deadline_at > moment
        )

    def follow_policy(
        self, policy: PolicySnapshot, calendar: WorkingCalendar, moment: datetime.datetime
    ) -> list[Event]:
        """A newly activated version whose decision for this complaint says open complaints
        follow it: the complaint takes its snapshot, and its deadline (the paused days still
        added), warning and next escalation are computed again under it. One event: the
        deadline moved, or it stayed where it was. Nothing when the complaint may not follow."""
        if not self.may_follow(policy.version, moment):
            return []
        before, before_days, before_version = (
            self.deadline_at,
            self.policy.deadline_working_days,
            self.policy.version,
        )
        self.policy = policy
        deadline = calendar.deadline(
            self.received_at, policy.deadline_working_days + self.paused_working_days
        )
        self._set_deadline(deadline.due_at, deadline.estimated)
        if self.escalation_level:  # escalated by hand: the next level on the new ladder
            self.next_escalation_at = self._next_escalation(calendar)
        self.updated_at = moment
        why = (
            f"complaint-policy version {policy.version} (was {before_version}) says open complaints follow it"
        )
        if deadline.due_at == before:
            note = f"{why}: deadline unchanged at {before.isoformat()}"
            return [Event(moment, SYSTEM, "policy_followed", self.state, self.state, note)]
        note = (
            f"{why}: {before_days} -> {policy.deadline_working_days} working days,"
            f" {before.isoformat()} -> {deadline.due_at.isoformat()}"
        )
        return [Event(moment, SYSTEM, DEADLINE_RECOMPUTED, self.state, self.state, note)]

    # -- the state machine --------------------------------------------------------------
    def act(
        self, action: str, actor: str, note: str, moment: datetime.datetime, calendar: WorkingCalendar
    ) -> list[Event]:
        after = next_state(self.state, action, self.id)
        before, events = self.state, []
        if before == WAITING and self.paused_at is not None:
            self._resume_clock(moment, calendar)
        if after == WAITING and self.policy.pause_clock_while_waiting:
            self.paused_at = moment
        if after == RESOLVED:
            self.resolved_at = moment
            self.resolution_working_days, _ = calendar.working_days_between(
                local_date(self.received_at), local_date(moment)
            )
            due, _ = calendar.add_working_days(local_date(moment), RETURN_VISIT_AFTER_WORKING_DAYS)
            self.return_visit_due_at = datetime.datetime.combine(due, datetime.time(9), tzinfo=datetime.UTC)
            self.next_escalation_at = None
        if after == REOPENED:
            self.resolved_at = None
            self.next_escalation_at = self._next_escalation(calendar) if self.overdue_at else self.deadline_at
        if action == "escalate":
            by_hand = "escalated by hand: " + note if note else "escalated by hand"
            events = self._escalate_one(actor, by_hand, moment, calendar)
        self.state, self.updated_at = after, moment
        return [*events, Event(moment, actor, action, before, after, note)]

    def hand_off(self, handler: str, reason: str, actor: str, moment: datetime.datetime) -> list[Event]:
        if not self.is_open:
            raise Refused(
                f"complaint {self.id} is {self.state}; only open complaints are handed off", self.id
            )
        before, self.handler, self.updated_at = self.handler, handler, moment
        note = f"{before} -> {handler}: {reason} (owner stays {self.owner})"
        return [Event(moment, actor, "hand_off", self.state, self.state, note)]

    def record_return_visit(
        self,
        satisfaction: int,
        comment: str,
        visited_by: str,
        moment: datetime.datetime,
        calendar: WorkingCalendar,
    ) -> tuple[list[Event], ReturnVisit]:
        """A return visit (回访); a dissatisfied customer reopens the complaint."""
        note = f"satisfaction {satisfaction}: {comment}"
        events = self.act("record_return_visit", visited_by, note, moment, calendar)
        self.satisfaction = satisfaction
        if satisfaction <= DISSATISFIED_AT_MOST:
            events += self.act("reopen", visited_by, "dissatisfied at the return visit", moment, calendar)
        return events, ReturnVisit(self.id, moment, visited_by, satisfaction, comment)

    @property
    def reopened(self) -> bool:
        return self.state == REOPENED

    def verify_customer(self, team_id: str, moment: datetime.datetime) -> list[Event]:
        """Classification has confirmed the customer of a complaint filed unverified."""
        self.needs_verification, self.team_id, self.updated_at = False, team_id, moment
        return [Event(moment, SYSTEM, "customer_verified", self.state, self.state, f"team {team_id}")]

    # -- the escalation ladder ----------------------------------------------------------
    def _next_escalation(self, calendar: WorkingCalendar) -> datetime.datetime | None:
        if self.escalation_level >= len(self.policy.escalation_levels):
            return None
        steps = self.escalation_level * self.policy.escalation_interval_working_days
        return calendar.extend(self.deadline_at, steps).due_at  # 0 steps: the deadline itself

    def _escalate_one(
        self, actor: str, note: str, moment: datetime.datetime, calendar: WorkingCalendar
    ) -> list[Event]:
        if self.escalation_level >= len(self.policy.escalation_levels):
            raise Refused(f"complaint {self.id} is already at the top escalation level", self.id)
        self.escalation_level += 1
        self.escalated_to = self.policy.escalation_levels[self.escalation_level - 1]
        self.next_escalation_at = self._next_escalation(calendar)
        return [Event(moment, actor, f"escalate_to_{self.escalated_to}", self.state, self.state, note)]

    def escalate_when_due(self, moment: datetime.datetime, calendar: WorkingCalendar) -> list[Event]:
        """The sweep: past its deadline the complaint is overdue, and climbs every level of
        the ladder that has fallen due by ``moment``, each recorded."""
        events: list[Event] = []
        if self.overdue_at is None:
            self.overdue_at = self.deadline_at
        while self.next_escalation_at is not None and self.next_escalation_at <= moment:
            events += self._escalate_one(
                SYSTEM, f"deadline {self.deadline_at.isoformat()} passed", moment, calendar
            )
        if self.state != ESCALATED and (self.state, "escalate") in TRANSITIONS:
            events.append(Event(moment, SYSTEM, "escalate", self.state, ESCALATED, "overdue"))
            self.state = ESCALATED
        self.updated_at = moment
        return events


def warning(moment: datetime.datetime) -> Event:
    """The event the sweep records once a complaint has used its warning share."""
    return Event(moment, SYSTEM, "warn", "", "", "share of the time used")


@dataclass(frozen=True)
class Outcome:
    """One complaint as statistics see it."""

    key: str  # owner or team
    resolved_at: datetime.datetime | None
    deadline_at: datetime.datetime
    overdue_at: datetime.datetime | None
    resolution_working_days: int | None
    satisfaction: int | None


@dataclass(frozen=True)
class Figures:
    key: str
    received: int
    resolved: int
    resolved_on_time: int
    overdue: int
    mean_working_days_to_resolve: float
    mean_satisfaction: float  # 0 when there was no return visit


@dataclass
class _Tally:
    received: int = 0
    resolved: int = 0
    on_time: int = 0
    overdue: int = 0
    days: list = field(default_factory=list)
    satisfaction: list = field(default_factory=list)


def figures(outcomes: Iterable[Outcome]) -> list[Figures]:
    """Per owner or team: received, resolved (on time), overdue, the means; by key."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for outcome in outcomes:
        tally = tallies[outcome.key]
        tally.received += 1
        if outcome.resolved_at is not None:
            tally.resolved += 1
            tally.on_time += outcome.resolved_at <= outcome.deadline_at
            tally.days.append(outcome.resolution_working_days or 0)
        tally.overdue += outcome.overdue_at is not None
        if outcome.satisfaction:
            tally.satisfaction.append(outcome.satisfaction)
    return [
        Figures(
            key=key,
            received=t.received,
            resolved=t.resolved,
            resolved_on_time=t.on_time,
            overdue=t.overdue,
            mean_working_days_to_resolve=statistics.fmean(t.days) if t.days else 0.0,
            mean_satisfaction=statistics.fmean(t.satisfaction) if t.satisfaction else 0.0,
        )
        for key, t in sorted(tallies.items())
    ]
