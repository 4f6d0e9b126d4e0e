"""The services behind the gateway, and how their answers reach the gateway's caller."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.common.config import Settings
from services.common.deadlines import downstream_timeout
from services.common.errors import DomainError, build_status
from services.common.interceptors import REQUEST_ID_HEADER
from services.common.logs import request_id_var
from services.common.tls import open_plain_or_secure

COULD_NOT_ASK = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


@dataclass(frozen=True)
class Downstream:
    """One service: its name (for messages and metrics) and a channel to all its replicas."""

    name: str
    channel: grpc.Channel
    default_timeout_seconds: float

    def call_options(self) -> dict:
        """The caller's remaining deadline (clamped) and request id, for one call."""
        return {
            "timeout": downstream_timeout(self.default_timeout_seconds),
            "metadata": ((REQUEST_ID_HEADER, request_id_var.get()),),
        }


class DownstreamStatus(DomainError):
    """A service's failure, passed to the gateway's caller: its code, message and details
    as they were, except that a service that could not be asked is UNAVAILABLE naming it."""

    def __init__(self, service: str, method: str, error: grpc.RpcError):
        self.service = service
        self.unavailable = error.code() in COULD_NOT_ASK
        self.code = grpc.StatusCode.UNAVAILABLE if self.unavailable else error.code()
        details = error.details() or ""
        super().__init__(f"{service} unavailable ({method}): {details}" if self.unavailable else details)
        self._status = None if self.unavailable else rpc_status.from_call(error)

    def to_status(self) -> grpc.Status:
        if self._status is not None:
            return rpc_status.to_status(self._status)
        if self.unavailable:
            info = error_details_pb2.ErrorInfo(
                reason="SERVICE_UNAVAILABLE", domain="retailcare", metadata={"service": self.service}
            )
            return build_status(self.code, self.message, [info])
        return build_status(self.code, self.message, [])


@contextlib.contextmanager
def passed_on(downstream: Downstream, method: str) -> Iterator[None]:
    """Turns a failed downstream call into the status the gateway's caller gets."""
    try:
        yield
    except grpc.RpcError as error:
        raise DownstreamStatus(downstream.name, method, error) from None


def _is_idempotent_read(method: str) -> bool:
    return method.startswith(READ_PREFIXES)


READ_PREFIXES = ("Get", "List", "Explain", "Diff", "Validate", "DryRun", "Preview")


def service_config(contracts) -> str:
    """round_robin over every address the target resolves to, and retries on UNAVAILABLE
    for the idempotent reads of the given contracts (service descriptors)."""
    reads = [
        {"service": contract.full_name, "method": method.name}
        for contract in contracts
        for method in contract.methods
        if _is_idempotent_read(method.name)
    ]
    return json.dumps(
        {
            "loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [
                {
                    "name": reads,
                    "retryPolicy": {
                        "maxAttempts": 3,
                        "initialBackoff": "0.05s",
                        "maxBackoff": "0.5s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
        }
    )


def open_downstream(name: str, settings: Settings, contracts) -> Downstream:
    options = [
        ("grpc.service_config", service_config(contracts)),
        ("grpc.enable_retries", 1),
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 1000),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
    ]
    channel = open_plain_or_secure(settings.target(name), settings, options)
    return Downstream(name, channel, settings.downstream_timeout_seconds)
