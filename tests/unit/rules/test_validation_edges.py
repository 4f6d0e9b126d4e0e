"""Validation at its edges, word for word: failing embedded tests, rules that can never
fire, first-match conflicts, table gaps and their limit, a refusing engine and a kind's
own check; and what a result reports."""

import dataclasses
import math

import pytest

from services.common.rules import validation
from services.common.rules.document import read_document
from services.common.rules.validation import TestOutcome as Outcome
from services.common.rules.validation import differences, validate
from tests.support.rule_samples import KINDS, minimal

BIG = (
    "  - id: big\n"
    "    when: {monthly_sales_cartons: {at_least: 100}}\n"
    "    then: [{set_grade: {grade: 20}}, {set_segment: {segment: key}}]\n"
)
FACTS = "{monthly_sales_cartons: 150, business_format: grocery, market_type: urban}"


def diagnostics(source):
    result = validate(source, KINDS)
    if result.compiled is not None:
        result.compiled.close()
    return result, [str(d) for d in result.diagnostics]


def test_failing_embedded_tests_say_every_difference_and_bad_facts():
    source = minimal(BIG) + (
        "tests:\n"
        f"  - {{name: passes, given: {FACTS}, expect: {{grade: 20}}, fired: [big]}}\n"
        f"  - {{name: fails twice, given: {FACTS}, expect: {{grade: 21, segment: small}}, fired: [other]}}\n"
        "  - {name: bad facts, given: {monthly_sales_cartons: many, colour: red}}\n"
    )
    result, found = diagnostics(source)
    assert found == [
        "error: line 15: test 'fails twice' failed: grade: expected 21, got 20; "
        "segment: expected 'small', got 'key'; fired: expected ['other'], got ['big']",
        "error: line 16: test 'bad facts' failed: given facts: monthly_sales_cartons: must be a number; "
        "colour: not an input of rule set customer-grading; business_format: is required; "
        "market_type: is required",
    ]
    assert (result.valid, result.compiled, result.tests_passed) == (False, None, 1)
    assert [(t.name, t.line, t.passed) for t in result.tests] == [
        ("passes", 14, True),
        ("fails twice", 15, False),
        ("bad facts", 16, False),
    ]
    assert result.errors == result.diagnostics and result.warnings == []


def test_an_outcome_passes_without_failures():
    assert Outcome("t", 1, ()).passed and not Outcome("t", 1, ("x",)).passed


def test_list_differences_name_only_what_is_missing_or_extra():
    assert differences("s", ["a", "b"], ["a"]) == ["s: missing ['b']"]
    assert differences("s", ["a"], ["a", "c"]) == ["s: unexpected ['c']"]
    assert differences("s", ["a"], ["a"]) == []
    assert differences("s", ["a"], "a") == ["s: expected ['a'], got 'a'"]


def test_rules_that_can_never_fire_say_why():
    never = (
        "  - {id: n1, when: {all: [{credit_rating: A}, {credit_rating: B}]}, then: [{set_grade: {grade: 2}}]}\n"
        "  - {id: n2, when: {all: [{credit_rating: {is_missing: true}}, {credit_rating: A}]},"
        " then: [{set_grade: {grade: 2}}]}\n"
        "  - {id: n3, when: {all: [{monthly_sales_cartons: {at_least: 10}}, {monthly_sales_cartons: {less_than: 10}}]},"
        " then: [{set_grade: {grade: 2}}]}\n"
        "  - {id: any, when: {any: [{credit_rating: A}, {credit_rating: B}]}, then: [{set_grade: {grade: 2}}]}\n"
    )
    result, found = diagnostics(minimal(BIG + never))
    assert found == [
        "warning: line 12, rule n1: this rule can never fire: no value of credit_rating satisfies all its comparisons",
        "warning: line 13, rule n2: this rule can never fire: credit_rating is required to be missing and compared at once",
        "warning: line 14, rule n3: this rule can never fire: monthly_sales_cartons cannot be above 10.0 and below "
        "10.0 at once",
    ]
    assert result.valid and result.warnings == result.diagnostics and result.errors == []


def test_first_match_conflicts_only_between_rules_that_can_match_together_at_one_priority():
    rules = (
        "  - {id: a, when: {market_type: urban}, then: [{set_grade: {grade: 5}}]}\n"
        "  - {id: b, priority: 1, when: {market_type: urban}, then: [{set_grade: {grade: 6}}]}\n"
        "  - {id: c, when: {market_type: urban}, then: [{set_grade: {grade: 5}}]}\n"
        "  - {id: d, when: {all: [{market_type: urban}, {credit_rating: A}]}, then: [{set_grade: {grade: 7}}]}\n"
        "  - {id: e, when: {any: [{market_type: urban}, {credit_rating: A}]}, then: [{set_grade: {grade: 8}}]}\n"
        "  - {id: f, when: {market_type: rural}, then: [{set_grade: {grade: 9}}]}\n"
        "  - {id: g, when: {all: [{credit_rating: A}, {credit_rating: B}]}, then: [{set_grade: {grade: 1}}]}\n"
    )
    _, found = diagnostics(minimal(rules, policy="first"))
    tail = "at the same priority with different outputs; under first match only the earlier one applies"
    assert found == [
        "warning: line 15, rule g: this rule can never fire: no value of credit_rating satisfies all its comparisons",
        f"warning: line 12, rule d: can match together with rule a (line 9) {tail}",
        f"warning: line 12, rule d: can match together with rule c (line 11) {tail}",
    ]
    _, collected = diagnostics(minimal(rules))
    assert collected == found[:1]  # collect applies every match: no conflict


def test_table_gaps_show_five_and_count_the_rest():
    source = minimal("").replace("rules:\n", "") + (
        "table:\n  conditions: [monthly_sales_cartons, credit_rating]\n  rows:\n"
        "    - {id: a, monthly_sales_cartons: '>= 10', credit_rating: A, set_grade.grade: 1}\n"
    )
    _, found = diagnostics(source)
    below = "monthly_sales_cartons below 10.0"
    assert found == [
        f"warning: line 12: table gap: no row covers {below}, credit_rating missing; {below}, credit_rating = A; "
        f"{below}, credit_rating = B; {below}, credit_rating = C; {below}, credit_rating = D; and 8 more"
    ]


def test_a_table_with_too_many_combinations_is_not_checked_for_gaps(monkeypatch):
    source = minimal("").replace("rules:\n", "") + (
        "table:\n  conditions: [monthly_sales_cartons, credit_rating]\n  rows:\n"
        "    - {id: a, monthly_sales_cartons: '>= 10', credit_rating: A, set_grade.grade: 1}\n"
    )
    monkeypatch.setattr(validation, "MAX_GAP_POINTS", 14)  # 3 pieces of sales x 5 of credit_rating = 15
    _, found = diagnostics(source)
    assert found == ["warning: line 12: table: too many combinations of condition values to check for gaps"]
    monkeypatch.setattr(validation, "MAX_GAP_POINTS", 15)
    assert "too many" not in diagnostics(source)[1][0]


def test_an_engine_refusal_is_an_error(monkeypatch):
    def refuse(*args):
        raise RuntimeError("ruleset too deep")

    monkeypatch.setattr(validation, "CompiledRuleSet", refuse)
    result, found = diagnostics(minimal(BIG))
    assert found == ["error: document: the rules engine refused the rule set: ruleset too deep"]
    assert result.compiled is None and result.tests == []


def test_a_kinds_own_check_refuses_the_version(monkeypatch):
    kind = KINDS["customer-grading"]
    monkeypatch.setitem(
        KINDS, "customer-grading", type(kind)(**{**kind.__dict__, "check": lambda c: ["no", "never"]})
    )
    result, found = diagnostics(minimal(BIG))
    assert found == ["error: document: no", "error: document: never"]
    assert not result.valid and result.compiled is None


@pytest.mark.parametrize("source", ["name: [", "rules: []\n"])
def test_a_document_that_cannot_be_read_is_not_compiled(source):
    result, found = diagnostics(source)
    assert result.compiled is None and found and all(f.startswith("error") for f in found)


def test_the_pieces_each_column_type_is_cut_into():
    source = (
        "name: any\ninputs:\n  vip: {type: boolean}\n  note: {type: text, required: true}\n"
        "  stars: {type: integer, required: true}\n  since: {type: date, required: true}\n"
        "  share: {type: decimal, required: true}\n  zone: {type: text, required: true}\n"
        "table:\n  conditions: [vip, note, stars, since, share]\n  rows:\n"
        "    - {id: a, vip: true, note: x, stars: '[3, 5]', since: '>= 2026-01-10', share: '[0.5, 1)', flag: yes}\n"
        "    - {id: b, stars: 4, flag: yes}\n"
    )
    document, found = read_document(source, None)
    assert found == []
    conditions = [rule.condition for rule in document.rules]
    pieces = {name: validation._pieces(spec, conditions) for name, spec in document.inputs.items()}
    assert pieces == {
        "vip": [(None, "missing"), (True, "= true"), (False, "= false")],
        "note": [("x", "= x"), ("\x00any other text", "= any other text")],
        "stars": [(2, "below 3"), (3, "= 3"), (4, "= 4"), (5, "= 5"), (6, "above 5")],
        "since": [
            ("2026-01-09", "below 2026-01-10"),
            ("2026-01-10", "= 2026-01-10"),
            ("2026-01-11", "above 2026-01-10"),
        ],
        "share": [
            (-0.5, "below 0.5"),
            (0.5, "= 0.5"),
            (0.75, "between 0.5 and 1.0"),
            (1.0, "= 1.0"),
            (2.0, "above 1.0"),
        ],
        "zone": [("\x00any other text", "= any other text")],
    }


def test_a_test_with_bad_facts_does_not_stop_the_next_one():
    source = minimal(BIG) + (
        "tests:\n  - {name: bad, given: {monthly_sales_cartons: many}}\n"
        f"  - {{name: good, given: {FACTS}, expect: {{grade: 20}}}}\n"
    )
    result, _ = diagnostics(source)
    assert [(t.name, t.passed) for t in result.tests] == [("bad", False), ("good", True)]


def test_pieces_between_integers_dates_and_close_decimals_and_of_a_column_no_row_compares():
    """An integer or date gap of more than one step gets a piece inside it, one of exactly
    one step none; two decimals whose midpoint rounds onto one of them none either; a
    numeric column no row compares is one piece (or none when it is required)."""
    close = math.nextafter(1.0, 2.0)
    source = (
        "name: any\ninputs:\n  stars: {type: integer, required: true}\n  since: {type: date}\n"
        "  share: {type: decimal, required: true}\n  count: {type: integer, required: true}\n"
        "  size: {type: integer}\n"
        "table:\n  conditions: [stars, since, share, count, size]\n  rows:\n"
        f"    - {{id: a, stars: '<= 10', since: '<= 2026-01-10', share: '< 1.0', flag: yes}}\n"
        f"    - {{id: b, stars: '>= 12', since: '>= 2026-01-12', share: '>= {close!r}', flag: yes}}\n"
    )
    document, found = read_document(source, None)
    assert found == []
    conditions = [rule.condition for rule in document.rules]
    pieces = {name: validation._pieces(spec, conditions) for name, spec in document.inputs.items()}
    assert pieces == {
        "stars": [(9, "below 10"), (10, "= 10"), (11, "between 10 and 12"), (12, "= 12"), (13, "above 12")],
        "since": [
            (None, "missing"),
            ("2026-01-09", "below 2026-01-10"),
            ("2026-01-10", "= 2026-01-10"),
            ("2026-01-11", "between 2026-01-10 and 2026-01-12"),
            ("2026-01-12", "= 2026-01-12"),
            ("2026-01-13", "above 2026-01-12"),
        ],
        "share": [(0.0, "below 1.0"), (1.0, "= 1.0"), (close, f"= {close}"), (close + 1, f"above {close}")],
        "count": [],
        "size": [(None, "missing")],
    }


TABLE = minimal("").replace("rules:\n", "") + (
    "table:\n  conditions: [monthly_sales_cartons, credit_rating]\n  rows:\n"
    "    - {id: a, monthly_sales_cartons: '>= 10', set_grade.grade: 1}\n"
)


def test_exactly_five_gaps_are_all_shown_with_no_count_of_more():
    (gap,) = validate(TABLE, KINDS).warnings
    below = "monthly_sales_cartons below 10.0"
    assert gap.message == (
        f"table gap: no row covers {below}, credit_rating missing; {below}, credit_rating = A; "
        f"{below}, credit_rating = B; {below}, credit_rating = C; {below}, credit_rating = D"
    )
    assert gap.table_columns == ("monthly_sales_cartons", "credit_rating")


def test_too_many_combinations_names_the_columns(monkeypatch):
    monkeypatch.setattr(validation, "MAX_GAP_POINTS", 14)
    (warning,) = validate(TABLE, KINDS).warnings
    assert warning.message == "table: too many combinations of condition values to check for gaps"
    assert (warning.line, warning.table_columns) == (12, ("monthly_sales_cartons", "credit_rating"))


def test_a_table_without_rows_or_without_input_columns_has_no_gaps():
    document, found = read_document(TABLE, KINDS)
    assert found == []
    assert validation.table_gaps(document) != []
    assert validation.table_gaps(dataclasses.replace(document, table_rows=())) == []
    assert validation.table_gaps(dataclasses.replace(document, table_columns=("grade",))) == []


def test_validate_keeps_the_document_read_and_compiles_version_0_by_default():
    result = validate(minimal(BIG), KINDS)
    try:
        assert result.document is not None and result.document.name == "customer-grading"
        assert result.document is result.compiled.document
        assert result.compiled.version == 0
    finally:
        result.compiled.close()
    refused = validate(minimal(BIG).replace("at_least: 100", "at_least: lots"), KINDS)
    assert refused.errors and refused.compiled is None
    assert refused.document is not None and refused.document.name == "customer-grading"
