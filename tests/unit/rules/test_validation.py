"""Documents are refused with messages naming the rule and the line; warnings are given."""

import copy
import random

import pytest
import yaml

from services.common.rules.document import MAX_SOURCE_BYTES, read_document
from services.common.rules.validation import validate
from tests.support.rule_samples import KINDS, default_source, minimal

GOOD_RULE = """\
  - id: big
    when: {monthly_sales_cartons: {at_least: 100}}
    then:
      - set_grade: {grade: 20}
"""


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_shipped_default_is_valid_and_its_tests_pass(name):
    result = validate(default_source(name), KINDS)
    assert result.valid, [str(d) for d in result.diagnostics]
    assert result.tests and all(t.passed for t in result.tests)
    assert not result.warnings
    result.compiled.close()


def _errors(source: str) -> list:
    result = validate(source, KINDS)
    assert not result.valid
    assert result.compiled is None
    return result.errors


def test_yaml_syntax_error_names_the_line():
    (error,) = _errors(minimal(GOOD_RULE) + "  - id: [unclosed\n")
    assert "YAML syntax" in error.message and error.line == 15


def test_duplicate_yaml_key_is_an_error_not_a_silent_override():
    (error,) = _errors(minimal(GOOD_RULE.replace("    then:", "    when: {}\n    then:")))
    assert "duplicate key 'when'" in error.message and error.line == 11


@pytest.mark.parametrize(
    ("rule", "fragment", "line"),
    [
        ("    when: {monthly_sales_cartons: {at_least: lots}}\n", "'lots' must be a number", 10),
        ("    when: {business_format: bakery}\n", "must be one of grocery, convenience_store", 10),
        ("    when: {credit_rating: {less_than: B}}\n", "less_than needs a number", 10),
        ("    when: {shoe_size: 42}\n", "unknown input 'shoe_size'", 10),
        ("    when: {monthly_sales_cartons: {roughly: 5}}\n", "unknown operator 'roughly'", 10),
    ],
)
def test_condition_problems_name_rule_and_line(rule, fragment, line):
    source = minimal(f"  - id: r1\n{rule}    then:\n      - set_grade: {{grade: 3}}\n")
    (error,) = _errors(source)
    assert fragment in error.message
    assert error.rule_id == "r1" and error.line == line


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ("launch_rocket: {}", "unknown action 'launch_rocket'"),
        ("set_grade: {grade: 0}", "grade 0 must be at least 1"),
        ("set_grade: {grade: high}", "grade 'high' must be a whole number"),
        ("set_grade: {}", "parameter 'grade' is required"),
        ("set_grade: {grade: 3, colour: red}", "unknown parameter 'colour'"),
    ],
)
def test_action_problems_name_rule_and_line(action, fragment):
    (error,) = _errors(minimal(f"  - id: r7\n    then:\n      - {action}\n"))
    assert fragment in error.message and error.rule_id == "r7" and error.line == 11


def test_duplicate_rule_ids():
    (error,) = _errors(minimal(GOOD_RULE + GOOD_RULE))
    assert error.rule_id == "big" and "duplicate rule id (first at line 9)" in error.message
    assert error.line == 13


def test_failing_embedded_test_is_an_error_with_its_line():
    source = minimal(GOOD_RULE) + (
        "tests:\n"
        "  - name: big customers get grade 20\n"
        "    given: {monthly_sales_cartons: 150, business_format: grocery, market_type: urban}\n"
        "    expect: {grade: 21}\n"
    )
    (error,) = _errors(source)
    assert error.line == 15
    assert "expected 21, got 20" in error.message


def test_test_facts_are_checked_against_the_inputs():
    source = (
        minimal(GOOD_RULE) + "tests:\n  - name: t\n    given: {monthly_sales_cartons: many}\n    expect: {}\n"
    )
    (error,) = _errors(source)
    assert "monthly_sales_cartons: must be a number" in error.message
    assert "business_format: is required" in error.message


def test_oversized_document_is_refused():
    (error,) = _errors(minimal(GOOD_RULE) + "#" * MAX_SOURCE_BYTES)
    assert "larger than 256 KiB" in error.message


def test_unknown_rule_set_name_and_reserved_input():
    (unknown,) = _errors(minimal(GOOD_RULE).replace("name: customer-grading", "name: horoscope"))
    assert "unknown rule set 'horoscope'" in unknown.message
    errors = _errors(minimal(GOOD_RULE).replace("  credit_rating:", "  sid:"))
    assert any("reserved" in e.message for e in errors)


def test_rule_that_can_never_fire_is_a_warning():
    rule = (
        "  - id: impossible\n"
        "    when:\n"
        "      all:\n"
        "        - monthly_sales_cartons: {at_least: 100}\n"
        "        - monthly_sales_cartons: {less_than: 50}\n"
        "    then: [{set_grade: {grade: 2}}]\n"
    )
    result = validate(minimal(GOOD_RULE + rule), KINDS)
    assert result.valid
    (warning,) = result.warnings
    assert warning.rule_id == "impossible" and warning.line == 13 and "never fire" in warning.message
    result.compiled.close()


def test_overlapping_rules_under_first_match_are_a_warning():
    overlapping = "  - id: urban\n    when: {market_type: urban}\n    then: [{set_grade: {grade: 5}}]\n"
    disjoint = (
        "  - id: small\n"
        "    when: {all: [{market_type: rural}, {monthly_sales_cartons: {less_than: 100}}]}\n"
        "    then: [{set_grade: {grade: 1}}]\n"
    )
    result = validate(minimal(GOOD_RULE + overlapping + disjoint, policy="first"), KINDS)
    assert result.valid
    (warning,) = result.warnings
    assert warning.rule_id == "urban" and "rule big" in warning.message
    result.compiled.close()


def test_inputs_must_be_facts_the_service_supplies_as_it_supplies_them():
    errors = _errors(
        minimal(GOOD_RULE)
        .replace(
            "  credit_rating: {type: one_of, values: [A, B, C, D]}",
            "  credit_rating: {type: one_of, values: [A, B]}\n  horoscope: {type: text}",
        )
        .replace(
            "monthly_sales_cartons: {type: decimal, required: true}",
            "monthly_sales_cartons: {type: integer, required: true}",
        )
        .replace(
            "  market_type: {type: one_of, values: [urban, rural], required: true}",
            "  market_type: {type: one_of, values: [urban, rural], required: true}\n  shop_area_m2: {type: decimal, required: true}",
        )
    )
    messages = " | ".join(e.message for e in errors)
    assert "input horoscope: the service does not supply it" in messages
    assert "input monthly_sales_cartons: the service supplies it as decimal, not integer" in messages
    assert "input credit_rating: values C, D are sent by the service and must be listed" in messages
    assert "input shop_area_m2: the service does not always supply it, so it cannot be required" in messages


TABLE = """\
name: service-entitlements
hit_policy: first
inputs:
  star_level: {type: integer, required: true}
  business_format: {type: one_of, values: [grocery, convenience_store, supermarket, mall, tobacco_liquor, entertainment, other], required: true}
  market_type: {type: one_of, values: [urban, rural], required: true}
table:
  conditions: [star_level, business_format]
  rows:
    - {id: fine, star_level: ">= 4", business_format: "-", grant_service.service: business_guidance}
    - {id: odd, star_level: "CELL", business_format: "-", grant_service.service: scarce_brand_supply}
"""


@pytest.mark.parametrize(
    ("cell", "fragment"),
    [
        ("=> 4", "star_level: cell '=> 4': unknown operator '=>'"),
        ("=< 4", "star_level: cell '=< 4': unknown operator '=<'"),
        (">=", "star_level: cell '>=': a value is missing"),
        ("3..", "star_level: cell '3..': a value is missing"),
        (">= 0x10", "star_level: value '0x10' must be a whole number"),
        (">= 1.0e999", "star_level: value inf must be a finite number"),
        (">= 99999999999999999999", "star_level: value 99999999999999999999 must be a finite number"),
        (">= 2.5", "star_level: value 2.5 must be a whole number"),
        (">= 2026-01-01", "star_level: value 2026-01-01 must be a whole number"),
        ("x" * 500, "star_level: value '" + "x" * 59 + "…"),
    ],
)
def test_every_malformed_cell_names_line_row_and_column(cell, fragment):
    (error,) = _errors(TABLE.replace("CELL", cell))
    assert (error.line, error.rule_id) == (11, "odd")
    assert fragment in error.message, error.message


@pytest.mark.parametrize(
    ("literal", "fragment"),
    [
        (".inf", "value inf must be a finite number"),
        ("-.inf", "value -inf must be a finite number"),
        (".nan", "value nan must be a finite number"),
        ("1.0e+300", "value 1e+300 must be a finite number within +/-1e+15"),
        ("[1, 2]", "value [1, 2] must be a number"),
        ("{a: 1}", "value {'a': 1} must be a number"),
    ],
)
def test_non_finite_or_odd_values_in_conditions_are_errors(literal, fragment):
    source = minimal(
        f"  - id: r1\n    when: {{monthly_sales_cartons: {{at_least: {literal}}}}}\n"
        "    then:\n      - set_grade: {grade: 3}\n"
    )
    (error,) = _errors(source)
    assert fragment in error.message and (error.rule_id, error.line) == ("r1", 10)


def test_odd_action_parameters_are_errors():
    (error,) = _errors(minimal("  - id: r1\n    then:\n      - set_grade: {grade: .inf}\n"))
    assert "action set_grade: grade inf must be a finite number" in error.message
    (error,) = _errors(minimal("  - id: r1\n    then:\n      - set_grade: 7\n"))
    assert "action set_grade: parameters must be a mapping" in error.message and error.rule_id == "r1"


def test_characters_yaml_refuses_are_errors_on_their_line():
    (error,) = _errors(minimal(GOOD_RULE).replace("id: big", "id: b\x00ig"))
    assert error.message == "YAML syntax: character U+0000 is not allowed" and error.line == 9


HOSTILE = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "=> 9",
    [],
    [1, [2]],
    {},
    {"a": None},
    {"all": 5},
    {"not": None},
    {"any": [None]},
    [{"x": 1}],
    10**30,
    {"at_least": [1]},
    {"between": [1]},
    {"in": "abc"},
    {"equals": {"a": 1}},
    {"set_grade": None},
    ["set_grade"],
    [[1]],
    {1: 2},
    {3: "x", "y": 1},
]


def _paths(node, path=()):
    yield path
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _paths(value, (*path, key))


SHAPES = {
    "rules": minimal(GOOD_RULE)
    + "tests:\n  - name: big\n    given: {monthly_sales_cartons: 120, business_format: mall, market_type: urban}\n"
    "    expect: {grade: 20}\n    fired: [big]\n",
    "table": TABLE.replace("CELL", "1..3"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_any_document_shape_is_diagnosed_never_a_crash(shape):
    """Documents with random parts replaced by odd values: reading them answers with
    diagnostics (or a document), never with an exception. (Compiling and the embedded
    tests guard themselves; reading is where the shapes are taken apart.)"""
    base = yaml.safe_load(SHAPES[shape])
    rng = random.Random(shape)
    for _ in range(150):
        document = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            *parents, last = rng.choice([p for p in _paths(document) if p])
            node = document
            for part in parents:
                node = node[part]
            node[last] = copy.deepcopy(rng.choice(HOSTILE))
        read, diagnostics = read_document(yaml.safe_dump(document, allow_unicode=True), KINDS)
        assert read is not None or diagnostics
