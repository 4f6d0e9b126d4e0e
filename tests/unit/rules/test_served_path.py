"""The served path: a generated Python function decides live, durable-rules checks it
before activation and on a sample afterwards, and a setting serves from durable-rules alone."""

import logging
import random

import pytest
from prometheus_client import REGISTRY

from services.common.rules import codegen
from services.common.rules import conditions as c
from services.common.rules.differential import candidate_values
from services.common.rules.validation import validate
from services.composition import PACK
from tests.support.rule_samples import default_source

KINDS = PACK.rule_set_catalogue().all_kinds()
SHIPPED = sorted(KINDS)
GRADING = "customer-grading"
CUSTOMER = {"monthly_sales_cartons": 92, "business_format": "grocery", "market_type": "urban"}


@pytest.fixture
def grading():
    compiled = validate(default_source(GRADING), KINDS).compiled
    yield compiled
    compiled.close()


def _random_facts(compiled, rng: random.Random) -> dict:
    """Facts from the boundary values of each input, or a random number of its type."""
    facts = {}
    for name, spec in compiled.document.inputs.items():
        if not spec.required and rng.random() < 0.2:
            continue
        if spec.type == "integer" and rng.random() < 0.5:
            facts[name] = rng.randint(-5, 600)
        elif spec.type == "decimal" and rng.random() < 0.5:
            facts[name] = round(rng.uniform(-5, 600), rng.choice([0, 1, 2]))
        else:
            values = [v for v in candidate_values(spec, set()) if isinstance(v, (str, int, float))]
            values += sorted(_constants(compiled, name), key=repr)
            if values:
                facts[name] = rng.choice(values)
    return compiled.prepare_facts(facts)


def _constants(compiled, name: str) -> set:
    return {
        test.value
        for condition in compiled.normalised.values()
        for test in c.comparisons(condition)
        if isinstance(test, c.Compare) and test.input == name
    }


@pytest.mark.parametrize("name", SHIPPED)
def test_the_generated_function_decides_like_durable_rules_on_random_facts(name):
    compiled = validate(default_source(name), KINDS).compiled
    rng = random.Random(name)
    try:
        fired_somewhere = set()
        for _ in range(800):
            facts = _random_facts(compiled, rng)
            served = compiled.decide_generated(facts)
            engine = compiled.apply(compiled.match_with_engine(facts))
            assert served == engine, facts  # fired rules, outputs and reasons
            fired_somewhere.update(served[0])
        assert len(fired_somewhere) > len(compiled.document.rules) // 2  # the facts reach most rules
    finally:
        compiled.close()


def test_serve_gives_the_same_decision_as_durable_rules(grading):
    served = grading.serve(CUSTOMER)
    engine = grading.decide(CUSTOMER, memoise=False)
    assert (served.fired, served.outputs, served.reasons) == (engine.fired, engine.outputs, engine.reasons)
    assert served.outputs["grade"] == 19 and served.reasons["grade"] == "grade_19"


def test_a_version_whose_compilations_disagree_is_refused(monkeypatch):
    monkeypatch.setitem(codegen.OPERATORS, "gte", ">")  # a code generator bug at every boundary
    result = validate(default_source(GRADING), KINDS)
    assert not result.valid and result.compiled is None
    problems = [str(d) for d in result.errors]
    assert any("the served decision function and durable-rules disagree on facts" in p for p in problems)
    assert any("cannot be activated" in p for p in problems)


@pytest.mark.parametrize("name", ["customer-grading", "service-entitlements"])
def test_without_embedded_tests_the_boundary_facts_still_catch_a_disagreement(monkeypatch, name):
    source = default_source(name)
    untested = source[: source.index("\ntests:")] + "\n"
    assert validate(untested, KINDS).valid
    monkeypatch.setitem(codegen.OPERATORS, "gte", ">")
    result = validate(untested, KINDS)
    assert not result.valid
    assert "disagree" in str(result.errors[0])


def _sample(name, rule_set):
    return REGISTRY.get_sample_value(name, {"rule_set": rule_set}) or 0.0


def test_the_shadow_check_counts_a_mismatch_and_durable_rules_decision_stands(grading, caplog):
    grading.serve_with("generated", 1.0)
    right = grading.decide_generated

    def wrong(facts):
        fired, outputs, reasons = right(facts)
        return fired, {**outputs, "grade": 1}, reasons

    grading.decide_generated = wrong
    checks, mismatches = (
        _sample(m, GRADING) for m in ("rules_shadow_checks_total", "rules_shadow_mismatches_total")
    )
    with caplog.at_level(logging.ERROR, logger="retailcare.rules"):
        decision = grading.serve(CUSTOMER)
    assert decision.outputs["grade"] == 19
    assert _sample("rules_shadow_checks_total", GRADING) == checks + 1
    assert _sample("rules_shadow_mismatches_total", GRADING) == mismatches + 1
    assert any("differs from durable-rules" in r.getMessage() for r in caplog.records)


def test_agreeing_shadow_checks_count_no_mismatch(grading):
    grading.serve_with("generated", 1.0)
    mismatches = _sample("rules_shadow_mismatches_total", GRADING)
    checks = _sample("rules_shadow_checks_total", GRADING)
    for sales in (5, 30, 92, 250, 600):
        grading.serve({**CUSTOMER, "monthly_sales_cartons": sales})
    assert _sample("rules_shadow_checks_total", GRADING) == checks + 5
    assert _sample("rules_shadow_mismatches_total", GRADING) == mismatches


def test_no_shadow_check_when_the_share_is_zero(grading):
    grading.serve_with("generated", 0.0)
    checks = _sample("rules_shadow_checks_total", GRADING)
    for _ in range(50):
        grading.serve(CUSTOMER)
    assert _sample("rules_shadow_checks_total", GRADING) == checks


def test_serving_from_durable_rules_alone_never_calls_the_generated_function(grading):
    grading.serve_with("durable", 1.0)

    def broken(facts):
        raise AssertionError("the generated function was used")

    grading.decide_generated = broken
    decision = grading.serve(CUSTOMER)
    assert decision.outputs["grade"] == 19 and "grade_19" in decision.fired


def test_an_unknown_serving_source_is_refused(grading):
    with pytest.raises(ValueError, match="generated, durable"):
        grading.serve_with("zen", 0.0)


def test_fired_rules_are_counted_on_the_served_path(grading):
    before = grading.fired_totals()["grade_19"]
    grading.serve(CUSTOMER)
    grading.serve(CUSTOMER)
    assert grading.fired_totals()["grade_19"] == before + 2


@pytest.mark.parametrize("tiny", [1e-07, -1e-07, 5e-324, 2.5e-05])
def test_numbers_json_writes_as_exponents_decide_through_durable_rules_too(grading, tiny):
    facts = {**CUSTOMER, "monthly_sales_cartons": tiny, "shop_area_m2": tiny}
    engine = grading.decide(facts, memoise=False)
    served = grading.serve(facts)
    assert (engine.fired, engine.outputs, engine.reasons) == (served.fired, served.outputs, served.reasons)
    assert engine.outputs.get("grade") == 1  # the ladder's first step has no lower bound (no gap)


def test_a_shadow_check_durable_rules_cannot_decide_counts_as_a_mismatch_and_still_serves(
    grading, monkeypatch, caplog
):
    grading.serve_with("generated", 1.0)

    def failing(facts):
        raise RuntimeError("engine error")

    monkeypatch.setattr(grading, "match_with_engine", failing)
    mismatches = _sample("rules_shadow_mismatches_total", GRADING)
    with caplog.at_level(logging.ERROR, logger="retailcare.rules"):
        decision = grading.serve(CUSTOMER)
    assert decision.outputs["grade"] == 19
    assert _sample("rules_shadow_mismatches_total", GRADING) == mismatches + 1
    assert any("could not decide" in r.getMessage() for r in caplog.records)
