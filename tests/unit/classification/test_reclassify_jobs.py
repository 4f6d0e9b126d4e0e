"""What the reclassification job of an activation decides: only what is not on the
serving versions, and for a new entitlements version only the entitlements (the stored
grading, its reasons and fired rules kept), with the same outcome as deciding both."""

from collections import Counter

import pytest

from services.classification import domain
from services.classification.domain import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
from services.classification.ports import CustomerQuery
from services.classification.service_layer import ClassificationUseCases
from tests.unit.classification.fakes import FakeRuleSets, FakeStorage

SALES = (5.0, 15.0, 60.0, 250.0, 600.0)


class CountingRuleSets(FakeRuleSets):
    def __init__(self):
        super().__init__()
        self.calls = Counter()

    def decide(self, rule_set, facts):
        self.calls[rule_set] += 1
        return super().decide(rule_set, facts)


@pytest.fixture
def rules():
    return CountingRuleSets()


@pytest.fixture
def storage():
    return FakeStorage()


@pytest.fixture
def use_cases(storage, rules):
    cases = ClassificationUseCases(storage, rules)
    for index, sales in enumerate(SALES):
        cases.create(
            {
                "licence_number": f"L-{index}",
                "name": "Shop",
                "business_format": "grocery",
                "market_type": "urban",
                "monthly_sales_cartons": sales,
            }
        )
    rules.calls.clear()
    return cases


def _run(use_cases, rule_set: str, batch_size: int = 2):
    return list(use_cases.reclassify(CustomerQuery(), 0, batch_size, rule_set=rule_set))[-1]


def _outcomes(use_cases) -> dict:
    return {c.licence_number: c.outcome for c in use_cases.list(CustomerQuery(), 0, "")[0]}


def test_a_job_of_the_entitlements_decides_only_the_entitlements(use_cases, rules, storage):
    rules.versions[ENTITLEMENTS_RULE_SET] = 2
    rules.tiers = {5: "A", 4: "B", 3: "B"}

    last = _run(use_cases, ENTITLEMENTS_RULE_SET)

    assert rules.calls == {ENTITLEMENTS_RULE_SET: len(SALES)}
    assert (last.processed, last.changed, last.failed, last.skipped) == (5, 1, 0, 0)
    # The same outcome, reasons and fired rules as deciding both rule sets afresh.
    for customer in use_cases.list(CustomerQuery(), 0, "")[0]:
        assert customer.outcome == domain.classify(customer.inputs, rules.decide)
        assert customer.outcome.reasons["grade"] == "grade_rule"
        assert customer.outcome.entitlements_version == 2


def test_a_job_of_the_grading_decides_both_rule_sets(use_cases, rules):
    rules.versions[GRADING_RULE_SET] = 2

    last = _run(use_cases, GRADING_RULE_SET)

    assert rules.calls == {GRADING_RULE_SET: len(SALES), ENTITLEMENTS_RULE_SET: len(SALES)}
    assert last.processed == len(SALES)
    assert {o.grading_version for o in _outcomes(use_cases).values()} == {2}


def test_customers_on_the_serving_versions_are_not_decided_again(use_cases, rules, storage):
    rules.versions[ENTITLEMENTS_RULE_SET] = 2
    use_cases.classify_on_demand("L-0")  # decided on version 2 already
    rules.calls.clear()
    writes = storage.store.writes

    last = _run(use_cases, ENTITLEMENTS_RULE_SET)

    assert rules.calls == {ENTITLEMENTS_RULE_SET: len(SALES) - 1}
    assert last.processed == len(SALES)
    assert storage.store.writes == writes + len(SALES) - 1
    rules.calls.clear()
    assert _run(use_cases, ENTITLEMENTS_RULE_SET).processed == len(SALES)  # a resumed or repeated job
    assert rules.calls == {}


def test_a_job_of_the_entitlements_decides_both_for_a_customer_behind_on_the_grading(use_cases, rules):
    rules.versions[GRADING_RULE_SET] = 2  # its own job has not reached anyone yet
    rules.versions[ENTITLEMENTS_RULE_SET] = 2

    _run(use_cases, ENTITLEMENTS_RULE_SET)

    assert rules.calls == {GRADING_RULE_SET: len(SALES), ENTITLEMENTS_RULE_SET: len(SALES)}
    assert {(o.grading_version, o.entitlements_version) for o in _outcomes(use_cases).values()} == {(2, 2)}


def test_the_explicit_reclassification_decides_everyone(use_cases, rules):
    list(use_cases.reclassify(CustomerQuery()))
    assert rules.calls == {GRADING_RULE_SET: len(SALES), ENTITLEMENTS_RULE_SET: len(SALES)}


@pytest.mark.parametrize("sales", SALES)
def test_entitling_again_on_the_same_grading_is_classifying_afresh(sales):
    rules = FakeRuleSets()
    inputs = domain.normalised_inputs(
        {
            "licence_number": "L-1",
            "business_format": "mall",
            "market_type": "rural",
            "monthly_sales_cartons": sales,
        }
    )
    before = domain.classify(inputs, rules.decide)
    rules.versions[ENTITLEMENTS_RULE_SET] = 2
    rules.tiers = {5: "B", 4: "C"}

    assert domain.entitle_again(inputs, before, rules.decide) == domain.classify(inputs, rules.decide)


def test_a_job_stops_at_a_batch_decided_on_a_newer_version_and_writes_none_of_it(use_cases, rules):
    """Version 3 begins serving while version 2's job runs: the batch decided on 3 is left
    to version 3's job, which counts it; version 2's job writes nothing of it."""
    rules.versions[GRADING_RULE_SET] = 2
    runs = use_cases.reclassify(CustomerQuery(), 0, 2, rule_set=GRADING_RULE_SET, version=2)
    first = next(runs)
    rules.versions[GRADING_RULE_SET] = 3
    assert list(runs) == []
    outcomes = _outcomes(use_cases)
    assert [outcomes[f"L-{i}"].grading_version for i in range(len(SALES))] == [2, 2, 1, 1, 1]
    assert (first.processed, first.last_id) == (2, 2)
    last = list(use_cases.reclassify(CustomerQuery(), 0, 2, rule_set=GRADING_RULE_SET, version=3))[-1]
    assert last.processed == len(SALES)
    assert {o.grading_version for o in _outcomes(use_cases).values()} == {3}
