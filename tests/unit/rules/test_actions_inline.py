"""set_once and grant_once say what they do, so the served function writes them out in
place (no call, no reasons noted afterwards). The actions are built inside the tests:
mutation testing only sees what a test builds (docs/testing.md)."""

from services.common.rules import codegen
from services.common.rules import conditions as c
from services.common.rules.actions import grant_once, set_once
from services.common.rules.document import read_document

SOURCE = (
    "name: any\ninputs:\n  n: {type: integer, required: true}\n"
    "rules:\n  - {id: r, when: {n: {at_least: 1}}, then: [{act: {value: 3, key: a, level: 2}}]}\n"
)


def _generated(apply):
    document, found = read_document(SOURCE, None)
    assert found == []
    normalised = {rule.id: c.normalise(rule.condition) for rule in document.rules}
    source, _ = codegen.generate(document.rules, normalised, {"act": apply}, "collect")
    decide, _ = codegen.decision_function(document.rules, normalised, {"act": apply}, "collect", "t")
    return source, decide


def test_set_once_is_written_in_place():
    source, decide = _generated(set_once("out", "value"))
    assert "_note(" not in source and "outputs['out'] = " in source
    assert decide({"n": 1}) == (("r",), {"out": 3}, {"out": "r"})


def test_grant_once_is_written_in_place():
    source, decide = _generated(grant_once("granted", "key"))
    assert "_note(" not in source and "granted = outputs.get('granted')" in source
    assert decide({"n": 1}) == (
        ("r",),
        {"granted": {"a": {"value": 3, "level": 2}}},
        {"granted": "r", "granted.a": "r"},
    )
