"""Which service owns which rule set: the CLI's way to validate offline and to find the
server to talk to. Built from a pack declaration (``pack.rule_set_catalogue()``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.common.rules.model import RuleSetKind


class RuleSetCatalogue:
    def __init__(self, kinds_by_service: Mapping[str, Sequence[RuleSetKind]]):
        self._by_service = {service: tuple(kinds) for service, kinds in kinds_by_service.items()}

    def kinds_by_service(self) -> dict[str, tuple[RuleSetKind, ...]]:
        return dict(self._by_service)

    def all_kinds(self) -> dict[str, RuleSetKind]:
        return {kind.name: kind for kinds in self._by_service.values() for kind in kinds}

    def owner_of(self, rule_set: str) -> str | None:
        for service, kinds in self._by_service.items():
            if any(kind.name == rule_set for kind in kinds):
                return service
        return None
