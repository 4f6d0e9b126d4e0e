"""Two replicas of classification, each its own process, behind one target: the gateway
balances its calls over both (round_robin over every address the target names)."""

import re
import urllib.request

from retailcare.classification.v1 import classification_pb2 as cpb

from gateway.app import definition
from tests.e2e.gateway.conftest import Stubs, token_entries
from tests.support.ports import free_port, pack_environment
from tests.support.services import channel_to, running, settings_for, start_child, wait_serving


def _handled(http_port: int, method: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    pattern = rf'grpc_server_handled_total\{{[^}}]*grpc_method="{method}"[^}}]*\}} ([0-9.e+]+)'
    return int(sum(float(value) for value in re.findall(pattern, text)))


def test_both_replicas_behind_one_target_receive_calls(tmp_path):
    replicas = []
    try:
        for _ in range(2):
            env = pack_environment(str(tmp_path))
            env["RETAILCARE_CLASSIFICATION_GRPC_PORT"] = str(grpc_port := free_port())
            env["RETAILCARE_CLASSIFICATION_HTTP_PORT"] = str(http_port := free_port())
            child = start_child(["-m", "services.composition", "serve", "classification"], env)
            wait_serving(f"127.0.0.1:{grpc_port}", child)  # one at a time: the first migrates
            replicas.append((child, grpc_port, http_port))
        target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for _, port, _ in replicas)
        settings = settings_for(tmp_path, classification_target=target, gateway_tokens=token_entries())
        with running(definition, settings) as gateway, channel_to(gateway) as channel:
            stubs = Stubs(channel, "service")
            for _ in range(20):
                stubs(stubs.classification.ListCustomers, cpb.ListCustomersRequest())
        counts = [_handled(http_port, "ListCustomers") for _, _, http_port in replicas]
        assert sum(counts) == 20 and min(counts) > 0, counts
    finally:
        for child, _, _ in replicas:
            child.terminate()
            child.wait(15)
