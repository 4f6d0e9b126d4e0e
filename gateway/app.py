"""The gateway process: the front door that composes calls across the services."""

import grpc

from gateway.access import interceptors
from services.common.server import Runtime, ServiceDefinition


def register(server: grpc.Server, runtime: Runtime) -> list[str]:
    return []


definition = ServiceDefinition(name="gateway", register=register, interceptors=interceptors)
