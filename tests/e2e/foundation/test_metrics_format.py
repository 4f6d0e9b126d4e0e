"""/metrics as Prometheus tooling reads it: `promtool check metrics` accepts every
process's exposition without a warning (names, units, types, no *_created series)."""

import os
import shutil
import subprocess
import urllib.request

import grpc
import pytest

from services.common.clients import ServiceClient
from services.composition import PACK, service_definition
from tests.support import probe_service
from tests.support.services import channel_to, running, settings_for

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None and not os.environ.get("RETAILCARE_TEST_REQUIRE_PROMTOOL"),
    reason="promtool is not installed (apt-get install prometheus)",
)


def _scrape(service) -> bytes:
    port = service.settings.http_port(service.definition.name)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read()


def _promtool_findings(exposition: bytes) -> str:
    checked = subprocess.run(
        [PROMTOOL or "promtool", "check", "metrics"], input=exposition, capture_output=True, timeout=30
    )
    return (checked.stdout + checked.stderr).decode().strip() or f"exit {checked.returncode}"


def test_server_and_client_metrics_pass_promtool(tmp_path):
    with running(probe_service.definition, settings_for(tmp_path)) as service:
        with channel_to(service) as channel:
            probe_service.call(channel, "Sleep", b"0")
            with pytest.raises(grpc.RpcError):
                probe_service.call(channel, "Missing", b"x")
            list(channel.unary_stream(f"/{probe_service.SERVICE}/Ticks")(b"2", timeout=5))
        target = f"127.0.0.1:{service.settings.grpc_port('gateway')}"
        with ServiceClient("probe", target, 5.0) as client:
            client.call(client.channel.unary_unary(f"/{probe_service.SERVICE}/Sleep"), b"0")
        exposition = _scrape(service)
    assert b"grpc_client_handled_total{" in exposition
    assert _promtool_findings(exposition) == "exit 0"


@pytest.mark.parametrize("name", PACK.names)
def test_every_process_metrics_pass_promtool(name, tmp_path):
    with running(service_definition(name), settings_for(tmp_path)) as service:
        exposition = _scrape(service)
    assert _promtool_findings(exposition) == "exit 0"
