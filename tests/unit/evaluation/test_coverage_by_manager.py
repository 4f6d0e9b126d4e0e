"""Whose customers a person's visit coverage is measured against, as docs/evaluation.md
("Whose customers count, and at what frequency") says: the customers classification names
as their manager when the run is made, at the frequency evaluation last fetched; and a
customer survey is taken from any known customer. These pin the documented limitation:
when classification gives the assignments in force during a period, they change with it."""

import datetime

import pytest

from services.common import times
from services.common.errors import NotFound
from services.evaluation.domain.people import Staff
from services.evaluation.domain.ratings import CUSTOMER_SURVEY, Rating
from services.evaluation.domain.visits import Menu, MenuItem, VisitCard, VisitItem
from services.evaluation.service_layer import Evaluation
from tests.unit.evaluation.fakes import DefaultRuleSets, FakeDirectory, FakeStatistics, FakeUnitOfWork


def menu(licence: str, visits_per_month: int) -> Menu:
    return Menu(licence, (MenuItem("customer_manager_visit", 2, visits_per_month=visits_per_month),), 5)


@pytest.fixture
def world():
    rule_sets = DefaultRuleSets()
    directory = FakeDirectory({"L-1": menu("L-1", 2), "L-2": menu("L-2", 2)}, {"cm-1": ["L-1", "L-2"]})
    use_cases = Evaluation(FakeUnitOfWork(), rule_sets, directory, FakeStatistics())
    for staff_id in ("cm-1", "cm-2"):
        use_cases.upsert_staff(Staff(staff_id, staff_id, "customer_manager", "customer_service"))
    use_cases.upsert_staff(Staff("bm-1", "Qian", "brand_manager", "marketing"))
    today = times.now().date()
    use_cases.create_period(
        "p", "month", (today - datetime.timedelta(days=20)).isoformat(), today.isoformat()
    )
    use_cases.create_period(
        "y", "year", (today - datetime.timedelta(days=200)).isoformat(), today.isoformat()
    )
    yield use_cases, directory
    rule_sets.close()


def visit(use_cases, staff_id: str, licence: str, days_ago: int) -> None:
    moment = times.now() - datetime.timedelta(days=days_ago)
    use_cases.record_card(
        VisitCard("", staff_id, licence, moment, (VisitItem("customer_manager_visit", (1, 2)),))
    )


def coverage_of(use_cases) -> dict[str, float | None]:
    """Each customer manager's visit coverage; None when the person had no visits due."""
    _, results, _, _ = use_cases.run_period("p", "hr")
    found = {}
    for result in results:
        if result.role == "customer_manager":
            (item,) = [i for i in result.indicators if i["indicator"] == "visit_coverage"]
            found[result.subject_id] = item["value"] if item["has_value"] else None
    return found


def test_coverage_counts_the_customers_classification_names_at_the_run(world):
    use_cases, directory = world
    visit(use_cases, "cm-1", "L-1", 3)
    visit(use_cases, "cm-1", "L-1", 2)
    visit(use_cases, "cm-1", "L-2", 1)
    assert coverage_of(use_cases) == {"cm-1": 0.75, "cm-2": None}  # 2 + 1 of 2 + 2

    # L-1 moves to cm-2 before a re-run: it counts wholly for cm-2, and cm-1's two visits
    # to it count for nobody (the documented limitation).
    directory.managed = {"cm-1": ["L-2"], "cm-2": ["L-1"]}
    assert coverage_of(use_cases) == {"cm-1": 0.5, "cm-2": 0.0}

    # A customer classification no longer lists (deactivated) is left out for everyone.
    directory.managed = {"cm-1": ["L-2"]}
    assert coverage_of(use_cases) == {"cm-1": 0.5, "cm-2": None}


def test_the_frequency_due_is_the_one_last_fetched(world):
    use_cases, directory = world
    visit(use_cases, "cm-1", "L-1", 2)  # fetched with this card: 2 a month
    visit(use_cases, "cm-1", "L-2", 2)
    directory.menus["L-1"] = menu("L-1", 4)  # entitlements changed since: not fetched again
    assert coverage_of(use_cases)["cm-1"] == 0.5  # 1 + 1 of 2 + 2, not of 4 + 2
    visit(use_cases, "cm-1", "L-1", 1)  # the next card fetches the menu again
    assert coverage_of(use_cases)["cm-1"] == pytest.approx(3 / 6)


def test_a_survey_is_taken_from_any_known_customer_about_anyone(world):
    use_cases, _ = world

    def survey(licence: str, subject: str):
        return use_cases.submit_rating(Rating("y", CUSTOMER_SURVEY, licence, subject, answers=(5, 4)))

    survey("L-1", "cm-1")  # its manager
    survey("L-1", "cm-2")  # not its manager: not checked (not known for the period)
    survey("L-1", "bm-1")  # a brand manager serves customers without managing them
    with pytest.raises(NotFound):
        survey("L-404", "cm-1")
    assert {r.subject_id for r in use_cases.list_ratings("y", "", CUSTOMER_SURVEY)} == {
        "cm-1",
        "cm-2",
        "bm-1",
    }
