"""The console's overview counts: star levels per team or zone, open complaints due soon
and overdue per team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as kpb

from gateway.console.overview import complaint_deadlines, stars_by_group

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
