"""How a service hosts its rule sets: the admin service, and loading before SERVING."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from retailcare.rules.v1 import rule_sets_pb2, rule_sets_pb2_grpc

from services.common.rules.admin import RuleSetAdminServicer
from services.common.rules.model import RuleSetKind
from services.common.rules.registry import RuleSetRegistry
from services.common.server import Runtime

ADMIN_SERVICE = rule_sets_pb2.DESCRIPTOR.services_by_name["RuleSetAdmin"].full_name


def register_rule_sets(server: grpc.Server, runtime: Runtime, kinds: Iterable[RuleSetKind]) -> list[str]:
    """Adds RuleSetAdmin; the registry is filled by :func:`prepare_rule_sets`."""
    settings = runtime.settings
    runtime.rule_sets = RuleSetRegistry(
        runtime.engine,
        kinds,
        settings.rules_poll_seconds,
        serve_from=settings.rules_serve_from,
        shadow_share=settings.rules_shadow_share,
    )
    rule_sets_pb2_grpc.add_RuleSetAdminServicer_to_server(RuleSetAdminServicer(runtime.rule_sets), server)
    return [ADMIN_SERVICE]


def prepare_rule_sets(runtime: Runtime) -> None:
    """Loads the shipped defaults on first start, the active versions, then hot reload."""
    runtime.rule_sets.load_defaults()
    runtime.rule_sets.start()
    runtime.on_stop(runtime.rule_sets.stop)
