"""Classifying on demand decides outside the write transaction: a customer changed by
another writer between the read and the write is read and decided again, never
overwritten with what was read before."""

import pytest

from services.classification import service_layer
from services.classification.service_layer import ClassificationUseCases
from tests.unit.classification.fakes import FakeRuleSets, FakeStorage


@pytest.fixture
def storage():
    return FakeStorage()


@pytest.fixture
def rules():
    return FakeRuleSets()


@pytest.fixture
def use_cases(storage, rules):
    return ClassificationUseCases(storage, rules)


def create(use_cases, licence: str, sales: float) -> None:
    use_cases.create(
        {
            "licence_number": licence,
            "name": f"Shop {licence}",
            "business_format": "grocery",
            "market_type": "urban",
            "monthly_sales_cartons": sales,
        }
    )


def history(use_cases, licence: str) -> list[str]:
    entries, _ = use_cases.history(licence, 0, "")
    return [entry.reason for entry in entries]


def racing_writer(use_cases, rules, monkeypatch, races: int, sales: list[float]):
    """While the next ``races`` classifications decide, another writer updates the
    customer's monthly sales to the next figure of ``sales``."""
    decide, raced, writing = rules.decide, [], []

    def decide_while_another_writes(rule_set, facts):
        if rule_set == "customer-grading" and len(raced) < races and not writing:
            figure = sales[len(raced)]
            raced.append(figure)
            writing.append(True)  # the other writer's own decision is not raced
            use_cases.update("L-1", {"monthly_sales_cartons": figure}, ["monthly_sales_cartons"])
            writing.clear()
        return decide(rule_set, facts)

    monkeypatch.setattr(rules, "decide", decide_while_another_writes)
    return raced


def test_a_write_between_read_and_write_is_decided_again(use_cases, rules, monkeypatch):
    create(use_cases, "L-1", 30.0)  # three stars
    racing_writer(use_cases, rules, monkeypatch, races=1, sales=[250.0])
    classified = use_cases.classify_on_demand("L-1")
    # Decided on what the other writer stored, and both writes kept.
    assert classified.inputs["monthly_sales_cartons"] == 250.0
    assert classified.outcome.star_level == 4
    stored = use_cases.get("L-1")
    assert (stored.outcome, stored.version) == (classified.outcome, classified.version)
    assert stored.classification.reason == "on_demand"
    assert history(use_cases, "L-1") == ["on_demand", "update", "create"]


def test_after_every_attempt_lost_it_decides_inside_the_transaction(use_cases, rules, monkeypatch):
    create(use_cases, "L-1", 30.0)
    attempts = service_layer.OPTIMISTIC_ATTEMPTS
    sales = [300.0 + index for index in range(attempts)]
    raced = racing_writer(use_cases, rules, monkeypatch, races=attempts, sales=sales)
    classified = use_cases.classify_on_demand("L-1")
    assert raced == sales  # every optimistic attempt met another writer
    assert classified.inputs["monthly_sales_cartons"] == sales[-1]
    assert classified.outcome.star_level == 4
    assert use_cases.get("L-1").outcome == classified.outcome
    assert history(use_cases, "L-1") == ["on_demand", *["update"] * attempts, "create"]


def test_a_lone_classification_writes_once(use_cases, storage):
    create(use_cases, "L-1", 30.0)
    writes, commits = storage.store.writes, storage.commits
    use_cases.classify_on_demand("L-1")
    assert (storage.store.writes - writes, storage.commits - commits) == (1, 1)
    assert history(use_cases, "L-1") == ["on_demand", "create"]
