"""The complaints service process: its servicers and what it needs before SERVING."""

import pathlib

import grpc

from services.common.rules.hosting import prepare_rule_sets, register_rule_sets
from services.common.server import Runtime, ServiceDefinition
from services.complaints.rules import RULE_SETS


def register(server: grpc.Server, runtime: Runtime) -> list[str]:
    return register_rule_sets(server, runtime, RULE_SETS)


definition = ServiceDefinition(
    name="complaints",
    register=register,
    migrations_dir=pathlib.Path(__file__).parent / "migrations",
    prepare=prepare_rule_sets,
)
