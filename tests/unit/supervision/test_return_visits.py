"""Return-visit sampling, assignment and answers, in plain Python."""

import datetime

import pytest

from services.evaluation.domain.errors import Invalid, Refused
from services.evaluation.domain.return_visits import Customer, ReturnVisitTask, assign, sample
from services.evaluation.domain.supervision import CommitmentCard, CommitmentItem

NOW = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)
CARD = CommitmentCard(
    "L-1",
    (CommitmentItem("customer_manager_visit", "visit", "standard", (), "", "", {}),),
    1,
    "cm-1",
    "team-1",
    version=2,
)
CUSTOMERS = [
    Customer(f"L-{star}-{zone}-{n}", star, zone)
    for star in (1, 5)
    for zone in ("Z1", "Z2")
    for n in range(10)
]


def test_each_star_level_and_zone_is_sampled_by_its_share_the_same_way_again():
    shares = {(5, "Z1"): 1.0, (5, "Z2"): 0.5, (1, "Z1"): 0.1, (1, "Z2"): 0.0}
    chosen = sample(CUSTOMERS, lambda star, zone: shares[(star, zone)], "2026")
    counts = {}
    for customer in chosen:
        counts[(customer.star_level, customer.zone)] = counts.get((customer.star_level, customer.zone), 0) + 1
    assert counts == {(5, "Z1"): 10, (5, "Z2"): 5, (1, "Z1"): 1}
    assert sample(CUSTOMERS, lambda star, zone: shares[(star, zone)], "2026") == chosen
    other = sample(CUSTOMERS, lambda star, zone: shares[(star, zone)], "2027")
    assert len(other) == len(chosen)
    # A share of a third of 10 is rounded up: nobody in a group is left without a chance.
    assert len(sample(CUSTOMERS[:10], lambda star, zone: 0.34, "x")) == 4
    with pytest.raises(Invalid):
        sample(CUSTOMERS, lambda star, zone: 1.5, "x")


def test_tasks_go_round_robin_to_the_assignees():
    pairs = assign(CUSTOMERS[:5], ["lg-1", "in-1"])
    assert [staff for _, staff in pairs] == ["lg-1", "in-1", "lg-1", "in-1", "lg-1"]


def test_a_task_is_answered_once_and_then_no_longer_overdue():
    task = ReturnVisitTask("t-1", "2026", "L-1", 5, "Z1", "lg-1", datetime.date(2026, 11, 20))
    assert task.overdue(NOW.date()) and not task.overdue(datetime.date(2026, 11, 20))
    with pytest.raises(Invalid) as error:
        task.answered("", [0, 6], "x" * 2001, [("visit", True), ("visit", False)], NOW, CARD, {})
    assert {field for field, _ in error.value.violations} == {
        "answered_by",
        "satisfaction",
        "opinion",
        "delivered",
    }
    with pytest.raises(Invalid) as error:
        task.answered("lg-1", [], "", [], NOW, CARD, {})
    assert [field for field, _ in error.value.violations] == ["satisfaction"]
    done = task.answered("lg-1", [5, 4], "fine", [("customer_manager_visit", False)], NOW, CARD, {})
    assert (done.state, done.answered_at, done.delivered) == (
        "closed",
        NOW,
        (("customer_manager_visit", False),),
    )
    assert not done.overdue(NOW.date())
    with pytest.raises(Refused, match="already answered"):
        done.answered("lg-1", [5], "", [], NOW, CARD, {})
