"""Random condition trees (nested all / any / not, missing inputs) decided by durable-rules
and by the plain-Python reference must agree. This found a hang and a crash in the engine
that the compiler now avoids (see conditions.to_durable_rule and the sentinel rule)."""

import random

import pytest

from services.common.rules import conditions as c
from services.common.rules.engine import CompiledRuleSet
from services.common.rules.model import ActionCall, ActionSpec, InputSpec, Rule, RuleSetDocument, Vocabulary

INPUTS = {
    "a": InputSpec("a", "integer"),
    "b": InputSpec("b", "decimal"),
    "t": InputSpec("t", "one_of", allowed=("x", "y", "z")),
}
NOOP = Vocabulary.of(ActionSpec("noop", {}, lambda outputs, params: None))


def _leaf(rng: random.Random):
    name = rng.choice(sorted(INPUTS))
    if rng.random() < 0.25:
        return c.Present(name, rng.random() < 0.5)
    if name == "t":
        return c.Compare("t", rng.choice(["eq", "neq"]), rng.choice("xyz"))
    return c.Compare(name, rng.choice(["eq", "neq", "lt", "lte", "gt", "gte"]), rng.randint(0, 4))


def _tree(rng: random.Random, depth: int):
    roll = rng.random()
    if depth == 0 or roll < 0.4:
        return _leaf(rng)
    if roll < 0.6:
        return c.Not(_tree(rng, depth - 1))
    items = tuple(_tree(rng, depth - 1) for _ in range(rng.randint(1, 3)))
    return c.AllOf(items) if roll < 0.8 else c.AnyOf(items)


@pytest.mark.parametrize("seed", range(12))
def test_random_conditions_agree_with_the_reference(seed):
    rng = random.Random(seed)
    rules = [Rule(id=f"r{i}", condition=_tree(rng, 3), actions=[ActionCall("noop", {})]) for i in range(12)]
    compiled = CompiledRuleSet(RuleSetDocument("fuzz", "", "collect", INPUTS, rules), NOOP)
    try:
        for _ in range(200):
            facts = {name: rng.randint(0, 4) for name in ("a", "b") if rng.random() < 0.8}
            if rng.random() < 0.8:
                facts["t"] = rng.choice("xyz")
            reference = sorted(compiled.match_with_python(facts))
            assert sorted(compiled.match_with_engine(facts)) == reference, (
                facts,
                [r.condition for r in rules],
            )
            assert sorted(compiled.match_with_host(facts)) == reference, (facts, [r.condition for r in rules])
    finally:
        compiled.close()
