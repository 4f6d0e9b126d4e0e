"""The services behind the gateway as the relays see them: a name and a channel (from
services/common/clients.py: round_robin, retried reads, request id, client metrics), and
how a failed call becomes the status the gateway's caller gets (the clients' mapping:
UNAVAILABLE naming the service, or the service's own status intact)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from services.common.auth import read_service_token
from services.common.clients import downstream_failure, open_channel, read_methods
from services.common.config import Settings
from services.common.deadlines import downstream_timeout
from services.common.tls import channel_credentials

# A server-streaming reply (a reclassification's progress, a draft's impact on every
# customer) grows with the data: it gets the caller's remaining time up to this, not the
# default of the unary calls.
STREAMING_SECONDS = 600.0


@dataclass(frozen=True)
class Downstream:
    """One service: its name (for messages) and a channel to all its replicas."""

    name: str
    channel: grpc.Channel
    default_timeout_seconds: float
    # The relays' callables of a method (bytes in, bytes out), made once per path.
    _calls: dict = field(default_factory=dict, compare=False, repr=False)

    def close(self) -> None:
        self.channel.close()

    def relayed(self, kind: str, path: str):
        """The channel's ``kind`` (``unary_unary``, ``unary_stream``, ``stream_stream``)
        callable of ``path``, passing bytes through; made at the first call of the path."""
        key = (kind, path)
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = getattr(self.channel, kind)(path)
        return call

    def call_options(self, streaming: bool = False) -> dict:
        """The caller's remaining deadline, clamped, for one call (``streaming``: a
        server-streaming reply, at most STREAMING_SECONDS)."""
        default = self.default_timeout_seconds
        return {"timeout": downstream_timeout(max(default, STREAMING_SECONDS) if streaming else default)}


def open_downstream(name: str, settings: Settings, contracts: list[ServiceDescriptor]) -> Downstream:
    """A channel of its own to ``name``, retrying the idempotent reads of ``contracts``."""
    channel = open_channel(
        settings.target(name),
        max_message_bytes=settings.max_message_bytes,
        credentials=channel_credentials(settings),
        retried_methods=[read for contract in contracts for read in read_methods(contract)],
        service_token=read_service_token(settings),
    )
    return Downstream(name, channel, settings.downstream_timeout_seconds)


@contextlib.contextmanager
def passed_on(downstream: Downstream, method: str) -> Iterator[None]:
    """Turns a failed downstream call into the domain error the gateway's caller gets."""
    try:
        yield
    except grpc.RpcError as error:
        raise downstream_failure(downstream.name, method, error) from None
