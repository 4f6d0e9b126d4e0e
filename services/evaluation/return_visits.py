"""Return-visit use cases (定期回访): plan a period's visits by the sampling rule set,
record answers (checked against the customer's commitment card and the period's visit
cards), list tasks. One transaction each; classification is asked outside any."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from services.common import times
from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from services.evaluation import metrics
from services.evaluation.domain.errors import Invalid
from services.evaluation.domain.people import check_id, parse_date
from services.evaluation.domain.return_visits import ReturnVisitTask, answer_problems, assign, sample
from services.evaluation.domain.supervision import CommitmentCard
from services.evaluation.ports import CustomerDirectory, UnitOfWork
from services.evaluation.service_layer import domain_errors

RULE_SET = "return-visit-sampling"
ASSIGNEE_ROLES = ("phone_order_clerk", "inspector")


class ReturnVisitPlanning:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        rule_sets,
        directory: CustomerDirectory,
        commitment_card: Callable[[str], tuple[CommitmentCard, bool]],
    ):
        self.unit_of_work = unit_of_work
        self.rule_sets = rule_sets
        self.directory = directory
        self.commitment_card = commitment_card  # the customer's current card (Supervision)

    def plan(
        self, period_id: str, assignee_ids: list[str], due_on: str
    ) -> tuple[int, list[ReturnVisitTask], int]:
        """(customers considered, tasks made, rule-set version)."""
        problems = check_id("period_id", period_id)
        if not assignee_ids:
            problems.append(("assignee_ids", "name at least one phone-order clerk or inspector"))
        for index, staff_id in enumerate(assignee_ids):
            problems += check_id(f"assignee_ids[{index}]", staff_id)
        try:
            due = parse_date("due_on", due_on)
        except Invalid as error:
            problems += error.violations
        if problems:
            raise InvalidArgument(problems)
        with self.unit_of_work() as uow:
            self._check_plannable(uow, period_id, assignee_ids)
        customers = self.directory.active_customers()
        inputs = self.rule_sets.serving(RULE_SET).document.inputs
        shares: dict[tuple[int, str], float] = {}
        version = 0

        def share_of(star_level: int, zone: str) -> float:
            nonlocal version
            if (star_level, zone) not in shares:
                facts = {"star_level": star_level, "zone": zone or None}
                facts = {k: v for k, v in facts.items() if k in inputs and v is not None}
                decision = self.rule_sets.decide(RULE_SET, facts)
                shares[(star_level, zone)] = float(decision.outputs.get("share", 0))
                version = decision.version
            return shares[(star_level, zone)]

        with domain_errors():
            chosen = sample(customers, share_of, period_id)
        tasks = [
            ReturnVisitTask(
                uuid.uuid4().hex, period_id, c.licence_number, c.star_level, c.zone, staff_id, due
            )
            for c, staff_id in assign(chosen, assignee_ids)
        ]
        with self.unit_of_work() as uow:
            self._check_plannable(uow, period_id, assignee_ids, lock=True)  # again, while writing
            uow.return_visits.add_all(tasks)
        for task in tasks:
            metrics.RETURN_VISITS_PLANNED.labels(task.zone).inc()
        return len(customers), tasks, version

    def answer(self, task_id: str, by: str, satisfaction, opinion: str, delivered) -> ReturnVisitTask:
        # Everything but the card first: bad input is refused even when classification is away.
        problems = check_id("task_id", task_id) + answer_problems(by, satisfaction, opinion, delivered)
        if problems:
            raise InvalidArgument(problems)
        with self.unit_of_work() as uow:
            task = uow.return_visits.get(task_id)
            if task is None:
                raise NotFound("return visit", task_id)
        card, _ = self.commitment_card(task.licence_number)
        with domain_errors(), self.unit_of_work() as uow:
            task = uow.return_visits.get(task_id, lock=True)
            window = uow.periods.get(task.period_id).window()
            recorded: dict[str, tuple[str, ...]] = {}
            for visit in uow.cards.find("", task.licence_number, window, False):
                for item in visit.items:
                    recorded[item.service] = (*recorded.get(item.service, ()), visit.id)
            task = task.answered(
                by, list(satisfaction), opinion, list(delivered), times.now(), card, recorded
            )
            uow.return_visits.update(task)
        metrics.RETURN_VISITS_ANSWERED.labels(task.zone).inc()
        for answer in task.satisfaction:
            metrics.RETURN_VISIT_SATISFACTION.labels(task.zone).observe(answer)
        for service, delivered in task.delivered:
            if not delivered:
                metrics.RETURN_VISIT_UNDELIVERED.labels(service).inc()
        for found in task.discrepancies:
            metrics.RETURN_VISIT_DISCREPANCIES.labels(found.service, found.kind).inc()
        return task

    def tasks(self, period_id: str, assignee_id: str, overdue_only: bool) -> list[ReturnVisitTask]:
        problems = check_id("period_id", period_id)
        if problems:
            raise InvalidArgument(problems)
        today = times.now().date()
        with self.unit_of_work() as uow:
            tasks = uow.return_visits.of_period(period_id, assignee_id)
        return [t for t in tasks if t.overdue(today)] if overdue_only else tasks

    @staticmethod
    def _check_plannable(uow, period_id: str, assignee_ids: list[str], lock: bool = False) -> None:
        """``lock``: in the writing transaction, hold the period's row, so that of two plans
        of one period made at once the second sees the first's tasks (PostgreSQL)."""
        if uow.periods.get(period_id, lock=lock) is None:
            raise NotFound("period", period_id)
        problems = []
        for index, staff_id in enumerate(assignee_ids):
            staff = uow.people.staff(staff_id)
            if staff is None or staff.role not in ASSIGNEE_ROLES:
                problems.append((f"assignee_ids[{index}]", "must be a phone-order clerk or an inspector"))
        if problems:
            raise InvalidArgument(problems)
        if uow.return_visits.planned(period_id):
            raise AlreadyExists("return-visit plan", period_id)
