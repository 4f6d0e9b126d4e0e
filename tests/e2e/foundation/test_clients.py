"""The common client through real servers: request ids and deadlines reach the
downstream service, every address behind a target gets calls, and downstream failures
reach the caller as documented in services/common/clients.py."""

import json

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client import REGISTRY

from services.classification.app import definition as classification
from services.classification.client import ClassificationClient
from services.common.clients import (
    DownstreamError,
    DownstreamNotFound,
    DownstreamUnavailable,
    ServiceClient,
    open_channel,
)
from services.common.errors import field_violations
from tests.support import probe_service
from tests.support.ports import free_port
from tests.support.services import channel_to, running, settings_for


def _target(service) -> str:
    return f"127.0.0.1:{service.settings.grpc_port(service.definition.name)}"


def _relay(channel, target: str, method: str, payload: str = "", **options) -> dict:
    asked = json.dumps({"target": target, "method": method, "payload": payload}).encode()
    return json.loads(probe_service.call(channel, "Relay", asked, **options))


def _probe_call(client: ServiceClient, method: str, payload: bytes = b"") -> bytes:
    return client.call(client.channel.unary_unary(f"/{probe_service.SERVICE}/{method}"), payload)


@pytest.fixture
def two_probes(tmp_path):
    with (
        running(probe_service.definition, settings_for(tmp_path / "a")) as first,
        running(probe_service.definition, settings_for(tmp_path / "b")) as second,
    ):
        yield first, second


def test_request_id_and_remaining_deadline_reach_the_downstream_service(two_probes):
    caller, downstream = two_probes
    with channel_to(caller) as channel:
        answer = json.loads(
            channel.unary_unary(f"/{probe_service.SERVICE}/Relay")(
                json.dumps({"target": _target(downstream), "method": "Whoami"}).encode(),
                timeout=3,
                metadata=(("x-request-id", "req-42"),),
            )
        )
    assert answer["port"] == downstream.settings.grpc_port("gateway")
    assert answer["request_id"] == "req-42"
    assert 0 < answer["remaining"] <= 3


def test_without_a_caller_deadline_the_default_bounds_the_downstream_call(two_probes):
    caller, downstream = two_probes
    with channel_to(caller) as channel:
        answer = json.loads(
            channel.unary_unary(f"/{probe_service.SERVICE}/Relay")(
                json.dumps({"target": _target(downstream), "method": "Whoami"}).encode()
            )
        )
    assert 4 < answer["remaining"] < 5.5  # the relay's client default is 5 s (deadlines round up)
    assert answer["request_id"]  # the caller's generated id is passed on


def test_round_robin_spreads_calls_over_every_address_of_the_target(two_probes):
    first, second = two_probes
    ports = [service.settings.grpc_port("gateway") for service in (first, second)]
    target = f"ipv4:127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    answered = set()
    with ServiceClient("probe", target, 5.0) as client:
        for _ in range(40):
            answered.add(json.loads(_probe_call(client, "Whoami"))["port"])
    assert answered == set(ports)


def test_a_service_that_is_down_is_downstream_unavailable():
    with ServiceClient("probe", f"127.0.0.1:{free_port()}", 1.0) as client:
        with pytest.raises(DownstreamUnavailable) as raised:
            _probe_call(client, "Whoami")
    assert raised.value.service == "probe"
    assert raised.value.method == "Whoami"


def test_the_caller_of_a_service_whose_downstream_is_down_gets_unavailable_naming_it(two_probes):
    caller, _ = two_probes
    with channel_to(caller) as channel, pytest.raises(grpc.RpcError) as raised:
        _relay(channel, f"127.0.0.1:{free_port()}", "Whoami", timeout=5)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert raised.value.details().startswith("probe unavailable (Whoami)")
    info = error_details_pb2.ErrorInfo()
    rpc_status.from_call(raised.value).details[0].Unpack(info)
    assert info.metadata["service"] == "probe"


def test_downstream_failures_reach_the_caller_with_code_message_and_details_intact(two_probes):
    caller, downstream = two_probes
    with channel_to(caller) as channel:
        with pytest.raises(grpc.RpcError) as invalid:
            _relay(channel, _target(downstream), "Invalid", timeout=5)
        with pytest.raises(grpc.RpcError) as missing:
            _relay(channel, _target(downstream), "Missing", "L123", timeout=5)
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(invalid.value) == {"licence_number": "must not be empty"}
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert missing.value.details() == "customer 'L123' not found"
    resource = error_details_pb2.ResourceInfo()
    rpc_status.from_call(missing.value).details[0].Unpack(resource)
    assert resource.resource_name == "L123"


def test_client_calls_are_counted_with_go_grpc_prometheus_labels(two_probes):
    _, downstream = two_probes
    labels = {"grpc_type": "unary", "grpc_service": probe_service.SERVICE, "grpc_method": "Missing"}

    def handled(code: str) -> float:
        return REGISTRY.get_sample_value("grpc_client_handled_total", {**labels, "grpc_code": code}) or 0.0

    before = handled("NotFound")
    with ServiceClient("probe", _target(downstream), 5.0) as client, pytest.raises(DownstreamNotFound):
        _probe_call(client, "Missing", b"x")
    assert handled("NotFound") == before + 1
    assert REGISTRY.get_sample_value("grpc_client_started_total", labels) >= 1


def test_classification_client_maps_not_found_and_bad_input(tmp_path):
    with running(classification, settings_for(tmp_path)) as service:
        with ClassificationClient.from_settings(service.settings) as client:
            with pytest.raises(DownstreamNotFound) as missing:
                client.get_customer("NO-SUCH-LICENCE")
            with pytest.raises(DownstreamError) as invalid:
                client.get_customer("")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
    assert invalid.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert not isinstance(invalid.value, DownstreamNotFound)


def test_the_packs_own_channel_is_not_sent_its_request_id_back(two_probes):
    """A server echoes the request id a caller sent, but not to the pack's own clients:
    they made the id, and an echo costs the server a batch of its own on every call."""
    _, downstream = two_probes
    channel = open_channel(_target(downstream))
    try:
        whoami = channel.unary_unary(f"/{probe_service.SERVICE}/Whoami")
        reply, call = whoami.with_call(b"", metadata=(("x-request-id", "req-7"),), timeout=5)
    finally:
        channel.close()
    assert json.loads(reply)["request_id"] == "req-7"
    assert not [value for key, value in call.initial_metadata() if key == "x-request-id"]
