"""Validation before anything is stored: structure, vocabulary, compilation, embedded
tests, the differential check of the served function against durable-rules, then cheap warnings (rules that can never fire, first-match conflicts)."""

from __future__ import annotations

import datetime
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.rules import conditions as c
from services.common.rules.differential import disagreements
from services.common.rules.document import read_document
from services.common.rules.engine import CompiledRuleSet, FactsError
from services.common.rules.model import Diagnostic, Rule, RuleSetDocument, RuleSetKind


@dataclass(frozen=True)
class TestOutcome:
    name: str
    line: int
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class ValidationResult:
    document: RuleSetDocument | None
    compiled: CompiledRuleSet | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    tests: list[TestOutcome] = field(default_factory=list)

    @property
    def tests_passed(self) -> int:
        return sum(1 for outcome in self.tests if outcome.passed)

    @property
    def valid(self) -> bool:
        return self.compiled is not None and not self.errors

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


def validate(source: str, kinds: Mapping[str, RuleSetKind], version: int = 0) -> ValidationResult:
    document, diagnostics = read_document(source, kinds)
    result = ValidationResult(document, None, diagnostics)
    if document is None or result.errors:
        return result
    try:
        compiled = CompiledRuleSet(document, kinds[document.name].vocabulary, version)
    except Exception as problem:  # the C core's refusals carry no better type
        result.diagnostics.append(Diagnostic("error", f"the rules engine refused the rule set: {problem}"))
        return result
    result.tests = run_tests(compiled)
    result.diagnostics.extend(
        Diagnostic("error", f"test {t.name!r} failed: {'; '.join(t.failures)}", line=t.line)
        for t in result.tests
        if not t.passed
    )
    result.diagnostics.extend(Diagnostic("error", message) for message in disagreements(compiled))
    check = kinds[document.name].check
    if check is not None:
        result.diagnostics.extend(Diagnostic("error", message) for message in check(compiled))
    result.diagnostics.extend(_warnings(document))
    if result.errors:
        compiled.close()
        return result
    result.compiled = compiled
    return result


def run_tests(compiled: CompiledRuleSet) -> list[TestOutcome]:
    """The document's embedded test cases, decided without the memo."""
    outcomes = []
    for case in compiled.document.tests:
        try:
            decision = compiled.decide(case.given, memoise=False)
        except FactsError as problem:
            outcomes.append(TestOutcome(case.name, case.line, (f"given facts: {problem}",)))
            continue
        failures = [
            failure
            for key, expected in case.expect.items()
            for failure in differences(key, expected, decision.outputs.get(key))
        ]
        if case.fired is not None and list(decision.fired) != case.fired:
            failures.append(f"fired: expected {case.fired}, got {list(decision.fired)}")
        outcomes.append(TestOutcome(case.name, case.line, tuple(failures)))
    return outcomes


def differences(path: str, expected: Any, actual: Any) -> list[str]:
    """Each value that differs, named by its path (``services.visit.visits_per_month:
    expected 4, got 2``) rather than both whole outputs. Expected mappings need only the
    keys they name; lists are compared as sets of items, naming the missing and extra ones."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [
            found
            for key, value in expected.items()
            for found in differences(f"{path}.{key}", value, actual.get(key))
        ]
    if isinstance(expected, list) and isinstance(actual, list) and expected != actual:
        missing = [item for item in expected if item not in actual]
        extra = [item for item in actual if item not in expected]
        parts = [f"missing {missing!r}"] * bool(missing) + [f"unexpected {extra!r}"] * bool(extra)
        return [f"{path}: {'; '.join(parts) or f'expected the order {expected!r}, got {actual!r}'}"]
    if expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


# -- warnings --------------------------------------------------------------------
@dataclass
class _Box:
    """What an all-of-comparisons condition allows for each input."""

    low: dict = field(default_factory=dict)  # input -> (value, inclusive)
    high: dict = field(default_factory=dict)
    equal: dict = field(default_factory=dict)  # input -> set of allowed values
    unequal: dict = field(default_factory=dict)
    missing: set = field(default_factory=set)
    present: set = field(default_factory=set)


def _box(condition) -> _Box | None:
    """The box of a condition made only of `all` and comparisons (anything else: None)."""
    items = _conjuncts(c.normalise(condition))
    box = _Box()
    for item in items:
        if isinstance(item, c.AnyOf) and all(isinstance(i, c.Compare) and i.op == "eq" for i in item.items):
            names = {i.input for i in item.items}
            if len(names) != 1:
                return None
            (name,) = names
            allowed = {i.value for i in item.items}
            box.equal[name] = box.equal.get(name, allowed) & allowed
        elif isinstance(item, c.Compare):
            name, value = item.input, item.value
            if item.op == "eq":
                box.equal[name] = box.equal.get(name, {value}) & {value}
            elif item.op == "neq":
                box.unequal.setdefault(name, set()).add(value)
            elif item.op in ("gt", "gte"):
                current = box.low.get(name)
                if current is None or value > current[0] or (value == current[0] and item.op == "gt"):
                    box.low[name] = (value, item.op == "gte")
            else:
                current = box.high.get(name)
                if current is None or value < current[0] or (value == current[0] and item.op == "lt"):
                    box.high[name] = (value, item.op == "lte")
        elif isinstance(item, c.Present):
            (box.present if item.present else box.missing).add(item.input)
        elif isinstance(item, c.AllOf) and not item.items:
            continue
        else:
            return None
    return box


def _conjuncts(condition) -> list:
    """The parts of nested `all`s (a table cell's range is an `all` in the row's `all`)."""
    if isinstance(condition, c.AllOf):
        return [part for item in condition.items for part in _conjuncts(item)]
    return [condition]


def _empty(box: _Box) -> str | None:
    """Why nothing satisfies the box, or None."""
    compared = set(box.low) | set(box.high) | set(box.equal) | set(box.unequal) | box.present
    for name in box.missing & compared:
        return f"{name} is required to be missing and compared at once"
    for name, allowed in box.equal.items():
        allowed = {v for v in allowed if v not in box.unequal.get(name, set())}
        allowed = {v for v in allowed if _within(v, box.low.get(name), box.high.get(name))}
        if not allowed:
            return f"no value of {name} satisfies all its comparisons"
    for name in set(box.low) & set(box.high):
        (low, low_in), (high, high_in) = box.low[name], box.high[name]
        if low > high or (low == high and not (low_in and high_in)):
            return f"{name} cannot be above {low!r} and below {high!r} at once"
    return None


def _within(value, low, high) -> bool:
    if low is not None and (value < low[0] or (value == low[0] and not low[1])):
        return False
    return not (high is not None and (value > high[0] or (value == high[0] and not high[1])))


def _intersect(a: _Box, b: _Box) -> _Box:
    merged = _Box()
    for source in (a, b):
        for name, bound in source.low.items():
            current = merged.low.get(name)
            if current is None or bound[0] > current[0] or (bound[0] == current[0] and not bound[1]):
                merged.low[name] = bound
        for name, bound in source.high.items():
            current = merged.high.get(name)
            if current is None or bound[0] < current[0] or (bound[0] == current[0] and not bound[1]):
                merged.high[name] = bound
        for name, allowed in source.equal.items():
            merged.equal[name] = merged.equal.get(name, allowed) & allowed
        for name, values in source.unequal.items():
            merged.unequal.setdefault(name, set()).update(values)
        merged.missing |= source.missing
        merged.present |= source.present
    return merged


def _warnings(document: RuleSetDocument) -> list[Diagnostic]:
    found = []
    boxes: dict[str, _Box | None] = {}
    for rule in document.rules:
        box = boxes[rule.id] = _box(rule.condition)
        why = _empty(box) if box is not None else None
        if why:
            found.append(
                Diagnostic("warning", f"this rule can never fire: {why}", rule.id, rule.line, rule.table_row)
            )
    if document.hit_policy == "first":
        found.extend(_first_match_conflicts(document.rules, boxes))
    found.extend(table_gaps(document))
    return found


# -- gaps in a decision table -------------------------------------------------------
MAX_GAP_POINTS = 50_000  # combinations of representative values the check tries
SHOWN_GAPS = 5
_OTHER_TEXT = "\x00any other text"


def table_gaps(document: RuleSetDocument) -> list[Diagnostic]:
    """Inputs no row of the decision table covers, as decision-table tools report them: each
    condition column is cut at every value a row compares it with, one value is taken from
    each piece (and "missing" for an input that is not required), and every combination
    no row matches is a gap."""
    columns = [document.inputs[name] for name in document.table_columns if name in document.inputs]
    row_ids = set(document.table_rows)
    rows = [rule for rule in document.rules if rule.id in row_ids]
    if not columns or not rows:
        return []
    normalised = [c.normalise(rule.condition) for rule in rows]
    axes = [_pieces(spec, normalised) for spec in columns]
    line = rows[0].line
    named = tuple(spec.name for spec in columns)
    if math.prod(len(axis) for axis in axes) > MAX_GAP_POINTS:
        return [
            Diagnostic(
                "warning",
                "table: too many combinations of condition values to check for gaps",
                line=line,
                table_columns=named,
            )
        ]
    matchers = [c.to_python(condition) for condition in normalised]
    gaps = []
    for point in itertools.product(*axes):
        facts = {
            spec.name: value for spec, (value, _) in zip(columns, point, strict=True) if value is not None
        }
        if not any(matches(facts) for matches in matchers):
            gaps.append(
                ", ".join(f"{spec.name} {label}" for spec, (_, label) in zip(columns, point, strict=True))
            )
    if not gaps:
        return []
    shown = "; ".join(gaps[:SHOWN_GAPS]) + (
        f"; and {len(gaps) - SHOWN_GAPS} more" if len(gaps) > SHOWN_GAPS else ""
    )
    return [Diagnostic("warning", f"table gap: no row covers {shown}", line=line, table_columns=named)]


def _pieces(spec, conditions) -> list[tuple]:
    """One (value, label) for each piece the rows cut an input's values into."""
    mentioned = sorted(
        {
            item.value
            for condition in conditions
            for item in c.comparisons(condition)
            if isinstance(item, c.Compare) and item.input == spec.name and item.value is not None
        },
        key=lambda value: (str(type(value)), value),
    )
    pieces: list[tuple] = [] if spec.required else [(None, "missing")]
    if spec.type == "one_of":
        return pieces + [(value, f"= {value}") for value in spec.allowed]
    if spec.type == "boolean":
        return pieces + [(True, "= true"), (False, "= false")]
    if spec.type == "text":
        return pieces + [(value, f"= {value}") for value in mentioned] + [(_OTHER_TEXT, "= any other text")]
    step = _STEPS.get(spec.type)
    if step is None or not mentioned:
        return pieces + [(value, f"= {value}") for value in mentioned]
    pieces.append((step(mentioned[0], -1), f"below {mentioned[0]}"))
    for low, high in itertools.pairwise(mentioned):
        pieces.append((low, f"= {low}"))
        inside = step(low, +1) if spec.type != "decimal" else (low + high) / 2
        if low < inside < high:
            pieces.append((inside, f"between {low} and {high}"))
    pieces.append((mentioned[-1], f"= {mentioned[-1]}"))
    pieces.append((step(mentioned[-1], +1), f"above {mentioned[-1]}"))
    return pieces


def _next_day(day: str, direction: int) -> str:
    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=direction)).isoformat()


_STEPS = {
    "integer": lambda value, direction: value + direction,
    "decimal": lambda value, direction: value + direction,
    "date": _next_day,
}


def _first_match_conflicts(rules: list[Rule], boxes: dict) -> list[Diagnostic]:
    found = []
    for index, first in enumerate(rules):
        for second in rules[index + 1 :]:
            if first.priority != second.priority:
                continue
            a, b = boxes.get(first.id), boxes.get(second.id)
            if a is None or b is None or _empty(a) or _empty(b) or _empty(_intersect(a, b)):
                continue
            if [(x.name, x.params) for x in first.actions] == [(x.name, x.params) for x in second.actions]:
                continue
            found.append(
                Diagnostic(
                    "warning",
                    f"can match together with rule {first.id} (line {first.line}) at the same priority "
                    "with different outputs; under first match only the earlier one applies",
                    second.id,
                    second.line,
                    second.table_row,
                )
            )
    return found
