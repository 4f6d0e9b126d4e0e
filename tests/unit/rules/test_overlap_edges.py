"""The analysis behind validation warnings (services/common/rules/validation.py): what a
condition allows per input (its box), when nothing can satisfy it, and where two rules
overlap. Bounds are checked on both sides of each edge, inclusive and exclusive."""

import pytest

from services.common.rules import conditions as c
from services.common.rules import validation as v


def cmp(name, op, value):
    return c.Compare(name, op, value)


def box(*items):
    return v._box(c.AllOf(tuple(items)))


def test_a_box_keeps_the_tightest_bounds():
    b = box(cmp("x", "gt", 1), cmp("x", "gte", 3), cmp("x", "gt", 3), cmp("x", "gte", 2))
    assert b.low == {"x": (3, False)}  # > 3 is tighter than >= 3
    b = box(cmp("x", "gte", 3), cmp("x", "gt", 3))
    assert b.low == {"x": (3, False)}
    b = box(cmp("x", "gt", 3), cmp("x", "gte", 3))
    assert b.low == {"x": (3, False)}
    b = box(cmp("x", "gte", 5))
    assert b.low == {"x": (5, True)}
    b = box(cmp("x", "lt", 9), cmp("x", "lte", 7), cmp("x", "lt", 7), cmp("x", "lte", 8))
    assert b.high == {"x": (7, False)}
    b = box(cmp("x", "lte", 7), cmp("x", "lt", 7))
    assert b.high == {"x": (7, False)}
    b = box(cmp("x", "lte", 7))
    assert b.high == {"x": (7, True)}


def test_a_box_collects_equalities_inequalities_and_presence():
    b = box(
        cmp("f", "eq", "a"),
        c.AnyOf((cmp("g", "eq", "a"), cmp("g", "eq", "b"))),
        c.AnyOf((cmp("g", "eq", "b"), cmp("g", "eq", "c"))),
        cmp("h", "neq", 1),
        cmp("h", "neq", 2),
        c.Present("p", True),
        c.Present("q", False),
        c.AllOf(()),
    )
    assert (b.equal, b.unequal, b.present, b.missing) == (
        {"f": {"a"}, "g": {"b"}},
        {"h": {1, 2}},
        {"p"},
        {"q"},
    )
    assert box(cmp("f", "eq", "a"), cmp("f", "eq", "b")).equal == {"f": set()}
    assert v._box(cmp("x", "gte", 1)).low == {"x": (1, True)}  # a lone comparison


@pytest.mark.parametrize(
    "condition",
    [
        c.AnyOf((cmp("a", "eq", 1), cmp("b", "eq", 1))),  # a choice across inputs
        c.AnyOf((cmp("a", "gt", 1), cmp("a", "eq", 1))),  # a choice that is not equalities
        c.AllOf((cmp("a", "eq", 1), c.AnyOf((c.AllOf((cmp("b", "eq", 1),)),)))),  # an all inside an any
    ],
)
def test_conditions_the_analysis_does_not_cover_have_no_box(condition):
    assert v._box(condition) is None


def test_a_nested_all_is_flattened_into_one_box():  # a table cell's range inside its row
    nested = v._box(c.AllOf((cmp("a", "eq", 1), c.AllOf((cmp("b", "gte", 1), cmp("b", "lt", 2))))))
    assert nested.equal == {"a": {1}} and nested.low == {"b": (1, True)} and nested.high == {"b": (2, False)}


@pytest.mark.parametrize(
    ("value", "low", "high", "inside"),
    [
        (5, None, None, True),
        (5, (5, True), None, True),
        (5, (5, False), None, False),
        (4, (5, True), None, False),
        (6, (5, False), None, True),
        (5, None, (5, True), True),
        (5, None, (5, False), False),
        (6, None, (5, True), False),
        (4, None, (5, False), True),
        (5, (4, False), (6, False), True),
    ],
)
def test_within(value, low, high, inside):
    assert v._within(value, low, high) is inside


@pytest.mark.parametrize(
    ("items", "why"),
    [
        ((c.Present("x", False), cmp("x", "gt", 1)), "x is required to be missing and compared at once"),
        ((c.Present("x", False), c.Present("x", True)), "x is required to be missing and compared at once"),
        ((cmp("x", "eq", 1), cmp("x", "eq", 2)), "no value of x satisfies all its comparisons"),
        ((cmp("x", "eq", 1), cmp("x", "neq", 1)), "no value of x satisfies all its comparisons"),
        ((cmp("x", "eq", 1), cmp("x", "gt", 1)), "no value of x satisfies all its comparisons"),
        ((cmp("x", "eq", 1), cmp("x", "lt", 1)), "no value of x satisfies all its comparisons"),
        ((cmp("x", "gt", 5), cmp("x", "lt", 3)), "x cannot be above 5 and below 3 at once"),
        ((cmp("x", "gte", 5), cmp("x", "lt", 5)), "x cannot be above 5 and below 5 at once"),
        ((cmp("x", "gt", 5), cmp("x", "lte", 5)), "x cannot be above 5 and below 5 at once"),
        ((cmp("x", "gte", 5), cmp("x", "lte", 5)), None),
        ((cmp("x", "eq", 1), cmp("x", "neq", 2), cmp("x", "gte", 1), cmp("x", "lte", 1)), None),
        ((c.Present("x", False), cmp("y", "gt", 1)), None),
        ((cmp("x", "gt", 1), cmp("x", "lt", 2)), None),
    ],
)
def test_empty_says_why_nothing_satisfies_a_box(items, why):
    assert v._empty(box(*items)) == why


def test_intersect_keeps_the_tighter_of_both_and_everything_else():
    a = box(
        cmp("x", "gte", 1), cmp("x", "lte", 9), cmp("e", "eq", "a"), cmp("n", "neq", 1), c.Present("p", True)
    )
    b = box(
        cmp("x", "gt", 1), cmp("x", "lt", 9), cmp("e", "eq", "b"), cmp("n", "neq", 2), c.Present("m", False)
    )
    merged = v._intersect(a, b)
    assert merged.low == {"x": (1, False)} and merged.high == {"x": (9, False)}
    assert merged.equal == {"e": set()} and merged.unequal == {"n": {1, 2}}
    assert (merged.present, merged.missing) == ({"p"}, {"m"})
    looser = v._intersect(b, a)  # the tighter bound wins whichever side it is on
    assert looser.low == {"x": (1, False)} and looser.high == {"x": (9, False)}
    wider = v._intersect(
        box(cmp("x", "gte", 1), cmp("x", "lte", 9)), box(cmp("x", "gte", 3), cmp("x", "lte", 5))
    )
    assert (wider.low, wider.high) == ({"x": (3, True)}, {"x": (5, True)})
    narrow_first = v._intersect(
        box(cmp("x", "gte", 3), cmp("x", "lte", 5)), box(cmp("x", "gte", 1), cmp("x", "lte", 9))
    )
    assert (narrow_first.low, narrow_first.high) == ({"x": (3, True)}, {"x": (5, True)})
    assert v._intersect(box(cmp("e", "eq", "a")), box()).equal == {"e": {"a"}}
    assert a.low == {"x": (1, True)}  # the operands are left as they were


def test_not_present_is_missing_and_not_missing_is_present():
    assert c.normalise(c.Not(c.Present("x", True))) == c.Present("x", False)
    assert c.normalise(c.Not(c.Present("x", False))) == c.Present("x", True)


def test_a_later_bound_replaces_an_earlier_one_only_when_tighter():
    assert box(cmp("x", "lt", 7), cmp("x", "lte", 7)).high == {"x": (7, False)}
    assert box(cmp("x", "lt", 5), cmp("x", "lt", 9)).high == {"x": (5, False)}
    assert box(cmp("x", "gt", 5), cmp("x", "gt", 1)).low == {"x": (5, False)}


@pytest.mark.parametrize("compared", [cmp("x", "neq", 1), cmp("x", "lt", 1), cmp("x", "eq", 1)])
def test_missing_and_compared_in_any_way_is_empty(compared):
    assert (
        v._empty(box(c.Present("x", False), compared)) == "x is required to be missing and compared at once"
    )


def test_intersect_merges_exclusive_bounds_at_any_value_and_every_missing_input():
    merged = v._intersect(
        box(cmp("x", "gte", 3), cmp("x", "lte", 8), c.Present("m", False)),
        box(cmp("x", "gt", 3), cmp("x", "lt", 8), c.Present("n", False)),
    )
    assert (merged.low, merged.high, merged.missing) == ({"x": (3, False)}, {"x": (8, False)}, {"m", "n"})


def test_expected_mappings_match_mappings_only():
    assert v.differences("o", {"a": 1}, {"a": 1, "b": 2}) == []
    assert v.differences("o", {"a": 1}, 5) == ["o: expected {'a': 1}, got 5"]
    assert v.differences("o", {"a": 1}, None) == ["o: expected {'a': 1}, got None"]
    assert v.differences("o", {"a": {"b": 1}}, {"a": {"b": 2}}) == ["o.a.b: expected 1, got 2"]
    assert v.differences("o", 3, 3) == [] and v.differences("o", 3, 4) == ["o: expected 3, got 4"]
    assert v.differences("o", ["x", "y"], ["y", "z"]) == ["o: missing ['x']; unexpected ['z']"]
    assert v.differences("o", ["x", "y"], ["y", "x"]) == ["o: expected the order ['x', 'y'], got ['y', 'x']"]
