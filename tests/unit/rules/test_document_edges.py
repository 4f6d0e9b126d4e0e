"""Reading a rule-set document at its edges: every structural problem with its line, rule
and wording, the conditions and actions a well-formed document becomes, and values YAML
itself cannot read reported as diagnostics, never as exceptions."""

import pytest

from services.common.rules.document import read_document
from services.common.rules.model import ActionSpec, InputSpec, Param, RuleSetKind, Vocabulary


def _apply(outputs, params):
    outputs.update(params)


def kinds():
    """A small rule-set kind made in the test (so mutmut sees the tests reach it)."""
    vocabulary = Vocabulary.of(
        ActionSpec("set_grade", {"grade": Param("integer", minimum=1, maximum=30)}, _apply),
        ActionSpec(
            "grant",
            {"service": Param("text"), "tier": Param("one_of", required=False, allowed=("A", "B"))},
            _apply,
        ),
        ActionSpec("flag", {}, _apply),
    )
    facts = {
        "sales": InputSpec("sales", "decimal", required=True),
        "stars": InputSpec("stars", "integer", required=True),
        "format": InputSpec("format", "one_of", allowed=("mall", "shop")),
        "since": InputSpec("since", "date"),
        "vip": InputSpec("vip", "boolean"),
        "note": InputSpec("note", "text"),
    }
    return {"demo": RuleSetKind("demo", vocabulary, None, facts, aliases={"turnover": "sales"})}


HEAD = """\
name: demo
inputs:
  sales: {type: decimal, required: true}
  stars: {type: integer}
  format: {type: one_of, values: [mall, shop]}
  since: {type: date}
  vip: {type: boolean}
  note: {type: text}
"""


def problems(source, with_kinds=True):
    return [str(d) for d in read_document(source, kinds() if with_kinds else None)[1]]


# ---- values YAML cannot read -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2026-02-30", "'2026-02-30' is not a valid timestamp"),
        ("2026-02-28 10:61:00", "'2026-02-28 10:61:00' is not a valid timestamp"),
        ("!!int abc", "'abc' is not a valid int"),
        ("!!float abc", "'abc' is not a valid float"),
        ("!!bool maybe", "'maybe' is not a valid bool"),
        ("!!timestamp soon", "'soon' is not a valid timestamp"),
    ],
)
def test_a_value_yaml_cannot_read_is_a_diagnostic_on_its_line(value, why):
    source = HEAD + f"rules:\n  - id: a\n    when: {{since: {value}}}\n    then: [flag]\n"
    assert problems(source) == [f"error: line 11: YAML syntax: {why}"]


def test_an_unhashable_key_is_a_diagnostic():
    assert problems("name: demo\n? [a]\n: 1\n") == [
        "error: line 1: YAML syntax: a mapping that cannot be read (unhashable type: 'list')"
    ]
