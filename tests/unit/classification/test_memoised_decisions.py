"""A bulk run's memoised decide function: the same decisions as deciding each customer,
from one decision per group of facts the rule set cannot tell apart."""

import random
from unittest import mock

import pytest

from services.classification.domain import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET, entitlement_facts
from services.classification.ports import CannotDecide
from services.classification.rules import RULE_SETS, RegistryRuleSets
from services.common.rules.validation import validate
from tests.support.rule_samples import default_source, random_grading_facts

KINDS = {kind.name: kind for kind in RULE_SETS}


class ServingDefaults:
    """The part of the registry RegistryRuleSets uses, serving the shipped versions."""

    def __init__(self):
        self.compiled = {name: validate(default_source(name), KINDS).compiled for name in KINDS}

    def serving(self, name):
        return self.compiled[name]

    def decide(self, name, facts):
        return self.compiled[name].serve(facts)


@pytest.fixture(scope="module")
def registry():
    serving = ServingDefaults()
    yield serving
    for compiled in serving.compiled.values():
        compiled.close()


def _cases(count: int) -> list[tuple[str, dict]]:
    rng = random.Random(7)
    cases = []
    for _ in range(count):
        facts = random_grading_facts(rng)
        cases.append((GRADING_RULE_SET, facts))
        inputs = {**facts, "zone_type": rng.choice(["", "city_centre", "village"])}
        cases.append((ENTITLEMENTS_RULE_SET, entitlement_facts(inputs, rng.randint(1, 5))))
    return cases


def test_memoised_decisions_are_the_decisions_and_fewer_are_made(registry):
    rule_sets = RegistryRuleSets(registry)
    memoised = rule_sets.memoised()
    cases = _cases(500)
    served = {name: registry.compiled[name].serve for name in KINDS}
    with (
        mock.patch.object(
            registry.compiled[GRADING_RULE_SET], "serve", wraps=served[GRADING_RULE_SET]
        ) as grading,
        mock.patch.object(
            registry.compiled[ENTITLEMENTS_RULE_SET], "serve", wraps=served[ENTITLEMENTS_RULE_SET]
        ) as entitlements,
    ):
        remembered = [memoised(name, facts) for name, facts in cases]
    for (name, facts), decision in zip(cases, remembered, strict=True):
        alone = rule_sets.decide(name, facts)
        assert (decision.version, decision.outputs, decision.fired, decision.reasons) == (
            alone.version,
            alone.outputs,
            alone.fired,
            alone.reasons,
        ), facts
    assert 0 < entitlements.call_count <= 5 * 7 * 2 * 3  # star level x format x market x zone
    assert 0 < grading.call_count < 500, grading.call_count


def test_facts_that_do_not_fit_cannot_be_decided(registry):
    with pytest.raises(CannotDecide, match="monthly_sales_cartons"):
        RegistryRuleSets(registry).memoised()(GRADING_RULE_SET, {"business_format": "grocery"})
