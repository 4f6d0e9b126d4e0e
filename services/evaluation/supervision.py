"""Supervision use cases (服务监督): commitment cards, inspection findings, their hearing
and decision (which can open an improvement plan), the period's supervision report.
One transaction each; other services are asked outside any transaction."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import replace

from services.common import times
from services.common.errors import InvalidArgument, NotFound
from services.evaluation import metrics
from services.evaluation.domain import supervision_report
from services.evaluation.domain.errors import Missing
from services.evaluation.domain.people import check_id, parse_date
from services.evaluation.domain.plans import ImprovementPlan
from services.evaluation.domain.supervision import CommitmentCard, Finding
from services.evaluation.ports import CustomerDirectory, UnitOfWork
from services.evaluation.rules import subject_facts
from services.evaluation.service_layer import RULE_SET, domain_errors

DEFAULT_PLAN_DUE_DAYS = 30


class Supervision:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], directory: CustomerDirectory, rule_sets=None):
        self.unit_of_work = unit_of_work
        self.directory = directory
        self.rule_sets = rule_sets  # kpi-scoring says when a plan is due

    def commitment_card(self, licence_number: str, on_date: str = "") -> tuple[CommitmentCard, bool]:
        """(card, issued now). Without a date: the live menu's card, issued as a new
        version when it differs from the last one. With a date: the version held then."""
        problems = check_id("licence_number", licence_number)
        if problems:
            raise InvalidArgument(problems)
        if on_date:
            with domain_errors():
                day = parse_date("on_date", on_date)
            end_of_day = datetime.datetime.combine(
                day + datetime.timedelta(days=1), datetime.time(), datetime.UTC
            ) - datetime.timedelta(microseconds=1)
            with self.unit_of_work() as uow:
                card = uow.commitment_cards.latest(licence_number, end_of_day)
            if card is None:
                raise NotFound("commitment card", f"{licence_number} on {on_date}")
            return card, False
        live = self._live_card(licence_number)
        with self.unit_of_work() as uow:
            issued = live.issued_after(uow.commitment_cards.latest(licence_number), times.now())
            if issued is None:
                return uow.commitment_cards.latest(licence_number), False
            uow.commitment_cards.add(issued)
        metrics.COMMITMENT_CARDS.inc()
        return issued, True

    def record_finding(self, finding: Finding) -> Finding:
        moment = times.now()
        finding = replace(finding, id=uuid.uuid4().hex, found_at=finding.found_at or moment)
        with domain_errors():
            finding.validate(moment)
        with self.unit_of_work() as uow:
            problems = []
            if uow.people.staff(finding.inspector_id) is None:
                problems.append(("finding.inspector_id", f"no staff member {finding.inspector_id}"))
            if finding.staff_id and uow.people.staff(finding.staff_id) is None:
                problems.append(("finding.staff_id", f"no staff member {finding.staff_id}"))
            if problems:
                raise InvalidArgument(problems)
        card, _ = self.commitment_card(finding.licence_number)
        with domain_errors():
            finding = finding.against(card)
        if not finding.staff_id:
            raise InvalidArgument(
                [
                    (
                        "finding.staff_id",
                        "the customer has no customer manager; name the responsible staff member",
                    )
                ]
            )
        with self.unit_of_work() as uow:
            uow.findings.add(finding)
        metrics.FINDINGS.labels(finding.service, finding.kind).inc()
        return finding

    def record_hearing(self, finding_id: str, response: str) -> Finding:
        with domain_errors(), self.unit_of_work() as uow:
            finding = self._finding(uow, finding_id).heard(response, times.now())
            uow.findings.update(finding)
            return finding

    def decide_finding(
        self, finding_id: str, upheld: bool, by: str, note: str, open_plan: bool = False
    ) -> tuple[Finding, ImprovementPlan | None]:
        """The decision; an upheld finding with ``open_plan`` also opens a PDCA plan for the
        responsible staff member in the shortest period the finding falls in."""
        if open_plan and not upheld:
            raise InvalidArgument([("open_plan", "only an upheld finding opens an improvement plan")])
        moment = times.now()
        plan = None
        with domain_errors(), self.unit_of_work() as uow:
            finding = self._finding(uow, finding_id).decided(upheld, by, note, moment)
            if open_plan:
                day = finding.found_at.date()
                periods = uow.periods.containing(day)
                if not periods:
                    raise InvalidArgument(
                        [("open_plan", f"no evaluation period contains {day.isoformat()}; create it first")]
                    )
                period = min(periods, key=lambda p: (p.ends_on - p.starts_on, p.id))
                staff = uow.people.staff(finding.staff_id)
                due = moment.date() + datetime.timedelta(
                    days=self._plan_due_days(staff.role if staff else "")
                )
                plan = ImprovementPlan.for_breach(uuid.uuid4().hex, finding, period.id, due, moment)
                uow.plans.save(plan)
            uow.findings.update(finding)
        if finding.broken_commitment:
            metrics.COMMITMENTS_BROKEN.labels(finding.service).inc()
            metrics.BREACHES.labels(finding.team_id).inc()
        if plan is not None:
            metrics.BREACH_PLANS.inc()
        return finding, plan

    def report(self, period_id: str, language: str = "") -> supervision_report.SupervisionReport:
        """Return-visit coverage and satisfaction by zone, items checked and broken,
        breaches by team and discrepancies, for the period (``language``: the one it will
        be printed in, if any)."""
        problems = check_id("period_id", period_id)
        if language and language not in supervision_report.LANGUAGES:
            problems.append(
                ("language", f"must be one of {', '.join(supervision_report.LANGUAGES)} or empty")
            )
        if problems:
            raise InvalidArgument(problems)
        with self.unit_of_work() as uow:
            period = uow.periods.get(period_id)
            if period is None:
                raise NotFound("period", period_id)
            tasks = uow.return_visits.of_period(period_id)
            findings = uow.findings.found_in(period.window())
        return supervision_report.build(period, tasks, findings)

    def _plan_due_days(self, role: str) -> int:
        if self.rule_sets is None:
            return DEFAULT_PLAN_DUE_DAYS
        inputs = self.rule_sets.serving(RULE_SET).document.inputs
        decision = self.rule_sets.decide(RULE_SET, subject_facts(inputs, "staff", role))
        return int(decision.outputs.get("plan_due_days", DEFAULT_PLAN_DUE_DAYS))

    def findings(self, staff_id: str, licence_number: str, team_id: str) -> list[Finding]:
        if not (staff_id or licence_number or team_id):
            raise InvalidArgument([("staff_id", "give a staff id, a licence number or a team id")])
        with self.unit_of_work() as uow:
            return uow.findings.find(staff_id, licence_number, team_id)

    def _live_card(self, licence_number: str) -> CommitmentCard:
        try:
            return self.directory.commitment_card(licence_number)
        except Missing:
            raise NotFound("customer", licence_number) from None

    @staticmethod
    def _finding(uow, finding_id: str, field: str = "finding_id") -> Finding:
        problems = check_id(field, finding_id)
        if problems:
            raise InvalidArgument(problems)
        finding = uow.findings.get(finding_id, lock=True)
        if finding is None:
            raise NotFound("finding", finding_id)
        return finding
