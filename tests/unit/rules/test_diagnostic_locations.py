"""Where in a decision table a diagnostic is: the row (1-based, of the table's `rows`) and
the columns it is about, so that a grid can mark the cell without reading the message."""

from services.common.rules.admin import _diagnostic, _test_result
from services.common.rules.cli import _diagnostic as as_json
from services.common.rules.document import read_document
from services.common.rules.model import ActionSpec, InputSpec, Param, RuleSetKind, Vocabulary
from services.common.rules.validation import validate


def _apply(outputs, params):
    outputs.update(params)


def kinds():
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
    }
    return {"demo": RuleSetKind("demo", vocabulary, None, facts)}


HEAD = """\
name: demo
hit_policy: first
inputs:
  sales: {type: decimal, required: true}
  stars: {type: integer, required: true}
  format: {type: one_of, values: [mall, shop]}
"""


def located(source):
    """(message, rule, line, row, columns) of each diagnostic of reading the document."""
    return [
        (d.message, d.rule_id, d.line, d.table_row, d.table_columns)
        for d in read_document(source, kinds())[1]
    ]


def test_a_cell_problem_names_its_row_and_column():
    source = HEAD + (
        "table:\n"
        "  conditions: [stars, format]\n"
        "  rows:\n"
        "    - {id: a, stars: '=> 4', flag: yes}\n"
        "    - {id: b, stars: many, flag: yes}\n"
        "    - {id: c, format: tent, flag: yes}\n"
    )
    assert located(source) == [
        (
            "stars: cell '=> 4': unknown operator '=>'; use one of >=, <=, !=, >, <, =",
            "a",
            10,
            1,
            ("stars",),
        ),
        ("stars: value 'many' must be a whole number", "b", 11, 2, ("stars",)),
        ("format: value 'tent' must be one of mall, shop", "c", 12, 3, ("format",)),
    ]


def test_an_action_problem_names_the_columns_of_its_parameters():
    source = HEAD + (
        "table:\n"
        "  conditions: [stars]\n"
        "  rows:\n"
        "    - {id: a, stars: 1, set_grade.grade: 99}\n"
        "    - {id: b, stars: 2, set_grade.level: 3, set_grade.grade: 4}\n"
        "    - {id: c, stars: 3, grant.tier: A, flag: yes}\n"
        "    - {id: d, stars: 4, bogus.x: 1, bogus.y: 2, flag: yes}\n"
        "    - {id: e, stars: 5, flag: maybe, set_grade.grade: 4}\n"
    )
    found = located(source)
    assert found[0][1:] == ("a", 10, 1, ("set_grade.grade",))
    assert found[0][0].startswith("action set_grade: grade 99 ")
    assert found[1:] == [
        ("action set_grade: unknown parameter 'level'", "b", 11, 2, ("set_grade.level",)),
        ("action grant: parameter 'service' is required", "c", 12, 3, ("grant.tier",)),
        (
            "unknown action 'bogus'; this rule set's actions are: flag, grant, set_grade",
            "d",
            13,
            4,
            ("bogus.x", "bogus.y"),
        ),
        ("column flag: mark the action with yes, or use flag.parameter", "e", 14, 5, ("flag",)),
    ]


def test_a_whole_row_problem_names_its_row_and_no_cell_unless_it_is_one():
    source = HEAD + (
        "table:\n"
        "  conditions: [stars, salez]\n"
        "  rows:\n"
        "    - {stars: 1, flag: yes}\n"
        "    - {id: b, stars: 2}\n"
        "    - just text\n"
        "    - {id: d, stars: 4, flag: yes, priority: high}\n"
        "    - {id: d, stars: 5, flag: yes}\n"
    )
    assert located(source) == [
        (
            "table: condition column 'salez' is not a declared input; did you mean 'sales'?",
            "",
            8,
            0,
            ("salez",),
        ),
        ("a table row needs an id", "", 10, 1, ("id",)),
        ("the row has no action", "b", 11, 2, ()),
        ("a table row is a mapping of column to cell", "", 8, 3, ()),
        ("priority must be a whole number, got 'high'", "d", 13, 4, ("priority",)),
        ("duplicate rule id (first at line 13)", "d", 14, 5, ("id",)),
    ]


def test_a_problem_outside_the_table_has_no_table_location():
    source = HEAD + "rules:\n  - id: a\n    when: {stars: {at_least: many}}\n    then: [flag]\n"
    ((message, rule, line, row, columns),) = located(source)
    assert (rule, line, row, columns) == ("a", 9, 0, ())
    assert message.startswith("stars: value 'many'")


def warnings_of(table_rows):
    source = HEAD + "table:\n  conditions: [stars, format]\n  rows:\n" + table_rows
    result = validate(source, kinds())
    if result.compiled is not None:
        result.compiled.close()
    assert not result.errors, result.errors
    return [(d.message, d.rule_id, d.table_row, d.table_columns) for d in result.warnings]


def test_a_gap_names_the_condition_columns_and_no_row():
    found = warnings_of(
        "    - {id: low, stars: '[1, 3)', flag: yes}\n    - {id: high, stars: '>= 3', flag: yes}\n"
    )
    assert found == [
        (
            "table gap: no row covers stars below 1, format missing; stars below 1, format = mall; "
            "stars below 1, format = shop",
            "",
            0,
            ("stars", "format"),
        )
    ]


def test_an_overlap_and_a_row_that_can_never_fire_name_their_row():
    found = warnings_of(
        "    - {id: any, stars: '-', set_grade.grade: 1}\n"
        "    - {id: never, stars: '[5, 2)', set_grade.grade: 2}\n"
        "    - {id: some, stars: '>= 3', set_grade.grade: 3}\n"
    )
    assert [(rule, row, columns) for _, rule, row, columns in found] == [
        ("never", 2, ()),
        ("some", 3, ()),
    ]
    assert found[0][0].startswith("this rule can never fire")
    assert found[1][0].startswith("can match together with rule any (line 10)")


def test_the_api_message_carries_the_location_and_each_test_result():
    source = HEAD + (
        "table:\n"
        "  conditions: [stars]\n"
        "  rows:\n"
        "    - {id: a, stars: '>= 3', set_grade.grade: 5}\n"
        "    - {id: b, stars: '< 3', set_grade.grade: 1}\n"
        "tests:\n"
        "  - {name: top, given: {sales: 1, stars: 4}, expect: {grade: 5}}\n"
        "  - {name: wrong, given: {sales: 1, stars: 1}, expect: {grade: 2}, fired: [a]}\n"
    )
    result = validate(source, kinds())
    assert result.compiled is None  # a failed test is an error
    failed = next(d for d in result.diagnostics if d.message.startswith("test 'wrong'"))
    assert (failed.table_row, failed.table_columns) == (0, ())
    cell = next(d for d in read_document(source.replace("'< 3'", "'=< 3'"), kinds())[1])
    message = _diagnostic(cell)
    assert (message.table_row, list(message.table_columns), message.line) == (2, ["stars"], 11)
    top, wrong = (_test_result(outcome) for outcome in result.tests)
    assert (top.name, top.line, top.passed, list(top.failures)) == ("top", 13, True, [])
    assert (wrong.name, wrong.line, wrong.passed) == ("wrong", 14, False)
    assert list(wrong.failures) == ["grade: expected 2, got 1", "fired: expected ['a'], got ['b']"]


def test_the_cli_json_carries_the_location_too():
    source = HEAD + "table:\n  conditions: [stars]\n  rows:\n    - {id: a, stars: '=> 1', flag: yes}\n"
    (cell,) = read_document(source, kinds())[1]
    assert as_json(cell) == {
        "severity": "error",
        "line": 10,
        "rule_id": "a",
        "message": "stars: cell '=> 1': unknown operator '=>'; use one of >=, <=, !=, >, <, =",
        "table_row": 1,
        "table_columns": ["stars"],
    }
