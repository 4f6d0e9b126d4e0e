"""Domain objects <-> evaluation protobuf messages."""

from __future__ import annotations

import datetime
import json

from retailcare.evaluation.v1 import evaluation_pb2 as pb

from services.common.errors import InvalidArgument
from services.common.licences import normalise_licence
from services.common.times import from_timestamp, to_timestamp
from services.evaluation.domain.people import Membership, Staff, Team
from services.evaluation.domain.periods import PUBLISHED, Period, ScoredOn
from services.evaluation.domain.plans import ImprovementPlan
from services.evaluation.domain.ratings import MODES, Rating
from services.evaluation.domain.results import PeriodResult
from services.evaluation.domain.return_visits import (
    DELIVERED_NOT_RECORDED,
    RECORDED_NOT_DELIVERED,
    Discrepancy,
    ReturnVisitTask,
)
from services.evaluation.domain.supervision import CommitmentCard, Finding
from services.evaluation.domain.supervision_report import LISTED_DISCREPANCIES, SupervisionReport
from services.evaluation.domain.visits import VisitCard, VisitItem

MODE_OF = {
    pb.SELF: "self",
    pb.PEER: "peer",
    pb.INSPECTION: "inspection",
    pb.CUSTOMER_SURVEY: "customer_survey",
    pb.COMPETENCY: "competency",
}
MODE_NUMBER = {name: number for number, name in MODE_OF.items()}
PLAN_STATE_OF = {pb.PLAN: "plan", pb.DO: "do", pb.CHECK: "check", pb.ACT: "act", pb.CLOSED: "closed"}
PLAN_STATE_NUMBER = {name: number for number, name in PLAN_STATE_OF.items()}
FINDING_KIND_OF = {
    pb.FINDING_NOT_DELIVERED: "not_delivered",
    pb.FINDING_STANDARD_NOT_MET: "standard_not_met",
    pb.FINDING_CARD_MISMATCH: "card_mismatch",
}
FINDING_KIND_NUMBER = {name: number for number, name in FINDING_KIND_OF.items()}
FINDING_STATE_NUMBER = {
    "open": pb.FINDING_OPEN,
    "heard": pb.FINDING_HEARD,
    "upheld": pb.FINDING_UPHELD,
    "dismissed": pb.FINDING_DISMISSED,
}
DISCREPANCY_KIND_NUMBER = {
    RECORDED_NOT_DELIVERED: pb.RECORDED_NOT_DELIVERED,
    DELIVERED_NOT_RECORDED: pb.DELIVERED_NOT_RECORDED,
}
assert set(MODE_NUMBER) == set(MODES)


def _day(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def staff_from(message: pb.Staff) -> Staff:
    return Staff(
        message.id.strip(), message.name.strip(), message.role, message.line, message.level, message.active
    )


def staff_message(staff: Staff) -> pb.Staff:
    return pb.Staff(
        id=staff.id, name=staff.name, role=staff.role, line=staff.line, level=staff.level, active=staff.active
    )


def team_message(team: Team) -> pb.Team:
    return pb.Team(id=team.id, name=team.name)


def membership_message(m: Membership) -> pb.Membership:
    return pb.Membership(
        staff_id=m.staff_id,
        team_id=m.team_id,
        specialty=m.specialty,
        from_date=_day(m.from_date),
        to_date=_day(m.to_date),
    )


def scored_on_message(scored: ScoredOn) -> pb.ScoredOn:
    return pb.ScoredOn(
        rule_set_version=scored.version,
        active_rule_set_version=scored.active_version,
        newer_version_active=scored.newer_version_active,
    )


def period_message(p: Period, scored: ScoredOn | None = None) -> pb.Period:
    return pb.Period(
        scored_on=scored_on_message(scored) if scored is not None else None,
        id=p.id,
        kind=p.kind,
        starts_on=_day(p.starts_on),
        ends_on=_day(p.ends_on),
        state=pb.PUBLISHED if p.state == PUBLISHED else pb.OPEN,
        runs=p.runs,
        last_run_at=to_timestamp(p.last_run_at),
        published_at=to_timestamp(p.published_at),
        published_by=p.published_by,
    )


def card_from(request: pb.RecordVisitCardRequest) -> VisitCard:
    return VisitCard(
        id="",
        staff_id=request.staff_id.strip(),
        licence_number=normalise_licence(request.licence_number),
        visited_at=from_timestamp(request, "visited_at")
        or datetime.datetime.min.replace(tzinfo=datetime.UTC),
        items=tuple(VisitItem(i.service.strip(), tuple(i.steps_done), i.note) for i in request.items),
        notes=request.notes,
        supersedes_card_id=request.supersedes_card_id.strip(),
        corrected_by=request.corrected_by.strip(),
        correction_reason=request.correction_reason.strip(),
    )


def card_message(card: VisitCard) -> pb.VisitCard:
    return pb.VisitCard(
        id=card.id,
        staff_id=card.staff_id,
        licence_number=card.licence_number,
        visited_at=to_timestamp(card.visited_at),
        items=[
            pb.VisitItem(service=i.service, steps_done=list(i.steps_done), note=i.note) for i in card.items
        ],
        notes=card.notes,
        checked=card.checked,
        entitlements_version=card.entitlements_version,
        visits_per_month_due=card.visits_per_month_due,
        omissions=[
            pb.Omission(service=o.service, step=o.step, description=o.description) for o in card.omissions
        ],
        supersedes_card_id=card.supersedes_card_id,
        superseded_by_card_id=card.superseded_by_card_id,
        corrected_by=card.corrected_by,
        correction_reason=card.correction_reason,
        recorded_at=to_timestamp(card.recorded_at),
    )


def rating_from(message: pb.Rating) -> Rating:
    return Rating(
        period_id=message.period_id.strip(),
        mode=MODE_OF.get(message.mode, ""),
        rater_id=message.rater_id.strip(),
        subject_id=message.subject_id.strip(),
        score=message.score,
        answers=tuple(message.answers),
        comment=message.comment,
    )


def rating_message(r: Rating) -> pb.Rating:
    return pb.Rating(
        period_id=r.period_id,
        mode=MODE_NUMBER[r.mode],
        rater_id=r.rater_id,
        subject_id=r.subject_id,
        score=r.score,
        answers=list(r.answers),
        comment=r.comment,
        revision=r.revision,
        recorded_at=to_timestamp(r.recorded_at),
    )


def result_message(r: PeriodResult) -> pb.Result:
    return pb.Result(
        period_id=r.period_id,
        subject_id=r.subject_id,
        subject_kind=r.subject_kind,
        team_id=r.team_id,
        role=r.role,
        total_score=r.total_score,
        grade=r.grade,
        pay_coefficient=r.pay_coefficient,
        indicators=[pb.IndicatorScore(**item) for item in r.indicators],
        modes=[pb.ModeScore(**{**item, "mode": MODE_NUMBER[item["mode"]]}) for item in r.modes],
        rule_set=r.rule_set,
        rule_set_version=r.rule_set_version,
        opened_plan_id=r.opened_plan_id,
        follows_up_plan_ids=list(r.follows_up_plan_ids),
        run=r.run,
        graded=r.graded,
    )


def plan_message(plan: ImprovementPlan, today: datetime.date) -> pb.ImprovementPlan:
    return pb.ImprovementPlan(
        id=plan.id,
        subject_id=plan.subject_id,
        subject_kind=plan.subject_kind,
        period_id=plan.period_id,
        trigger_score=plan.trigger_score,
        threshold=plan.threshold,
        state=PLAN_STATE_NUMBER[plan.state],
        owner_id=plan.owner_id,
        due_on=_day(plan.due_on),
        actions=list(plan.actions),
        evidence=list(plan.evidence),
        events=[
            pb.PlanEvent(
                at=to_timestamp(e.at),
                by=e.by,
                from_state=PLAN_STATE_NUMBER.get(e.from_state, 0),
                to_state=PLAN_STATE_NUMBER[e.to_state],
                note=e.note,
            )
            for e in plan.events
        ],
        follow_up_period_id=plan.follow_up_period_id,
        follow_up_score=plan.follow_up_score,
        overdue=plan.overdue(today),
        finding_id=plan.finding_id,
    )


# ---- supervision ---------------------------------------------------------------------


def commitment_card_message(card: CommitmentCard) -> pb.CommitmentCard:
    return pb.CommitmentCard(
        licence_number=card.licence_number,
        version=card.version,
        issued_at=to_timestamp(card.issued_at),
        entitlements_version=card.entitlements_version,
        responsible_person=card.responsible_person,
        team_id=card.team_id,
        items=[
            pb.CommitmentItem(
                service=item.service,
                name=item.name,
                kind=item.kind,
                procedure_steps=item.procedure_steps,
                standard=item.standard,
                commitment=item.commitment,
                parameters_json=json.dumps(item.parameters, sort_keys=True, ensure_ascii=False),
            )
            for item in card.items
        ],
    )


def finding_from(message: pb.Finding) -> Finding:
    """The finding as given; an unset found_at stays None (the use case puts now)."""
    try:
        found_at = from_timestamp(message, "found_at")
    except (ValueError, OverflowError):
        raise InvalidArgument([("finding.found_at", "is not a valid time")]) from None
    return Finding(
        id="",
        inspector_id=message.inspector_id.strip(),
        licence_number=normalise_licence(message.licence_number),
        service=message.service.strip(),
        kind=FINDING_KIND_OF.get(message.kind, ""),
        evidence=tuple(message.evidence),
        found_at=found_at,
        staff_id=message.staff_id.strip(),
    )


def finding_message(finding: Finding) -> pb.Finding:
    return pb.Finding(
        id=finding.id,
        inspector_id=finding.inspector_id,
        licence_number=finding.licence_number,
        staff_id=finding.staff_id,
        team_id=finding.team_id,
        service=finding.service,
        kind=FINDING_KIND_NUMBER.get(finding.kind, pb.FINDING_KIND_UNSPECIFIED),
        evidence=finding.evidence,
        found_at=to_timestamp(finding.found_at),
        state=FINDING_STATE_NUMBER[finding.state],
        response=finding.response,
        heard_at=to_timestamp(finding.heard_at),
        decided_by=finding.decided_by,
        decision_note=finding.decision_note,
        decided_at=to_timestamp(finding.decided_at),
        card_version=finding.card_version,
    )


def task_message(task: ReturnVisitTask, today: datetime.date) -> pb.ReturnVisitTask:
    return pb.ReturnVisitTask(
        id=task.id,
        period_id=task.period_id,
        licence_number=task.licence_number,
        star_level=task.star_level,
        zone=task.zone,
        assignee_id=task.assignee_id,
        due_on=_day(task.due_on),
        closed=task.state == "closed",
        satisfaction=task.satisfaction,
        opinion=task.opinion,
        delivered=[pb.DeliveredItem(service=s, delivered=d) for s, d in task.delivered],
        answered_by=task.answered_by,
        answered_at=to_timestamp(task.answered_at),
        overdue=task.overdue(today),
        staff_id=task.staff_id,
        card_version=task.card_version,
        discrepancies=[discrepancy_message(d) for d in task.discrepancies],
    )


def discrepancy_message(d: Discrepancy) -> pb.Discrepancy:
    return pb.Discrepancy(
        service=d.service,
        kind=DISCREPANCY_KIND_NUMBER[d.kind],
        visit_card_ids=d.card_ids,
        description=d.description,
    )


def report_message(report: SupervisionReport) -> pb.GetSupervisionReportResponse:
    return pb.GetSupervisionReportResponse(
        period_id=report.period_id,
        starts_on=_day(report.starts_on),
        ends_on=_day(report.ends_on),
        planned=report.planned,
        answered=report.answered,
        zones=[
            pb.ZoneSupervision(
                zone=z.zone,
                planned=z.planned,
                answered=z.answered,
                coverage=z.coverage,
                satisfaction=z.satisfaction,
                discrepancies=z.discrepancies,
            )
            for z in report.zones
        ],
        items=[
            pb.ItemSupervision(
                service=i.service,
                asked=i.asked,
                undelivered=i.undelivered,
                findings=i.findings,
                upheld=i.upheld,
            )
            for i in report.items
        ],
        teams=[
            pb.TeamSupervision(team_id=t.team_id, findings=t.findings, upheld=t.upheld) for t in report.teams
        ],
        discrepancies=[
            pb.ReportDiscrepancy(
                task_id=line.task_id,
                licence_number=line.licence_number,
                zone=line.zone,
                staff_id=line.staff_id,
                discrepancy=discrepancy_message(
                    Discrepancy(line.service, line.kind, line.card_ids, line.description)
                ),
            )
            for line in report.discrepancies[:LISTED_DISCREPANCIES]
        ],
        discrepancies_total=len(report.discrepancies),
    )
