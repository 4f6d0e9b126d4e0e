"""A test-only service on the common bootstrap, with methods that sleep, fail and crash.

Run as ``python -m tests.support.probe_service`` for the shutdown tests."""

import json
import time

import grpc

from services.common.clients import ServiceClient
from services.common.config import load_settings
from services.common.deadlines import downstream_timeout
from services.common.errors import InvalidArgument, NotFound
from services.common.logs import request_id_var
from services.common.server import ServiceDefinition, serve_forever
from services.composition import PACK

SERVICE = "retailcare.test.Probe"


def _sleep(request: bytes, context) -> bytes:
    time.sleep(float(request.decode()))
    return b"slept"


def _invalid(request: bytes, context) -> bytes:
    raise InvalidArgument([("licence_number", "must not be empty")])


def _missing(request: bytes, context) -> bytes:
    raise NotFound("customer", request.decode())


def _deadline(request: bytes, context) -> bytes:
    """What a downstream call made from here would be given, with a 5 s default."""
    return f"{downstream_timeout(5.0):.3f}".encode()


def _crash(request: bytes, context) -> bytes:
    raise RuntimeError("secret internal detail")


def _ticks(request: bytes, context):
    """A slow server stream: ``request`` ticks, 50 ms apart."""
    for _ in range(int(request.decode() or "100")):
        time.sleep(0.05)
        yield b"tick"


def _relay(request: bytes, context) -> bytes:
    """Calls ``method`` with ``payload`` at ``target`` through a ServiceClient, as a
    service calls another: the answer or the mapped failure is this call's outcome."""
    asked = json.loads(request)
    with ServiceClient("probe", asked["target"], 5.0) as client:
        stub_method = client.channel.unary_unary(f"/{SERVICE}/{asked['method']}")
        return client.call(stub_method, asked.get("payload", "").encode())


def _register(server: grpc.Server, runtime) -> list[str]:
    port = runtime.settings.grpc_port(runtime.name)

    def whoami(request: bytes, context) -> bytes:
        """Which replica answered, the request id it got and the time the caller left it."""
        remaining = context.time_remaining()
        return json.dumps({"port": port, "request_id": request_id_var.get(), "remaining": remaining}).encode()

    handlers = {
        name: grpc.unary_unary_rpc_method_handler(function)
        for name, function in {
            "Sleep": _sleep,
            "Invalid": _invalid,
            "Missing": _missing,
            "Crash": _crash,
            "Deadline": _deadline,
            "Whoami": whoami,
            "Relay": _relay,
        }.items()
    }
    handlers["Ticks"] = grpc.unary_stream_rpc_method_handler(_ticks)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    return [SERVICE]


definition = ServiceDefinition(name="gateway", register=_register)


def call(channel: grpc.Channel, method: str, payload: bytes = b"", timeout: float = 10) -> bytes:
    return channel.unary_unary(f"/{SERVICE}/{method}")(payload, timeout=timeout)


if __name__ == "__main__":
    serve_forever(definition, load_settings(PACK))
