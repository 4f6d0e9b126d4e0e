"""`retailcare up` prints a fresh development token for each role; the gateway takes
them, stored only as hashes in the data folder."""

import subprocess
import sys

import grpc
import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc

from services.common.auth import ROLES
from tests.support.ports import pack_environment
from tests.support.services import child_environment


def test_up_prints_working_development_tokens_stored_as_hashes(tmp_path):
    env = pack_environment(str(tmp_path))
    up = subprocess.Popen(
        [sys.executable, "-m", "services.composition", "up"],
        env=child_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        tokens = {}
        for line in up.stdout:
            parts = line.split()
            if len(parts) == 2 and parts[0] in ROLES:
                tokens[parts[0]] = parts[1]
            if line.startswith("Ctrl-C"):
                break
        assert set(tokens) == set(ROLES)
        stored = (tmp_path / "gateway-tokens").read_text()
        assert not any(token in stored for token in tokens.values())
        target = f"127.0.0.1:{env['RETAILCARE_GATEWAY_GRPC_PORT']}"
        with grpc.insecure_channel(target) as channel:
            stub = classification_pb2_grpc.ClassificationServiceStub(channel)
            listed = stub.ListCustomers(
                cpb.ListCustomersRequest(),
                metadata=(("authorization", f"Bearer {tokens['ops']}"),),
                timeout=10,
            )
            assert not listed.customers
            with pytest.raises(grpc.RpcError) as denied:
                stub.ReclassifyCustomers(
                    cpb.ReclassifyCustomersRequest(),
                    metadata=(("authorization", f"Bearer {tokens['ops']}"),),
                    timeout=10,
                ).next()
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        up.terminate()
        up.wait(60)
