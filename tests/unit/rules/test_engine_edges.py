"""The compiled rule set at its edges, on a small document: facts checking word for word,
priority order and first match, the memo's key and limit, the JSON durable-rules reads,
the decision's metrics and timing from a set clock, and closing."""

import json
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from services.common.rules import engine
from services.common.rules.document import read_document
from services.common.rules.engine import Decision, FactsError, RuleSetClosed, _copy, _number_json
from services.common.rules.model import ActionSpec, Vocabulary
from services.common.rules.validation import validate
from tests.support.rule_samples import KINDS, minimal

RULES = (
    "  - {id: base, priority: 1, then: [{set_grade: {grade: 1}}, {set_segment: {segment: low}}]}\n"
    "  - id: big\n"
    "    priority: 5\n"
    "    when: {monthly_sales_cartons: {at_least: 100}}\n"
    "    then: [{set_grade: {grade: 5}}]\n"
    "  - id: urban_a\n"
    "    priority: 5\n"
    "    when: {all: [{market_type: urban}, {credit_rating: A}]}\n"
    "    then: [{set_segment: {segment: prime}}]\n"
    "  - id: rated\n"
    "    when: {credit_rating: {is_present: true}}\n"
    "    then: [{set_grade: {grade: 3}}]\n"
)
BASE = {"monthly_sales_cartons": 10, "business_format": "grocery", "market_type": "urban"}


def compile_(policy="collect", rules=RULES, version=904):
    result = validate(minimal(rules, policy), KINDS, version)
    assert result.valid, [str(d) for d in result.diagnostics]
    return result.compiled


@pytest.fixture
def rules():
    compiled = compile_()
    yield compiled
    compiled.close()


def sample(name, labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


# ---- facts -------------------------------------------------------------------------


def test_facts_errors_name_each_field_once_in_order(rules):
    with pytest.raises(FactsError) as error:
        rules.prepare_facts({"colour": "red", "monthly_sales_cartons": "many", "business_format": None})
    assert error.value.violations == [
        ("colour", "not an input of rule set customer-grading"),
        ("monthly_sales_cartons", "must be a number"),
        ("business_format", "is required"),
        ("market_type", "is required"),
    ]
    assert str(error.value) == (
        "colour: not an input of rule set customer-grading; monthly_sales_cartons: must be a number; "
        "business_format: is required; market_type: is required"
    )


def test_prepared_facts_are_converted_and_a_none_optional_is_dropped(rules):
    assert rules.prepare_facts({**BASE, "monthly_sales_cartons": 7, "credit_rating": None}) == {
        "monthly_sales_cartons": 7.0,
        "business_format": "grocery",
        "market_type": "urban",
    }


# ---- matching and applying ---------------------------------------------------------


def test_collect_applies_every_match_by_priority_then_position_and_keeps_the_first_reason(rules):
    decision = rules.decide({**BASE, "monthly_sales_cartons": 100, "credit_rating": "A"})
    assert decision.fired == ("big", "urban_a", "base", "rated")
    assert decision.outputs == {"grade": 5, "segment": "prime"}  # the first value set stands
    assert decision.reasons == {"grade": "big", "segment": "urban_a"}
    assert (decision.rule_set, decision.version) == ("customer-grading", 904)


def test_first_applies_the_highest_priority_match_only():
    compiled = compile_("first")
    try:
        assert compiled.apply(["rated", "base", "urban_a", "big"]) == (
            ("big",),
            {"grade": 5},
            {"grade": "big"},
        )
        assert compiled.apply([]) == ((), {}, {})
    finally:
        compiled.close()


def test_the_three_matchers_agree_on_a_few_facts(rules):
    for facts in (
        BASE,
        {**BASE, "credit_rating": "A"},
        {**BASE, "monthly_sales_cartons": 100.0, "market_type": "rural"},
    ):
        prepared = rules.prepare_facts(facts)
        expected = rules.match_with_python(prepared)
        assert rules.match_with_engine(prepared) == expected
        assert rules.match_with_host(prepared) == expected


# ---- the memo ----------------------------------------------------------------------


def test_the_memo_key_tells_apart_what_the_conditions_can(rules):
    # inputs compared with literals: credit_rating (A, and present), market_type (urban),
    # monthly_sales_cartons (100); in the order of their names
    assert [name for name, _ in rules._key_parts] == ["credit_rating", "market_type", "monthly_sales_cartons"]
    assert rules._key_parts[1] == ("market_type", ["urban"])
    assert rules.decision_key({"monthly_sales_cartons": 100.0, "market_type": "urban"}) == (
        None,
        (0, True),
        (0, True),
    )
    assert rules.decision_key(
        {"monthly_sales_cartons": 99.5, "market_type": "rural", "credit_rating": "B"}
    ) == (
        (1, False),
        (0, False),
        (0, False),
    )
    assert rules.decision_key({"monthly_sales_cartons": 100.5}) == (None, None, (1, False))


def test_a_full_memo_is_emptied_before_it_grows(rules, monkeypatch):
    monkeypatch.setattr(engine, "CACHE_LIMIT", 2)
    for sales in (1, 100):
        rules.decide({**BASE, "monthly_sales_cartons": sales})
    assert len(rules._cache) == 2
    rules.decide({**BASE, "monthly_sales_cartons": 200})
    assert list(rules._cache) == [
        rules.decision_key(rules.prepare_facts({**BASE, "monthly_sales_cartons": 200}))
    ]
    assert rules.decide({**BASE, "monthly_sales_cartons": 300}).fired == (
        "big",
        "base",
    )  # the same key: a hit
    assert len(rules._cache) == 1


def test_a_memoised_decision_is_a_copy_and_equals_an_unmemoised_one(rules):
    first = rules.decide(BASE)
    first.outputs["grade"] = 99
    again = rules.decide(BASE)
    assert again.outputs == {"grade": 1, "segment": "low"} == rules.decide(BASE, memoise=False).outputs


def test_copy_is_deep_for_dicts_and_lists():
    value = {"a": [1, {"b": 2}], "c": "x"}
    copied = _copy(value)
    assert copied == value
    copied["a"][1]["b"] = 3
    copied["a"].append(4)
    assert value == {"a": [1, {"b": 2}], "c": "x"}


# ---- JSON for durable-rules --------------------------------------------------------


def test_numbers_in_exponent_form_get_a_decimal_point():
    assert [_number_json(v) for v in (1e-07, 1.5e-07, -1e-07, 0.5, 3.0, 1e20)] == [
        "1.0e-07",
        "1.5e-07",
        "-1.0e-07",
        "0.5",
        "3.0",
        "1.0e+20",
    ]


def test_the_fact_text_writes_tiny_decimals_with_a_point_and_leaves_the_rest(rules):
    text = rules._fact_json({"monthly_sales_cartons": 1e-05, "market_type": "urban"}, "7")
    assert (
        text
        == '{"monthly_sales_cartons": 1.0e-05, "market_type": "urban", "sid": "7", "$present": 1}'.replace(
            "$present", engine.c.ALWAYS_PRESENT
        )
    )
    assert (
        json.loads(rules._fact_json({"monthly_sales_cartons": 0.0001}, "8"))["monthly_sales_cartons"]
        == 0.0001
    )
    plain = rules._fact_json({"monthly_sales_cartons": 0.0, "market_type": "中"}, "9")
    assert plain == json.dumps(
        {"monthly_sales_cartons": 0.0, "market_type": "中", "sid": "9", engine.c.ALWAYS_PRESENT: 1},
        ensure_ascii=False,
    )
    negative = rules._fact_json({"monthly_sales_cartons": -2e-05}, "1")
    assert negative.startswith('{"monthly_sales_cartons": -2.0e-05, "sid": "1"')


# ---- decisions: metrics, timing, closing -------------------------------------------


class Clock:
    def __init__(self, *readings):
        self.readings = list(readings)

    def __call__(self):
        return self.readings.pop(0)


def test_a_decision_is_timed_counted_and_its_fired_rules_tallied(rules, monkeypatch):
    labels = {"rule_set": "customer-grading", "version": "904", "outcome": "decided"}
    before = sample("rules_decisions_total", labels)
    monkeypatch.setattr(engine, "time", SimpleNamespace(perf_counter=Clock(10.0, 10.25, 20.0, 20.5)))
    decided = rules.decide(BASE)
    served = rules.serve(BASE)
    assert decided == Decision(
        "customer-grading",
        904,
        {"grade": 1, "segment": "low"},
        ("base",),
        0.25,
        {"grade": "base", "segment": "base"},
    )
    assert served.seconds == 0.5 and served.fired == ("base",)
    assert sample("rules_decisions_total", labels) == before + 2
    assert rules.fired_totals() == {"base": 2}


def test_bad_facts_and_failures_are_counted_by_outcome(rules, monkeypatch):
    def labels(outcome):
        return {"rule_set": "customer-grading", "version": "904", "outcome": outcome}

    invalid, error = (
        sample("rules_decisions_total", labels("invalid_facts")),
        sample("rules_decisions_total", labels("error")),
    )
    for call in (rules.decide, rules.serve):
        with pytest.raises(FactsError):
            call({})
    monkeypatch.setattr(rules, "decide_generated", lambda facts: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        rules.serve(BASE)
    monkeypatch.setattr(rules, "match_with_engine", lambda facts: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        rules.decide(BASE, memoise=False)
    assert sample("rules_decisions_total", labels("invalid_facts")) == invalid + 2
    assert sample("rules_decisions_total", labels("error")) == error + 2


def test_serve_with_refuses_an_unknown_source_word_for_word(rules):
    with pytest.raises(ValueError) as error:
        rules.serve_with("zen", 0.5)
    assert str(error.value) == "serve_from must be one of generated, durable, got 'zen'"
    rules.serve_with("durable", 0.5)
    assert (rules.serve_from, rules.shadow_share) == ("durable", 0.5)


def test_a_closed_rule_set_refuses_every_matcher_and_closing_twice_is_harmless():
    compiled = compile_()
    compiled.decide(BASE)
    compiled.close()
    compiled.close()
    assert compiled.closed and compiled._cache == {}
    for match in (compiled.match_with_engine, compiled.match_with_host):
        with pytest.raises(RuleSetClosed) as error:
            match(compiled.prepare_facts(BASE))
        assert str(error.value) == "customer-grading"
    compiled.serve_with("generated", 1.0)
    with pytest.raises(RuleSetClosed):
        compiled.serve(BASE)  # the shadow check reaches the closed engine


# ---- more edges: versions, the host path's failures, prepared facts, sampling, logs ---


def test_a_rule_set_compiled_without_a_version_is_version_0_and_open():
    document = compile_()
    try:
        compiled = engine.CompiledRuleSet(document.document, document.vocabulary)
        assert (compiled.version, compiled.closed) == (0, False)
        assert compiled.decide(BASE).version == 0
        compiled.close()
        assert compiled.closed is True and compiled._host is None
    finally:
        document.close()


def test_an_action_that_fails_on_the_host_path_is_an_error_naming_it(rules):
    def failing(action_name):
        raise LookupError(f"cannot record {action_name}")

    host = engine._RecordingHost(failing)  # a host whose every action fails
    always = {"all": [{"m": engine.c.to_durable_rule(engine.c.TRUE)}], "run": "always"}
    host.register_rulesets({rules._engine_name: {"always": always}})
    rules._host = host
    with pytest.raises(RuntimeError) as error:
        rules.match_with_host(rules.prepare_facts(BASE))
    assert str(error.value).startswith("rule action failed: exception caught cannot record ")


def test_prepared_facts_are_not_checked_again(rules):
    unchecked = {"monthly_sales_cartons": 150.0}  # two required inputs missing
    assert rules.decide(unchecked, prepared=True).fired == ("big", "base")
    assert rules.serve(unchecked, prepared=True).fired == ("big", "base")
    rules.serve_with("durable", 0.0)
    assert rules.serve(unchecked, prepared=True).fired == ("big", "base")
    with pytest.raises(FactsError):
        rules.serve(unchecked)


def test_a_served_decision_names_its_rule_set_and_version(rules):
    served = rules.serve(BASE)
    assert (served.rule_set, served.version, served.outputs, served.reasons) == (
        "customer-grading",
        904,
        {"grade": 1, "segment": "low"},
        {"grade": "base", "segment": "base"},
    )


def test_a_memo_hit_does_not_ask_the_engine_again(rules, monkeypatch):
    first = rules.decide(BASE)

    def refuse(facts):
        raise AssertionError("the engine was asked again")

    monkeypatch.setattr(rules, "match_with_engine", refuse)
    again = rules.decide(BASE)
    assert (again.fired, again.outputs, again.reasons) == (first.fired, first.outputs, first.reasons)


def test_the_shadow_sample_takes_draws_strictly_below_the_share(rules, monkeypatch):
    labels = {"rule_set": "customer-grading"}
    rules.serve_with("generated", 0.5)
    checks = sample("rules_shadow_checks_total", labels)
    for draw in (0.5, 0.9):
        monkeypatch.setattr(engine.random, "random", lambda draw=draw: draw)
        rules.serve(BASE)
    assert sample("rules_shadow_checks_total", labels) == checks
    monkeypatch.setattr(engine.random, "random", lambda: 0.4999)
    rules.serve(BASE)
    assert sample("rules_shadow_checks_total", labels) == checks + 1


def test_a_shadow_mismatch_is_logged_with_both_decisions(rules, caplog):
    rules.serve_with("generated", 1.0)
    rules.decide_generated = lambda facts: (("urban_a",), {"segment": "prime"}, {"segment": "urban_a"})
    prepared = rules.prepare_facts(BASE)
    with caplog.at_level("ERROR", logger="retailcare.rules"):
        assert rules.serve(BASE).fired == ("base",)
    (record,) = caplog.records
    assert (
        record.getMessage()
        == "the served decision differs from durable-rules'; durable-rules' decision stands"
    )
    assert (record.rule_set, record.version, record.facts) == ("customer-grading", 904, prepared)
    assert (record.served_fired, record.durable_fired) == (["urban_a"], ["base"])


def test_a_shadow_check_durable_rules_cannot_make_is_logged_with_the_facts(rules, caplog, monkeypatch):
    rules.serve_with("generated", 1.0)
    monkeypatch.setattr(rules, "match_with_engine", lambda facts: 1 / 0)
    with caplog.at_level("ERROR", logger="retailcare.rules"):
        assert rules.serve(BASE).fired == ("base",)
    (record,) = caplog.records
    assert record.getMessage() == "durable-rules could not decide facts the served function decided"
    assert (record.rule_set, record.version, record.facts) == (
        "customer-grading",
        904,
        rules.prepare_facts(BASE),
    )
    assert record.exc_info[0] is ZeroDivisionError


def test_a_new_rule_set_serves_the_generated_function_with_no_shadow_check(rules):
    assert (rules.serve_from, rules.shadow_share) == ("generated", 0.0)
    assert rules.decide_generated.__code__.co_filename == "<rules customer-grading v904>"


def test_decision_time_is_observed_per_rule_set(rules):
    labels = {"rule_set": "customer-grading"}
    before = sample("rules_decision_seconds_count", labels)
    rules.decide(BASE)
    rules.serve(BASE)
    assert sample("rules_decision_seconds_count", labels) == before + 2


def test_tiny_decimals_are_written_in_place_whatever_the_names_and_other_texts():
    """Input names and texts outside ASCII, and a text that reads null, stay as they are."""
    source = (
        "name: any\ninputs:\n  note: {type: text}\n  销量: {type: decimal}\n"
        "rules: [{id: r, when: {销量: {less_than: 1}}, then: [flag]}]\n"
    )
    document, found = read_document(source, None)
    assert found == []
    compiled = engine.CompiledRuleSet(
        document, Vocabulary.of(ActionSpec("flag", {}, lambda outputs, params: None))
    )
    try:
        facts = {"note": "null 备注", "销量": 2.5e-05}
        text = compiled._fact_json(facts, "3")
        assert text == f'{{"note": "null 备注", "销量": 2.5e-05, "sid": "3", "{engine.c.ALWAYS_PRESENT}": 1}}'
        assert compiled.decide(facts).fired == ("r",)
    finally:
        compiled.close()


@pytest.mark.parametrize("note_first", [True, False])
def test_a_text_holding_the_tiny_decimals_placeholder_stays_text(note_first):
    """A text fact may hold anything, NUL included: one equal to the marker an earlier
    version wrote in place of a tiny decimal (NUL, sid, name) is neither taken for that
    decimal nor turned into a number, whichever comes first."""
    source = (
        "name: any\ninputs:\n  note: {type: text}\n  share: {type: decimal}\n"
        "rules: [{id: r, when: {share: {less_than: 1}}, then: [flag]}]\n"
    )
    document, found = read_document(source, None)
    assert found == []
    compiled = engine.CompiledRuleSet(
        document, Vocabulary.of(ActionSpec("flag", {}, lambda outputs, params: None))
    )
    try:
        pairs = [("note", "\x005:share"), ("share", 3e-05)]
        facts = dict(pairs if note_first else reversed(pairs))
        text = compiled._fact_json(facts, "5")
        assert json.loads(text) == {**facts, "sid": "5", engine.c.ALWAYS_PRESENT: 1}
        assert '"share": 3.0e-05' in text
    finally:
        compiled.close()


@pytest.mark.parametrize("path", ["serve", "decide"])
def test_every_refusal_of_bad_facts_counts_on_each_path(path):
    """Two refusals in one thread count two (each adds to the thread's tally)."""
    compiled = compile_(version=905)
    labels = {"rule_set": "customer-grading", "version": "905", "outcome": "invalid_facts"}
    before = sample("rules_decisions_total", labels)
    try:
        for _ in range(2):
            with pytest.raises(FactsError):
                getattr(compiled, path)({})
        assert sample("rules_decisions_total", labels) == before + 2
    finally:
        compiled.close()
