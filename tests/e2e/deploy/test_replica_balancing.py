"""Calls between services spread over every replica, as on Kubernetes: two classification
replicas on one PostgreSQL schema listen on the same port at two addresses (what a
headless Service's DNS name resolves to), complaints gets both addresses as its target,
and every complaint it files asks classification for the customer."""

import subprocess
import sys
import urllib.request

import grpc
import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.complaints.v1 import complaints_pb2_grpc

from services.composition import PACK, service_definition
from tests.e2e.classification.conftest import customer
from tests.support.databases import postgres_schema
from tests.support.ports import free_port
from tests.support.services import child_environment, running, settings_for, wait_serving

REPLICAS = ("127.0.0.1", "127.0.0.2")
CALLS = 60


def _get_customer_calls(address: str, http_port: int) -> float:
    with urllib.request.urlopen(f"http://{address}:{http_port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("grpc_server_handled_total{")
        and 'grpc_method="GetCustomer"' in line
        and 'grpc_code="OK"' in line
    )


@pytest.fixture
def classification_replicas(tmp_path):
    """Two classification processes: the gRPC target that names both, and each one's HTTP port."""
    grpc_port, http_port = free_port(), free_port()
    with postgres_schema() as url:
        processes = []
        try:
            # One after the other: the second starts on a migrated, seeded schema, as in a
            # rolling update.
            for number, address in enumerate(REPLICAS):
                env = {
                    "RETAILCARE_BIND_HOST": address,
                    "RETAILCARE_DATA_DIR": str(tmp_path / f"replica-{number}"),
                    "RETAILCARE_CLASSIFICATION_GRPC_PORT": str(grpc_port),
                    "RETAILCARE_CLASSIFICATION_HTTP_PORT": str(http_port),
                    "RETAILCARE_CLASSIFICATION_DATABASE_URL": url,
                    "RETAILCARE_DRAIN_SECONDS": "0.2",
                }
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", PACK.cli_module, "serve", "classification"],
                        env=child_environment(env),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                )
                wait_serving(f"{address}:{grpc_port}", processes[-1], timeout=60)
            yield "ipv4:" + ",".join(f"{address}:{grpc_port}" for address in REPLICAS), http_port
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)


def test_complaints_spreads_its_customer_checks_over_both_replicas(classification_replicas, tmp_path):
    target, http_port = classification_replicas
    with running(
        service_definition("complaints"),
        settings_for(tmp_path, classification_target=target, escalation_sweep_seconds=3600),
    ) as complaints:
        with grpc.insecure_channel(target) as channel:
            classification = classification_pb2_grpc.ClassificationServiceStub(channel)
            classification.UpsertMarketZone(
                cpb.UpsertMarketZoneRequest(
                    zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")
                ),
                timeout=10,
            )
            for number in range(CALLS):  # one customer a complaint: intake remembers one it checked
                classification.CreateCustomer(
                    cpb.CreateCustomerRequest(customer=customer(f"L-{number}", market_zone="Z1")), timeout=10
                )
        before = [_get_customer_calls(address, http_port) for address in REPLICAS]
        complaints_target = f"127.0.0.1:{complaints.settings.grpc_port('complaints')}"
        with grpc.insecure_channel(complaints_target) as channel:
            stub = complaints_pb2_grpc.ComplaintsServiceStub(channel)
            for number in range(CALLS):
                stub.FileComplaint(
                    pb.FileComplaintRequest(
                        idempotency_key=f"balance-{number}",
                        licence_number=f"L-{number}",
                        channel="hotline",
                        category="delivery",
                        description="late delivery",
                        received_by="staff-7",
                    ),
                    timeout=10,
                )
        served = [
            _get_customer_calls(address, http_port) - start
            for address, start in zip(REPLICAS, before, strict=True)
        ]
    assert sum(served) >= CALLS  # every complaint asked classification
    assert min(served) >= sum(served) / 4, f"calls per replica: {served}"
