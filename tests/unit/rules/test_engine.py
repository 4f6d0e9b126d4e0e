"""Decisions in real durable-rules: agreement with the plain-Python reference, the memo,
statelessness, concurrency, facts checking."""

import random
import threading

import pytest

from services.common.rules.engine import FactsError
from services.common.rules.validation import validate
from tests.support.rule_samples import KINDS, default_source, minimal, random_grading_facts


@pytest.fixture
def grading():
    compiled = validate(default_source("customer-grading"), KINDS).compiled
    yield compiled
    compiled.close()


def test_fast_path_host_path_and_python_reference_agree(grading):
    rng = random.Random(7)
    for _ in range(750):
        facts = grading.prepare_facts(random_grading_facts(rng))
        fast = grading.match_with_engine(facts)
        assert sorted(fast) == sorted(grading.match_with_host(facts)), facts
        assert sorted(fast) == sorted(grading.match_with_python(facts)), facts


def test_memoised_decisions_equal_unmemoised_ones(grading):
    rng = random.Random(11)
    for _ in range(1000):
        facts = random_grading_facts(rng)
        memoised = grading.decide(facts)
        plain = grading.decide(facts, memoise=False)
        assert (memoised.outputs, memoised.fired) == (plain.outputs, plain.fired), facts


def test_memoised_outputs_are_copies(grading):
    facts = {"monthly_sales_cartons": 300, "business_format": "mall", "market_type": "urban"}
    grading.decide(facts).outputs["grade"] = -1
    assert grading.decide(facts).outputs["grade"] == 27


def test_decisions_leave_no_state_behind(grading):
    # A ruleset holds at most 1,024 live sids; without deleting each one this raises.
    for sales in range(1100):
        grading.decide(
            {"monthly_sales_cartons": sales % 600, "business_format": "grocery", "market_type": "rural"},
            memoise=False,
        )


def test_eight_threads_agree_with_the_single_threaded_answers(grading):
    """Two rule sets at once, as a service has: the engine's C state is shared."""
    entitlements = validate(default_source("service-entitlements"), KINDS).compiled
    rng = random.Random(3)
    cases = [random_grading_facts(rng) for _ in range(300)]
    stars = [{"star_level": 1 + i % 5, "business_format": "mall", "market_type": "urban"} for i in range(300)]
    expected = [grading.decide(f, memoise=False) for f in cases]
    expected_stars = [entitlements.decide(f, memoise=False) for f in stars]
    mismatches, errors = [], []

    def worker(seed: int) -> None:
        order = list(range(len(cases)))  # each thread in its own order: they interleave
        random.Random(seed).shuffle(order)
        try:
            for index in order:
                got = grading.decide(cases[index], memoise=False)
                if (got.outputs, got.fired) != (expected[index].outputs, expected[index].fired):
                    mismatches.append(index)
                got = entitlements.decide(stars[index], memoise=False)
                if got.outputs != expected_stars[index].outputs:
                    mismatches.append(index)
        except Exception as error:  # collected: an exception in a thread is not a test failure
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entitlements.close()
    assert not errors and not mismatches  # 8 threads x 600 decisions


def test_facts_that_do_not_fit_name_every_field(grading):
    with pytest.raises(FactsError) as problem:
        grading.decide({"monthly_sales_cartons": "many", "business_format": "bakery", "colour": "red"})
    fields = dict(problem.value.violations)
    assert set(fields) == {"monthly_sales_cartons", "business_format", "colour", "market_type"}
    assert fields["market_type"] == "is required"


def test_not_is_true_when_the_input_is_missing():
    rules = (
        "  - id: no_bad_credit\n"
        "    when: {not: {credit_rating: B}}\n"
        "    then: [{set_segment: {segment: fine}}]\n"
        "  - id: explicit_not_equal\n"
        "    when: {credit_rating: {not_equals: B}}\n"
        "    then: [{set_grade: {grade: 9}}]\n"
    )
    compiled = validate(minimal(rules), KINDS).compiled
    base = {"monthly_sales_cartons": 1, "business_format": "grocery", "market_type": "urban"}
    assert compiled.decide(base).fired == ("no_bad_credit",)
    assert compiled.decide({**base, "credit_rating": "A"}).fired == ("no_bad_credit", "explicit_not_equal")
    assert compiled.decide({**base, "credit_rating": "B"}).fired == ()
    compiled.close()


def test_first_match_applies_only_the_highest_priority_rule():
    rules = (
        "  - {id: low, priority: 1, then: [{set_grade: {grade: 1}}, {set_segment: {segment: low}}]}\n"
        "  - {id: high, priority: 5, when: {market_type: urban}, then: [{set_grade: {grade: 5}}]}\n"
    )
    compiled = validate(minimal(rules, policy="first"), KINDS).compiled
    urban = compiled.decide(
        {"monthly_sales_cartons": 1, "business_format": "grocery", "market_type": "urban"}
    )
    rural = compiled.decide(
        {"monthly_sales_cartons": 1, "business_format": "grocery", "market_type": "rural"}
    )
    assert (urban.fired, urban.outputs) == (("high",), {"grade": 5})
    assert (rural.fired, rural.outputs) == (("low",), {"grade": 1, "segment": "low"})
    compiled.close()


def test_a_closed_version_refuses_new_decisions(grading):
    from services.common.rules.engine import RuleSetClosed

    grading.close()
    with pytest.raises(RuleSetClosed):
        grading.decide(
            {"monthly_sales_cartons": 1, "business_format": "grocery", "market_type": "urban"}, memoise=False
        )
