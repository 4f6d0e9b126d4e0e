"""Conditions over a rule set's inputs, with two back ends that must agree: the
durable-rules condition language, and a plain-Python predicate (the baseline the
benchmark compares with, and the reference the tests check the engine against).

Semantics (docs/rules.md): a comparison on a missing input is false; ``not`` is the
logical negation of its inner condition, so it is true when the inner condition is
false for want of an input. Negations are pushed down to comparisons before compiling,
because durable-rules has no ``not``: ``not (x < 5)`` becomes ``x >= 5 or x is missing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# comparison operator -> (durable-rules operator, its logical opposite)
_OPPOSITE = {"eq": "neq", "neq": "eq", "lt": "gte", "gte": "lt", "gt": "lte", "lte": "gt"}
_DURABLE = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "neq": "$neq"}
_PYTHON = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Compare:
    """``input op value``; false when the input is missing."""

    input: str
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    input: str
    present: bool  # False: "is missing"


@dataclass(frozen=True)
class AllOf:
    items: tuple


@dataclass(frozen=True)
class AnyOf:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


TRUE = AllOf(())


def negate(condition) -> Any:
    """The logical negation, with ``not`` pushed down to comparisons."""
    if isinstance(condition, Not):
        return normalise(condition.item)
    if isinstance(condition, AllOf):
        return AnyOf(tuple(negate(item) for item in condition.items))
    if isinstance(condition, AnyOf):
        return AllOf(tuple(negate(item) for item in condition.items))
    if isinstance(condition, Present):
        return Present(condition.input, not condition.present)
    return AnyOf(
        (Compare(condition.input, _OPPOSITE[condition.op], condition.value), Present(condition.input, False))
    )


def normalise(condition) -> Any:
    """The same condition without ``Not`` nodes."""
    if isinstance(condition, Not):
        return negate(condition.item)
    if isinstance(condition, AllOf):
        return AllOf(tuple(normalise(item) for item in condition.items))
    if isinstance(condition, AnyOf):
        return AnyOf(tuple(normalise(item) for item in condition.items))
    return condition


ALWAYS_PRESENT = "rc_fact"  # set to 1 on every asserted fact


def to_durable_rule(condition) -> dict:
    """A normalised condition as a durable-rules ``m`` expression, anchored on a test that
    always holds: measured here, a rule made only of negative tests (``$nex`` alone) hangs
    the engine, while the same tests next to a positive one behave."""
    anchor = {ALWAYS_PRESENT: 1}
    if isinstance(condition, AllOf) and not condition.items:
        return anchor
    return {"$and": [anchor, _to_durable(condition)]}


def _to_durable(condition) -> dict:
    if isinstance(condition, Compare):
        if condition.op == "eq":
            return {condition.input: condition.value}
        return {_DURABLE[condition.op]: {condition.input: condition.value}}
    if isinstance(condition, Present):
        return {"$ex" if condition.present else "$nex": {condition.input: 1}}
    items = [_to_durable(item) for item in condition.items]
    if len(items) == 1:
        return items[0]
    return {"$and" if isinstance(condition, AllOf) else "$or": items}


def to_python(condition):
    """A normalised condition as a function of the facts dict."""
    if isinstance(condition, Compare):
        name, value, compare = condition.input, condition.value, _PYTHON[condition.op]

        def test(facts):
            actual = facts.get(name)
            return actual is not None and compare(actual, value)

        return test
    if isinstance(condition, Present):
        name, wanted = condition.input, condition.present
        return lambda facts: (facts.get(name) is not None) == wanted
    tests = tuple(to_python(item) for item in condition.items)
    if isinstance(condition, AllOf):
        return lambda facts: all(t(facts) for t in tests)
    return lambda facts: any(t(facts) for t in tests)


def comparisons(condition):
    """Every comparison in a condition tree (for literals, inputs and analysis)."""
    if isinstance(condition, (Compare, Present)):
        yield condition
    elif isinstance(condition, Not):
        yield from comparisons(condition.item)
    else:
        for item in condition.items:
            yield from comparisons(item)
