"""The shape of a pack declaration: which services a pack has and what the kernel needs to
know about each. The kernel (config, CLI, ``up``, the rule-set catalogue) takes a
declaration as a parameter; the one declaration of this pack is ``services/composition.py``.

Modules are named, not imported, so reading the declaration costs nothing: a process
imports only the service it runs."""

from __future__ import annotations

import functools
import importlib
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.common.rules.catalogue import RuleSetCatalogue
    from services.common.rules.model import RuleSetKind
    from services.common.server import ServiceDefinition


def _load(reference: str):
    """``package.module`` or ``package.module:attribute``."""
    module, _, attribute = reference.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    grpc_port: int  # default gRPC port
    http_port: int  # default port of /metrics, /healthz, /readyz
    app: str  # module whose ``definition`` is the ServiceDefinition
    rule_sets: str | None = None  # module whose ``RULE_SETS`` are the rule-set kinds it owns
    migrations_dir: pathlib.Path | None = None  # its Alembic history; None: no database
    # "module:function" adding commands to the ``retailcare`` argument parser.
    commands: tuple[str, ...] = ()

    @property
    def has_database(self) -> bool:
        return self.migrations_dir is not None

    def definition(self) -> ServiceDefinition:
        return _load(self.app).definition

    def rule_set_kinds(self) -> tuple[RuleSetKind, ...]:
        return tuple(_load(self.rule_sets).RULE_SETS) if self.rule_sets else ()

    def command_registrars(self) -> list[Callable]:
        return [_load(reference) for reference in self.commands]


@dataclass(frozen=True)
class PackDeclaration:
    services: tuple[ServiceEntry, ...]  # in start order: a service after those it calls
    # The module that runs the ``retailcare`` command (``python -m <cli_module> serve NAME``).
    cli_module: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.services)

    start_order = names

    def entry(self, name: str) -> ServiceEntry:
        for entry in self.services:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def definition(self, name: str) -> ServiceDefinition:
        return self.entry(name).definition()

    @property
    def default_ports(self) -> dict[str, tuple[int, int]]:
        return {entry.name: (entry.grpc_port, entry.http_port) for entry in self.services}

    @property
    def with_database(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.services if entry.has_database)

    def rule_set_catalogue(self) -> RuleSetCatalogue:
        """Which service owns which rule-set kind (imports the rule-set modules once)."""
        return _catalogue_of(self)


@functools.cache
def _catalogue_of(pack: PackDeclaration) -> RuleSetCatalogue:
    from services.common.rules.catalogue import RuleSetCatalogue

    return RuleSetCatalogue(
        {entry.name: entry.rule_set_kinds() for entry in pack.services if entry.rule_sets}
    )
