"""Supervision checks through the gateway, every service a real server, evaluation on
SQLite and PostgreSQL: a return-visit answer is checked against the commitment card and
the visit cards, what the customer says was not delivered lowers the next score, the
period's supervision report counts it and prints it as a PDF in Chinese and English, and
an upheld finding opens an improvement plan."""

import io

import grpc
import pypdf
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb

from services.common import times
from services.common.errors import field_violations
from tests.e2e.supervision.conftest import LICENCE
from tests.e2e.supervision.test_supervision import card, refused, sample


def setup_return_visits(admin):
    ev = admin.evaluation
    admin(
        ev.UpsertStaff,
        epb.UpsertStaffRequest(
            staff=epb.Staff(id="lg-1", name="Sun", role="phone_order_clerk", line="logistics", active=True)
        ),
    )
    menu = admin(admin.classification.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=LICENCE))
    services = [i.description.service for i in menu.items]
    assert "customer_manager_visit" in services
    visited = times.now().replace(microsecond=0)
    visit = admin(
        ev.RecordVisitCard,
        epb.RecordVisitCardRequest(
            staff_id="cm-1",
            licence_number=LICENCE,
            visited_at=times.to_timestamp(visited),
            items=[epb.VisitItem(service="customer_manager_visit", steps_done=[1])],
        ),
    ).card
    plan = admin(
        ev.PlanReturnVisits,
        epb.PlanReturnVisitsRequest(
            period_id="Y", assignee_ids=["lg-1"], due_on=times.now().date().isoformat()
        ),
    )
    (task,) = plan.tasks  # the only customer of its group: always drawn
    assert task.licence_number == LICENCE
    return task, visit, services


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_an_answer_is_checked_scored_and_reported(admin):
    ev = admin.evaluation
    task, visit, services = setup_return_visits(admin)

    def run():
        admin(ev.RunPeriodEvaluation, epb.RunPeriodEvaluationRequest(period_id="Y", run_by="hr-1"))
        results = admin(
            ev.ListPeriodResults, epb.ListPeriodResultsRequest(period_id="Y", subject_kind="staff")
        )
        cm = next(r for r in results.results if r.subject_id == "cm-1")
        return cm, {i.indicator: i for i in cm.indicators}["undelivered_commitments"]

    kept, kept_indicator = run()
    assert (kept_indicator.value, kept_indicator.share) == (0, 1)

    # An item the customer is not entitled to: refused, the task stays open.
    missing = next(
        s for s in ("scarce_brand_supply", "personal_care", "settlement_method") if s not in services
    )
    bad = epb.RecordReturnVisitAnswerRequest(
        task_id=task.id,
        answered_by="lg-1",
        satisfaction=[3],
        delivered=[
            epb.DeliveredItem(service="customer_manager_visit", delivered=False),
            epb.DeliveredItem(service=missing, delivered=False),
        ],
    )
    error = refused(lambda: admin(ev.RecordReturnVisitAnswer, bad), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(error)) == {"delivered[1].service"}
    (still_open,) = admin(ev.ListReturnVisitTasks, epb.ListReturnVisitTasksRequest(period_id="Y")).tasks
    assert not still_open.closed

    answer = epb.RecordReturnVisitAnswerRequest(
        task_id=task.id,
        answered_by="lg-1",
        satisfaction=[2, 3],
        opinion="客户经理本月没有来过",
        delivered=[epb.DeliveredItem(service="customer_manager_visit", delivered=False)],
    )
    labels = {"service": "customer_manager_visit", "kind": "recorded_not_delivered"}
    before = (
        sample("evaluation_return_visit_undelivered_total", service="customer_manager_visit"),
        sample("evaluation_return_visit_discrepancies_total", **labels),
    )
    done = admin(ev.RecordReturnVisitAnswer, answer).task
    assert (
        sample("evaluation_return_visit_undelivered_total", service="customer_manager_visit"),
        sample("evaluation_return_visit_discrepancies_total", **labels),
    ) == (before[0] + 1, before[1] + 1)
    assert done.closed and done.staff_id == "cm-1" and done.card_version >= 1
    (discrepancy,) = done.discrepancies
    assert (discrepancy.service, discrepancy.kind, list(discrepancy.visit_card_ids)) == (
        "customer_manager_visit",
        epb.RECORDED_NOT_DELIVERED,
        [visit.id],
    )
    listed = admin(ev.ListReturnVisitTasks, epb.ListReturnVisitTasksRequest(period_id="Y")).tasks
    assert [d.kind for d in listed[0].discrepancies] == [epb.RECORDED_NOT_DELIVERED]

    # The next run counts the undelivered item against the card's responsible person.
    broke, broke_indicator = run()
    assert (broke_indicator.value, broke_indicator.share) == (1, 0.6)
    assert broke.total_score < kept.total_score

    report = admin(ev.GetSupervisionReport, epb.GetSupervisionReportRequest(period_id="Y"))
    assert (report.planned, report.answered, report.pdf) == (1, 1, b"")
    (zone,) = report.zones
    assert (zone.zone, zone.planned, zone.answered, zone.coverage, zone.discrepancies) == ("Z1", 1, 1, 1, 1)
    assert zone.satisfaction == 2.5
    visits = next(i for i in report.items if i.service == "customer_manager_visit")
    assert (visits.asked, visits.undelivered, visits.findings, visits.upheld) == (1, 1, 0, 0)
    (line,) = report.discrepancies
    assert report.discrepancies_total == 1
    assert (line.task_id, line.licence_number, line.staff_id) == (task.id, LICENCE, "cm-1")

    zh = admin(ev.GetSupervisionReport, epb.GetSupervisionReportRequest(period_id="Y", language="zh"))
    assert zh.filename == "supervision-Y-zh.pdf" and zh.pdf.startswith(b"%PDF-")
    text = pdf_text(zh.pdf)
    for expected in ("服务监督报告", "Z1", LICENCE, "customer_manager_visit", "拜访记录卡有记载", visit.id):
        assert expected in text, expected
    en = pdf_text(
        admin(ev.GetSupervisionReport, epb.GetSupervisionReportRequest(period_id="Y", language="en")).pdf
    )
    assert "Service supervision report" in en and "1 return visits planned, 1 answered" in en

    error = refused(
        lambda: admin(ev.GetSupervisionReport, epb.GetSupervisionReportRequest(period_id="", language="fr")),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"period_id", "language"}
    refused(
        lambda: admin(ev.GetSupervisionReport, epb.GetSupervisionReportRequest(period_id="nope")),
        grpc.StatusCode.NOT_FOUND,
    )


def test_an_upheld_finding_opens_an_improvement_plan(admin):
    ev = admin.evaluation
    service = card(admin).card.items[0].service

    def heard_finding():
        finding = admin(
            ev.RecordFinding,
            epb.RecordFindingRequest(
                finding=epb.Finding(
                    inspector_id="in-1",
                    licence_number=LICENCE,
                    service=service,
                    kind=epb.FINDING_NOT_DELIVERED,
                    evidence=["the retailer says nobody came"],
                )
            ),
        ).finding
        admin(ev.RecordHearing, epb.RecordHearingRequest(finding_id=finding.id, response="I was on leave"))
        return finding

    first = heard_finding()
    dismissed = epb.DecideFindingRequest(finding_id=first.id, upheld=False, decided_by="tl-1", open_plan=True)
    error = refused(lambda: admin(ev.DecideFinding, dismissed), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(error)) == {"open_plan"}
    listed = admin(ev.ListFindings, epb.ListFindingsRequest(licence_number=LICENCE)).findings
    assert [f.state for f in listed] == [epb.FINDING_HEARD]  # nothing half-written

    plans_before = sample("evaluation_breach_plans_opened_total")
    decided = admin(
        ev.DecideFinding,
        epb.DecideFindingRequest(finding_id=first.id, upheld=True, decided_by="tl-1", open_plan=True),
    )
    assert sample("evaluation_breach_plans_opened_total") == plans_before + 1
    assert decided.finding.state == epb.FINDING_UPHELD
    plan = decided.plan
    assert (plan.subject_id, plan.owner_id, plan.period_id, plan.finding_id, plan.state) == (
        "cm-1",
        "cm-1",
        "Y",
        first.id,
        epb.PLAN,
    )
    plans = admin(ev.ListImprovementPlans, epb.ListImprovementPlansRequest(subject_id="cm-1")).plans
    assert [(p.id, p.finding_id) for p in plans] == [(plan.id, first.id)]
    assert "broken commitment" in plans[0].events[0].note

    second = heard_finding()
    without = admin(
        ev.DecideFinding, epb.DecideFindingRequest(finding_id=second.id, upheld=True, decided_by="tl-1")
    )
    assert not without.HasField("plan")
    report = admin(ev.GetSupervisionReport, epb.GetSupervisionReportRequest(period_id="Y"))
    assert [(t.team_id, t.findings, t.upheld) for t in report.teams] == [("team-1", 2, 2)]


def test_without_classification_an_answer_is_not_taken(pack, admin):
    ev = admin.evaluation
    task, _, _ = setup_return_visits(admin)
    pack.stop("classification")
    answer = epb.RecordReturnVisitAnswerRequest(
        task_id=task.id,
        answered_by="lg-1",
        satisfaction=[4],
        delivered=[epb.DeliveredItem(service="customer_manager_visit", delivered=True)],
    )
    error = refused(lambda: admin(ev.RecordReturnVisitAnswer, answer), grpc.StatusCode.UNAVAILABLE)
    assert "classification" in error.details()
    # Bad input is named even so.
    bad = epb.RecordReturnVisitAnswerRequest(task_id=task.id, answered_by="lg-1", satisfaction=[0])
    error = refused(lambda: admin(ev.RecordReturnVisitAnswer, bad), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(error)) == {"satisfaction"}
    (still_open,) = admin(ev.ListReturnVisitTasks, epb.ListReturnVisitTasksRequest(period_id="Y")).tasks
    assert not still_open.closed and not still_open.answered_by
