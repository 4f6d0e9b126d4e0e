"""The decision-table gap check: inputs no row covers, given the declared types and values."""

from services.common.rules.validation import validate
from tests.support.rule_samples import KINDS, minimal


def _table(rows: str, columns: str = "monthly_sales_cartons") -> str:
    return minimal("").replace("rules:\n", "") + f"table:\n  conditions: [{columns}]\n  rows:\n{rows}"


def _warnings(source: str) -> list[str]:
    result = validate(source, KINDS)
    assert result.valid, [str(d) for d in result.diagnostics]
    result.compiled.close()
    return [d.message for d in result.warnings]


def test_closed_bands_leave_a_gap_that_is_named():
    rows = (
        '    - {id: a, monthly_sales_cartons: "< 0.8", set_grade.grade: 1}\n'
        '    - {id: b, monthly_sales_cartons: "0.8..0.9999", set_grade.grade: 2}\n'
        '    - {id: c, monthly_sales_cartons: ">= 1", set_grade.grade: 3}\n'
    )
    assert _warnings(_table(rows)) == [
        "table gap: no row covers monthly_sales_cartons between 0.9999 and 1.0"
    ]


def test_half_open_bands_leave_none():
    rows = (
        '    - {id: a, monthly_sales_cartons: "< 0.8", set_grade.grade: 1}\n'
        '    - {id: b, monthly_sales_cartons: "[0.8, 1)", set_grade.grade: 2}\n'
        '    - {id: c, monthly_sales_cartons: ">= 1", set_grade.grade: 3}\n'
    )
    assert _warnings(_table(rows)) == []


def test_a_one_of_value_no_row_names_is_a_gap_and_a_missing_optional_input_too():
    rows = (
        '    - {id: a, market_type: urban, credit_rating: "A, B", set_grade.grade: 1}\n'
        "    - {id: b, market_type: rural, set_grade.grade: 2}\n"
    )
    (warning,) = _warnings(_table(rows, "market_type, credit_rating"))
    assert warning.startswith("table gap: no row covers market_type = urban, credit_rating missing; ")
    assert "market_type = urban, credit_rating = C" in warning
    assert "market_type = urban, credit_rating = D" in warning
    assert "rural" not in warning


def test_overlapping_rows_under_first_are_named():
    source = minimal("", policy="first").replace("rules:\n", "") + (
        "table:\n  conditions: [monthly_sales_cartons]\n  rows:\n"
        '    - {id: a, monthly_sales_cartons: "[0, 10]", set_grade.grade: 1}\n'
        '    - {id: b, monthly_sales_cartons: ">= 10", set_grade.grade: 2}\n'
        '    - {id: c, monthly_sales_cartons: "< 0", set_grade.grade: 3}\n'
    )
    result = validate(source, KINDS)
    result.compiled.close()
    (warning,) = result.warnings
    assert warning.rule_id == "b" and "can match together with rule a" in warning.message
