"""TLS and mutual TLS on a gRPC port: handshakes, and plaintext or unknown clients refused."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.gateway.v1 import gateway_pb2 as gpb

from gateway.app import definition
from services.common.pack import is_serving
from tests.e2e.gateway.certificates import make_certificates
from tests.e2e.gateway.conftest import BACKENDS, GatewayPack, complaint, customer
from tests.support.services import running, settings_for


def _check(channel: grpc.Channel) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certificates"))


def _target(service) -> str:
    return f"127.0.0.1:{service.settings.grpc_port('gateway')}"


def test_tls_serves_tls_clients_and_refuses_plaintext(tmp_path, certificates):
    settings = settings_for(tmp_path, tls_cert_file=certificates.cert, tls_key_file=certificates.key)
    with running(definition, settings) as service:
        trusted = grpc.ssl_channel_credentials(certificates.ca.read_bytes())
        with grpc.secure_channel(_target(service), trusted) as channel:
            assert _check(channel) == health_pb2.HealthCheckResponse.SERVING
        with grpc.insecure_channel(_target(service)) as channel, pytest.raises(grpc.RpcError) as refused:
            _check(channel)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        untrusted = grpc.ssl_channel_credentials(certificates.other_ca.read_bytes())
        with grpc.secure_channel(_target(service), untrusted) as channel, pytest.raises(grpc.RpcError):
            _check(channel)


def test_mutual_tls_demands_a_client_certificate_signed_by_the_ca(tmp_path, certificates):
    settings = settings_for(
        tmp_path,
        tls_cert_file=certificates.cert,
        tls_key_file=certificates.key,
        tls_client_ca_file=certificates.ca,
        tls_ca_file=certificates.ca,
    )
    with running(definition, settings) as service:
        # The pack's own probe presents this process's certificate, as every channel does.
        assert is_serving(_target(service), timeout=5, settings=settings)
        without_certificate = grpc.ssl_channel_credentials(certificates.ca.read_bytes())
        with grpc.secure_channel(_target(service), without_certificate) as channel:
            with pytest.raises(grpc.RpcError) as refused:
                _check(channel)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        with grpc.insecure_channel(_target(service)) as channel, pytest.raises(grpc.RpcError):
            _check(channel)


def test_the_whole_pack_behind_mutual_tls(tmp_path, certificates):
    """Every port speaks mutual TLS: the gateway's caller, and the gateway's calls to the
    services (clients and relays), all present certificates from the CA."""
    pack = GatewayPack(
        tmp_path,
        tls_cert_file=certificates.cert,
        tls_key_file=certificates.key,
        tls_client_ca_file=certificates.ca,
        tls_ca_file=certificates.ca,
    )
    try:
        for name in (*BACKENDS, "gateway"):
            pack.start(name)
        client = grpc.ssl_channel_credentials(
            certificates.ca.read_bytes(), certificates.key.read_bytes(), certificates.cert.read_bytes()
        )
        admin = pack.stubs("admin", client)
        admin(
            admin.classification.UpsertMarketZone,
            cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")),
        )
        admin(
            admin.classification.CreateCustomer, cpb.CreateCustomerRequest(customer=customer("110101100001"))
        )
        admin(admin.gateway.FileComplaint, complaint("k-1"))
        profile = admin(
            admin.gateway.GetCustomerProfile, gpb.GetCustomerProfileRequest(licence_number="110101100001")
        )
        assert len(profile.open_complaints) == 1 and not profile.missing_parts
        classification = f"127.0.0.1:{pack.settings.grpc_port('classification')}"
        with grpc.insecure_channel(classification) as side_door, pytest.raises(grpc.RpcError) as refused:
            _check(side_door)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        pack.close()
