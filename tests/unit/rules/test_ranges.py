"""Half-open ranges: `from` / `below` in conditions and `[a, b)` in table cells leave no
gap between adjacent bands, and compile to the comparisons durable-rules already has."""

import pytest

from services.common.rules import conditions as c
from services.common.rules.document import read_document
from services.common.rules.tables import parse_cell
from services.common.rules.validation import validate
from tests.support.rule_samples import KINDS, default_source, minimal

BANDS = """\
  - id: low
    when: {monthly_sales_cartons: {from: 0, below: 0.9}}
    then: [{set_grade: {grade: 1}}]
  - id: high
    when: {monthly_sales_cartons: {from: 0.9, below: 1}}
    then: [{set_grade: {grade: 2}}]
  - id: top
    when: {monthly_sales_cartons: {from: 1}}
    then: [{set_grade: {grade: 3}}]
"""


def test_from_below_normalises_to_gte_and_lt():
    document, diagnostics = read_document(minimal(BANDS), KINDS)
    assert not diagnostics
    assert document.rules[0].condition == c.AllOf(
        (c.Compare("monthly_sales_cartons", "gte", 0.0), c.Compare("monthly_sales_cartons", "lt", 0.9))
    )
    assert document.rules[2].condition == c.Compare("monthly_sales_cartons", "gte", 1.0)


@pytest.mark.parametrize(
    ("cartons", "grade", "rule"), [(0.89999, 1, "low"), (0.9, 2, "high"), (0.99995, 2, "high"), (1, 3, "top")]
)
def test_adjacent_half_open_bands_have_no_gap_in_durable_rules(cartons, grade, rule):
    result = validate(minimal(BANDS), KINDS)
    assert result.valid, [str(d) for d in result.diagnostics]
    try:
        decision = result.compiled.decide(
            {"monthly_sales_cartons": cartons, "business_format": "grocery", "market_type": "urban"},
            memoise=False,
        )
    finally:
        result.compiled.close()
    assert decision.outputs["grade"] == grade and list(decision.fired) == [rule]


@pytest.mark.parametrize(
    ("cell", "parsed"),
    [
        ("[0.8, 0.9)", ("range", (0.8, True, 0.9, False))),
        ("(1, 2]", ("range", (1, False, 2, True))),
        (
            "[2020-01-01, 2021-01-01)",
            (
                "range",
                (
                    __import__("datetime").date(2020, 1, 1),
                    True,
                    __import__("datetime").date(2021, 1, 1),
                    False,
                ),
            ),
        ),
        ("a, b", ("in", ["a", "b"])),
    ],
)
def test_interval_cells(cell, parsed):
    assert parse_cell(cell, textual=False if "a" not in cell else True) == parsed


def test_interval_cell_in_a_table_compiles_to_gte_and_lt():
    source = minimal("").replace("rules:\n", "") + (
        "table:\n  conditions: [monthly_sales_cartons]\n  rows:\n"
        '    - {id: a, monthly_sales_cartons: "[0, 10)", set_grade.grade: 1}\n'
        '    - {id: b, monthly_sales_cartons: "(10, 20]", set_grade.grade: 2}\n'
    )
    document, diagnostics = read_document(source, KINDS)
    assert not diagnostics, [str(d) for d in diagnostics]
    assert document.rules[1].condition == c.AllOf(
        (
            c.AllOf(
                (
                    c.Compare("monthly_sales_cartons", "gt", 10.0),
                    c.Compare("monthly_sales_cartons", "lte", 20.0),
                )
            ),
        )
    )


def test_a_range_on_a_one_of_input_is_refused_by_name():
    _, diagnostics = read_document(
        minimal("  - id: r\n    when: {market_type: {from: a}}\n    then: [{set_grade: {grade: 1}}]\n"), KINDS
    )
    assert any("market_type: from needs a number" in d.message for d in diagnostics)


def test_unknown_input_suggests_the_closest_declared_one():
    _, diagnostics = read_document(
        minimal(
            "  - id: r\n    when: {monthly_sales_carton: {from: 1}}\n    then: [{set_grade: {grade: 1}}]\n"
        ),
        KINDS,
    )
    assert any(
        d.message == "unknown input 'monthly_sales_carton'; did you mean 'monthly_sales_cartons'?"
        for d in diagnostics
    )


def test_action_parameter_of_the_wrong_type_is_named():
    _, diagnostics = read_document(minimal("  - id: r\n    then: [{set_grade: {grade: 1.5}}]\n"), KINDS)
    assert any(
        d.message.startswith("action set_grade: grade 1.5 must be a whole number") for d in diagnostics
    )


def test_a_fact_under_another_name_points_at_the_record_s_name():
    source = default_source("service-entitlements").replace("zone_type", "market_zone")
    _, diagnostics = read_document(source, KINDS)
    assert any(
        d.message.startswith("input market_zone: the service does not supply it")
        and d.message.endswith("did you mean 'zone_type'? (docs/rules.md, supplied facts)")
        for d in diagnostics
    )
    _, diagnostics = read_document(source.replace("market_zone:\n", "zone_type:\n", 1), KINDS)
    assert any(d.message == "unknown input 'market_zone'; did you mean 'zone_type'?" for d in diagnostics)
