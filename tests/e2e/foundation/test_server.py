"""The common bootstrap through real channels: health, reflection, metrics, errors."""

import hashlib
import json
import re
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from services.common.errors import field_violations
from services.common.server import RunningService, StartupError
from services.composition import service_definition
from tests.support import probe_service
from tests.support.ports import free_port
from tests.support.services import channel_to, running, settings_for


def _reflected_services(channel, metadata=()) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    response = next(stub.ServerReflectionInfo(iter([request]), timeout=5, metadata=metadata))
    return {s.name for s in response.list_services_response.service}


def _metrics(service: RunningService) -> str:
    port = service.settings.http_port(service.definition.name)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


@pytest.mark.parametrize("name", ["classification", "complaints", "evaluation"])
def test_every_process_serves_health_and_reflection(name, tmp_path):
    with running(service_definition(name), settings_for(tmp_path)) as service, channel_to(service) as ch:
        reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        services = _reflected_services(ch)
        assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services
        port = service.settings.http_port(name)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert ready.status == 200


def test_the_gateway_serves_health_to_anyone_and_reflection_to_a_token(tmp_path):
    token = "foundation-test-token"
    entry = f"ops {hashlib.sha256(token.encode()).hexdigest()} tests"
    settings = settings_for(tmp_path, gateway_tokens=entry)
    with running(service_definition("gateway"), settings) as service, channel_to(service) as ch:
        reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        services = _reflected_services(ch, metadata=(("authorization", f"Bearer {token}"),))
        assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services


def test_handled_calls_show_in_metrics_with_their_code(tmp_path):
    with running(probe_service.definition, settings_for(tmp_path)) as service, channel_to(service) as ch:
        probe_service.call(ch, "Sleep", b"0")
        with pytest.raises(grpc.RpcError):
            probe_service.call(ch, "Missing", b"x")
        text = _metrics(service)
    labels = 'grpc_method="{}",grpc_service="retailcare.test.Probe",grpc_type="unary"'
    ok = re.search(r'grpc_server_handled_total\{grpc_code="OK",' + labels.format("Sleep") + r"\} (\S+)", text)
    missing = re.search(
        r'grpc_server_handled_total\{grpc_code="NotFound",' + labels.format("Missing") + r"\} (\S+)", text
    )
    assert ok and float(ok.group(1)) >= 1
    assert missing and float(missing.group(1)) >= 1
    assert "grpc_server_handling_seconds_bucket{" in text
    assert 'grpc_server_started_total{grpc_method="Sleep"' in text
    assert "_created" not in text  # go-grpc-prometheus has no such series


def test_domain_errors_carry_status_details(tmp_path):
    with running(probe_service.definition, settings_for(tmp_path)) as service, channel_to(service) as ch:
        with pytest.raises(grpc.RpcError) as invalid:
            probe_service.call(ch, "Invalid")
        with pytest.raises(grpc.RpcError) as missing:
            probe_service.call(ch, "Missing", b"L123")
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(invalid.value) == {"licence_number": "must not be empty"}
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert "L123" in missing.value.details()


def test_unexpected_error_is_internal_with_an_error_id_and_no_trace(tmp_path, caplog):
    with running(probe_service.definition, settings_for(tmp_path)) as service, channel_to(service) as ch:
        with pytest.raises(grpc.RpcError) as crash:
            probe_service.call(ch, "Crash")
    assert crash.value.code() == grpc.StatusCode.INTERNAL
    assert "secret internal detail" not in crash.value.details()
    assert "Traceback" not in crash.value.details()
    error_id = re.search(r"error id (\w+)", crash.value.details()).group(1)
    status = rpc_status.from_call(crash.value)
    assert status is not None and status.details
    logged = [r for r in caplog.records if getattr(r, "error_id", None) == error_id]
    assert logged and logged[0].exc_info


def test_request_id_is_echoed_to_the_caller(tmp_path):
    with running(probe_service.definition, settings_for(tmp_path)) as service, channel_to(service) as ch:
        method = ch.unary_unary(f"/{probe_service.SERVICE}/Sleep")
        _, call = method.with_call(b"0", metadata=(("x-request-id", "abc-123"),), timeout=5)
    assert ("x-request-id", "abc-123") in call.initial_metadata()


def test_a_call_without_a_request_id_gets_one_of_its_own(tmp_path):
    """Made here, different for every call, not sent back (the caller did not ask)."""
    with running(probe_service.definition, settings_for(tmp_path)) as service, channel_to(service) as ch:
        whoami = ch.unary_unary(f"/{probe_service.SERVICE}/Whoami")
        answers = [whoami.with_call(b"", timeout=5) for _ in range(3)]
    ids = [json.loads(reply)["request_id"] for reply, _ in answers]
    assert all(ids) and len(set(ids)) == 3
    assert not [key for _, call in answers for key, _ in call.initial_metadata() if key == "x-request-id"]


def test_port_in_use_names_the_port_and_the_service(tmp_path):
    settings = settings_for(tmp_path)
    with running(service_definition("classification"), settings):
        with pytest.raises(
            StartupError, match=f"classification: gRPC port {settings.grpc_port('classification')}"
        ):
            RunningService(service_definition("classification"), settings).start()


def test_http_port_in_use_is_named(tmp_path):
    import socket

    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        service = RunningService(
            service_definition("gateway"), settings_for(tmp_path, gateway_http_port=port)
        )
        with pytest.raises(StartupError, match=f"gateway: HTTP port {port}"):
            service.start()
        service.stop()


def test_health_is_not_serving_until_ready_and_while_draining(tmp_path):
    import threading
    import time

    from services.common.server import ServiceDefinition

    release = threading.Event()
    slow = ServiceDefinition(
        name="gateway", register=lambda server, runtime: [], prepare=lambda runtime: release.wait(10)
    )
    settings = settings_for(tmp_path, drain_seconds=1)
    service = RunningService(slow, settings)
    starting = threading.Thread(target=service.start)
    starting.start()
    target = f"127.0.0.1:{settings.grpc_port('gateway')}"
    ready_url = f"http://127.0.0.1:{settings.http_port('gateway')}/readyz"

    def status():
        with grpc.insecure_channel(target) as channel:
            return (
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
            )

    def ready_code():
        try:
            return urllib.request.urlopen(ready_url, timeout=5).status
        except urllib.error.HTTPError as error:
            return error.code

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            first = status()
            break
        except grpc.RpcError:
            time.sleep(0.05)
    assert first == health_pb2.HealthCheckResponse.NOT_SERVING
    assert ready_code() == 503
    release.set()
    starting.join(10)
    assert status() == health_pb2.HealthCheckResponse.SERVING and ready_code() == 200
    stopping = threading.Thread(target=service.stop)
    stopping.start()
    time.sleep(0.3)  # inside the drain window
    assert status() == health_pb2.HealthCheckResponse.NOT_SERVING
    stopping.join(10)


def test_migrate_command_brings_every_database_to_head(tmp_path, monkeypatch, capsys):
    from services.composition import main

    monkeypatch.setenv("RETAILCARE_DATA_DIR", str(tmp_path))
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert {line.split(":")[0] for line in out.splitlines()} == {"classification", "complaints", "evaluation"}
    assert all("at revision" in line and "None" not in line for line in out.splitlines())
    assert main(["migrate", "gateway"]) == 2


def test_downstream_calls_get_the_callers_remaining_time_clamped(tmp_path):
    with running(probe_service.definition, settings_for(tmp_path)) as service, channel_to(service) as ch:
        hurried = float(probe_service.call(ch, "Deadline", timeout=3.0))
        patient = float(probe_service.call(ch, "Deadline", timeout=60.0))
        unbounded = float(channel_call_without_deadline(ch))
    assert 0.05 <= hurried < 2.9  # less than the caller left, with time kept to answer it
    assert patient == 5.0  # never more than the default
    assert unbounded == 5.0  # no deadline: the default, not grpc's huge number


def channel_call_without_deadline(channel) -> bytes:
    return channel.unary_unary(f"/{probe_service.SERVICE}/Deadline")(b"")
