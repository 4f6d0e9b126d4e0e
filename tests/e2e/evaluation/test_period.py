"""A full year for a team: cards, ratings in all five modes, a goal split, complaints,
a run with explanations, publishing, PDCA; on SQLite and PostgreSQL."""

import csv
import datetime
import io
import time

import grpc
import openpyxl
import pytest
from prometheus_client import REGISTRY
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as qpb
from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common import times
from services.evaluation.rules import KPI_SCORING
from tests.e2e.evaluation.conftest import complete_items, set_up_people, stamp

T = 10


def rate(stub, mode, rater, subject, score=0.0, answers=(), period="2026"):
    rating = pb.Rating(
        period_id=period, mode=mode, rater_id=rater, subject_id=subject, score=score, answers=answers
    )
    return stub.SubmitRating(pb.SubmitRatingRequest(rating=rating), timeout=T)


def indicators(result):
    return {i.indicator: i for i in result.indicators}


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def test_a_full_year_for_a_team(stubs):
    ev, classification, complaints = stubs
    before = {
        "runs": sample("evaluation_period_runs_total", outcome="done"),
        "cards": sample("evaluation_visit_cards_total", checked="true"),
        "omissions": sample("evaluation_omissions_total", service="retail_price_upkeep"),
        "surveys": sample("evaluation_ratings_total", mode="customer_survey"),
    }
    set_up_people(ev)
    now = times.now()
    visited = now - datetime.timedelta(days=3)

    # Visit cards: a complete one, one with omissions, and a correction.
    menu = classification.GetServiceMenu(cpb.GetServiceMenuRequest(licence_number="L-1"), timeout=T)
    complete = complete_items(menu)
    first = ev.RecordVisitCard(
        pb.RecordVisitCardRequest(
            staff_id="cm-1", licence_number="L-1", visited_at=stamp(visited), items=complete
        ),
        timeout=T,
    ).card
    assert first.checked and first.omissions == [] and first.entitlements_version == menu.entitlements_version
    sloppy = ev.RecordVisitCard(
        pb.RecordVisitCardRequest(
            staff_id="cm-1",
            licence_number=" l\uff0d2 ",  # L-2, spelled with a full-width hyphen
            visited_at=stamp(visited),
            items=[pb.VisitItem(service="customer_manager_visit", steps_done=[1, 2, 3])],
        ),
        timeout=T,
    ).card
    assert sloppy.licence_number == "L-2"
    assert {(o.service, o.step) for o in sloppy.omissions} == {
        ("storefront_image_upkeep", 0),
        ("retail_price_upkeep", 0),
        ("customer_manager_visit", 4),
    }
    corrected = ev.RecordVisitCard(
        pb.RecordVisitCardRequest(
            staff_id="cm-1",
            licence_number="L-1",
            visited_at=stamp(visited),
            items=complete,
            notes="price labels replaced",
            supersedes_card_id=first.id,
            corrected_by="tl-1",
            correction_reason="notes were missing",
        ),
        timeout=T,
    ).card
    cards = ev.ListVisitCards(pb.ListVisitCardsRequest(staff_id="cm-1", period_id="2026"), timeout=T).cards
    assert {c.id for c in cards} == {sloppy.id, corrected.id}
    history = ev.ListVisitCards(
        pb.ListVisitCardsRequest(licence_number="l-1", include_superseded=True), timeout=T
    )
    assert [c.superseded_by_card_id for c in history.cards] == [corrected.id, ""]

    # Ratings in all five modes for cm-1; cm-2 has too few peers.
    rate(ev, pb.SELF, "cm-1", "cm-1", 80)
    for rater, score in (("mm-1", 70), ("bm-1", 80), ("lg-1", 90)):
        rate(ev, pb.PEER, rater, "cm-1", score)
    rate(ev, pb.INSPECTION, "in-1", "cm-1", 90)
    rate(ev, pb.COMPETENCY, "tl-1", "cm-1", 60)
    for licence in ("L-1", "L-2", "L-3", "L-4", "L-5"):
        rate(ev, pb.CUSTOMER_SURVEY, licence, "cm-1", answers=[5, 4])
    corrected_rating = rate(ev, pb.COMPETENCY, "tl-1", "cm-1", 60)
    assert corrected_rating.corrected and corrected_rating.rating.revision == 2
    rate(ev, pb.SELF, "cm-2", "cm-2", 90)
    rate(ev, pb.PEER, "mm-1", "cm-2", 90)
    rate(ev, pb.PEER, "lg-1", "cm-2", 90)
    rate(ev, pb.SELF, "mm-1", "mm-1", 20)

    # The team goal split by weights; actual sales.
    split = ev.SetTeamGoal(
        pb.SetTeamGoalRequest(
            period_id="2026",
            team_id="team-1",
            sales_target=1000,
            member_weights=[
                pb.MemberWeight(staff_id="cm-1", weight=0.6),
                pb.MemberWeight(staff_id="cm-2", weight=0.2),
                pb.MemberWeight(staff_id="mm-1", weight=0.1),
                pb.MemberWeight(staff_id="tl-1", weight=0.1),
            ],
        ),
        timeout=T,
    )
    assert {a.subject_id: a.sales_target for a in split.member_targets} == {
        "cm-1": 600,
        "cm-2": 200,
        "mm-1": 100,
        "tl-1": 100,
    }
    ev.RecordActuals(
        pb.RecordActualsRequest(
            period_id="2026",
            actuals=[
                pb.Actual(subject_id="cm-1", subject_kind="staff", sales_actual=660),
                pb.Actual(subject_id="mm-1", subject_kind="staff", sales_actual=10),
                pb.Actual(subject_id="team-1", subject_kind="team", sales_actual=900),
            ],
        ),
        timeout=T,
    )

    # A complaint owned by cm-1, resolved on time.
    filed = complaints.FileComplaint(
        qpb.FileComplaintRequest(
            idempotency_key="k-1",
            licence_number="L-1",
            channel="hotline",
            category="delivery",
            description="late",
            received_by="cm-1",
            received_at=stamp(now - datetime.timedelta(hours=1)),
        ),
        timeout=T,
    ).complaint
    for action in (qpb.ACCEPT, qpb.RESOLVE):
        complaints.ChangeComplaintState(
            qpb.ChangeComplaintStateRequest(id=filed.id, action=action, actor="cm-1"), timeout=T
        )

    run = ev.RunPeriodEvaluation(pb.RunPeriodEvaluationRequest(period_id="2026", run_by="hr-1"), timeout=30)
    assert run.staff_scored == 8 and run.teams_scored == 1 and run.period.runs == 1
    overview = ev.GetTeamOverview(pb.GetTeamOverviewRequest(team_id="team-1", period_id="2026"), timeout=T)
    members = {r.subject_id: r for r in overview.member_results}
    assert set(members) == {"cm-1", "cm-2", "mm-1", "tl-1"}

    cm1 = members["cm-1"]
    scores = indicators(cm1)
    modes = {m.mode: m for m in cm1.modes}
    assert all(m.included for m in modes.values())
    assert modes[pb.CUSTOMER_SURVEY].csat == 1 and modes[pb.CUSTOMER_SURVEY].mean == 4.5
    assert modes[pb.PEER].raters == 3 and modes[pb.PEER].mean == 80
    assert scores["ratings"].value == pytest.approx(8 + 16 + 22.5 + 30 + 9)
    assert scores["sales_attainment"].value == pytest.approx(1.1) and scores[
        "sales_attainment"
    ].share == pytest.approx(1.1)
    assert scores["complaints_on_time"].value == 1 and scores["complaints_overdue"].value == 0
    # No return visit: left out, the other weights scaled up to 100, and said so.
    assert not scores["return_visit_satisfaction"].has_value
    assert "left out" in scores["return_visit_satisfaction"].note
    assert scores["sales_attainment"].effective_weight == pytest.approx(20 * 100 / 90, abs=1e-4)
    assert "return_visit_satisfaction had no data" in scores["sales_attainment"].note
    # Visits: three customers due 12 months of visits each; two visited once.
    visits = scores["visit_coverage"]
    assert visits.has_value and 0 < visits.value < 0.1
    omissions = scores["omission_rate"]
    # Counted against the services due at each visit (3 each) and the steps of services
    # done: every step of the menu on the complete card, four on the sloppy one.
    steps = sum(len(item.description.procedure_steps) for item in menu.items)
    assert omissions.value == pytest.approx(3 / (3 + steps + 3 + 4), abs=1e-6)
    assert omissions.share == 0.5  # the band from 0.05
    assert cm1.total_score == pytest.approx(sum(i.points for i in cm1.indicators), abs=1e-3)
    assert cm1.grade and cm1.pay_coefficient > 0
    assert all(i.rule_id == "customer_manager_indicators" for i in cm1.indicators)
    assert cm1.rule_set == "kpi-scoring" and cm1.rule_set_version == 1

    cm2_peer = {m.mode: m for m in members["cm-2"].modes}[pb.PEER]
    assert cm2_peer.raters == 2 and cm2_peer.min_raters == 3 and not cm2_peer.included
    assert cm2_peer.effective_weight == 0
    assert {m.mode: m for m in members["cm-2"].modes}[pb.SELF].effective_weight == 1

    # A low score opens a PDCA plan; people without any data are not graded.
    low = members["mm-1"]
    assert low.total_score < 60 and low.opened_plan_id
    staff = {
        r.subject_id: r
        for r in ev.ListPeriodResults(
            pb.ListPeriodResultsRequest(period_id="2026", subject_kind="staff"), timeout=T
        ).results
    }
    assert not staff["in-1"].graded and not staff["in-1"].opened_plan_id and staff["in-1"].grade == ""

    # The team: its members' mean score and its own results.
    team = overview.team_result
    team_scores = indicators(team)
    graded = [r.total_score for r in overview.member_results if r.graded]
    assert team_scores["members_score"].value == pytest.approx(sum(graded) / len(graded), abs=1e-3)
    assert team_scores["sales_attainment"].value == pytest.approx(0.9)

    # Exports.
    exported = ev.ExportPeriodResults(
        pb.ExportPeriodResultsRequest(period_id="2026", format="csv"), timeout=T
    )
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert len(rows) == 9 and {r["subject_id"] for r in rows} >= {"cm-1", "team-1"}
    xlsx = ev.ExportPeriodResults(pb.ExportPeriodResultsRequest(period_id="2026", format="xlsx"), timeout=T)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert sheet.max_row == 10 and xlsx.filename == "evaluation-2026.xlsx"

    assert sample("evaluation_period_runs_total", outcome="done") == before["runs"] + 1
    assert sample("evaluation_visit_cards_total", checked="true") == before["cards"] + 3
    assert sample("evaluation_omissions_total", service="retail_price_upkeep") == before["omissions"] + 1
    assert sample("evaluation_ratings_total", mode="customer_survey") == before["surveys"] + 5
    opened = [r for r in staff.values() if r.opened_plan_id]
    assert {r.subject_id for r in opened} == {"mm-1", "cm-2"}  # cm-2: no visits to its customers
    assert sample("evaluation_plans_open", state="plan") == len(opened) == run.plans_opened
    assert sample("evaluation_plans_overdue") == 0

    # PDCA: the plan moves through its states with an audit trail.
    plan = ev.GetImprovementPlan(pb.GetImprovementPlanRequest(id=low.opened_plan_id), timeout=T).plan
    assert plan.state == pb.PLAN and plan.subject_id == "mm-1" and plan.trigger_score == low.total_score
    ev.AdvanceImprovementPlan(
        pb.AdvanceImprovementPlanRequest(
            id=plan.id, by="tl-1", to_state=pb.DO, add_actions=["weekly market analysis"]
        ),
        timeout=T,
    )
    with pytest.raises(grpc.RpcError) as skipped:
        ev.AdvanceImprovementPlan(
            pb.AdvanceImprovementPlanRequest(id=plan.id, by="tl-1", to_state=pb.CLOSED), timeout=T
        )
    assert skipped.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    plan = ev.GetImprovementPlan(pb.GetImprovementPlanRequest(id=plan.id), timeout=T).plan
    assert [(e.from_state, e.to_state, e.by) for e in plan.events] == [
        (0, pb.PLAN, "system"),
        (pb.PLAN, pb.DO, "tl-1"),
    ]
    assert [
        p.id
        for p in ev.ListImprovementPlans(pb.ListImprovementPlansRequest(subject_id="mm-1"), timeout=T).plans
    ] == [plan.id]

    # A re-run while open keeps one plan; publishing freezes the period.
    again = ev.RunPeriodEvaluation(pb.RunPeriodEvaluationRequest(period_id="2026", run_by="hr-1"), timeout=30)
    assert again.period.runs == 2 and again.plans_opened == 0
    published = ev.PublishPeriod(
        pb.PublishPeriodRequest(id="2026", published_by="director"), timeout=T
    ).period
    assert published.state == pb.PUBLISHED
    for refused in (
        lambda: ev.RunPeriodEvaluation(
            pb.RunPeriodEvaluationRequest(period_id="2026", run_by="hr-1"), timeout=T
        ),
        lambda: rate(ev, pb.SELF, "cm-1", "cm-1", 99),
        lambda: ev.RecordActuals(
            pb.RecordActualsRequest(
                period_id="2026", actuals=[pb.Actual(subject_id="cm-1", subject_kind="staff", sales_actual=1)]
            ),
            timeout=T,
        ),
    ):
        with pytest.raises(grpc.RpcError) as error:
            refused()
        assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "published" in error.value.details()
    frozen = ev.ListPeriodResults(
        pb.ListPeriodResultsRequest(period_id="2026", team_id="team-1"), timeout=T
    ).results
    assert {r.subject_id: r.total_score for r in frozen if r.subject_kind == "staff"} == {
        k: v.total_score for k, v in members.items()
    }

    # The next period's result is linked to the plan it was meant to improve.
    ev.CreatePeriod(
        pb.CreatePeriodRequest(
            period=pb.Period(id="2026-11", kind="month", starts_on="2026-11-01", ends_on="2026-11-30")
        ),
        timeout=T,
    )
    ev.RunPeriodEvaluation(pb.RunPeriodEvaluationRequest(period_id="2026-11", run_by="hr-1"), timeout=30)
    plan = ev.GetImprovementPlan(pb.GetImprovementPlanRequest(id=plan.id), timeout=T).plan
    assert plan.follow_up_period_id == "2026-11"
    november = ev.ListPeriodResults(
        pb.ListPeriodResultsRequest(period_id="2026-11", subject_kind="staff"), timeout=T
    )
    assert [r.follows_up_plan_ids for r in november.results if r.subject_id == "mm-1"] == [[plan.id]]


def test_a_period_is_scored_with_the_team_of_its_last_day(stubs):
    ev = stubs[0]
    set_up_people(ev)
    ev.UpsertTeam(pb.UpsertTeamRequest(team=pb.Team(id="team-2", name="New town")), timeout=T)
    ev.AssignTeamMember(
        pb.AssignTeamMemberRequest(
            staff_id="cm-2", team_id="team-2", specialty="market_analysis", from_date="2026-12-01"
        ),
        timeout=T,
    )
    ev.CreatePeriod(
        pb.CreatePeriodRequest(
            period=pb.Period(id="2026-06", kind="month", starts_on="2026-06-01", ends_on="2026-06-30")
        ),
        timeout=T,
    )
    june = ev.GetTeam(pb.GetTeamRequest(team_id="team-1", on_date="2026-06-15"), timeout=T)
    assert "cm-2" in {m.staff_id for m in june.members}
    assert list(june.zones) == ["Z1"] and not june.zones_unavailable
    history = ev.GetStaff(pb.GetStaffRequest(id="cm-2"), timeout=T).memberships
    assert [(m.team_id, m.from_date, m.to_date) for m in history] == [
        ("team-1", "2025-01-01", "2026-12-01"),
        ("team-2", "2026-12-01", ""),
    ]
    rate(ev, pb.SELF, "cm-2", "cm-2", 70, period="2026-06")
    rate(ev, pb.SELF, "cm-2", "cm-2", 70)
    for period in ("2026-06", "2026"):
        ev.RunPeriodEvaluation(pb.RunPeriodEvaluationRequest(period_id=period, run_by="hr-1"), timeout=30)
    teams = {
        period: {
            r.subject_id: r.team_id
            for r in ev.ListPeriodResults(pb.ListPeriodResultsRequest(period_id=period), timeout=T).results
        }
        for period in ("2026-06", "2026")
    }
    assert teams["2026-06"]["cm-2"] == "team-1" and teams["2026"]["cm-2"] == "team-2"
    with pytest.raises(grpc.RpcError) as error:
        ev.AssignTeamMember(
            pb.AssignTeamMemberRequest(
                staff_id="cm-2", team_id="team-1", specialty="market_analysis", from_date="2026-11-01"
            ),
            timeout=T,
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_published_kpi_scoring_version_scores_the_next_run(pack):
    with pack.classification(), pack.complaints(), pack.service("evaluation") as channel:
        ev = evaluation_pb2_grpc.EvaluationServiceStub(channel)
        admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        set_up_people(ev)
        rate(ev, pb.SELF, "cm-1", "cm-1", 80)
        first = ev.RunPeriodEvaluation(
            pb.RunPeriodEvaluationRequest(period_id="2026", run_by="hr-1"), timeout=30
        )
        assert first.rule_set_version == 1
        source = KPI_SCORING.default_path.read_text(encoding="utf-8")
        heavier = source.replace(
            "{indicator: visit_coverage, category: process, kind: quantitative, scope: internal, weight: 20,",
            "{indicator: visit_coverage, category: process, kind: quantitative, scope: internal, weight: 25,",
        ).replace(
            "{indicator: ratings, category: process, kind: qualitative, scope: internal, weight: 20,",
            "{indicator: ratings, category: process, kind: qualitative, scope: internal, weight: 15,",
        )
        # ... and the document's own test says so.
        heavier = heavier.replace("visit_coverage: {weight: 20,", "visit_coverage: {weight: 25,").replace(
            "ratings: {weight: 20}", "ratings: {weight: 15}"
        )
        assert "visit_coverage: {weight: 25," in heavier and "ratings: {weight: 15}" in heavier
        gap = heavier.replace(
            "{indicator: omission_rate, from: 0, share: 1}",
            "{indicator: omission_rate, from: 0.01, share: 1}",
        ).replace("      bands: {omission_rate: {0: 1, 0.05: 0.5}}\n", "")
        with pytest.raises(grpc.RpcError) as refused:
            admin.PublishRuleSet(
                rules_pb.PublishRuleSetRequest(source=gap, author="analyst", comment="gap"), timeout=T
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "bands starting from 0" in refused.value.details()
        admin.PublishRuleSet(
            rules_pb.PublishRuleSetRequest(source=heavier, author="analyst", comment="visits weigh more"),
            timeout=T,
        )
        deadline = time.monotonic() + 10
        while True:  # the service picks the new version up by itself within its poll interval
            run = ev.RunPeriodEvaluation(
                pb.RunPeriodEvaluationRequest(period_id="2026", run_by="hr-1"), timeout=30
            )
            if run.rule_set_version == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert run.rule_set_version == 2
        (cm1,) = [
            r
            for r in ev.ListPeriodResults(pb.ListPeriodResultsRequest(period_id="2026"), timeout=T).results
            if r.subject_id == "cm-1"
        ]
        weights = {i.indicator: i.weight for i in cm1.indicators}
        assert (weights["visit_coverage"], weights["ratings"], cm1.rule_set_version) == (25, 15, 2)
