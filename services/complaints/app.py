"""The complaints service process: its servicers and what it needs before SERVING."""

import pathlib

import grpc

from services.common.server import Runtime, ServiceDefinition


def register(server: grpc.Server, runtime: Runtime) -> list[str]:
    return []


definition = ServiceDefinition(
    name="complaints",
    register=register,
    migrations_dir=pathlib.Path(__file__).parent / "migrations",
)
