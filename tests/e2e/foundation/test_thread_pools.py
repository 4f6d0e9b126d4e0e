"""A service that names its short calls serves them on `call_workers` threads and every
other call (streams, other unary calls, health checks) on `max_workers` threads of their
own: open streams never starve the short calls, and busy short calls never hold back a
stream or a health check."""

import concurrent.futures
import dataclasses

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from tests.support import probe_service
from tests.support.services import channel_to, running, settings_for
from tests.support.waiting import wait_for

SHORT_CALLS = dataclasses.replace(
    probe_service.definition,
    short_calls=frozenset(f"/{probe_service.SERVICE}/{m}" for m in ("Whoami", "Sleep")),
)


def _ticks(channel: grpc.Channel, count: int, timeout: float):
    method = channel.unary_stream(f"/{probe_service.SERVICE}/Ticks")
    return method(str(count).encode(), timeout=timeout)


def test_open_streams_leave_the_unary_threads_free(tmp_path):
    settings = settings_for(tmp_path, call_workers=1, max_workers=2)
    with running(SHORT_CALLS, settings) as service, channel_to(service) as channel:
        streams = [_ticks(channel, 100, timeout=30) for _ in range(2)]  # 5 s each
        for stream in streams:
            assert next(stream) == b"tick"  # both hold a stream thread now
        assert probe_service.call(channel, "Whoami", timeout=3)
        assert probe_service.call(channel, "Whoami", timeout=3)
        for stream in streams:
            stream.cancel()


def test_a_busy_unary_thread_does_not_hold_back_a_stream(tmp_path):
    settings = settings_for(tmp_path, call_workers=1, max_workers=2)
    with (
        running(SHORT_CALLS, settings) as service,
        channel_to(service) as channel,
        concurrent.futures.ThreadPoolExecutor(1) as caller,
    ):
        sleeping = caller.submit(probe_service.call, channel, "Sleep", b"4", 20)
        ticks = list(_ticks(channel, 3, timeout=3))
        assert ticks == [b"tick"] * 3
        assert not sleeping.done()
        assert sleeping.result() == b"slept"


def test_without_short_calls_streams_and_unary_calls_share_one_pool(tmp_path):
    settings = settings_for(tmp_path, call_workers=1, max_workers=2)
    with running(probe_service.definition, settings) as service, channel_to(service) as channel:
        streams = [_ticks(channel, 100, timeout=30) for _ in range(2)]
        for stream in streams:
            assert next(stream) == b"tick"
        with pytest.raises(grpc.RpcError) as waited:
            probe_service.call(channel, "Whoami", timeout=1)
        assert waited.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        for stream in streams:
            stream.cancel()


def _started(method: str) -> float:
    labels = {"grpc_service": probe_service.SERVICE, "grpc_method": method, "grpc_type": "unary"}
    return REGISTRY.get_sample_value("grpc_server_started_total", labels) or 0.0


def test_busy_short_calls_hold_back_neither_other_unary_calls_nor_health_checks(tmp_path):
    settings = settings_for(tmp_path, call_workers=1, max_workers=2)
    slept_before = _started("Sleep")
    with (
        running(SHORT_CALLS, settings) as service,
        channel_to(service) as channel,
        concurrent.futures.ThreadPoolExecutor(1) as caller,
    ):
        sleeping = caller.submit(probe_service.call, channel, "Sleep", b"4", 20)
        wait_for(lambda: _started("Sleep") > slept_before, "the Sleep call on the call thread", 10, 0.01)
        with pytest.raises(grpc.RpcError) as waited:  # the one call thread is asleep
            probe_service.call(channel, "Whoami", timeout=1)
        assert waited.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as refused:  # not a short call: served at once
            probe_service.call(channel, "Invalid", timeout=1)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert sleeping.result() == b"slept"
