"""The gateway process: the front door that checks who calls, composes answers from the
services behind it and relays their business methods."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from retailcare.classification.v1 import classification_pb2
from retailcare.complaints.v1 import complaints_pb2
from retailcare.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2

from gateway import permissions
from gateway.access import interceptors
from gateway.composed import Composer
from gateway.downstream import Downstream, open_downstream
from gateway.relay import relay_handler
from gateway.rule_sets import RuleSetRouter
from gateway.servicer import GatewayServicer
from services.common.rules.catalogue import kinds_by_service
from services.common.server import Runtime, ServiceDefinition

GATEWAY = gateway_pb2.DESCRIPTOR.services_by_name["Gateway"]
CLASSIFICATION = classification_pb2.DESCRIPTOR.services_by_name["ClassificationService"]
COMPLAINTS = complaints_pb2.DESCRIPTOR.services_by_name["ComplaintsService"]
RULE_SET_ADMIN = rule_sets_pb2.DESCRIPTOR.services_by_name["RuleSetAdmin"]
CONTRACTS = {
    "classification": (CLASSIFICATION, RULE_SET_ADMIN),
    "complaints": (COMPLAINTS, RULE_SET_ADMIN),
    "evaluation": (RULE_SET_ADMIN,),
}
READINESS_TIMEOUT_SECONDS = 1.0
SERVING = health_pb2.HealthCheckResponse.SERVING


def _relay_to(downstream: Downstream):
    return lambda request: downstream


def all_serving(downstreams: list[Downstream]) -> bool:
    """Asks every downstream service's health at once; ready when all are SERVING."""
    checks = [
        health_pb2_grpc.HealthStub(d.channel).Check.future(
            health_pb2.HealthCheckRequest(), timeout=READINESS_TIMEOUT_SECONDS
        )
        for d in downstreams
    ]
    return all(check.exception() is None and check.result().status == SERVING for check in checks)


def register(server: grpc.Server, runtime: Runtime) -> list[str]:
    settings = runtime.settings
    downstreams = {name: open_downstream(name, settings, contracts) for name, contracts in CONTRACTS.items()}
    for downstream in downstreams.values():
        runtime.on_stop(downstream.channel.close)
    classification, complaints = downstreams["classification"], downstreams["complaints"]
    gateway_pb2_grpc.add_GatewayServicer_to_server(
        GatewayServicer(Composer(classification, complaints)), server
    )
    owners = {name: downstreams[name] for name in kinds_by_service()}
    server.add_generic_rpc_handlers(
        (
            relay_handler(
                CLASSIFICATION, permissions.methods_of(CLASSIFICATION.full_name), _relay_to(classification)
            ),
            relay_handler(COMPLAINTS, permissions.methods_of(COMPLAINTS.full_name), _relay_to(complaints)),
            RuleSetRouter(owners).handler(),
        )
    )
    runtime.readiness_checks.append(lambda: all_serving(list(downstreams.values())))
    return [GATEWAY.full_name, CLASSIFICATION.full_name, COMPLAINTS.full_name, RULE_SET_ADMIN.full_name]


definition = ServiceDefinition(name="gateway", register=register, interceptors=interceptors)
