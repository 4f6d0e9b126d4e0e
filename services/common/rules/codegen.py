"""The served decision function: a validated version's normalised conditions and actions
generated as one plain Python function, so a live decision costs a few comparisons
instead of durable-rules' JSON encoding, assert and one round trip per fired rule.

durable-rules stays the engine of record: a version is activated only when both
compilations decide alike (services/common/rules/differential.py), explanations and
dry runs use durable-rules, and a sample of live decisions is checked against it.

The generated source holds only identifiers it makes up itself and ``repr`` of values
validation has already typed (text, whole numbers, finite numbers, booleans), so no
document text reaches it as code.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from services.common.rules import conditions as c

# comparison operator -> Python operator; the tests replace one to force a disagreement
OPERATORS = {"eq": "==", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}

Decide = Callable[[dict], tuple[tuple[str, ...], dict, dict]]


def note_reasons(outputs: dict, reasons: dict, rule_id: str) -> None:
    """Records ``rule_id`` as the reason of every output (and output.key) not decided yet."""
    for key, value in outputs.items():
        if key not in reasons:
            reasons[key] = rule_id
        if isinstance(value, dict):
            for sub_key in value:
                reasons.setdefault(f"{key}.{sub_key}", rule_id)


def _literal(value) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot compile the number {value!r}")
    if not isinstance(value, (str, int, float)):
        raise ValueError(f"cannot compile the value {value!r}")
    return repr(value)


def expression(condition, variables: dict[str, str]) -> str:
    """A normalised condition as a Python expression over the input variables; a
    comparison on a missing input (None) is false, as in conditions.to_python."""
    if isinstance(condition, c.Compare):
        var, literal = variables[condition.input], _literal(condition.value)
        if condition.op == "eq":
            return f"{var} == {literal}"  # None never equals a typed literal
        return f"({var} is not None and {var} {OPERATORS[condition.op]} {literal})"
    if isinstance(condition, c.Present):
        return f"{variables[condition.input]} is {'not ' if condition.present else ''}None"
    parts = [expression(item, variables) for item in condition.items]
    if isinstance(condition, c.AllOf):
        return f"({' and '.join(parts)})" if parts else "True"
    return f"({' or '.join(parts)})" if parts else "False"


def generate(rules, normalised: dict, actions: dict, hit_policy: str) -> tuple[str, dict]:
    """Source of ``decide(facts) -> (fired, outputs, reasons)`` and the namespace it runs in.

    ``rules`` in decision order (priority, then document order), ``normalised`` rule id ->
    normalised condition, ``actions`` action name -> apply function. When every action a
    rule set uses says what it does (actions.py), the actions are written out in place,
    each output and its reason set where the first rule sets it; otherwise each fired rule
    calls its actions and then ``note_reasons``."""
    names = sorted({test.input for condition in normalised.values() for test in c.comparisons(condition)})
    variables = {name: f"v{index}" for index, name in enumerate(names)}
    namespace: dict = {"_note": note_reasons}
    inline = _inlinable(rules, actions)
    lines = ["def decide(facts):", "    get = facts.get"]
    lines += [f"    {variables[name]} = get({name!r})" for name in names]
    lines += ["    fired = []", "    add = fired.append", "    outputs = {}", "    reasons = {}"]
    for index, rule in enumerate(rules):
        lines.append(f"    if {expression(normalised[rule.id], variables)}:")
        lines.append(f"        add({rule.id!r})")
        for position, call in enumerate(rule.actions):
            value_name = f"_p{index}_{position}"
            if inline:
                lines += _inline(actions[call.name].inline, call.params, rule.id, value_name, namespace)
                continue
            apply_name = f"_a{index}_{position}"
            namespace[apply_name] = actions[call.name]
            namespace[value_name] = call.params
            lines.append(f"        {apply_name}(outputs, {value_name})")
        if not inline:
            lines.append(f"        _note(outputs, reasons, {rule.id!r})")
        if hit_policy == "first":
            lines.append("        return tuple(fired), outputs, reasons")
    lines.append("    return tuple(fired), outputs, reasons")
    return "\n".join(lines) + "\n", namespace


def _inlinable(rules, actions: dict) -> bool:
    """Whether every action call can be written out in place with the same outputs and
    reasons: known building blocks, each output set by one kind of them, set_once values
    that are not dicts (``note_reasons`` would give their keys reasons of their own)."""
    kinds: dict[str, str] = {}
    for rule in rules:
        for call in rule.actions:
            described = getattr(actions[call.name], "inline", None)
            if described is None or described[0] not in ("set_once", "grant_once"):
                return False
            kind, output, param = described
            if kinds.setdefault(output, kind) != kind or param not in call.params:
                return False
            if kind == "set_once" and isinstance(call.params[param], dict):
                return False
    return True


def _inline(described: tuple, params: dict, rule_id: str, value_name: str, namespace: dict) -> list[str]:
    """Lines setting one action's outputs and their reasons unless an earlier rule did."""
    kind, output, param = described
    if kind == "set_once":
        namespace[value_name] = params[param]
        return [
            f"        if {output!r} not in outputs:",
            f"            outputs[{output!r}] = {value_name}",
            f"            reasons[{output!r}] = {rule_id!r}",
        ]
    key = params[param]
    namespace[value_name] = {k: v for k, v in params.items() if k != param}
    return [
        f"        granted = outputs.get({output!r})",
        "        if granted is None:",
        f"            granted = outputs[{output!r}] = {{}}",
        f"            reasons[{output!r}] = {rule_id!r}",
        f"        if {_literal(key)} not in granted:",
        f"            granted[{_literal(key)}] = dict({value_name})",
        f"            reasons[{f'{output}.{key}'!r}] = {rule_id!r}",
    ]


def decision_function(
    rules, normalised: dict, actions: dict, hit_policy: str, label: str
) -> tuple[Decide, str]:
    """The compiled function and its source (kept for reading when a check disagrees)."""
    source, namespace = generate(rules, normalised, actions, hit_policy)
    exec(compile(source, f"<rules {label}>", "exec"), namespace)  # noqa: S102 - see the module docstring
    return namespace["decide"], source
