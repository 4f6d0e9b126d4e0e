"""Reading a rule-set document (YAML, see docs/rules.md) into a RuleSetDocument,
collecting every problem with the line it is on instead of stopping at the first."""

from __future__ import annotations

import dataclasses
import datetime
import difflib
from collections.abc import Mapping
from typing import Any

import yaml

from services.common.rules import conditions as c
from services.common.rules.model import (
    HIT_POLICIES,
    INPUT_TYPES,
    ActionCall,
    Diagnostic,
    InputSpec,
    Rule,
    RuleSetDocument,
    RuleSetKind,
    TestCase,
    Vocabulary,
)
from services.common.rules.tables import parse_cell

MAX_SOURCE_BYTES = 256 * 1024
MAX_RULES = 300  # durable-rules' C core handles a few hundred rules per ruleset
MAX_INPUTS = 200  # its facts hold at most 255 properties
SHOWN_CHARACTERS = 60  # of a bad value quoted in a message
TOP_LEVEL_KEYS = {"name", "description", "hit_policy", "inputs", "rules", "table", "tests"}
RULE_KEYS = {"id", "description", "priority", "when", "then"}
TABLE_KEYS = {"conditions", "rows", "rows_from"}
ROW_KEYS = {"id", "description", "priority"}
TEST_KEYS = {"name", "given", "expect", "fired"}
OPERATORS = {
    "equals",
    "not_equals",
    "less_than",
    "at_most",
    "greater_than",
    "at_least",
    "between",
    "in",
    "not_in",
    "is_missing",
    "is_present",
    "from",
    "below",
}
RESERVED_INPUTS = {"sid", "id", c.ALWAYS_PRESENT}
_ORDERED = {
    "less_than": "lt",
    "at_most": "lte",
    "greater_than": "gt",
    "at_least": "gte",
    "from": "gte",  # with below, a half-open band [from, below): adjacent bands leave no gap
    "below": "lt",
}


class LineDict(dict):
    """A YAML mapping that remembers the line it starts on."""

    line = 0


class _Loader(yaml.SafeLoader):
    def construct_object(self, node, deep=False):
        """A value its tag cannot read (``2026-02-30``, ``!!int abc``, ``!!bool maybe``)
        is a YAML error on its line, not an exception out of the parser."""
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as problem:
            if isinstance(node, yaml.ScalarNode):
                why = f"{node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}"
            else:
                why = f"a {node.id} that cannot be read ({problem})"
            raise yaml.constructor.ConstructorError(None, None, why, node.start_mark) from None


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(source: str) -> Any:
    return yaml.load(source, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def yaml_problem(problem: yaml.YAMLError, source: str) -> Diagnostic:
    """A YAML syntax error as one diagnostic on its line."""
    if isinstance(problem, yaml.reader.ReaderError):  # a character YAML does not allow
        line = source[: problem.position].count("\n") + 1
        return Diagnostic(
            "error", f"YAML syntax: character U+{problem.character:04X} is not allowed", line=line
        )
    mark = getattr(problem, "problem_mark", None) or getattr(problem, "context_mark", None)
    text = getattr(problem, "problem", None) or str(problem).splitlines()[0]
    return Diagnostic("error", f"YAML syntax: {text}", line=mark.line + 1 if mark else 0)


class _Reader:
    def __init__(self, vocabulary: Vocabulary | None):
        self.vocabulary = vocabulary
        self.supplied: Mapping[str, InputSpec] = {}
        self.diagnostics: list[Diagnostic] = []
        self.inputs: dict[str, InputSpec] = {}
        self.table_columns: tuple = ()
        self.aliases: Mapping[str, str] = {}

    def error(
        self, message: str, line: int = 0, rule_id: str = "", table_columns: tuple[str, ...] = ()
    ) -> None:
        self.diagnostics.append(Diagnostic("error", message, rule_id, line, table_columns=table_columns))

    def locate(self, since: int, table_row: int, table_columns: tuple[str, ...] = ()) -> None:
        """Puts the decision-table row (and the columns, when they name none) on the
        diagnostics added since index ``since``."""
        self.diagnostics[since:] = [
            d
            if d.table_row
            else dataclasses.replace(d, table_row=table_row, table_columns=d.table_columns or table_columns)
            for d in self.diagnostics[since:]
        ]

    # -- inputs -------------------------------------------------------------
    def read_inputs(self, raw: Any, line: int) -> None:
        if not isinstance(raw, dict) or not raw:
            self.error("inputs: expected a mapping of input name to its declaration", line)
            return
        if len(raw) > MAX_INPUTS:
            self.error(f"inputs: {len(raw)} inputs, at most {MAX_INPUTS} are supported", raw.line)
        for name, spec in raw.items():
            where = getattr(spec, "line", raw.line)
            if not isinstance(spec, dict):
                self.error(f"input {name}: expected type, required, values, description", where)
                continue
            unknown = set(spec) - {"type", "required", "values", "description"}
            if unknown:
                self.error(f"input {name}: unknown keys {', '.join(_sorted(unknown))}", where)
            if str(name) in RESERVED_INPUTS or str(name).startswith("$"):
                self.error(f"input {name}: the name is reserved by the engine", where)
                continue
            kind = spec.get("type")
            if kind not in INPUT_TYPES:
                self.error(f"input {name}: type must be one of {', '.join(INPUT_TYPES)}", where)
                continue
            allowed = spec.get("values") or []
            if kind == "one_of" and (not isinstance(allowed, list) or not allowed):
                self.error(f"input {name}: a one_of input lists its allowed values", where)
                continue
            declared = InputSpec(
                name=str(name),
                type=kind,
                required=bool(spec.get("required", False)),
                allowed=tuple(str(v) for v in allowed),
                description=str(spec.get("description", "")),
                line=where,
            )
            if self.supplied and not self.fits_supplied(declared):
                continue
            self.inputs[name] = declared

    def fits_supplied(self, declared: InputSpec) -> bool:
        """Whether the service supplies this input, with this type and no value it refuses."""
        supplied = self.supplied.get(declared.name)
        if supplied is None:
            names = ", ".join(sorted(self.supplied))
            close = [self.aliases[declared.name]] if declared.name in self.aliases else []
            close = close or difflib.get_close_matches(declared.name, sorted(self.supplied), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}? (docs/rules.md, supplied facts)" if close else ""
            self.error(
                f"input {declared.name}: the service does not supply it (it supplies: {names}){hint}",
                declared.line,
            )
            return False
        if supplied.type != declared.type:
            self.error(
                f"input {declared.name}: the service supplies it as {supplied.type}, not {declared.type}",
                declared.line,
            )
            return False
        if declared.required and not supplied.required:
            self.error(
                f"input {declared.name}: the service does not always supply it, so it cannot be required",
                declared.line,
            )
            return False
        missing = [v for v in supplied.allowed if v not in declared.allowed]
        if missing:
            self.error(
                f"input {declared.name}: values {', '.join(missing)} are sent by the service and must be listed",
                declared.line,
            )
            return False
        return True

    # -- conditions ---------------------------------------------------------
    def literal(self, spec: InputSpec, value: Any, rule_id: str, line: int) -> Any:
        try:
            return spec.convert(value)
        except ValueError as problem:
            self.error(f"{spec.name}: value {_shown(value)} {problem}", line, rule_id)
            return None

    def condition(self, raw: Any, rule_id: str, line: int) -> Any:
        line = getattr(raw, "line", line)
        if not isinstance(raw, dict) or len(raw) != 1:
            self.error(
                "a condition is `all: [...]`, `any: [...]`, `not: ...` or `input: {operator: value}`",
                line,
                rule_id,
            )
            return c.TRUE
        key, value = next(iter(raw.items()))
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.error(f"{key}: expected a non-empty list of conditions", line, rule_id)
                return c.TRUE
            items = tuple(self.condition(item, rule_id, line) for item in value)
            return c.AllOf(items) if key == "all" else c.AnyOf(items)
        if key == "not":
            return c.Not(self.condition(value, rule_id, line))
        spec = self.inputs.get(key)
        if spec is None:
            self.error(f"unknown input {key!r}{self.hint(key)}", line, rule_id)
            return c.TRUE
        if not isinstance(value, dict):
            value = {"equals": value}
        if set(value) == {"from", "below"}:
            return c.AllOf(
                tuple(self.comparison(spec, op, value[op], rule_id, line) for op in ("from", "below"))
            )
        if len(value) != 1:
            self.error(f"{key}: give exactly one operator ({', '.join(sorted(OPERATORS))})", line, rule_id)
            return c.TRUE
        operator, operand = next(iter(value.items()))
        return self.comparison(spec, operator, operand, rule_id, line)

    def hint(self, name: str) -> str:
        """'; did you mean X?' with the closest declared or supplied fact, or nothing."""
        known = sorted(set(self.inputs) | set(self.supplied))
        close = [self.aliases[name]] if name in self.aliases else []
        close = close or difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
        if close:
            return f"; did you mean {close[0]!r}?"
        return f"; declared inputs: {', '.join(sorted(self.inputs))}" if self.inputs else ""

    def comparison(self, spec: InputSpec, operator: str, operand: Any, rule_id: str, line: int) -> Any:
        name = spec.name
        if operator not in OPERATORS and operator != "range":
            self.error(
                f"{name}: unknown operator {operator!r}; use one of {', '.join(sorted(OPERATORS))}",
                line,
                rule_id,
            )
            return c.TRUE
        if operator in ("is_missing", "is_present"):
            return c.Present(name, (operator == "is_present") == bool(operand))
        if operator in _ORDERED or operator in ("between", "range"):
            if spec.type in ("boolean", "one_of"):
                self.error(
                    f"{name}: {operator} needs a number, date or text input, {name} is {spec.type}",
                    line,
                    rule_id,
                )
                return c.TRUE
        if operator in ("in", "not_in"):
            if not isinstance(operand, list) or not operand:
                self.error(f"{name}: {operator} expects a non-empty list", line, rule_id)
                return c.TRUE
            values = [self.literal(spec, v, rule_id, line) for v in operand]
            if operator == "in":
                return c.AnyOf(tuple(c.Compare(name, "eq", v) for v in values))
            return c.AllOf(tuple(c.Compare(name, "neq", v) for v in values))
        if operator == "between":
            if not isinstance(operand, list) or len(operand) != 2:
                self.error(f"{name}: between expects [lowest, highest]", line, rule_id)
                return c.TRUE
            low, high = (self.literal(spec, v, rule_id, line) for v in operand)
            return c.AllOf((c.Compare(name, "gte", low), c.Compare(name, "lte", high)))
        if operator == "range":  # a table cell [a, b), (a, b], [a, b] or (a, b)
            low, low_closed, high, high_closed = operand
            low, high = (self.literal(spec, v, rule_id, line) for v in (low, high))
            return c.AllOf(
                (
                    c.Compare(name, "gte" if low_closed else "gt", low),
                    c.Compare(name, "lte" if high_closed else "lt", high),
                )
            )
        value = self.literal(spec, operand, rule_id, line)
        op = {"equals": "eq", "not_equals": "neq"}.get(operator) or _ORDERED[operator]
        return c.Compare(name, op, value)

    # -- actions ------------------------------------------------------------
    def action(
        self, name: str, params: Any, rule_id: str, line: int, columns: Mapping[str, str] | None = None
    ) -> ActionCall | None:
        """``columns``: a table row's column of each parameter (``set_grade.grade``), which a
        problem with that parameter names; a problem with the whole action names them all."""
        columns = columns or {}
        every = tuple(columns.values())
        if params is not None and not isinstance(params, dict):
            self.error(f"action {name}: parameters must be a mapping", line, rule_id)
            return None
        params = params or {}
        if self.vocabulary is None:
            return ActionCall(name, dict(params))
        spec = self.vocabulary.actions.get(name)
        if spec is None:
            known = ", ".join(sorted(self.vocabulary.actions))
            self.error(f"unknown action {name!r}; this rule set's actions are: {known}", line, rule_id, every)
            return None
        checked = {}
        for param in _sorted(set(params) - set(spec.params)):
            self.error(f"action {name}: unknown parameter {param!r}", line, rule_id, _named(columns, param))
        for param, param_spec in spec.params.items():
            if param not in params or params[param] is None:
                if param_spec.required:
                    self.error(f"action {name}: parameter {param!r} is required", line, rule_id, every)
                continue
            try:
                checked[param] = param_spec.check(params[param])
            except ValueError as problem:
                self.error(
                    f"action {name}: {param} {_shown(params[param])} {problem}",
                    line,
                    rule_id,
                    _named(columns, param),
                )
        return ActionCall(name, checked)

    def actions(self, raw: Any, rule_id: str, line: int) -> list[ActionCall]:
        if not isinstance(raw, list) or not raw:
            self.error("then: expected a list of actions", line, rule_id)
            return []
        calls = []
        for item in raw:
            where = getattr(item, "line", line)
            if isinstance(item, str):
                name, params = item, {}
            elif isinstance(item, dict) and len(item) == 1:
                name, params = next(iter(item.items()))
            else:
                self.error("an action is `action_name: {parameter: value}`", where, rule_id)
                continue
            call = self.action(name, params, rule_id, where)
            if call:
                calls.append(call)
        return calls

    # -- rules and tables ---------------------------------------------------
    def priority(self, raw: Any, rule_id: str, line: int) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.error(f"priority must be a whole number, got {raw!r}", line, rule_id)
            return 0
        return raw

    def rules(self, raw: Any, line: int) -> list[Rule]:
        if not isinstance(raw, list):
            self.error("rules: expected a list of rules", line)
            return []
        rules = []
        for item in raw:
            where = getattr(item, "line", line)
            if not isinstance(item, dict):
                self.error("a rule is a mapping with id, when and then", where)
                continue
            rule_id = str(item.get("id", ""))
            if not rule_id:
                self.error("a rule needs an id", where)
            for key in _sorted(set(item) - RULE_KEYS):
                self.error(
                    f"unknown key {key!r} in rule (use {', '.join(sorted(RULE_KEYS))})", where, rule_id
                )
            when = self.condition(item["when"], rule_id, where) if "when" in item else c.TRUE
            rules.append(
                Rule(
                    id=rule_id,
                    condition=when,
                    actions=self.actions(item.get("then"), rule_id, where),
                    priority=self.priority(item.get("priority", 0), rule_id, where),
                    description=str(item.get("description", "")),
                    line=where,
                )
            )
        return rules

    def table(self, raw: Any, line: int) -> list[Rule]:
        line = getattr(raw, "line", line)
        if not isinstance(raw, dict):
            self.error("table: expected conditions and rows", line)
            return []
        for key in _sorted(set(raw) - TABLE_KEYS):
            self.error(f"table: unknown key {key!r}", line)
        if "rows_from" in raw:
            self.error(
                "table: rows_from is resolved by `retailcare rules` from a file; publish the result", line
            )
            return []
        columns = raw.get("conditions") or []
        if not isinstance(columns, list) or not all(isinstance(column, str) for column in columns):
            self.error("table: conditions must be a list of input names", line)
            return []
        for column in columns:
            if column not in self.inputs:
                self.error(
                    f"table: condition column {column!r} is not a declared input{self.hint(column)}",
                    line,
                    table_columns=(column,),
                )
        rows = raw.get("rows")
        if not isinstance(rows, list) or not rows:
            self.error("table: rows must be a non-empty list", line)
            return []
        self.table_columns = tuple(columns)
        return [
            rule for number, row in enumerate(rows, start=1) if (rule := self.row(row, columns, line, number))
        ]

    def row(self, row: Any, columns: list, line: int, number: int) -> Rule | None:
        """Row ``number`` (1-based) of the table; its problems carry that row and the
        column of the cell they are about."""
        where = getattr(row, "line", line)
        since = len(self.diagnostics)
        try:
            return self._row(row, columns, where, number)
        finally:
            self.locate(since, number)

    def _row(self, row: Any, columns: list, where: int, number: int) -> Rule | None:
        if not isinstance(row, dict):
            self.error("a table row is a mapping of column to cell", where)
            return None
        rule_id = str(row.get("id", ""))
        if not rule_id:
            self.error("a table row needs an id", where, table_columns=("id",))
        tests = []
        actions: dict[str, dict] = {}
        action_columns: dict[str, dict[str, str]] = {}  # action -> parameter ("" when marked) -> column
        for column, cell in row.items():
            if column in ROW_KEYS:
                continue
            since = len(self.diagnostics)
            if column in columns:
                spec = self.inputs.get(column)
                if spec is None:
                    continue
                try:
                    parsed = parse_cell(cell, spec.type in ("text", "one_of"))
                except ValueError as problem:
                    self.error(f"{column}: cell {_shown(cell)}: {problem}", where, rule_id, (str(column),))
                    continue
                if parsed is not None:
                    tests.append(self.comparison(spec, parsed[0], parsed[1], rule_id, where))
                self.locate(since, number, (str(column),))
                continue
            action, _, param = str(column).partition(".")
            if cell is None or cell == "":
                continue
            if param:
                actions.setdefault(action, {})[param] = cell
                action_columns.setdefault(action, {})[param] = str(column)
            elif cell in (True, "yes", "x"):
                actions.setdefault(action, {})
                action_columns.setdefault(action, {})[""] = str(column)
            else:
                self.error(
                    f"column {column}: mark the action with yes, or use {column}.parameter",
                    where,
                    rule_id,
                    (str(column),),
                )
        calls = [
            call
            for name, params in actions.items()
            if (call := self.action(name, params, rule_id, where, action_columns[name]))
        ]
        if not calls:
            self.error("the row has no action", where, rule_id)
        since = len(self.diagnostics)
        priority = self.priority(row.get("priority", 0), rule_id, where)
        self.locate(since, number, ("priority",))
        return Rule(
            id=rule_id,
            condition=c.AllOf(tuple(tests)),
            actions=calls,
            priority=priority,
            description=str(row.get("description", "")),
            line=where,
            table_row=number,
        )

    # -- tests --------------------------------------------------------------
    def tests(self, raw: Any, line: int) -> list[TestCase]:
        if not isinstance(raw, list):
            self.error("tests: expected a list of test cases", line)
            return []
        cases = []
        for item in raw:
            where = getattr(item, "line", line)
            if not isinstance(item, dict) or not isinstance(item.get("given"), dict):
                self.error("a test case has name, given (the inputs) and expect (the outputs)", where)
                continue
            for key in _sorted(set(item) - TEST_KEYS):
                self.error(f"test: unknown key {key!r}", where)
            expect = item.get("expect") or {}
            fired = item.get("fired")
            if not isinstance(expect, dict) or (fired is not None and not isinstance(fired, list)):
                self.error("test: expect is a mapping of outputs, fired a list of rule ids", where)
                continue
            cases.append(
                TestCase(
                    name=str(item.get("name", f"line {where}")),
                    given=_plain(item["given"]),
                    expect=_plain(expect),
                    fired=[str(f) for f in fired] if fired is not None else None,
                    line=where,
                )
            )
        return cases


def _named(columns: Mapping[str, str], param: str) -> tuple[str, ...]:
    """The column of an action's parameter, or every column of the action when the
    parameter has none (it is not written in the row)."""
    return (columns[param],) if param in columns else tuple(columns.values())


def _shown(value: Any) -> str:
    """A value as a message quotes it: dates as written, anything long cut short."""
    text = value.isoformat() if isinstance(value, datetime.date) else repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else f"{text[:SHOWN_CHARACTERS]}…"


def _sorted(keys) -> list[str]:
    """Keys of a mapping as text in a stable order, whatever types the document gave them."""
    return sorted(str(key) for key in keys)


def _plain(value: Any) -> Any:
    """LineDicts back into plain values, for comparing and printing."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_document(
    source: str, kinds: Mapping[str, RuleSetKind] | None
) -> tuple[RuleSetDocument | None, list[Diagnostic]]:
    """Parses and checks the structure against the vocabulary of the rule set it names
    (any vocabulary when ``kinds`` is None); returns the document, None when unusable,
    and the diagnostics."""
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        return None, [Diagnostic("error", f"the document is larger than {MAX_SOURCE_BYTES // 1024} KiB")]
    try:
        raw = load_yaml(source)
    except yaml.YAMLError as problem:
        return None, [yaml_problem(problem, source)]
    if not isinstance(raw, dict):
        return None, [Diagnostic("error", "the document must be a mapping with name, inputs and rules")]
    reader = _Reader(None)
    for key in _sorted(set(raw) - TOP_LEVEL_KEYS):
        reader.error(f"unknown top-level key {key!r} (use {', '.join(sorted(TOP_LEVEL_KEYS))})", raw.line)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        reader.error("name: the rule set needs a name", raw.line)
        name = ""
    elif kinds is not None:
        kind = kinds.get(name)
        if kind is None:
            known = ", ".join(sorted(kinds)) or "none"
            return None, [
                Diagnostic("error", f"unknown rule set {name!r} (known here: {known})", line=raw.line)
            ]
        reader.vocabulary, reader.supplied, reader.aliases = kind.vocabulary, kind.facts, kind.aliases
    hit_policy = raw.get("hit_policy", "collect")
    if hit_policy not in HIT_POLICIES:
        reader.error(f"hit_policy must be one of {', '.join(HIT_POLICIES)}", raw.line)
    reader.read_inputs(raw.get("inputs"), raw.line)
    rules = reader.rules(raw.get("rules", []), raw.line)
    table_rows: list[Rule] = []
    if "table" in raw:
        table_rows = reader.table(raw["table"], raw.line)
        rules += table_rows
    if not rules:
        reader.error("the rule set has no rules (give rules, a table, or both)", raw.line)
    if len(rules) > MAX_RULES:
        reader.error(f"{len(rules)} rules, at most {MAX_RULES} are supported", raw.line)
    seen: dict[str, int] = {}
    for rule in rules:
        if rule.id in seen:
            since = len(reader.diagnostics)
            reader.error(f"duplicate rule id (first at line {seen[rule.id]})", rule.line, rule.id)
            if rule.table_row:
                reader.locate(since, rule.table_row, ("id",))
        seen.setdefault(rule.id, rule.line)
    tests = reader.tests(raw.get("tests", []), raw.line)
    document = RuleSetDocument(
        name=name,
        description=str(raw.get("description", "")),
        hit_policy=hit_policy,
        inputs=reader.inputs,
        rules=rules,
        tests=tests,
        table_columns=reader.table_columns,
        table_rows=tuple(rule.id for rule in table_rows),
    )
    return document, reader.diagnostics
