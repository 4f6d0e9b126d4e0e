"""The pack behind a gateway, in this process on loopback, with a token for each role."""

from __future__ import annotations

import contextlib

import grpc
import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as kpb
from retailcare.complaints.v1 import complaints_pb2_grpc
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.gateway.v1 import gateway_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.auth import ROLES, hash_token
from services.common.server import RunningService
from services.composition import service_definition
from tests.support.services import settings_for

TOKENS = {role: f"test-token-for-{role}" for role in ROLES}
BACKENDS = ("classification", "complaints", "evaluation")


def token_entries() -> str:
    return ",".join(f"{role} {hash_token(token)} {role}" for role, token in TOKENS.items())


def bearer(role: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {TOKENS[role]}"),)


class Stubs:
    """The gateway's contracts on one channel, each call carrying one role's token."""

    def __init__(self, channel: grpc.Channel, role: str):
        self.metadata = bearer(role)
        self.gateway = gateway_pb2_grpc.GatewayStub(channel)
        self.classification = classification_pb2_grpc.ClassificationServiceStub(channel)
        self.complaints = complaints_pb2_grpc.ComplaintsServiceStub(channel)
        self.evaluation = evaluation_pb2_grpc.EvaluationServiceStub(channel)
        self.rules = rule_sets_pb2_grpc.RuleSetAdminStub(channel)

    def __call__(self, method, request, timeout: float = 10):
        return method(request, metadata=self.metadata, timeout=timeout)


class GatewayPack:
    """Classification, complaints and evaluation (SQLite) and the gateway in front; each
    can be stopped and started again on the same port and database."""

    def __init__(self, tmp_path, **values):
        # Every call in the access log: tests follow request ids through it.
        values = {
            "gateway_tokens": token_entries(),
            "downstream_timeout_seconds": 3,
            "access_log": "all",
            **values,
        }
        self.settings = settings_for(tmp_path, **values)
        self.services: dict[str, RunningService] = {}
        self._stack = contextlib.ExitStack()

    def start(self, name: str) -> RunningService:
        self.services[name] = RunningService(service_definition(name), self.settings).start()
        return self.services[name]

    def stop(self, name: str) -> None:
        self.services.pop(name).stop()

    def target(self) -> str:
        return f"127.0.0.1:{self.settings.grpc_port('gateway')}"

    def stubs(self, role: str, credentials: grpc.ChannelCredentials | None = None) -> Stubs:
        if credentials is None:
            channel = grpc.insecure_channel(self.target())
        else:
            channel = grpc.secure_channel(self.target(), credentials)
        return Stubs(self._stack.enter_context(channel), role)

    def close(self) -> None:
        self._stack.close()
        for name in list(self.services):
            self.stop(name)


@pytest.fixture
def pack(tmp_path):
    gateway_pack = GatewayPack(tmp_path)
    try:
        for name in (*BACKENDS, "gateway"):
            gateway_pack.start(name)
        yield gateway_pack
    finally:
        gateway_pack.close()


@pytest.fixture
def admin(pack) -> Stubs:
    return pack.stubs("admin")


@pytest.fixture
def service(pack, admin) -> Stubs:
    """An enterprise system's stubs, with one zone and two customers in place."""
    admin(
        admin.classification.UpsertMarketZone,
        cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")),
    )
    stubs = pack.stubs("service")
    for licence in ("110101100001", "110101100002"):
        stubs(stubs.classification.CreateCustomer, cpb.CreateCustomerRequest(customer=customer(licence)))
    return stubs


def customer(licence: str, **values) -> cpb.CustomerInput:
    defaults = {
        "name": f"Shop {licence}",
        "business_format": "grocery",
        "market_type": "urban",
        "monthly_sales_cartons": 30,
        "market_zone": "Z1",
        "customer_manager_id": "manager-9",
    }
    defaults.update(values)
    return cpb.CustomerInput(licence_number=licence, **defaults)


def complaint(key: str, licence: str = "110101100001", **values) -> kpb.FileComplaintRequest:
    defaults = {
        "channel": "hotline",
        "category": "delivery",
        "description": "late delivery",
        "received_by": "staff-7",
    }
    defaults.update(values)
    return kpb.FileComplaintRequest(idempotency_key=key, licence_number=licence, **defaults)
