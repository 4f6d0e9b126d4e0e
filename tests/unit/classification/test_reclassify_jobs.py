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


def test_each_job_leaves_the_other_rule_sets_customers_to_the_other_job(use_cases, rules):
    """Both rule sets activated: the entitlements job passes over the customers behind on
    the grading, which the grading job decides on both; a customer the grading job has
    reached is then the entitlements job's only when its entitlements are still behind."""
    rules.versions[GRADING_RULE_SET] = 2  # its own job has not reached anyone yet
    rules.versions[ENTITLEMENTS_RULE_SET] = 2

    entitlements = _run(use_cases, ENTITLEMENTS_RULE_SET)
    assert rules.calls == {} and entitlements.processed == len(SALES)
    assert {(o.grading_version, o.entitlements_version) for o in _outcomes(use_cases).values()} == {(1, 1)}

    _run(use_cases, GRADING_RULE_SET)
    assert rules.calls == {GRADING_RULE_SET: len(SALES), ENTITLEMENTS_RULE_SET: len(SALES)}
    assert {(o.grading_version, o.entitlements_version) for o in _outcomes(use_cases).values()} == {(2, 2)}


def test_a_grading_change_is_counted_by_the_grading_job_however_the_jobs_interleave(use_cases, rules):
    """Grading version 2 begins serving while the entitlements job still passes over the
    customers (its settling last pass, say): the customers whose grade version 2 changes
    are counted by version 2's job, not written by the entitlements job before it."""
    rules.versions[ENTITLEMENTS_RULE_SET] = 2
    rules.tiers = {5: "A", 4: "B", 3: "B"}  # version 2 changes the services of some
    _run(use_cases, ENTITLEMENTS_RULE_SET)
    rules.versions[GRADING_RULE_SET] = 2
    rules.grade_step = 10  # version 2: a grade every 10 cartons instead of 20
    regraded = sum(min(30, int(s // 10) + 1) != min(30, int(s // 20) + 1) for s in SALES)
    rules.calls.clear()

    late_pass = _run(use_cases, ENTITLEMENTS_RULE_SET)
    assert (late_pass.changed, rules.calls) == (0, Counter())
    grading = _run(use_cases, GRADING_RULE_SET)
    assert regraded == 3 and grading.changed == regraded  # 15, 60 and 250 cartons


def test_a_job_of_the_grading_leaves_a_customer_behind_only_on_the_entitlements(use_cases, rules):
    rules.versions[ENTITLEMENTS_RULE_SET] = 2  # their job has not reached anyone yet

    last = _run(use_cases, GRADING_RULE_SET)

    assert (rules.calls, last.processed, last.changed) == (Counter(), len(SALES), 0)


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
