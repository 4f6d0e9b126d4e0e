"""PDCA improvement plans (计划-执行-检查-处理): opened by a low result or by a broken
commitment (an upheld supervision finding), moved through their states by people, every
move kept in an audit trail."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from services.evaluation.domain.errors import Invalid, Refused, require

PLAN, DO, CHECK, ACT, CLOSED = "plan", "do", "check", "act", "closed"
STATES = (PLAN, DO, CHECK, ACT, CLOSED)
MOVES = {PLAN: (DO,), DO: (CHECK,), CHECK: (ACT, DO), ACT: (CLOSED, PLAN), CLOSED: ()}


@dataclass(frozen=True)
class PlanEvent:
    at: datetime.datetime
    by: str
    from_state: str
    to_state: str
    note: str = ""


@dataclass(frozen=True)
class ImprovementPlan:
    id: str
    subject_id: str
    subject_kind: str
    period_id: str
    trigger_score: float
    threshold: float
    owner_id: str
    due_on: datetime.date
    state: str = PLAN
    actions: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    events: tuple[PlanEvent, ...] = ()
    follow_up_period_id: str = ""
    follow_up_score: float = 0.0
    finding_id: str = ""  # set when an upheld finding (a broken commitment) opened it

    @property
    def trigger(self) -> str:
        return "breach" if self.finding_id else "score"

    @classmethod
    def open(cls, plan_id, subject_id, subject_kind, period_id, score, threshold, owner_id, due_on, at):
        event = PlanEvent(
            at, "system", "", PLAN, f"score {score:g} below {threshold:g} in period {period_id}"
        )
        return cls(
            plan_id, subject_id, subject_kind, period_id, score, threshold, owner_id, due_on, events=(event,)
        )

    @classmethod
    def for_breach(cls, plan_id, finding, period_id, due_on, at):
        """The plan a broken commitment opens for the responsible staff member, who owns it;
        the period is the one the finding falls in (a later period's result follows it up)."""
        if not finding.broken_commitment:
            raise Refused(
                f"finding {finding.id} is {finding.state}; only an upheld finding opens a plan", finding.id
            )
        note = (
            f"broken commitment: finding {finding.id} ({finding.kind} of {finding.service} "
            f"for {finding.licence_number}) upheld in period {period_id}"
        )
        event = PlanEvent(at, finding.decided_by or "system", "", PLAN, note)
        return cls(
            plan_id,
            finding.staff_id,
            "staff",
            period_id,
            0.0,
            0.0,
            finding.staff_id,
            due_on,
            events=(event,),
            finding_id=finding.id,
        )

    def overdue(self, today: datetime.date) -> bool:
        return self.state != CLOSED and today > self.due_on

    def advance(
        self, by: str, to_state: str, actions, evidence, note: str, at: datetime.datetime
    ) -> ImprovementPlan:
        problems = []
        if not by.strip():
            problems.append(("by", "is required"))
        if any(not text.strip() or len(text) > 2000 for text in [*actions, *evidence]):
            problems.append(("add_actions", "each action and piece of evidence is 1-2000 characters"))
        if len(note) > 2000:
            problems.append(("note", "at most 2000 characters"))
        require(problems)
        if self.state == CLOSED:
            raise Refused(f"plan {self.id} is closed", self.id)
        if to_state and to_state not in MOVES[self.state]:
            allowed = ", ".join(MOVES[self.state])
            raise Refused(f"plan {self.id} is in {self.state}; it can move to {allowed}", self.id)
        if to_state == CHECK and not (self.evidence or evidence):
            raise Invalid([("add_evidence", "checking a plan needs evidence of what was done")])
        if to_state == DO and self.state == PLAN and not (self.actions or actions):
            raise Invalid([("add_actions", "a plan needs actions before it is carried out")])
        event = PlanEvent(at, by, self.state, to_state or self.state, note)
        return replace(
            self,
            state=to_state or self.state,
            actions=self.actions + tuple(actions),
            evidence=self.evidence + tuple(evidence),
            events=self.events + (event,),
        )

    def followed_up(self, period_id: str, score: float) -> ImprovementPlan:
        return replace(self, follow_up_period_id=period_id, follow_up_score=score)
