"""Documents are refused with messages naming the rule and the line; warnings are given."""

import pytest

from services.common.rules.document import MAX_SOURCE_BYTES
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
