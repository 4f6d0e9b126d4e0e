"""The classification service process: its servicers and what it needs before SERVING."""

import pathlib

import grpc

from services.common.server import Runtime, ServiceDefinition


def register(server: grpc.Server, runtime: Runtime) -> list[str]:
    return []


definition = ServiceDefinition(
    name="classification",
    register=register,
    migrations_dir=pathlib.Path(__file__).parent / "migrations",
)
