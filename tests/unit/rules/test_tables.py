"""Decision tables: the cell language, and rows imported from CSV and XLSX."""

import csv
import datetime

import openpyxl
import pytest

from services.common.rules.tables import inline_rows_from, parse_cell
from services.common.rules.validation import validate
from tests.support.rule_samples import KINDS


@pytest.mark.parametrize(
    ("cell", "textual", "parsed"),
    [
        ("-", False, None),
        ("", True, None),
        (">= 5", False, ("at_least", 5)),
        ("< 2.5", False, ("less_than", 2.5)),
        ("10..20", False, ("between", [10, 20])),
        ("grocery, mall", True, ("in", ["grocery", "mall"])),
        ("not A, B", True, ("not_in", ["A", "B"])),
        ("missing", True, ("is_missing", True)),
        ("!= urban", True, ("not_equals", "urban")),
        ("urban", True, ("equals", "urban")),
        (7, False, ("equals", 7)),
    ],
)
def test_cells(cell, textual, parsed):
    assert parse_cell(cell, textual) == parsed


HEAD = """\
name: service-entitlements
hit_policy: first
inputs:
  star_level: {type: integer, required: true}
  business_format: {type: one_of, values: [grocery, convenience_store, supermarket, mall, tobacco_liquor, entertainment, other], required: true}
  market_type: {type: one_of, values: [urban, rural], required: true}
# scarce-brand tiers by star level
table:
  conditions: [star_level, business_format]
  rows_from: tiers.{suffix}
tests:
  - name: five stars
    given: {star_level: 5, business_format: mall, market_type: urban}
    expect: {services: {scarce_brand_supply: {allocation_tier: A}}}
"""
ROWS = [
    [
        "id",
        "priority",
        "star_level",
        "business_format",
        "grant_service.service",
        "grant_service.allocation_tier",
    ],
    ["tier_a", 3, ">= 5", "-", "scarce_brand_supply", "A"],
    ["tier_b", 2, "3..4", "grocery, mall", "scarce_brand_supply", "B"],
    ["tier_none", 1, "-", "-", "business_guidance", None],
]


def _check_imported(source: str) -> None:
    assert "rows_from" not in source and "# scarce-brand tiers by star level" in source
    result = validate(source, KINDS)
    assert result.valid, [str(d) for d in result.diagnostics]
    decide = result.compiled.decide
    assert decide({"star_level": 4, "business_format": "grocery", "market_type": "rural"}).fired == (
        "tier_b",
    )
    assert decide({"star_level": 1, "business_format": "mall", "market_type": "rural"}).outputs == {
        "services": {"business_guidance": {}}
    }
    result.compiled.close()


def test_rows_from_csv(tmp_path):
    with (tmp_path / "tiers.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(ROWS)
    _check_imported(inline_rows_from(HEAD.replace("{suffix}", "csv"), tmp_path))


def test_rows_from_xlsx(tmp_path):
    book = openpyxl.Workbook()
    for row in ROWS:
        book.active.append(row)
    book.save(tmp_path / "tiers.xlsx")
    _check_imported(inline_rows_from(HEAD.replace("{suffix}", "xlsx"), tmp_path))


def test_bad_cells_name_the_row_and_line():
    source = HEAD.replace(
        "  rows_from: tiers.{suffix}\n",
        "  rows:\n    - {id: odd, star_level: '>= many', grant_service.service: scarce_brand_supply}\n",
    )
    result = validate(source, KINDS)
    assert not result.valid
    (error,) = result.errors
    assert error.rule_id == "odd" and error.line == 11 and "'many' must be a whole number" in error.message


@pytest.mark.parametrize(
    ("cell", "textual", "parsed"),
    [
        (">= 0x10", False, ("at_least", "0x10")),  # cells are not YAML: no hex, no anchors, no tags
        (">= 1_000", False, ("at_least", "1_000")),
        (">= &a 1", False, ("at_least", "&a 1")),
        ("*alias", False, ("equals", "*alias")),
        ("null", False, ("equals", "null")),
        ("1.5e3", False, ("equals", 1500.0)),
        ("-7", False, ("equals", -7)),
        ("true", False, ("equals", True)),
        (">= 2026-03-01", False, ("at_least", datetime.date(2026, 3, 1))),
        ("'quoted", True, ("equals", "'quoted")),
    ],
)
def test_cells_are_read_by_the_cell_language_alone(cell, textual, parsed):
    assert parse_cell(cell, textual) == parsed


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("=> 90", "unknown operator '=>'"),
        ("=< 90", "unknown operator '=<'"),
        ("== 90", "unknown operator '=='"),
        ("<> 90", "unknown operator '<>'"),
        ("! 90", "unknown operator '!'"),
        (">=", "a value is missing"),
        ("10..", "a value is missing"),
        ("..10", "a value is missing"),
        ("a, , b", "a value is missing"),
        ("not ,", "a value is missing"),
        (">= 2026-02-30", "2026-02-30 is not a date"),
    ],
)
def test_malformed_cells_say_what_is_wrong(cell, why):
    with pytest.raises(ValueError, match=why):
        parse_cell(cell, False)
