"""The console's overview counts: star levels or grades per team or zone, open complaints
due soon and overdue per team with the nearest deadlines, a team's period, omissions per
item and period, findings and return visits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as kpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.gateway.v1 import gateway_pb2 as gpb

from gateway.console.overview import (
    MAX_PAGES,
    PAGE_SIZE,
    SCORE_BANDS,
    Pages,
    complaint_deadlines,
    grade_band,
    items_by_period,
    recent_periods,
    score_band,
    stars_by_group,
    supervision_summary,
    team_row,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def shop(team: str, zone: str, stars: int) -> cpb.Customer:
    return cpb.Customer(
        team_id=team,
        input=cpb.CustomerInput(market_zone=zone),
        classification=cpb.Classification(star_level=stars),
    )


def test_customers_are_counted_by_star_level_per_team_or_zone_with_zeros_filled_in():
    customers = [shop("t1", "Z1", 2), shop("t1", "Z2", 2), shop("t1", "Z2", 5), shop("", "Z3", 1)]
    by_team = stars_by_group(customers, "team")
    assert by_team["groups"] == ["(none)", "t1"] and by_team["levels"] == ["1", "2", "5"]
    assert by_team["counts"] == {"(none)": {"1": 1, "2": 0, "5": 0}, "t1": {"1": 0, "2": 2, "5": 1}}
    assert stars_by_group(customers, "zone")["counts"]["Z2"] == {"1": 0, "2": 1, "5": 1}


def complaint(team: str, due_in: timedelta | None, overdue: bool = False) -> kpb.Complaint:
    found = kpb.Complaint(team_id=team, overdue=overdue)
    if due_in is not None:
        deadline = Timestamp()
        deadline.FromDatetime(NOW + due_in)
        found.deadline_at.CopyFrom(deadline)
    return found


def test_open_complaints_are_due_soon_within_two_days_unless_already_overdue():
    complaints = [
        complaint("t1", timedelta(days=2)),  # due soon: exactly two days
        complaint("t1", timedelta(days=2, seconds=1)),  # not yet
        complaint("t1", timedelta(hours=-1), overdue=True),  # overdue, not also due soon
        complaint("t2", None),  # no deadline: open only
    ]
    counted = complaint_deadlines(complaints, NOW)
    assert {key: counted[key] for key in ("due_soon_days", "teams")} == {
        "due_soon_days": 2,
        "teams": [
            {"team": "t1", "open": 3, "due_soon": 1, "overdue": 1},
            {"team": "t2", "open": 1, "due_soon": 0, "overdue": 0},
        ],
    }
    # The nearest deadlines: the overdue first, then by deadline, none last.
    assert [(c["team"], c["overdue"], c["deadline_at"]) for c in counted["nearest"]] == [
        ("t1", True, "2026-03-02T08:00:00Z"),
        ("t1", False, "2026-03-04T09:00:00Z"),
        ("t1", False, "2026-03-04T09:00:01Z"),
        ("t2", False, ""),
    ]


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


def test_customers_are_counted_by_grade_band_in_the_order_of_the_grades():
    def graded(team: str, grade: int) -> cpb.Customer:
        return cpb.Customer(team_id=team, classification=cpb.Classification(star_level=1, grade=grade))

    counted = stars_by_group(
        [graded("t1", 12), graded("t1", 3), graded("t2", 30), graded("t2", 11)], "team", "grade"
    )
    assert counted["measure"] == "grade" and counted["levels"] == ["1-5", "11-15", "26-30"]
    assert counted["counts"] == {
        "t1": {"1-5": 1, "11-15": 1, "26-30": 0},
        "t2": {"1-5": 0, "11-15": 1, "26-30": 1},
    }


def _paged(total: int, page_size: int):
    """A fetch over ``total`` customers in pages of ``page_size`` (tokens are offsets)."""

    def fetch(token: str) -> cpb.ListCustomersResponse:
        start = int(token or 0)
        end = min(start + page_size, total)
        customers = [shop("t1", "Z1", 1 + n % 5) for n in range(start, end)]
        return cpb.ListCustomersResponse(customers=customers, next_page_token=str(end) if end < total else "")

    return fetch


def test_an_overview_that_read_every_page_is_not_truncated():
    pages = Pages(_paged(MAX_PAGES * 3, 3), "customers")
    summary = pages.counted(stars_by_group(pages, "team"))
    assert summary["truncated"] is False
    assert sum(summary["counts"]["t1"].values()) == MAX_PAGES * 3


def test_an_overview_that_stopped_at_the_page_limit_says_so():
    pages = Pages(_paged(MAX_PAGES * 3 + 1, 3), "customers")
    summary = pages.counted(stars_by_group(pages, "team"))
    assert summary["truncated"] is True
    assert summary["most_counted"] == MAX_PAGES * PAGE_SIZE
    assert sum(summary["counts"]["t1"].values()) == MAX_PAGES * 3
