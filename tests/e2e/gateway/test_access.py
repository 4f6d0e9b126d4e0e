"""Every role against the permission table, refusals counted by reason, and requests
the gateway refuses itself without reaching a service."""

import logging
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY
from retailcare.classification.v1 import classification_pb2 as cpb

from gateway import permissions
from services.common.auth import ROLES, add_token, revoke_tokens
from services.common.errors import field_violations
from tests.e2e.gateway.conftest import BACKENDS, GatewayPack, bearer, customer


def _kind(full_method: str) -> tuple[bool, bool]:
    service, method = full_method.lstrip("/").rsplit("/", 1)
    if service == permissions.REFLECTION:
        return True, True
    from google.protobuf import descriptor_pool

    found = descriptor_pool.Default().FindServiceByName(service).methods_by_name[method]
    return found.client_streaming, found.server_streaming


def _call(channel: grpc.Channel, full_method: str, metadata) -> grpc.StatusCode:
    """Calls a method with an empty request; the status code of the answer."""
    client_streaming, server_streaming = _kind(full_method)
    try:
        if client_streaming:
            replies = channel.stream_stream(full_method)(iter([]), metadata=metadata, timeout=10)
            list(replies)
        elif server_streaming:
            list(channel.unary_stream(full_method)(b"", metadata=metadata, timeout=10))
        else:
            channel.unary_unary(full_method)(b"", metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _refused(reason: str, method: str) -> float:
    service, name = method.lstrip("/").rsplit("/", 1)
    labels = {"grpc_service": service, "grpc_method": name, "reason": reason}
    return REGISTRY.get_sample_value("grpc_server_refused_total", labels) or 0.0


@pytest.fixture
def channel(pack):
    with grpc.insecure_channel(pack.target()) as channel:
        yield channel


@pytest.fixture(scope="class")
def refusing_channel(tmp_path_factory):
    """A channel to one pack for a class of tests whose calls are refused or read nothing
    stored (each counts refusals as a difference): one pack instead of one each. (A class,
    not the module: two servers of one service in one process would share one metrics
    registry.)"""
    pack = GatewayPack(tmp_path_factory.mktemp("gateway"))
    try:
        for name in (*BACKENDS, "gateway"):
            pack.start(name)
        with grpc.insecure_channel(pack.target()) as channel:
            yield channel
    finally:
        pack.close()


class TestRefusals:
    """Refused calls and the health check: nothing stored, one pack serves them all."""

    def test_every_role_gets_exactly_what_the_table_grants(self, refusing_channel):
        channel = refusing_channel
        for full_method, allowed in permissions.PERMISSIONS.items():
            for role in ROLES:
                code = _call(channel, full_method, bearer(role))
                if role in allowed:
                    assert code not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED), (
                        full_method,
                        role,
                    )
                else:
                    assert code == grpc.StatusCode.PERMISSION_DENIED, (full_method, role, code)

    def test_missing_and_unknown_tokens_are_unauthenticated_and_counted(self, refusing_channel):
        channel = refusing_channel
        method = "/retailcare.gateway.v1.Gateway/GetCustomerProfile"
        before = {
            reason: _refused(reason, method)
            for reason in ("missing_token", "unknown_token", "malformed_token")
        }
        assert _call(channel, method, ()) == grpc.StatusCode.UNAUTHENTICATED
        assert _call(channel, method, (("authorization", "Bearer wrong"),)) == grpc.StatusCode.UNAUTHENTICATED
        assert _call(channel, method, (("authorization", "Basic abc"),)) == grpc.StatusCode.UNAUTHENTICATED
        assert {reason: _refused(reason, method) - count for reason, count in before.items()} == {
            "missing_token": 1,
            "unknown_token": 1,
            "malformed_token": 1,
        }

    def test_a_wrong_role_is_permission_denied_and_counted(self, refusing_channel):
        channel = refusing_channel
        method = "/retailcare.rules.v1.RuleSetAdmin/PublishRuleSet"
        before = _refused("role_not_allowed", method)
        assert _call(channel, method, bearer("service")) == grpc.StatusCode.PERMISSION_DENIED
        assert _refused("role_not_allowed", method) == before + 1

    def test_methods_outside_the_table_are_not_served(self, refusing_channel):
        channel = refusing_channel
        # Filing straight with complaints would skip the customer check of Gateway.FileComplaint.
        method = "/retailcare.complaints.v1.ComplaintsService/FileComplaint"
        assert _call(channel, method, bearer("admin")) == grpc.StatusCode.UNIMPLEMENTED

    def test_health_needs_no_token(self, refusing_channel):
        channel = refusing_channel
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    def test_refusals_are_logged_with_the_reason_and_never_the_token(self, refusing_channel, caplog):
        channel = refusing_channel
        secret = "Bearer a-token-nobody-issued-1234"
        with caplog.at_level(logging.WARNING, logger="retailcare.auth"):
            code = _call(
                channel, "/retailcare.gateway.v1.Gateway/GetCustomerProfile", (("authorization", secret),)
            )
        assert code == grpc.StatusCode.UNAUTHENTICATED
        refusals = [record for record in caplog.records if record.getMessage() == "refused"]
        assert [record.reason for record in refusals] == ["unknown_token"]
        assert not any("a-token-nobody-issued" in str(record.__dict__) for record in caplog.records)


def _started(method: str) -> float:
    labels = {"grpc_type": "unary", "grpc_service": permissions.CLASSIFICATION, "grpc_method": method}
    return REGISTRY.get_sample_value("grpc_server_started_total", labels) or 0.0


def test_malformed_and_oversize_requests_stop_at_the_gateway(service, channel):
    """The gateway serves the same method names as classification and, in this process,
    counts into the same metrics: a relayed call counts twice, a refused one once."""
    create = f"/{permissions.CLASSIFICATION}/CreateCustomer"
    call = channel.unary_unary(create)
    before = _started("CreateCustomer")
    call(
        cpb.CreateCustomerRequest(customer=customer("110101100005")).SerializeToString(),
        metadata=bearer("service"),
        timeout=10,
    )
    assert _started("CreateCustomer") == before + 2

    with pytest.raises(grpc.RpcError) as malformed:
        call(b"\xff\xff\xff\xff", metadata=bearer("service"), timeout=10)
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _started("CreateCustomer") == before + 3

    oversize = cpb.CreateCustomerRequest(customer=customer("110101100006", name="x" * (5 * 1024 * 1024)))
    with pytest.raises(grpc.RpcError) as too_big:
        call(oversize.SerializeToString(), metadata=bearer("service"), timeout=10)
    assert too_big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _started("CreateCustomer") == before + 3


def test_a_malformed_message_in_a_stream_is_refused_at_the_gateway(service, channel):
    imports = channel.stream_stream(f"/{permissions.CLASSIFICATION}/ImportCustomers")
    good = cpb.ImportCustomersRequest(rows=[customer("110101100007")]).SerializeToString()
    with pytest.raises(grpc.RpcError) as refused:
        list(imports(iter([good, b"\xff\xff\xff"]), metadata=bearer("service"), timeout=10))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request" in field_violations(refused.value)


def test_tokens_added_to_and_revoked_from_the_file_count_without_a_restart(pack, channel):
    path = pack.settings.gateway_token_path()
    method = "/retailcare.gateway.v1.Gateway/GetCustomerProfile"
    token = add_token(path, "ops", "night-shift")
    metadata = (("authorization", f"Bearer {token}"),)

    def code_becomes(expected: grpc.StatusCode) -> None:
        deadline = time.monotonic() + 10
        while _call(channel, method, metadata) != expected:
            assert time.monotonic() < deadline, f"still not {expected}"
            time.sleep(0.2)

    code_becomes(grpc.StatusCode.INVALID_ARGUMENT)  # let in: the empty request is bad input
    assert revoke_tokens(path, "night-shift") == 1
    code_becomes(grpc.StatusCode.UNAUTHENTICATED)
