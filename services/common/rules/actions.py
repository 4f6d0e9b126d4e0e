"""Building blocks for domain actions. Outputs are built in priority order, so the
first rule to set a value decides it; grants and scores collect.

``set_once`` and ``grant_once`` also say what they do (``apply.inline``), so the served
decision function can write them out in place instead of calling them (codegen.py)."""

from __future__ import annotations

from collections.abc import Callable

Apply = Callable[[dict, dict], None]


def set_once(output: str, param: str) -> Apply:
    """``outputs[output] = params[param]`` unless a higher-priority rule set it already."""

    def apply(outputs: dict, params: dict) -> None:
        outputs.setdefault(output, params[param])

    apply.inline = ("set_once", output, param)
    return apply


def set_many_once(output_by_param: dict[str, str]) -> Apply:
    """Like set_once for several parameters at once; absent optional ones are skipped."""

    def apply(outputs: dict, params: dict) -> None:
        for param, output in output_by_param.items():
            if param in params:
                outputs.setdefault(output, params[param])

    return apply


def grant_once(output: str, key_param: str) -> Apply:
    """``outputs[output][params[key]]`` = the other parameters, once per key."""

    def apply(outputs: dict, params: dict) -> None:
        granted = outputs.setdefault(output, {})
        key = params[key_param]
        if key not in granted:
            granted[key] = {k: v for k, v in params.items() if k != key_param}

    apply.inline = ("grant_once", output, key_param)
    return apply


def add_points(output: str, total: str, key_param: str, amount_param: str) -> Apply:
    """Adds ``params[amount]`` to ``outputs[output][params[key]]`` and to ``outputs[total]``."""

    def apply(outputs: dict, params: dict) -> None:
        amount = params[amount_param]
        per_key = outputs.setdefault(output, {})
        per_key[params[key_param]] = round(per_key.get(params[key_param], 0) + amount, 6)
        outputs[total] = round(outputs.get(total, 0) + amount, 6)

    return apply
