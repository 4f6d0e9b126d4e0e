"""The differential check a version passes before it can be activated: its generated
decision function and durable-rules must decide alike (fired rules, outputs, reasons)
on the embedded tests' facts, on boundary facts (every constant the conditions compare
with, and its neighbours, for every input, the others drawn at random) and on random
facts drawn from the same values and from each input's type."""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Iterator

from services.common.rules import conditions as c
from services.common.rules.engine import CompiledRuleSet, FactsError
from services.common.rules.model import InputSpec

RANDOM_CASES = 300
SHOWN_DISAGREEMENTS = 3
_MISSING = object()


def disagreements(compiled: CompiledRuleSet, random_cases: int = RANDOM_CASES, seed: int = 0) -> list[str]:
    """One message per facts (at most a few) on which the two compilations differ."""
    found = []
    for facts in cases(compiled, random_cases, seed):
        served = compiled.decide_generated(facts)
        engine = compiled.apply(compiled.match_with_engine(facts))
        if served != engine:
            found.append(_describe(facts, served, engine))
            if len(found) >= SHOWN_DISAGREEMENTS:
                break
    return found


def cases(compiled: CompiledRuleSet, random_cases: int, seed: int) -> Iterator[dict]:
    """Prepared facts: the embedded tests', then boundary, then random ones."""
    for case in compiled.document.tests:
        try:
            yield compiled.prepare_facts(case.given)
        except FactsError:
            continue  # the test itself reports it
    inputs = compiled.document.inputs
    constants: dict[str, set] = {name: set() for name in inputs}
    for condition in compiled.normalised.values():
        for test in c.comparisons(condition):
            if isinstance(test, c.Compare):
                constants[test.input].add(test.value)
    candidates = {name: candidate_values(spec, constants[name]) for name, spec in inputs.items()}
    rng = random.Random(seed)

    def draw(fixed: str = "", value=_MISSING) -> dict:
        facts = {}
        for name, values in candidates.items():
            chosen = value if name == fixed else rng.choice(values)
            if chosen is not _MISSING:
                facts[name] = chosen
        return facts

    for name, values in candidates.items():
        for value in values:
            yield draw(name, value)
    for _ in range(random_cases):
        yield draw()


def candidate_values(spec: InputSpec, constants: set) -> list:
    """Values worth trying for an input: each constant and its neighbours, typical values
    of its type, and missing when it is not required."""
    values: set = set(constants)
    if spec.type == "boolean":
        values |= {True, False}
    elif spec.type == "one_of":
        values |= set(spec.allowed)
    elif spec.type == "integer":
        values |= {v + step for v in constants for step in (-1, 1)} | {0, 1}
    elif spec.type == "decimal":
        values = {float(v) for v in values}
        # the nearest numbers on either side, and tiny ones that JSON writes as exponents
        values |= {math.nextafter(v, direction) for v in values for direction in (-math.inf, math.inf)}
        values |= {-1e-07, 1e-07, 2.5e-05}
        values |= {float(v) + step for v in constants for step in (-1, -0.5, 0.5, 1)} | {0.0, 1.5}
    elif spec.type == "date":
        days = [datetime.date.fromisoformat(v) for v in constants] or [datetime.date(2026, 1, 1)]
        values |= {(day + datetime.timedelta(days=step)).isoformat() for day in days for step in (-1, 1)}
    else:  # text
        values |= {v[:-1] for v in constants} | {f"{v} " for v in constants} | {"", "~"}
    ordered = sorted(values, key=repr)  # a stable order, whatever the types
    if not spec.required:
        ordered.append(_MISSING)
    return ordered


def _describe(facts: dict, served: tuple, engine: tuple) -> str:
    served_fired, served_outputs, served_reasons = served
    engine_fired, engine_outputs, engine_reasons = engine
    if served_fired != engine_fired:
        difference = f"durable-rules fired {list(engine_fired)}, the served function {list(served_fired)}"
    elif served_outputs != engine_outputs:
        difference = f"durable-rules gave {engine_outputs}, the served function {served_outputs}"
    else:
        difference = f"durable-rules gave reasons {engine_reasons}, the served function {served_reasons}"
    return (
        f"the served decision function and durable-rules disagree on facts {facts}: {difference}; "
        "this version cannot be activated"
    )
