"""The overview's summaries of what the services answer, on messages built here: the
cases the pack's data does not reach (an ungraded team, no visits, tasks without answers,
findings of every state)."""

from __future__ import annotations

from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.gateway.v1 import gateway_pb2 as gpb

from gateway.console.overview import (
    SCORE_BANDS,
    grade_band,
    items_by_period,
    recent_periods,
    score_band,
    supervision_summary,
    team_row,
)


def test_scores_fall_in_their_band_at_the_edges():
    assert [score_band(s) for s in (0, 59.99, 60, 79.5, 89.99, 90, 100)] == [
        "below 60",
        "below 60",
        "60-69",
        "70-79",
        "80-89",
        "90 and above",
        "90 and above",
    ]


def test_a_team_before_its_first_run_has_no_score_and_no_omission_rate():
    overview = gpb.GetTeamOverviewResponse(
        team=epb.Team(id="t", name="T"),
        missing_parts=[gpb.MissingPart(part="open_complaints", service="complaints")],
    )
    row = team_row(overview)
    assert (row["score"], row["grade"], row["omission_rate"], row["members"]) == (None, "", 0.0, [])
    assert row["score_bands"] == {label: 0 for label, _ in SCORE_BANDS}
    assert row["missing_parts"] == ["open_complaints (complaints)"]


def test_ungraded_members_are_left_out_of_the_spread():
    overview = gpb.GetTeamOverviewResponse(
        team=epb.Team(id="t"),
        visits=4,
        visits_with_omissions=1,
        team_result=epb.Result(subject_id="t", total_score=71.234, grade="B", graded=True),
        member_results=[
            epb.Result(subject_id="a", total_score=91, graded=True),
            epb.Result(subject_id="b", total_score=0, graded=False),
            epb.Result(subject_id="c", total_score=65.5, graded=True),
        ],
    )
    row = team_row(overview)
    assert (row["score"], row["grade"], row["omission_rate"]) == (71.23, "B", 0.25)
    assert [m["staff"] for m in row["members"]] == ["a", "c"]
    assert row["score_bands"]["90 and above"] == 1 and row["score_bands"]["60-69"] == 1
    assert sum(row["score_bands"].values()) == 2


def test_findings_and_return_visits_are_counted_per_team_item_and_zone():
    def finding(number: int, team: str, service: str, state) -> epb.Finding:
        found = epb.Finding(
            id=f"f{number}", team_id=team, service=service, state=state, kind=epb.FINDING_CARD_MISMATCH
        )
        found.found_at.FromSeconds(1_700_000_000 + number)
        return found

    findings = [
        finding(1, "t1", "visit", epb.FINDING_UPHELD),
        finding(2, "t1", "visit", epb.FINDING_DISMISSED),
        finding(3, "t2", "price", epb.FINDING_HEARD),
        finding(4, "", "price", epb.FINDING_UPHELD),
    ]
    tasks = [
        epb.ReturnVisitTask(zone="Z1", closed=True, satisfaction=[5, 3]),
        epb.ReturnVisitTask(zone="Z1", closed=True, satisfaction=[4]),
        epb.ReturnVisitTask(zone="Z1", overdue=True),
        epb.ReturnVisitTask(zone="Z2"),
    ]
    summary = supervision_summary(findings, tasks)
    assert summary["findings"] == 4
    assert summary["teams"] == [
        {"team": "(none)", "open": 0, "heard": 0, "upheld": 1, "dismissed": 0},
        {"team": "t1", "open": 0, "heard": 0, "upheld": 1, "dismissed": 1},
        {"team": "t2", "open": 0, "heard": 1, "upheld": 0, "dismissed": 0},
    ]
    assert summary["items"] == [
        {"service": "price", "checked": 2, "broken": 1},
        {"service": "visit", "checked": 2, "broken": 1},
    ]
    assert summary["zones"] == [
        {"zone": "Z1", "tasks": 3, "answered": 2, "coverage": 0.6667, "satisfaction": 4.0, "overdue": 1},
        {"zone": "Z2", "tasks": 1, "answered": 0, "coverage": 0.0, "satisfaction": None, "overdue": 0},
    ]
    assert [f["id"] for f in summary["recent"]] == ["f4", "f3", "f2", "f1"]
    assert summary["recent"][0]["kind"] == "card mismatch"


def test_recent_periods_are_the_months_before_a_month():
    assert recent_periods("2026-02") == ["2025-12", "2026-01", "2026-02"]
    assert recent_periods("2026-11") == ["2026-09", "2026-10", "2026-11"]
    assert recent_periods("2026-H2") == ["2026-H2"]


def test_grades_fall_in_bands_of_five():
    assert [grade_band(g) for g in (0, 1, 5, 6, 29, 30)] == ["1-5", "1-5", "1-5", "6-10", "26-30", "26-30"]


def test_omissions_per_item_and_period():
    def card(*services: str, omitted: tuple = ()) -> epb.VisitCard:
        return epb.VisitCard(
            items=[epb.VisitItem(service=s) for s in services],
            omissions=[epb.Omission(service=s, step=1) for s in omitted],
        )

    summary = items_by_period(
        {
            "2026-10": [card("visit", "price", omitted=("price",)), card("visit")],
            "2026-11": [],
            "2026-12": [card("visit", omitted=("stock", "stock"))],
        }
    )
    assert summary["periods"] == ["2026-10", "2026-11", "2026-12"]
    assert summary["items"] == ["price", "stock", "visit"]
    rows = {(r["item"], r["period"]): r for r in summary["rows"]}
    assert len(rows) == 9
    assert (rows[("price", "2026-10")]["omissions"], rows[("price", "2026-10")]["omission_rate"]) == (1, 0.5)
    assert rows[("visit", "2026-10")]["visits"] == 2
    assert rows[("stock", "2026-12")] == {
        "item": "stock",
        "period": "2026-12",
        "cards": 1,
        "visits": 0,
        "omissions": 2,
        "omission_rate": 1.0,
    }
    assert rows[("visit", "2026-11")]["omission_rate"] == 0.0
