"""Relays: the gateway serves a service's own contract by forwarding each call to it.

The request is checked against its message type and the contract limits at the gateway
(a malformed request is INVALID_ARGUMENT and never reaches a service), then forwarded as
the bytes received; the reply comes back as the bytes sent. The downstream call carries
the caller's remaining deadline (clamped) and request id; the downstream status comes
back with its code and details intact, and a service that cannot be asked is
UNAVAILABLE naming it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import DecodeError

from gateway.downstream import Downstream, passed_on
from services.common import limits
from services.common.errors import InvalidArgument

Route = Callable[[object], Downstream]  # parsed request -> where it goes


def _parser(method: descriptor.MethodDescriptor):
    message_class = message_factory.GetMessageClass(method.input_type)

    def parse(raw: bytes):
        try:
            request = message_class.FromString(raw)
        except DecodeError:
            raise InvalidArgument(
                [("request", f"not a valid {method.input_type.full_name} message")]
            ) from None
        limits.check(request)
        return request

    return parse


def _path(method: descriptor.MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def _unary_unary(method: descriptor.MethodDescriptor, route: Route):
    parse, path = _parser(method), _path(method)

    def handle(raw: bytes, context):
        downstream = route(parse(raw))
        with passed_on(downstream, method.name):
            return downstream.relayed("unary_unary", path)(raw, **downstream.call_options())

    return grpc.unary_unary_rpc_method_handler(handle)


def _unary_stream(method: descriptor.MethodDescriptor, route: Route):
    parse, path = _parser(method), _path(method)

    def handle(raw: bytes, context) -> Iterator[bytes]:
        downstream = route(parse(raw))
        with passed_on(downstream, method.name):
            yield from downstream.relayed("unary_stream", path)(
                raw, **downstream.call_options(streaming=True)
            )

    return grpc.unary_stream_rpc_method_handler(handle)


def _stream_stream(method: descriptor.MethodDescriptor, route: Route):
    """Streams in: every message is checked before it is forwarded; the route is chosen
    without a request (it cannot depend on one)."""
    parse, path = _parser(method), _path(method)

    def handle(requests: Iterator[bytes], context) -> Iterator[bytes]:
        downstream = route(None)
        refused: list[InvalidArgument] = []

        def checked() -> Iterator[bytes]:
            for raw in requests:
                try:
                    parse(raw)
                except InvalidArgument as error:
                    refused.append(error)
                    raise  # gRPC cancels the downstream call
                yield raw

        try:
            with passed_on(downstream, method.name):
                yield from downstream.relayed("stream_stream", path)(checked(), **downstream.call_options())
        except Exception:
            if refused:
                raise refused[0] from None
            raise

    return grpc.stream_stream_rpc_method_handler(handle)


def relay_handler(
    service: descriptor.ServiceDescriptor,
    methods: list[str],
    route: Route,
    special: dict[str, grpc.RpcMethodHandler] | None = None,
) -> grpc.GenericRpcHandler:
    """Serves ``methods`` of ``service``: each forwarded to ``route(request)``, except
    those with their own handler in ``special``."""
    handlers = dict(special or {})
    for name in methods:
        if name in handlers:
            continue
        method = service.methods_by_name[name]
        if method.client_streaming and method.server_streaming:
            handlers[name] = _stream_stream(method, route)
        elif method.server_streaming:
            handlers[name] = _unary_stream(method, route)
        elif not method.client_streaming:
            handlers[name] = _unary_unary(method, route)
        else:
            raise ValueError(f"no relay for client-streaming {service.full_name}/{name}")
    return grpc.method_handlers_generic_handler(service.full_name, handlers)
