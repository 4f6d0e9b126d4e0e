"""The served function writes known actions out in place; it decides exactly as the
version that calls each action and then notes reasons, and falls back to that version
when an action does not say what it does."""

import random

import pytest

from services.common.rules import codegen
from services.common.rules.differential import cases
from services.common.rules.validation import validate
from services.composition import PACK
from tests.support.rule_samples import default_source

KINDS = PACK.rule_set_catalogue().all_kinds()


def _calling(apply):
    """The same action without its description: codegen must call it."""
    return lambda outputs, params: apply(outputs, params)


def _functions(compiled, opaque: bool):
    rules = sorted(compiled.document.rules, key=lambda rule: compiled._order[rule.id])
    actions = {name: spec.apply for name, spec in compiled.vocabulary.actions.items()}
    if opaque:
        actions = {name: _calling(apply) for name, apply in actions.items()}
    return codegen.decision_function(
        rules, compiled.normalised, actions, compiled.document.hit_policy, "test"
    )


@pytest.mark.parametrize("name", ["customer-grading", "service-entitlements"])
def test_in_place_actions_decide_like_called_actions(name):
    compiled = validate(default_source(name), KINDS).compiled
    try:
        in_place, in_place_source = _functions(compiled, opaque=False)
        calling, calling_source = _functions(compiled, opaque=True)
        assert "_note(" not in in_place_source and "_note(" in calling_source
        checked = 0
        for facts in cases(compiled, random_cases=300, seed=random.Random(name).randint(0, 1000)):
            assert in_place(facts) == calling(facts), facts  # fired rules, outputs, reasons
            checked += 1
        assert checked > 300
    finally:
        compiled.close()


def test_an_action_set_by_two_kinds_of_building_block_is_called():
    compiled = validate(default_source("customer-grading"), KINDS).compiled
    try:
        actions = {name: spec.apply for name, spec in compiled.vocabulary.actions.items()}
        grade = actions["set_grade"]
        mixed = _calling(grade)
        mixed.inline = ("grant_once", "star_level", "grade")  # same output as set_star_level's
        rules = sorted(compiled.document.rules, key=lambda rule: compiled._order[rule.id])
        source, _ = codegen.generate(rules, compiled.normalised, {**actions, "set_grade": mixed}, "collect")
        assert "_note(" in source
    finally:
        compiled.close()
