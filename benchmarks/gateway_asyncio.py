"""The asyncio candidate for the gateway, for the benchmark only: a grpc.aio server that
does what the sync gateway does for a relayed call (token check against the same
permission table, the request parsed and checked against the contract limits, the
bytes forwarded with the caller's deadline clamped and its request id, the downstream
status passed on) for the unary methods of classification's contract, on an aio
channel. It lacks the kernel's per-call
log line and server metrics, which the sync gateway pays for; the comparison favours it.

    python -m benchmarks.gateway_asyncio PORT CLASSIFICATION_TARGET TOKEN_ENTRIES
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import grpc
from google.protobuf import message_factory
from retailcare.classification.v1 import classification_pb2 as cpb

from gateway import permissions
from services.common import limits
from services.common.auth import Authorizer, TokenStore, parse_entries
from services.common.deadlines import MINIMUM_SECONDS

CONTRACT = cpb.DESCRIPTOR.services_by_name["ClassificationService"]
DEFAULT_TIMEOUT = 5.0


def _timeout(context: grpc.aio.ServicerContext) -> float:
    remaining = context.time_remaining()
    return DEFAULT_TIMEOUT if remaining is None else max(MINIMUM_SECONDS, min(remaining, DEFAULT_TIMEOUT))


def _relay(authorizer: Authorizer, channel: grpc.aio.Channel, method):
    path = f"/{CONTRACT.full_name}/{method.name}"
    message_class = message_factory.GetMessageClass(method.input_type)
    forward = channel.unary_unary(path)

    async def relay(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        metadata = context.invocation_metadata()
        refusal = authorizer.refusal(path, metadata)
        if refusal is not None:
            await context.abort(refusal.code, refusal.message)
        limits.check(message_class.FromString(raw))
        request_id = dict(metadata).get("x-request-id") or uuid.uuid4().hex
        try:
            return await forward(raw, timeout=_timeout(context), metadata=(("x-request-id", request_id),))
        except grpc.aio.AioRpcError as error:
            await context.abort(error.code(), error.details() or "", error.trailing_metadata())

    return grpc.unary_unary_rpc_method_handler(relay)


async def serve(port: int, target: str, entries: str) -> None:
    authorizer = Authorizer(
        TokenStore(parse_entries(entries.split(","), "tokens")), permissions.allowed_roles, permissions.PUBLIC
    )
    channel = grpc.aio.insecure_channel(target)
    handlers = {
        name: _relay(authorizer, channel, CONTRACT.methods_by_name[name])
        for name in permissions.methods_of(CONTRACT.full_name)
        if not CONTRACT.methods_by_name[name].client_streaming
        and not CONTRACT.methods_by_name[name].server_streaming
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(CONTRACT.full_name, handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
