"""The use cases over in-memory ports: outages, all-or-nothing runs, corrections."""

import datetime

import pytest

from services.common import times
from services.common.errors import FailedPrecondition, InvalidArgument
from services.evaluation.domain.people import Staff, Team
from services.evaluation.domain.ratings import Rating
from services.evaluation.domain.visits import Menu, MenuItem, VisitCard, VisitItem
from services.evaluation.metrics import PlanGauges
from services.evaluation.ports import ComplaintFigures, Unreachable
from services.evaluation.service_layer import Evaluation
from tests.unit.evaluation.fakes import DefaultRuleSets, FakeDirectory, FakeStatistics, FakeUnitOfWork

MENU = Menu(
    "L-1", (MenuItem("customer_manager_visit", 4, visits_per_month=2), MenuItem("retail_price_upkeep", 3)), 5
)


@pytest.fixture
def world():
    rule_sets = DefaultRuleSets()
    uow = FakeUnitOfWork()
    directory = FakeDirectory({"L-1": MENU, "L-2": MENU}, {"cm-1": ["L-1", "L-2"]})
    statistics = FakeStatistics({"owner": {"cm-1": ComplaintFigures(2, 2, 1, 1, 4.0)}, "team": {}})
    use_cases = Evaluation(uow, rule_sets, directory, statistics)
    use_cases.upsert_staff(Staff("cm-1", "Li", "customer_manager", "customer_service"))
    use_cases.upsert_staff(Staff("mm-1", "Zhao", "market_manager", "marketing"))
    use_cases.upsert_team(Team("team-1", "Old town"))
    use_cases.assign_member("cm-1", "team-1", "customer_communication", "2025-01-01")
    today = times.now().date()
    use_cases.create_period(
        "p", "month", (today - datetime.timedelta(days=20)).isoformat(), today.isoformat()
    )
    yield use_cases, uow, directory, statistics
    rule_sets.close()


def visit(**values):
    moment = times.now() - datetime.timedelta(days=1)
    items = (VisitItem("customer_manager_visit", (1, 2, 3, 4)), VisitItem("retail_price_upkeep", (1, 2)))
    return VisitCard("", "cm-1", values.pop("licence", "L-1"), moment, items, **values)


def test_a_card_recorded_during_an_outage_is_checked_later(world):
    use_cases, _, directory, _ = world
    directory.down = True
    card = use_cases.record_card(visit())
    assert not card.checked and card.omissions == ()
    assert use_cases.check_cards() == (0, 1)  # still down: nothing checked, nothing lost
    directory.down = False
    assert use_cases.check_cards() == (1, 0)
    (checked,) = use_cases.list_cards("cm-1", "", "", False)
    assert checked.entitlements_version == 5 and [(o.service, o.step) for o in checked.omissions] == [
        ("retail_price_upkeep", 3)
    ]


def test_a_run_fails_whole_when_a_service_is_unreachable(world):
    use_cases, uow, _, statistics = world
    use_cases.record_card(visit())
    statistics.down = True
    with pytest.raises(Unreachable, match="complaints"):
        use_cases.run_period("p", "hr")
    assert use_cases.get_period("p").runs == 0 and use_cases.results("p", "", "") == []
    statistics.down = False
    _, results, _, _ = use_cases.run_period("p", "hr")
    cm1 = next(r for r in results if r.subject_id == "cm-1")
    values = {i["indicator"]: i["value"] for i in cm1.indicators}
    assert values["visit_coverage"] == 0.25  # one visit of two due to each of two customers
    assert values["omission_rate"] == pytest.approx(1 / (2 + 4 + 3))
    assert values["complaints_on_time"] == 0.5 and values["complaints_overdue"] == 1
    assert cm1.team_id == "team-1" and cm1.graded


def test_a_correction_supersedes_once_and_keeps_both_cards(world):
    use_cases = world[0]
    first = use_cases.record_card(visit())
    second = use_cases.record_card(
        visit(supersedes_card_id=first.id, corrected_by="tl-1", correction_reason="typo")
    )
    with pytest.raises(FailedPrecondition, match="already corrected"):
        use_cases.record_card(
            visit(supersedes_card_id=first.id, corrected_by="tl-1", correction_reason="again")
        )
    cards = use_cases.list_cards("", "L-1", "", True)
    assert [(c.id, c.superseded_by_card_id) for c in cards] == [(first.id, second.id), (second.id, "")]


def test_a_rating_is_corrected_until_the_period_is_published(world):
    use_cases = world[0]
    rating = Rating("p", "peer", "mm-1", "cm-1", 70)
    assert use_cases.submit_rating(rating)[1] is False
    corrected, again = use_cases.submit_rating(Rating("p", "peer", "mm-1", "cm-1", 75))
    assert again and corrected.revision == 2 and len(use_cases.list_ratings("p", "cm-1", "")) == 1
    use_cases.run_period("p", "hr")
    use_cases.publish_period("p", "director")
    with pytest.raises(FailedPrecondition):
        use_cases.submit_rating(Rating("p", "peer", "mm-1", "cm-1", 90))
    with pytest.raises(FailedPrecondition):
        use_cases.run_period("p", "hr")


def test_a_goal_that_does_not_add_up_writes_nothing(world):
    use_cases, uow, _, _ = world
    with pytest.raises(InvalidArgument):
        use_cases.set_team_goal("p", "team-1", 1000, {"cm-1": 0.7}, {})
    assert uow.committed.actuals == {}
    assert use_cases.set_team_goal("p", "team-1", 1000, {"cm-1": 1.0}, {}) == {"cm-1": 1000}


def test_a_team_shows_its_zones_when_classification_answers(world):
    use_cases, _, directory, _ = world
    team, members, zones = use_cases.get_team("team-1", "2026-01-01")
    assert zones == ["Z1"] and [m.staff_id for m in members] == ["cm-1"]
    directory.down = True
    assert use_cases.get_team("team-1", "")[2] is None


def test_only_a_later_period_follows_up_a_plan(world):
    use_cases = world[0]
    _, results, opened, _ = use_cases.run_period("p", "hr")
    plan_id = next(r.opened_plan_id for r in results if r.subject_id == "cm-1")
    assert opened == 2 and plan_id  # cm-1 and its team, scored on its members
    use_cases.create_period("earlier", "month", "2025-01-01", "2025-01-31")
    use_cases.run_period("earlier", "hr")
    assert use_cases.plan(plan_id).follow_up_period_id == ""
    use_cases.create_period("later", "year", "2027-01-01", "2027-12-31")
    _, results, _, _ = use_cases.run_period("later", "hr")
    follows = next(r.follows_up_plan_ids for r in results if r.subject_id == "cm-1")
    assert plan_id in follows and len(follows) == 2  # and the plan the earlier period opened
    assert use_cases.plan(plan_id).follow_up_period_id == "later"


def test_plans_past_their_due_date_are_listed_and_counted_as_overdue(world, clock):
    use_cases, uow = world[0], world[1]
    _, results, _, _ = use_cases.run_period("p", "hr")
    plan_id = next(r.opened_plan_id for r in results if r.subject_id == "cm-1")
    gauges = PlanGauges(uow)

    def figures():
        return {
            (s.name, s.labels.get("state")): s.value for family in gauges.collect() for s in family.samples
        }

    assert use_cases.plans("", "", overdue_only=True) == []
    assert figures()[("evaluation_plans_overdue", None)] == 0
    clock.set(times.now() + datetime.timedelta(days=31))
    assert plan_id in [p.id for p in use_cases.plans("", "", overdue_only=True)]
    assert figures()[("evaluation_plans_overdue", None)] == 2  # cm-1's and its team's
    assert figures()[("evaluation_plans_open", "plan")] == 2
    plan = use_cases.advance_plan(plan_id, "tl-1", "do", ["more visits"], [], "")
    assert plan.state == "do" and figures()[("evaluation_plans_open", "do")] == 1
