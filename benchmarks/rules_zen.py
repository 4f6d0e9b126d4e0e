"""The rule sets as GoRules ZEN decision graphs (JDM), for the rules benchmark.

The graph is generated from the same validated document our compilers read (its rules in
decision order, their normalised conditions and what their actions contribute), so it
stays in step with the YAML:

  * one ``collect`` decision table lists every rule whose condition holds: the fired rules;
  * one ``first`` hit table per decided output (``grade``, ``star_level``, ...), its rows the
    rules that set it in decision order, gives the value and the rule that decided it;
  * an output that collects keyed entries (``services``) gets one ``first`` table per key
    (``services.scarce_brand_supply``) and one for the output's own reason.

That is the semantics of the shipped vocabulary (the highest-priority rule that sets a value
decides it; a grant is decided per service), written as ZEN models such decisions. A rule
set whose actions accumulate (points) or whose hit policy is ``first`` is refused rather
than modelled wrongly; the benchmark's equality check would catch a wrong model anyway.

ZEN reads numbers as decimals of about 15 significant digits, so it cannot tell a limit
from its nearest float neighbours (199.99999999999997 compares as 200): the benchmark's
boundary inputs stay within that precision.
"""

from __future__ import annotations

import json

from services.common.rules import conditions as c
from services.common.rules.engine import CompiledRuleSet

FIRED = "fired"
OUTPUTS = "outputs"
REASONS = "reasons"
_SUB = "/"  # reasons of keyed entries: "services/scarce_brand_supply", "services.<key>" in ours


def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_literal(item)}" for key, item in value.items()) + "}"
    raise ValueError(f"no ZEN literal for {value!r}")


def expression(condition) -> str:
    """A normalised condition as a ZEN expression; a comparison on a missing input is
    false, as in ours (ZEN itself fails comparing null with a number)."""
    if isinstance(condition, c.Compare):
        literal = _literal(condition.value)
        if condition.op == "eq":
            return f"{condition.input} == {literal}"
        operator = {"neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[condition.op]
        return f"({condition.input} != null and {condition.input} {operator} {literal})"
    if isinstance(condition, c.Present):
        return f"{condition.input} {'!=' if condition.present else '=='} null"
    parts = [expression(item) for item in condition.items]
    if isinstance(condition, c.AllOf):
        return "(" + " and ".join(parts) + ")" if parts else "true"
    return "(" + " or ".join(parts) + ")" if parts else "false"


def _node(node_id: str, node_type: str, content: dict | None = None) -> dict:
    return {
        "id": node_id,
        "type": node_type,
        "name": node_id,
        "position": {"x": 0, "y": 0},
        "content": content or {},
    }


def _table(node_id: str, hit_policy: str, rows: list[tuple[str, str, dict]], **content) -> dict:
    """A decision table with one condition column (a full expression per row) and one
    output column per field; ``rows``: (rule id, condition, field -> output expression)."""
    fields = list(dict.fromkeys(field for _, _, outputs in rows for field in outputs))
    column = {field: f"o{index}" for index, field in enumerate(fields)}
    return _node(
        node_id,
        "decisionTableNode",
        {
            "hitPolicy": hit_policy,
            "inputs": [{"id": "when", "name": "when"}],
            "outputs": [{"id": column[f], "name": f, "field": f} for f in fields],
            "rules": [
                {"_id": rule_id, "when": when, **{column[f]: out for f, out in outputs.items()}}
                for rule_id, when, outputs in rows
            ],
            **content,
        },
    )


def contributions(compiled: CompiledRuleSet, rules) -> dict[str, dict]:
    """What each rule's actions set when it is the only rule applied."""
    result = {}
    for rule in rules:
        outputs: dict = {}
        for call in rule.actions:
            compiled.vocabulary.actions[call.name].apply(outputs, call.params)
        result[rule.id] = outputs
    return result


def decision_graph(compiled: CompiledRuleSet) -> dict:
    """The rule set as a JDM graph (a dict; ``json.dumps`` it for ZEN)."""
    document = compiled.document
    if document.hit_policy != "collect":
        raise ValueError(f"{compiled.name}: only the collect hit policy is modelled")
    rules = sorted(document.rules, key=lambda rule: compiled._order[rule.id])
    when = {rule.id: expression(compiled.normalised[rule.id]) for rule in rules}
    contributed = contributions(compiled, rules)
    tables = [
        _table(
            FIRED,
            "collect",
            [(rule.id, when[rule.id], {"rule": _literal(rule.id)}) for rule in rules],
            outputPath=FIRED,
        )
    ]
    setters: dict[str, list[str]] = {}  # output -> rules that set it, in decision order
    keyed: dict[tuple[str, str], list[str]] = {}  # (output, key) -> rules that set it
    for rule in rules:
        for output, value in contributed[rule.id].items():
            setters.setdefault(output, []).append(rule.id)
            if isinstance(value, dict):
                for key in value:
                    keyed.setdefault((output, key), []).append(rule.id)
    for output, rule_ids in setters.items():
        kinds = {isinstance(contributed[rule_id][output], dict) for rule_id in rule_ids}
        if len(kinds) > 1:
            raise ValueError(f"{compiled.name}: output {output} is both keyed and not")
        rows = []
        for rule_id in rule_ids:
            decided = {f"{REASONS}.{output}": _literal(rule_id)}
            if kinds == {False}:  # keyed outputs are decided key by key below
                decided[f"{OUTPUTS}.{output}"] = _literal(contributed[rule_id][output])
            rows.append((rule_id, when[rule_id], decided))
        tables.append(_table(f"decide {output}", "first", rows))
    for (output, key), rule_ids in keyed.items():
        rows = [
            (
                rule_id,
                when[rule_id],
                {
                    f"{OUTPUTS}.{output}.{key}": _literal(contributed[rule_id][output][key]),
                    f"{REASONS}.{output}{_SUB}{key}": _literal(rule_id),
                },
            )
            for rule_id in rule_ids
        ]
        tables.append(_table(f"decide {output}.{key}", "first", rows))
    _refuse_accumulating(compiled, rules, contributed)
    nodes = [_node("request", "inputNode"), *tables, _node("response", "outputNode")]
    edges = []
    for table in tables:
        edges.append(
            {"id": f"in {table['id']}", "sourceId": "request", "targetId": table["id"], "type": "edge"}
        )
        edges.append(
            {"id": f"out {table['id']}", "sourceId": table["id"], "targetId": "response", "type": "edge"}
        )
    return {"nodes": nodes, "edges": edges}


def _refuse_accumulating(compiled: CompiledRuleSet, rules, contributed: dict) -> None:
    """First-wins per output (and per key) is the model: check that applying every rule
    gives exactly that, or refuse the rule set."""
    applied = compiled.apply([rule.id for rule in rules])[1]
    first_wins: dict = {}
    for rule in rules:
        for output, value in contributed[rule.id].items():
            if isinstance(value, dict):
                first_wins.setdefault(output, {})
                for key, item in value.items():
                    first_wins[output].setdefault(key, item)
            else:
                first_wins.setdefault(output, value)
    if applied != first_wins:
        raise ValueError(f"{compiled.name}: its actions accumulate; the graph models first-wins outputs")


def as_decision(response: dict) -> tuple[tuple[str, ...], dict, dict]:
    """ZEN's response as ours: (fired, outputs, reasons)."""
    result = response["result"]
    fired = tuple(row["rule"] for row in result.get(FIRED) or ())
    outputs = result.get(OUTPUTS) or {}
    reasons = {name.replace(_SUB, "."): rule for name, rule in (result.get(REASONS) or {}).items()}
    return fired, outputs, reasons
