"""The probe the Kubernetes manifests use for liveness - grpc.health.v1 Check on the gRPC
port, with the probe's timeout - fails while the gRPC server is wedged (every worker
thread stuck) and passes again once it recovers; an HTTP /healthz would not notice."""

import concurrent.futures
import urllib.request

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.deploy.kube import KUBERNETES
from tests.support import probe_service
from tests.support.services import channel_to, running, settings_for

WORKERS = 2
STUCK_SECONDS = 4


def _probe_timeout() -> float:
    documents = yaml.safe_load_all((KUBERNETES / "base" / "gateway.yaml").read_text())
    (deployment,) = [document for document in documents if document["kind"] == "Deployment"]
    return deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["timeoutSeconds"]


def _healthy(channel: grpc.Channel, timeout: float) -> bool:
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
    except grpc.RpcError:
        return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_wedged_server_fails_the_grpc_liveness_probe(tmp_path):
    timeout = _probe_timeout()
    settings = settings_for(tmp_path, max_workers=WORKERS)
    with (
        running(probe_service.definition, settings) as service,
        channel_to(service) as channel,
        concurrent.futures.ThreadPoolExecutor(WORKERS) as callers,
    ):
        assert _healthy(channel, timeout)
        stuck = [
            callers.submit(
                probe_service.call, channel, "Sleep", str(STUCK_SECONDS).encode(), STUCK_SECONDS + 10
            )
            for _ in range(WORKERS)
        ]
        # Probing until the stuck calls hold every worker: from then on the probe fails,
        # long before they end.
        while _healthy(channel, timeout):
            assert not any(call.done() for call in stuck), "the probe never failed"
        assert not any(call.done() for call in stuck)
        http = f"http://127.0.0.1:{settings.http_port('gateway')}/healthz"
        with urllib.request.urlopen(http, timeout=5) as reply:
            assert reply.status == 200  # the HTTP endpoint still says alive
        for call in stuck:
            assert call.result() == b"slept"
        assert _healthy(channel, timeout)
