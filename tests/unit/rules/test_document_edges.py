"""Reading a rule-set document at its edges: every structural problem with its line, rule
and wording, the conditions and actions a well-formed document becomes, and values YAML
itself cannot read reported as diagnostics, never as exceptions."""

import pytest
import yaml

from services.common.rules import conditions as c
from services.common.rules.document import read_document, yaml_problem
from services.common.rules.model import (
    ActionCall,
    ActionSpec,
    Diagnostic,
    InputSpec,
    Param,
    Rule,
    RuleSetKind,
    Vocabulary,
)
from services.common.rules.model import TestCase as Case


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


# ---- inputs ------------------------------------------------------------------------


def test_each_bad_input_declaration_is_named_on_its_line():
    source = """\
name: demo
inputs:
  sales: {type: decimal, required: true, unit: carton}
  sid: {type: text}
  $x: {type: text}
  stars: {type: float}
  format: {type: one_of}
  vip: true
  turnover: {type: decimal}
  salse: {type: decimal}
  since: {type: text}
  note: {type: text, required: true}
  zzz: {type: text}
rules: [{id: a, then: [flag]}]
"""
    shape = [
        "error: line 3: input sales: unknown keys unit",
        "error: line 4: input sid: the name is reserved by the engine",
        "error: line 5: input $x: the name is reserved by the engine",
        "error: line 6: input stars: type must be one of integer, decimal, text, boolean, date, one_of",
        "error: line 7: input format: a one_of input lists its allowed values",
        "error: line 3: input vip: expected type, required, values, description",
    ]
    assert problems(source, with_kinds=False) == shape
    supplies = "(it supplies: format, note, sales, since, stars, vip)"
    assert problems(source) == [
        *shape,
        f"error: line 9: input turnover: the service does not supply it {supplies}; "
        "did you mean 'sales'? (docs/rules.md, supplied facts)",
        f"error: line 10: input salse: the service does not supply it {supplies}; "
        "did you mean 'sales'? (docs/rules.md, supplied facts)",
        "error: line 11: input since: the service supplies it as date, not text",
        "error: line 12: input note: the service does not always supply it, so it cannot be required",
        f"error: line 13: input zzz: the service does not supply it {supplies}",
    ]


def test_inputs_must_be_a_mapping_list_every_value_sent_and_be_at_most_200():
    assert problems("name: demo\ninputs: []\nrules: [{id: a, then: [flag]}]\n") == [
        "error: line 1: inputs: expected a mapping of input name to its declaration"
    ]
    narrow = "name: demo\ninputs:\n  format: {type: one_of, values: [mall]}\nrules: [{id: a, then: [flag]}]\n"
    assert problems(narrow) == [
        "error: line 3: input format: values shop are sent by the service and must be listed"
    ]
    many = "name: any\ninputs:\n" + "".join(f"  i{n}: {{type: text}}\n" for n in range(201))
    assert problems(many + "rules: [{id: a, then: [x]}]\n", with_kinds=False) == [
        "error: line 3: inputs: 201 inputs, at most 200 are supported"
    ]
    exactly = "name: any\ninputs:\n" + "".join(f"  i{n}: {{type: text}}\n" for n in range(200))
    assert problems(exactly + "rules: [{id: a, then: [x]}]\n", with_kinds=False) == []


def test_declared_inputs_keep_their_declaration():
    source = "name: any\ninputs:\n  f: {type: one_of, values: [1, b], required: yes, description: the f}\n"
    document, found = read_document(source + "rules: [{id: a, then: [x]}]\n", None)
    assert found == []
    assert document.inputs == {"f": InputSpec("f", "one_of", True, ("1", "b"), "the f", 3)}


# ---- conditions --------------------------------------------------------------------


def test_each_bad_condition_is_named_with_its_rule_and_line():
    source = (
        HEAD
        + """\
rules:
  - {id: a, when: {all: []}, then: [flag]}
  - {id: b, when: {any: {sales: 1}}, then: [flag]}
  - {id: c, when: {sales: 1, stars: 2}, then: [flag]}
  - {id: d, when: [sales], then: [flag]}
  - {id: e, when: {turnover: 5}, then: [flag]}
  - {id: f, when: {salez: 5}, then: [flag]}
  - {id: g, when: {qqq: 5}, then: [flag]}
  - {id: h, when: {sales: {at_least: 1, at_most: 2}}, then: [flag]}
  - {id: i, when: {sales: {above: 1}}, then: [flag]}
  - {id: j, when: {format: {at_least: mall}}, then: [flag]}
  - {id: k, when: {vip: {between: [1, 2]}}, then: [flag]}
  - {id: l, when: {format: {in: []}}, then: [flag]}
  - {id: m, when: {format: {not_in: mall}}, then: [flag]}
  - {id: n, when: {sales: {between: [1]}}, then: [flag]}
  - {id: o, when: {stars: {equals: 1.5}}, then: [flag]}
  - {id: p, when: {since: {at_least: 2026-13-01x}}, then: [flag]}
  - {id: q, when: {note: {equals: 1234567890123456789012345678901234567890123456789012345678901234567890}}, then: [flag]}
"""
    )
    operators = (
        "at_least, at_most, below, between, equals, from, greater_than, in, is_missing, is_present, "
        "less_than, not_equals, not_in"
    )
    shape = "a condition is `all: [...]`, `any: [...]`, `not: ...` or `input: {operator: value}`"
    assert problems(source) == [
        "error: line 10, rule a: all: expected a non-empty list of conditions",
        "error: line 11, rule b: any: expected a non-empty list of conditions",
        f"error: line 12, rule c: {shape}",
        f"error: line 13, rule d: {shape}",
        "error: line 14, rule e: unknown input 'turnover'; did you mean 'sales'?",
        "error: line 15, rule f: unknown input 'salez'; did you mean 'sales'?",
        "error: line 16, rule g: unknown input 'qqq'; declared inputs: format, note, sales, since, stars, vip",
        f"error: line 17, rule h: sales: give exactly one operator ({operators})",
        f"error: line 18, rule i: sales: unknown operator 'above'; use one of {operators}",
        "error: line 19, rule j: format: at_least needs a number, date or text input, format is one_of",
        "error: line 20, rule k: vip: between needs a number, date or text input, vip is boolean",
        "error: line 21, rule l: format: in expects a non-empty list",
        "error: line 22, rule m: format: not_in expects a non-empty list",
        "error: line 23, rule n: sales: between expects [lowest, highest]",
        "error: line 24, rule o: stars: value 1.5 must be a whole number",
        "error: line 25, rule p: since: value '2026-13-01x' must be a date YYYY-MM-DD",
        "error: line 26, rule q: note: value 123456789012345678901234567890123456789012345678901234567890… "
        "must be text",
    ]


def test_every_operator_becomes_its_comparison():
    source = (
        HEAD
        + """\
rules:
  - id: ok
    when:
      all:
        - {sales: {from: 10, below: 20}}
        - {any: [{format: mall}, {not: {vip: true}}]}
        - {format: {in: [mall, shop]}}
        - {format: {not_in: [shop]}}
        - {stars: {between: [1, 3]}}
        - {note: {is_missing: true}}
        - {note: {is_present: false}}
        - {since: {is_present: true}}
        - {stars: {not_equals: 2}}
        - {stars: {greater_than: 0}}
        - {stars: {less_than: 9}}
        - {sales: {at_most: 5.5}}
        - {since: {at_least: 2026-01-01}}
        - {note: {equals: x}}
    then: [flag]
"""
    )
    document, found = read_document(source, kinds())
    assert found == []
    assert document.rules[0].condition == c.AllOf(
        (
            c.AllOf((c.Compare("sales", "gte", 10.0), c.Compare("sales", "lt", 20.0))),
            c.AnyOf((c.Compare("format", "eq", "mall"), c.Not(c.Compare("vip", "eq", True)))),
            c.AnyOf((c.Compare("format", "eq", "mall"), c.Compare("format", "eq", "shop"))),
            c.AllOf((c.Compare("format", "neq", "shop"),)),
            c.AllOf((c.Compare("stars", "gte", 1), c.Compare("stars", "lte", 3))),
            c.Present("note", False),
            c.Present("note", False),
            c.Present("since", True),
            c.Compare("stars", "neq", 2),
            c.Compare("stars", "gt", 0),
            c.Compare("stars", "lt", 9),
            c.Compare("sales", "lte", 5.5),
            c.Compare("since", "gte", "2026-01-01"),
            c.Compare("note", "eq", "x"),
        )
    )


# ---- actions and rules -------------------------------------------------------------


def test_each_bad_action_or_rule_is_named_with_its_rule_and_line():
    source = (
        HEAD
        + """\
rules:
  - id: a
    then: []
  - id: b
    then: flag
  - id: c
    then:
      - {flag: {}, grant: {}}
      - [flag]
      - flag
      - {set_grade: 5}
      - {promote: {}}
      - {set_grade: {grade: 0, level: 2, zone: 1}}
      - {set_grade: {}}
      - {set_grade: {grade: null}}
      - {grant: {service: visit, tier: C}}
      - {grant: {service: visit}}
  - {id: d, priority: high, then: [flag]}
  - {id: e, priority: true, then: [flag]}
  - {then: [flag]}
  - {id: f, when: {sales: 1}, then: [flag], else: [flag], zeta: 1}
  - just text
  - {id: a, then: [flag]}
"""
    )
    assert problems(source) == [
        "error: line 10, rule a: then: expected a list of actions",
        "error: line 12, rule b: then: expected a list of actions",
        "error: line 16, rule c: an action is `action_name: {parameter: value}`",
        "error: line 14, rule c: an action is `action_name: {parameter: value}`",
        "error: line 19, rule c: action set_grade: parameters must be a mapping",
        "error: line 20, rule c: unknown action 'promote'; this rule set's actions are: flag, grant, set_grade",
        "error: line 21, rule c: action set_grade: unknown parameter 'level'",
        "error: line 21, rule c: action set_grade: unknown parameter 'zone'",
        "error: line 21, rule c: action set_grade: grade 0 must be at least 1",
        "error: line 22, rule c: action set_grade: parameter 'grade' is required",
        "error: line 23, rule c: action set_grade: parameter 'grade' is required",
        "error: line 24, rule c: action grant: tier 'C' must be one of A, B",
        "error: line 26, rule d: priority must be a whole number, got 'high'",
        "error: line 27, rule e: priority must be a whole number, got True",
        "error: line 28: a rule needs an id",
        "error: line 29, rule f: unknown key 'else' in rule (use description, id, priority, then, when)",
        "error: line 29, rule f: unknown key 'zeta' in rule (use description, id, priority, then, when)",
        "error: line 1: a rule is a mapping with id, when and then",
        "error: line 31, rule a: duplicate rule id (first at line 10)",
    ]


def test_rules_become_their_actions_priority_and_description():
    source = (
        HEAD
        + """\
description: about
hit_policy: first
rules:
  - {id: a, priority: -2, description: why, then: [flag, {grant: {service: visit, tier: A}}]}
  - {id: b, when: {stars: 1}, then: [{set_grade: {grade: 30}}, {grant: {service: visit, tier: null}}]}
"""
    )
    document, found = read_document(source, kinds())
    assert found == []
    assert (document.name, document.description, document.hit_policy) == ("demo", "about", "first")
    assert document.rules == [
        Rule(
            "a",
            c.TRUE,
            [ActionCall("flag", {}), ActionCall("grant", {"service": "visit", "tier": "A"})],
            -2,
            "why",
            12,
        ),
        Rule(
            "b",
            c.Compare("stars", "eq", 1),
            [ActionCall("set_grade", {"grade": 30}), ActionCall("grant", {"service": "visit"})],
            0,
            "",
            13,
        ),
    ]
    assert (document.tests, document.table_columns, document.table_rows) == ([], (), ())


def test_without_kinds_any_action_is_taken_as_written():
    source = "name: any\ninputs:\n  a: {type: text}\nrules: [{id: r, then: [{anything: {x: 1}}, other]}]\n"
    document, found = read_document(source, None)
    assert found == [] and document.rules[0].actions == [
        ActionCall("anything", {"x": 1}),
        ActionCall("other", {}),
    ]


# ---- the document as a whole -------------------------------------------------------


def test_top_level_problems():
    assert problems("description: x\nhit_policy: last\nfoo: 1\n1: 2\ninputs: {}\n") == [
        "error: line 1: unknown top-level key '1' (use description, hit_policy, inputs, name, rules, table, tests)",
        "error: line 1: unknown top-level key 'foo' (use description, hit_policy, inputs, name, rules, table, tests)",
        "error: line 1: name: the rule set needs a name",
        "error: line 1: hit_policy must be one of collect, first",
        "error: line 1: inputs: expected a mapping of input name to its declaration",
        "error: line 1: the rule set has no rules (give rules, a table, or both)",
    ]
    assert problems(HEAD + "rules: {id: a}\n") == [
        "error: line 1: rules: expected a list of rules",
        "error: line 1: the rule set has no rules (give rules, a table, or both)",
    ]


def test_an_unknown_rule_set_names_the_known_ones():
    assert problems("name: other\n") == ["error: line 1: unknown rule set 'other' (known here: demo)"]
    assert [str(d) for d in read_document("name: other\n", {})[1]] == [
        "error: line 1: unknown rule set 'other' (known here: none)"
    ]
    assert read_document("name: other\n", kinds())[0] is None


def test_unusable_documents():
    assert read_document("- a\n", None) == (
        None,
        [Diagnostic("error", "the document must be a mapping with name, inputs and rules")],
    )
    assert problems("name: [a\n") == [
        "error: line 2: YAML syntax: expected ',' or ']', but got '<stream end>'"
    ]
    assert problems("name: a\x07\n") == ["error: line 1: YAML syntax: character U+0007 is not allowed"]
    assert problems("\n\nname: a\x07\n") == ["error: line 3: YAML syntax: character U+0007 is not allowed"]


def test_a_document_is_at_most_256_kib_of_utf8():
    largest = "name: demo\n#" + "x" * (256 * 1024 - 12)
    assert len(largest.encode()) == 256 * 1024
    assert "larger" not in " ".join(problems(largest))
    assert read_document(largest + "x", kinds()) == (
        None,
        [Diagnostic("error", "the document is larger than 256 KiB")],
    )
    wide = "name: demo\n#" + "中" * (256 * 1024 // 3)
    assert problems(wide) == ["error: document: the document is larger than 256 KiB"]


def test_at_most_300_rules():
    rules = "".join(f"  - {{id: r{n}, then: [flag]}}\n" for n in range(301))
    assert problems(HEAD + "rules:\n" + rules) == ["error: line 1: 301 rules, at most 300 are supported"]
    assert problems(HEAD + "rules:\n" + rules.rsplit("  - ", 1)[0]) == []


# ---- tables ------------------------------------------------------------------------


def test_table_structure_problems():
    assert problems(HEAD + "table: [a]\n") == [
        "error: line 1: table: expected conditions and rows",
        "error: line 1: the rule set has no rules (give rules, a table, or both)",
    ]
    assert problems(HEAD + "table:\n  conditions: [sales]\n  rows_from: x.csv\n  extra: 1\n") == [
        "error: line 10: table: unknown key 'extra'",
        "error: line 10: table: rows_from is resolved by `retailcare rules` from a file; publish the result",
        "error: line 1: the rule set has no rules (give rules, a table, or both)",
    ]
    assert problems(HEAD + "table:\n  conditions: sales\n  rows: [{id: a, flag: yes}]\n") == [
        "error: line 10: table: conditions must be a list of input names",
        "error: line 1: the rule set has no rules (give rules, a table, or both)",
    ]
    assert problems(HEAD + "table:\n  conditions: [sales, salez, qqq]\n  rows: []\n") == [
        "error: line 10: table: condition column 'salez' is not a declared input; did you mean 'sales'?",
        "error: line 10: table: condition column 'qqq' is not a declared input; "
        "declared inputs: format, note, sales, since, stars, vip",
        "error: line 10: table: rows must be a non-empty list",
        "error: line 1: the rule set has no rules (give rules, a table, or both)",
    ]


TABLE = (
    HEAD
    + """\
table:
  conditions: [stars, format, note, salez]
  rows:
    - {id: r1, priority: 2, description: top, stars: '>= 4', format: 'mall, shop', note: 'a, b', set_grade.grade: 5, flag: yes, salez: 3}
    - {id: r2, stars: '=> 4', grant.service: visit, grant.tier: ''}
    - {stars: 3, flag: x, grant: maybe}
    - {id: r4, stars: '-', flag: true, grant.service: ~}
    - {id: r5, stars: '[1, 3)', flag: 'no'}
    - just text
    - {id: r6, stars: many}
"""
)


def test_each_bad_table_row_is_named_with_its_line():
    assert problems(TABLE) == [
        "error: line 10: table: condition column 'salez' is not a declared input; did you mean 'sales'?",
        "error: line 13, rule r2: stars: cell '=> 4': unknown operator '=>'; use one of >=, <=, !=, >, <, =",
        "error: line 14: a table row needs an id",
        "error: line 14: column grant: mark the action with yes, or use grant.parameter",
        "error: line 16, rule r5: column flag: mark the action with yes, or use flag.parameter",
        "error: line 16, rule r5: the row has no action",
        "error: line 10: a table row is a mapping of column to cell",
        "error: line 18, rule r6: stars: value 'many' must be a whole number",
        "error: line 18, rule r6: the row has no action",
    ]


def test_table_rows_become_rules_with_their_cells_as_conditions():
    document, _ = read_document(TABLE, kinds())
    assert document.table_columns == ("stars", "format", "note", "salez")
    assert document.table_rows == ("r1", "r2", "", "r4", "r5", "r6")
    r1, r2, r3, r4, r5, _ = document.rules
    assert r1 == Rule(
        "r1",
        c.AllOf(
            (
                c.Compare("stars", "gte", 4),
                c.AnyOf((c.Compare("format", "eq", "mall"), c.Compare("format", "eq", "shop"))),
                c.AnyOf((c.Compare("note", "eq", "a"), c.Compare("note", "eq", "b"))),
            )
        ),
        [ActionCall("set_grade", {"grade": 5}), ActionCall("flag", {})],
        2,
        "top",
        12,
    )
    assert (r2.condition, r2.actions) == (c.AllOf(()), [ActionCall("grant", {"service": "visit"})])
    assert (r3.condition, r3.actions) == (c.AllOf((c.Compare("stars", "eq", 3),)), [ActionCall("flag", {})])
    assert (r4.condition, r4.actions) == (c.AllOf(()), [ActionCall("flag", {})])
    assert r5.condition == c.AllOf((c.AllOf((c.Compare("stars", "gte", 1), c.Compare("stars", "lt", 3))),))


def test_a_closed_interval_cell_includes_both_ends():
    source = HEAD + "table:\n  conditions: [stars]\n  rows:\n    - {id: r, stars: '(1, 3]', flag: yes}\n"
    document, found = read_document(source, kinds())
    assert found == []
    assert document.rules[0].condition == c.AllOf(
        (c.AllOf((c.Compare("stars", "gt", 1), c.Compare("stars", "lte", 3))),)
    )


def test_rules_and_a_table_together():
    source = (
        HEAD
        + "rules: [{id: a, then: [flag]}]\ntable:\n  conditions: [stars]\n  rows: [{id: a, stars: 1, flag: yes}]\n"
    )
    assert problems(source) == ["error: line 12, rule a: duplicate rule id (first at line 9)"]


# ---- embedded tests ----------------------------------------------------------------


def test_embedded_tests_problems_and_their_reading():
    source = (
        HEAD
        + """\
rules: [{id: a, then: [flag]}]
tests:
  - {name: t1, given: {sales: 1}, expect: {grade: {x: [1]}}, fired: [a, 3]}
  - {given: {sales: 2}}
  - {name: t3, given: [1]}
  - {name: t4, given: {sales: 1}, expect: [1]}
  - {name: t5, given: {sales: 1}, fired: a}
  - {name: t6, given: {sales: 1}, when: x}
  - text
"""
    )
    assert problems(source) == [
        "error: line 13: a test case has name, given (the inputs) and expect (the outputs)",
        "error: line 14: test: expect is a mapping of outputs, fired a list of rule ids",
        "error: line 15: test: expect is a mapping of outputs, fired a list of rule ids",
        "error: line 16: test: unknown key 'when'",
        "error: line 1: a test case has name, given (the inputs) and expect (the outputs)",
    ]
    tests = read_document(source, kinds())[0].tests
    assert tests == [
        Case("t1", {"sales": 1}, {"grade": {"x": [1]}}, ["a", "3"], 11),
        Case("line 12", {"sales": 2}, {}, None, 12),
        Case("t6", {"sales": 1}, {}, None, 16),
    ]
    assert type(tests[0].given) is dict and type(tests[0].expect["grade"]) is dict
    assert problems(HEAD + "rules: [{id: a, then: [flag]}]\ntests: {a: 1}\n") == [
        "error: line 1: tests: expected a list of test cases"
    ]


# ---- more edges: YAML errors without marks, hints, cells of text columns, rows ------


def test_a_yaml_error_is_told_by_its_problem_or_first_line_and_located_by_either_mark():
    mark = yaml.Mark("<source>", 0, 4, 2, None, None)
    context_only = yaml.MarkedYAMLError(context="while reading a flow", context_mark=mark)
    assert yaml_problem(context_only, "") == Diagnostic("error", "YAML syntax: while reading a flow", line=5)
    problem = yaml.MarkedYAMLError(
        problem="found a tab", problem_mark=yaml.Mark("<source>", 0, 8, 0, None, None)
    )
    assert yaml_problem(problem, "") == Diagnostic("error", "YAML syntax: found a tab", line=9)
    assert yaml_problem(yaml.YAMLError("no marks\nat all"), "") == Diagnostic(
        "error", "YAML syntax: no marks", line=0
    )


def test_the_hint_looks_among_supplied_facts_not_only_declared_ones():
    source = "name: demo\ninputs:\n  sales: {type: decimal, required: true}\nrules: [{id: a, when: {satrs: 1}, then: [flag]}]\n"
    assert problems(source) == ["error: line 4, rule a: unknown input 'satrs'; did you mean 'stars'?"]


def test_a_hint_takes_a_name_at_least_half_alike():
    rules = "rules: [{id: a, when: {salxyz: 1}, then: [flag]}]\n"  # 0.545 alike 'sales'
    assert problems(HEAD + rules) == ["error: line 9, rule a: unknown input 'salxyz'; did you mean 'sales'?"]


def test_with_no_usable_input_an_unknown_one_gets_no_hint():
    source = "name: any\ninputs:\n  sid: {type: text}\nrules: [{id: a, when: {zzz: 1}, then: [x]}]\n"
    assert problems(source, with_kinds=False) == [
        "error: line 3: input sid: the name is reserved by the engine",
        "error: line 4, rule a: unknown input 'zzz'",
    ]


def test_a_text_column_reads_its_cells_as_text():
    source = HEAD + "table:\n  conditions: [note]\n  rows:\n    - {id: r, note: '007', flag: yes}\n"
    document, found = read_document(source, kinds())
    assert found == []
    assert document.rules[0].condition == c.AllOf((c.Compare("note", "eq", "007"),))


def test_a_column_not_declared_skips_only_its_own_cell():
    source = (
        HEAD + "table:\n  conditions: [salez, stars]\n  rows:\n    - {id: r, salez: 1, stars: 2, flag: yes}\n"
    )
    document, found = read_document(source, kinds())
    assert [str(d) for d in found] == [
        "error: line 10: table: condition column 'salez' is not a declared input; did you mean 'sales'?"
    ]
    assert document.rules[0].condition == c.AllOf((c.Compare("stars", "eq", 2),))
    assert document.rules[0].actions == [ActionCall("flag", {})]


def test_table_problems_carry_their_row_and_column():
    source = HEAD + (
        "table:\n  conditions: [stars]\n  rows:\n"
        "    - {id: a, stars: 1, flag: yes}\n"
        "    - {stars: '=> 1', flag: maybe, priority: high}\n"
    )
    found = read_document(source, kinds())[1]
    assert [(d.message.split(":")[0], d.table_row, d.table_columns) for d in found] == [
        ("a table row needs an id", 2, ("id",)),
        ("stars", 2, ("stars",)),
        ("column flag", 2, ("flag",)),
        ("the row has no action", 2, ()),
        ("priority must be a whole number, got 'high'", 2, ("priority",)),
    ]


def test_a_quoted_value_is_shown_whole_up_to_60_characters():
    exactly = "x" * 58  # 60 characters with its quotes
    rules = f"rules: [{{id: a, when: {{stars: {{equals: {exactly}}}}}, then: [flag]}}]\n"
    assert problems(HEAD + rules) == [
        f"error: line 9, rule a: stars: value '{exactly}' must be a whole number"
    ]


def test_an_action_column_is_marked_with_yes_as_text_too_and_empty_cells_are_skipped():
    source = HEAD + (
        "table:\n  conditions: [stars]\n  rows:\n"
        "    - {id: r, stars: 1, grant.tier: '', flag: 'yes'}\n"
        "    - {id: s, stars: 2, grant.service: ~, flag: x}\n"
    )
    document, found = read_document(source, kinds())
    assert found == []
    assert [rule.actions for rule in document.rules] == [[ActionCall("flag", {})], [ActionCall("flag", {})]]


def test_a_one_of_column_reads_its_cells_as_text():
    source = (
        "name: any\ninputs:\n  level: {type: one_of, values: ['01', '2']}\n"
        "table:\n  conditions: [level]\n  rows:\n    - {id: r, level: '01', flag: yes}\n"
    )
    document, found = read_document(source, None)
    assert found == []
    assert document.rules[0].condition == c.AllOf((c.Compare("level", "eq", "01"),))


def test_a_marked_action_takes_its_parameters_from_other_columns_and_names_its_column():
    source = HEAD + (
        "table:\n  conditions: [stars]\n  rows:\n"
        "    - {id: r, stars: 1, grant: yes, grant.service: visit}\n"
        "    - {id: s, stars: 2, promote: yes, set_grade: yes}\n"
    )
    document, found = read_document(source, kinds())
    assert document.rules[0].actions == [ActionCall("grant", {"service": "visit"})]
    assert (document.rules[0].priority, document.rules[0].description) == (0, "")
    assert [(d.message, d.table_row, d.table_columns) for d in found] == [
        ("unknown action 'promote'; this rule set's actions are: flag, grant, set_grade", 2, ("promote",)),
        ("action set_grade: parameter 'grade' is required", 2, ("set_grade",)),
    ]


def test_problems_inside_nested_conditions_keep_their_rule_and_line():
    source = HEAD + (
        "rules:\n"
        "  - {id: a, when: {all: [[x]]}, then: [flag]}\n"
        "  - {id: b, when: {any: [{qqq: 1}]}, then: [flag]}\n"
        "  - {id: c, when: {not: [x]}, then: [flag]}\n"
        "  - {id: d, when: {sales: {from: x, below: y}}, then: [flag]}\n"
    )
    shape = "a condition is `all: [...]`, `any: [...]`, `not: ...` or `input: {operator: value}`"
    assert problems(source) == [
        f"error: line 10, rule a: {shape}",
        "error: line 11, rule b: unknown input 'qqq'; declared inputs: format, note, sales, since, stars, vip",
        f"error: line 12, rule c: {shape}",
        "error: line 13, rule d: sales: value 'x' must be a number",
        "error: line 13, rule d: sales: value 'y' must be a number",
    ]


def test_an_interval_cell_needs_an_ordered_column_and_list_values_keep_rule_and_line():
    table = (
        HEAD + "table:\n  conditions: [format]\n  rows:\n    - {id: r, format: '[mall, shop)', flag: yes}\n"
    )
    assert problems(table) == [
        "error: line 12, rule r: format: range needs a number, date or text input, format is one_of"
    ]
    listed = HEAD + "rules: [{id: a, when: {stars: {not_in: [1, x]}}, then: [flag]}]\n"
    assert problems(listed) == ["error: line 9, rule a: stars: value 'x' must be a whole number"]


def test_bad_bounds_of_between_and_of_an_interval_cell_keep_rule_and_line():
    between = HEAD + "rules: [{id: a, when: {stars: {between: [1, x]}}, then: [flag]}]\n"
    assert problems(between) == ["error: line 9, rule a: stars: value 'x' must be a whole number"]
    interval = HEAD + "table:\n  conditions: [stars]\n  rows:\n    - {id: r, stars: '[1, x)', flag: yes}\n"
    assert problems(interval) == ["error: line 12, rule r: stars: value 'x' must be a whole number"]


def test_a_bad_action_parameter_names_its_own_column_and_a_bad_priority_counts_as_0():
    source = (
        HEAD
        + "table:\n  conditions: [stars]\n  rows:\n    - {id: r, stars: 1, grant.service: 5, grant.tier: A, priority: x}\n"
    )
    document, found = read_document(source, kinds())
    assert [(d.message, d.table_columns) for d in found] == [
        ("action grant: service 5 must be text", ("grant.service",)),
        ("priority must be a whole number, got 'x'", ("priority",)),
    ]
    assert document.rules[0].priority == 0


def test_a_declared_input_half_alike_a_supplied_fact_gets_a_hint():
    source = "name: demo\ninputs:\n  salxyz: {type: decimal}\nrules: [{id: a, then: [flag]}]\n"
    assert problems(source) == [
        "error: line 3: input salxyz: the service does not supply it (it supplies: format, note, sales, since, "
        "stars, vip); did you mean 'sales'? (docs/rules.md, supplied facts)"
    ]


def test_an_input_the_service_does_not_supply_as_declared_is_left_out():
    source = """\
name: demo
inputs:
  sales: {type: decimal, required: true}
  zzz: {type: text}
  since: {type: text}
  note: {type: text, required: true}
  format: {type: one_of, values: [mall]}
  stars: {type: integer}
rules: [{id: a, then: [flag]}]
"""
    document, found = read_document(source, kinds())
    assert len(found) == 4
    assert list(document.inputs) == ["sales", "stars"]


def test_an_input_without_a_description_has_an_empty_one_and_unknown_keys_are_all_named():
    source = "name: any\ninputs:\n  a: {type: text}\n  b: {type: text, unit: x, scale: 2}\nrules: [{id: r, then: [x]}]\n"
    document, found = read_document(source, None)
    assert [str(d) for d in found] == ["error: line 4: input b: unknown keys scale, unit"]
    assert document.inputs["a"] == InputSpec("a", "text", False, (), "", 3)


def test_a_document_without_name_or_description_reads_them_as_empty():
    document, found = read_document("inputs:\n  a: {type: text}\nrules: [{id: r, then: [x]}]\n", None)
    assert (document.name, document.description) == ("", "")
    assert [str(d) for d in found] == ["error: line 1: name: the rule set needs a name"]


def test_every_known_rule_set_is_named():
    two = {**kinds(), "other": kinds()["demo"]}
    assert [str(d) for d in read_document("name: third\n", two)[1]] == [
        "error: line 1: unknown rule set 'third' (known here: demo, other)"
    ]
