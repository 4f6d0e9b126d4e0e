"""The classification service seen from complaints: is this a known customer, and
which team serves it. Reached through its contract, never its tables."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.common.deadlines import downstream_timeout

INTAKE_CHECK_SECONDS = 2.0  # a complaint is never held up long by another service
# gRPC waits up to 120 s between reconnection attempts by default; after an outage of
# classification, complaints should find it again within a second.
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 1000)]


@dataclass(frozen=True)
class CustomerCheck:
    known: bool | None  # None: classification could not be asked
    team_id: str = ""


class CustomerDirectory:
    def __init__(self, target: str, timeout_seconds: float):
        self._channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
        self._stub = classification_pb2_grpc.ClassificationServiceStub(self._channel)
        self._timeout = min(timeout_seconds, INTAKE_CHECK_SECONDS)

    def check(self, licence_number: str) -> CustomerCheck:
        try:
            reply = self._stub.GetCustomer(
                pb.GetCustomerRequest(licence_number=licence_number),
                timeout=downstream_timeout(self._timeout),
                wait_for_ready=True,  # ride out a reconnection instead of failing at once
            )
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return CustomerCheck(False)
            return CustomerCheck(None)
        return CustomerCheck(True, reply.customer.team_id)

    def close(self) -> None:
        self._channel.close()
