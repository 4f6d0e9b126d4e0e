"""Inputs, action parameters and diagnostics of the rules model
(services/common/rules/model.py) at their edges."""

import datetime
import math

import pytest

from services.common.rules.model import (
    MAX_MAGNITUDE,
    Diagnostic,
    InputSpec,
    Param,
    Vocabulary,
    supplied_facts,
)


def test_a_diagnostic_reads_as_severity_place_rule_message():
    assert str(Diagnostic("error", "bad")) == "error: document: bad"
    assert str(Diagnostic("warning", "odd", rule_id="r1", line=7)) == "warning: line 7, rule r1: odd"
    assert str(Diagnostic("error", "bad", line=3)) == "error: line 3: bad"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("boolean", True, True),
        ("boolean", False, False),
        ("integer", 3, 3),
        ("integer", 3.0, 3),
        ("integer", -MAX_MAGNITUDE, -int(MAX_MAGNITUDE)),
        ("decimal", 2, 2.0),
        ("decimal", 2.5, 2.5),
        ("decimal", MAX_MAGNITUDE, MAX_MAGNITUDE),
        ("date", datetime.date(2027, 1, 1), "2027-01-01"),
        ("date", "2027-01-01", "2027-01-01"),
        ("text", "x", "x"),
        ("one_of", "a", "a"),
    ],
)
def test_convert_accepts(kind, value, expected):
    converted = InputSpec("f", kind, allowed=("a", "b")).convert(value)
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("boolean", 1, "must be true or false"),
        ("integer", True, "must be a whole number"),
        ("integer", "3", "must be a whole number"),
        ("integer", 3.5, "must be a whole number"),
        ("integer", MAX_MAGNITUDE * 10, f"must be a finite number within +/-{MAX_MAGNITUDE:g}"),
        ("decimal", False, "must be a number"),
        ("decimal", "2", "must be a number"),
        ("decimal", math.inf, f"must be a finite number within +/-{MAX_MAGNITUDE:g}"),
        ("decimal", math.nan, f"must be a finite number within +/-{MAX_MAGNITUDE:g}"),
        ("decimal", -MAX_MAGNITUDE * 2, f"must be a finite number within +/-{MAX_MAGNITUDE:g}"),
        ("date", "2027-02-30", "must be a date YYYY-MM-DD"),
        ("text", 5, "must be text"),
        ("one_of", "c", "must be one of a, b"),
    ],
)
def test_convert_refuses(kind, value, message):
    with pytest.raises(ValueError) as refused:
        InputSpec("f", kind, allowed=("a", "b")).convert(value)
    assert str(refused.value) == message


def test_param_checks_text_lists_and_bounds():
    assert Param("text_list", allowed=("x", "y")).check(" x, ,y ") == ["x", "y"]
    assert Param("text_list").check(["any"]) == ["any"]
    for bad, message in [
        (5, "must be a list of text"),
        ([1], "must be a list of text"),
        (["z"], "z not among x, y"),
    ]:
        with pytest.raises(ValueError) as refused:
            Param("text_list", allowed=("x", "y")).check(bad)
        assert str(refused.value) == message
    bounded = Param("decimal", minimum=0, maximum=1.5)
    assert (bounded.check(0), bounded.check(1.5)) == (0.0, 1.5)
    for bad, message in [(-0.1, "must be at least 0"), (1.6, "must be at most 1.5")]:
        with pytest.raises(ValueError) as refused:
            bounded.check(bad)
        assert str(refused.value) == message
    assert Param("one_of", allowed=("a",)).check("a") == "a"


def test_supplied_facts_and_vocabulary():
    facts = supplied_facts({"sales": "decimal", "market": ("urban", "rural")}, {"area": "decimal"})
    assert facts == {
        "sales": InputSpec("sales", "decimal", required=True),
        "market": InputSpec("market", "one_of", required=True, allowed=("urban", "rural")),
        "area": InputSpec("area", "decimal", required=False),
    }
    assert supplied_facts({}) == {}
    assert Vocabulary.of().actions == {}
