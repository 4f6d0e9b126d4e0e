"""The gateway process: the front door that checks who calls, composes answers from the
services behind it and relays their business methods."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from retailcare.classification.v1 import classification_pb2
from retailcare.complaints.v1 import complaints_pb2
from retailcare.evaluation.v1 import evaluation_pb2
from retailcare.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2

from gateway import permissions
from gateway.access import interceptors, token_store
from gateway.composed import Composer, FanOut
from gateway.console.api import ConsoleApp
from gateway.console.overview import Overview
from gateway.console.rule_sets import RuleSetConsole
from gateway.downstream import Downstream, open_downstream
from gateway.relay import relay_handler
from gateway.rule_sets import RuleSetRouter
from gateway.servicer import GatewayServicer
from services.classification.client import ClassificationClient
from services.common.server import Runtime, ServiceDefinition
from services.complaints.client import ComplaintsClient
from services.composition import PACK
from services.evaluation.client import EvaluationClient

GATEWAY = gateway_pb2.DESCRIPTOR.services_by_name["Gateway"]
CLASSIFICATION = classification_pb2.DESCRIPTOR.services_by_name["ClassificationService"]
COMPLAINTS = complaints_pb2.DESCRIPTOR.services_by_name["ComplaintsService"]
EVALUATION = evaluation_pb2.DESCRIPTOR.services_by_name["EvaluationService"]
RULE_SET_ADMIN = rule_sets_pb2.DESCRIPTOR.services_by_name["RuleSetAdmin"]
CONTRACTS = {
    "classification": (CLASSIFICATION, RULE_SET_ADMIN),
    "complaints": (COMPLAINTS, RULE_SET_ADMIN),
    "evaluation": (EVALUATION, RULE_SET_ADMIN),
}
READINESS_TIMEOUT_SECONDS = 1.0
FAN_OUT_PER_WORKER = 4  # a profile makes four calls besides its own
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
    classification = ClassificationClient.from_settings(settings)
    complaints = ComplaintsClient.from_settings(settings)
    evaluation = EvaluationClient.from_settings(settings)
    fan_out = FanOut(settings.max_workers * FAN_OUT_PER_WORKER)
    for closeable in (*downstreams.values(), classification, complaints, evaluation, fan_out):
        runtime.on_stop(closeable.close)
    composer = Composer(classification, complaints, evaluation, fan_out)
    gateway_pb2_grpc.add_GatewayServicer_to_server(GatewayServicer(composer), server)
    catalogue = PACK.rule_set_catalogue()
    owners = {name: downstreams[name] for name in catalogue.kinds_by_service()}
    relays = [
        relay_handler(contract, permissions.methods_of(contract.full_name), _relay_to(downstreams[name]))
        for name, contract in (
            ("classification", CLASSIFICATION),
            ("complaints", COMPLAINTS),
            ("evaluation", EVALUATION),
        )
    ]
    router = RuleSetRouter(owners, catalogue.owner_of)
    server.add_generic_rpc_handlers((*relays, router.handler()))
    runtime.http_app = ConsoleApp(
        token_store(settings),
        RuleSetConsole(router, classification),
        Overview(classification, complaints, evaluation, composer),
    )
    runtime.readiness_checks.append(lambda: all_serving(list(downstreams.values())))
    return [
        contract.full_name for contract in (GATEWAY, CLASSIFICATION, COMPLAINTS, EVALUATION, RULE_SET_ADMIN)
    ]


definition = ServiceDefinition(name="gateway", register=register, interceptors=interceptors, front_door=True)
