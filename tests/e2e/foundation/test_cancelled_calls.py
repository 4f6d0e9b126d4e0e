"""A call its client cancels is CANCELLED in the logs and metrics, with no traceback: a
stock reflection client closes its stream early every time, which must not page anyone."""

import logging
import threading
import time

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY

from tests.support import probe_service
from tests.support.services import channel_to, running, settings_for


def _handled(grpc_type: str, service: str, method: str, code: str) -> float:
    labels = {"grpc_type": grpc_type, "grpc_service": service, "grpc_method": method, "grpc_code": code}
    return REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0


def _eventually(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def probe(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    with running(probe_service.definition, settings_for(tmp_path)) as service, channel_to(service) as channel:
        yield channel
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _logged_codes(caplog, method: str) -> list[str]:
    return [r.code for r in caplog.records if getattr(r, "method", "") == method and hasattr(r, "code")]


def _last_logged_code(caplog, method: str) -> str:
    """The code of the method's last access-log line, once written (the metric is counted
    just before the line, so a test that saw the count may be a moment early)."""
    assert _eventually(lambda: _logged_codes(caplog, method)), f"no access-log line for {method}"
    return _logged_codes(caplog, method)[-1]


def _codes_counted(grpc_type: str, service: str, method: str) -> dict[str, float]:
    """Every code counted for the method, for the assertion messages."""
    counted = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == "grpc_server_handled_total" and sample.labels.get("grpc_method") == method:
                if (
                    sample.labels.get("grpc_service") == service
                    and sample.labels.get("grpc_type") == grpc_type
                ):
                    counted[sample.labels["grpc_code"]] = sample.value
    return counted


def test_a_server_stream_the_client_cancels_is_cancelled(probe, caplog):
    key = ("server_stream", probe_service.SERVICE, "Ticks")
    before = _handled(*key, "Canceled")
    stream = probe.unary_stream(f"/{probe_service.SERVICE}/Ticks")(b"100", timeout=30)
    assert next(stream) == b"tick"
    stream.cancel()
    assert _eventually(lambda: _handled(*key, "Canceled") == before + 1)
    assert _handled(*key, "Internal") == 0
    assert _last_logged_code(caplog, f"/{probe_service.SERVICE}/Ticks") == "CANCELLED"


def test_a_reflection_stream_closed_early_is_cancelled(probe, caplog):
    key = ("bidi_stream", "grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo")
    before = _handled(*key, "Canceled")
    more = threading.Event()

    def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        more.wait(10)  # the stream stays open, as a stock client's does, until cancelled

    stream = reflection_pb2_grpc.ServerReflectionStub(probe).ServerReflectionInfo(requests(), timeout=30)
    try:
        assert next(stream).list_services_response.service
        stream.cancel()
        assert _eventually(lambda: _handled(*key, "Canceled") == before + 1), _codes_counted(*key)
    finally:
        # Only now: the requests ending (a half-close) could reach the server before the
        # cancellation and end the stream OK.
        more.set()
    assert _handled(*key, "Internal") == 0 and _handled(*key, "Unknown") == 0


def test_a_slow_unary_call_the_client_cancels_is_cancelled(probe, caplog):
    key = ("unary", probe_service.SERVICE, "Sleep")
    before = _handled(*key, "Canceled")
    call = probe.unary_unary(f"/{probe_service.SERVICE}/Sleep").future(b"0.5", timeout=30)
    time.sleep(0.2)
    call.cancel()
    assert _eventually(lambda: _handled(*key, "Canceled") == before + 1)
    assert _last_logged_code(caplog, f"/{probe_service.SERVICE}/Sleep") == "CANCELLED"


def test_a_call_past_its_deadline_is_deadline_exceeded(probe):
    key = ("unary", probe_service.SERVICE, "Sleep")
    before = _handled(*key, "DeadlineExceeded")
    with pytest.raises(grpc.RpcError) as raised:
        probe_service.call(probe, "Sleep", b"0.5", timeout=0.1)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert _eventually(lambda: _handled(*key, "DeadlineExceeded") == before + 1), _codes_counted(*key)
