"""Which service owns which rule set: the CLI's way to validate offline and to find
the server to talk to."""

from __future__ import annotations

import importlib

from services.common.rules.model import RuleSetKind

OWNERS = ("classification", "complaints", "evaluation")


def kinds_by_service() -> dict[str, tuple[RuleSetKind, ...]]:
    return {name: importlib.import_module(f"services.{name}.rules").RULE_SETS for name in OWNERS}


def all_kinds() -> dict[str, RuleSetKind]:
    return {kind.name: kind for kinds in kinds_by_service().values() for kind in kinds}


def owner_of(rule_set: str) -> str | None:
    for service, kinds in kinds_by_service().items():
        if any(kind.name == rule_set for kind in kinds):
            return service
    return None
