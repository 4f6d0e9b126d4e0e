"""With a service token configured, the services take calls only from the gateway and
each other: the gateway's composed calls and relays work, a caller going around the
gateway is refused, health checks stay open."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.gateway.v1 import gateway_pb2 as pb

from services.common.auth import SERVICE_TOKEN_HEADER
from services.composition import main
from tests.e2e.gateway.conftest import BACKENDS, GatewayPack, complaint, customer

TOKEN = "pack-internal-secret"
SERVICE = "retailcare.classification.v1.ClassificationService"


def _refused(reason: str) -> float:
    labels = {"grpc_service": SERVICE, "grpc_method": "GetCustomer", "reason": reason}
    return REGISTRY.get_sample_value("grpc_server_refused_total", labels) or 0.0


@pytest.fixture
def closed_pack(tmp_path):
    token_file = tmp_path / "service-token"
    token_file.write_text(f"{TOKEN}\n")
    pack = GatewayPack(tmp_path, service_token_file=token_file)
    try:
        for name in (*BACKENDS, "gateway"):
            pack.start(name)
        yield pack
    finally:
        pack.close()


def test_only_the_pack_gets_past_the_side_doors(closed_pack):
    admin = closed_pack.stubs("admin")
    admin(
        admin.classification.UpsertMarketZone,
        cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")),
    )
    admin(admin.classification.CreateCustomer, cpb.CreateCustomerRequest(customer=customer("110101100001")))
    filed = admin(admin.gateway.FileComplaint, complaint("k-1")).complaint
    assert not filed.needs_verification  # complaints asked classification with the token
    profile = admin(
        admin.gateway.GetCustomerProfile, pb.GetCustomerProfileRequest(licence_number="110101100001")
    )
    assert len(profile.open_complaints) == 1 and not profile.missing_parts

    target = f"127.0.0.1:{closed_pack.settings.grpc_port('classification')}"
    request = cpb.GetCustomerRequest(licence_number="110101100001")
    with grpc.insecure_channel(target) as side_door:
        stub = classification_pb2_grpc.ClassificationServiceStub(side_door)
        before = (_refused("missing_service_token"), _refused("wrong_service_token"))
        for metadata in ((), ((SERVICE_TOKEN_HEADER, "guess"),)):
            with pytest.raises(grpc.RpcError) as refused:
                stub.GetCustomer(request, metadata=metadata, timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert (_refused("missing_service_token"), _refused("wrong_service_token")) == (
            before[0] + 1,
            before[1] + 1,
        )
        shown = stub.GetCustomer(request, metadata=((SERVICE_TOKEN_HEADER, TOKEN),), timeout=5)
        assert shown.customer.input.licence_number == "110101100001"
        health = health_pb2_grpc.HealthStub(side_door).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_the_rules_cli_shows_the_service_token_too(closed_pack, monkeypatch, capsys):
    for key, value in closed_pack.settings.as_dict().items():
        monkeypatch.setenv(f"RETAILCARE_{key.upper()}", str(value))
    assert main(["rules", "list"]) == 0
    listed = capsys.readouterr().out
    assert "customer-grading" in listed and "complaint-policy" in listed
