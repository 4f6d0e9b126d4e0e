"""Hostile input to every unary method of every process, as a stock reflection client
would send it.

The whole pack runs as child processes on free ports. The methods are not listed here:
they are discovered through server reflection, and requests are built from the
descriptors reflection returns, so a method added later is fuzzed without a change here.
Each variant sets one field (nested fields included) to a hostile value of its type:
empty, oversize, control characters, odd Unicode, out-of-range numbers, non-finite
doubles, invalid and out-of-window times, unknown enum numbers, garbage page tokens,
odd JSON-like values and far too many items. Only deliberate codes may come back, never
INTERNAL or UNKNOWN; afterwards every process is SERVING and every list method answers
as it did before.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import math
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from gateway import permissions
from services.common.auth import hash_token
from services.composition import PACK
from tests.support.ports import pack_environment
from tests.support.services import child_environment, wait_serving

TOKEN = "hostile-input-admin-token"
FUZZ_SECONDS = 35  # the budget for sending variants; methods take turns, so all get some
CALL_TIMEOUT_SECONDS = 20
WORKERS = 6
EXPECTED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
}
# Declared by the stock health proto, not implemented by grpcio-health-checking.
NOT_OURS = {"/grpc.health.v1.Health/List"}
OVERSIZE = 300_000  # characters: beyond every declared limit, within the message size


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


STRINGS = [
    "",
    "   ",
    "x" * OVERSIZE,
    "a\x00b",
    "\x1b[2J\x07",
    "line\nbreak\r\n",
    "😀🏳️‍🌈" * 5,
    "\u202eevil\u200b\ufeff",
    "Ｌ－００１",
    "\U0010fffd",
    "' OR '1'='1'; --",
    "../../../etc/passwd",
    "%s%n{0}${x}",
    "9" * 60,
    _b64(str(2**64)),  # a page token holding a huge number
    _b64("-5"),  # and a negative one
    "garbage==",
]
INTEGERS = {
    FieldDescriptor.TYPE_INT32: [-1, 2**31 - 1, -(2**31)],
    FieldDescriptor.TYPE_SINT32: [-1, 2**31 - 1, -(2**31)],
    FieldDescriptor.TYPE_SFIXED32: [-1, 2**31 - 1],
    FieldDescriptor.TYPE_INT64: [-1, 2**63 - 1, -(2**63)],
    FieldDescriptor.TYPE_SINT64: [-1, 2**63 - 1, -(2**63)],
    FieldDescriptor.TYPE_SFIXED64: [-1, 2**63 - 1],
    FieldDescriptor.TYPE_UINT32: [2**32 - 1],
    FieldDescriptor.TYPE_FIXED32: [2**32 - 1],
    FieldDescriptor.TYPE_UINT64: [2**64 - 1],
    FieldDescriptor.TYPE_FIXED64: [2**64 - 1],
}
DOUBLES = [math.nan, math.inf, -math.inf, 1e308, -1e308, -0.0, 5e-324]
FLOATS = [math.nan, math.inf, 3.4e38]
ENUMS = [99, -7, 2**31 - 1]
TIMESTAMPS = [
    (-62135596801, 0),  # before year 1
    (253402300800, 0),  # after year 9999
    (0, -1),
    (0, 10**9),
    (2**40, 0),
    (-1, 0),
    (-(2**62), 0),
]
FIELD_MASK_PATHS = ["", "a" * 2000, "licence_number", "\x00", "customer.*"]
BYTES = [b"", b"\x00" * 16, b"x" * OVERSIZE]
MANY = 20_000


def _deep(depth: int) -> Callable:
    def fill(struct) -> None:
        node = struct
        for _ in range(depth):
            node = node.fields["a"].struct_value
        node.fields["leaf"].number_value = 1

    return fill


def _struct_field(key: str, setter: Callable) -> Callable:
    def fill(struct) -> None:
        setter(struct.fields[key])

    return fill


STRUCTS = [
    _struct_field("x", lambda v: setattr(v, "number_value", math.nan)),
    _struct_field("x", lambda v: setattr(v, "number_value", 1e308)),
    _struct_field("x", lambda v: setattr(v, "string_value", "x" * OVERSIZE)),
    _struct_field("a\x00b", lambda v: setattr(v, "bool_value", True)),
    _struct_field(
        "list", lambda v: v.list_value.values.add().struct_value.fields["y"].list_value.SetInParent()
    ),
    _deep(30),
]


# -- the pack -----------------------------------------------------------------------------
@dataclass
class Process:
    name: str
    target: str
    child: subprocess.Popen


@contextlib.contextmanager
def pack(tmp_path) -> Iterator[list[Process]]:
    env = pack_environment(str(tmp_path))
    env["RETAILCARE_GATEWAY_TOKENS"] = f"admin {hash_token(TOKEN)} fuzz"
    env["RETAILCARE_SHUTDOWN_GRACE_SECONDS"] = "2"
    env["RETAILCARE_LOG_LEVEL"] = "WARNING"
    processes = []
    try:
        for name in PACK.names:
            log = (tmp_path / f"{name}.log").open("w")
            child = subprocess.Popen(
                [sys.executable, "-m", "services.composition", "serve", name],
                env=child_environment(env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            port = env[f"RETAILCARE_{name.upper()}_GRPC_PORT"]
            processes.append(Process(name, f"127.0.0.1:{port}", child))
        for process in processes:
            try:
                wait_serving(process.target, process.child, timeout=60)
            except AssertionError as failure:
                log = (tmp_path / f"{process.name}.log").read_text()[-2000:]
                raise AssertionError(f"{process.name}: {failure}\n{log}") from None
        yield processes
    finally:
        for process in processes:
            process.child.terminate()
        for process in processes:
            try:
                process.child.wait(15)
            except subprocess.TimeoutExpired:
                process.child.kill()
                process.child.wait()


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """The gateway's token on every call (the services ignore it)."""

    def _with_token(self, details):
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {TOKEN}")]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)


# -- discovery ----------------------------------------------------------------------------
@dataclass
class Method:
    process: str
    path: str  # /package.Service/Method
    descriptor: MethodDescriptor
    request_class: type
    call: Callable


def discover(process: Process, channel: grpc.Channel) -> list[Method]:
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = descriptor_pool.DescriptorPool(database)
    methods = []
    for service_name in database.get_services():
        if service_name.startswith("grpc.reflection."):
            continue  # streaming only
        for method in pool.FindServiceByName(service_name).methods:
            path = f"/{service_name}/{method.name}"
            if method.client_streaming or method.server_streaming or path in NOT_OURS:
                continue
            request_class = message_factory.GetMessageClass(method.input_type)
            response_class = message_factory.GetMessageClass(method.output_type)
            call = channel.unary_unary(
                path,
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=response_class.FromString,
            )
            methods.append(Method(process.name, path, method, request_class, call))
    return methods


# -- hostile variants ---------------------------------------------------------------------
_OPAQUE = {"google.protobuf.Timestamp", "google.protobuf.Struct", "google.protobuf.FieldMask"}


def _leaves(descriptor, prefix=(), depth=0) -> Iterator[tuple]:
    """Paths of fields down to scalars, maps and well-known types (three levels deep)."""
    for field in descriptor.fields:
        kind = field.message_type
        is_map = kind is not None and kind.GetOptions().map_entry
        if kind is not None and not is_map and kind.full_name not in _OPAQUE and depth < 3:
            if field.is_repeated:
                yield (*prefix, field), "many"
            yield from _leaves(kind, (*prefix, field), depth + 1)
        else:
            yield (*prefix, field), None


def _values(field: FieldDescriptor) -> list:
    kind = field.message_type
    if kind is not None and kind.GetOptions().map_entry:
        return [("key", key) for key in STRINGS if len(key) < 100]
    if kind is not None:
        return {
            "google.protobuf.Timestamp": TIMESTAMPS,
            "google.protobuf.Struct": STRUCTS,
            "google.protobuf.FieldMask": FIELD_MASK_PATHS,
        }.get(kind.full_name, [])
    if field.type == FieldDescriptor.TYPE_STRING:
        return STRINGS
    if field.type == FieldDescriptor.TYPE_BYTES:
        return BYTES
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        return DOUBLES
    if field.type == FieldDescriptor.TYPE_FLOAT:
        return FLOATS
    if field.type == FieldDescriptor.TYPE_ENUM:
        return ENUMS
    if field.type == FieldDescriptor.TYPE_BOOL:
        return [True]
    return INTEGERS.get(field.type, [])


def _target(message, path: tuple):
    """The message holding the last field of the path, creating what lies between."""
    node = message
    for field in path[:-1]:
        node = getattr(node, field.name).add() if field.is_repeated else getattr(node, field.name)
    return node


def _set(node, field: FieldDescriptor, value) -> None:
    kind = field.message_type
    if kind is not None and kind.GetOptions().map_entry:
        entries, key, value_field = getattr(node, field.name), value[1], kind.fields_by_name["value"]
        if value_field.message_type is not None:
            entries.get_or_create(key)
        else:
            entries[key] = value_field.default_value
        return
    if kind is not None:
        sub = getattr(node, field.name).add() if field.is_repeated else getattr(node, field.name)
        if kind.full_name == "google.protobuf.Timestamp":
            sub.seconds, sub.nanos = value
        elif kind.full_name == "google.protobuf.Struct":
            value(sub)
        else:
            sub.paths.append(value)
        return
    if field.is_repeated:
        getattr(node, field.name).append(value)
    else:
        setattr(node, field.name, value)


def variants(method: Method) -> list[Callable[[], object]]:
    """Request builders, one hostile value in one field each, in a fixed order."""
    builders = []
    for path, special in _leaves(method.descriptor.input_type):
        field = path[-1]
        if special == "many":

            def build(path=path):
                request = method.request_class()
                holder = getattr(_target(request, path), path[-1].name)
                for _ in range(MANY):
                    holder.add()
                return request

            builders.append(build)
            continue
        for value in _values(field):

            def build(path=path, value=value):
                request = method.request_class()
                _set(_target(request, path), path[-1], value)
                return request

            builders.append(build)
        if field.is_repeated and field.type == FieldDescriptor.TYPE_STRING:

            def build(path=path):
                request = method.request_class()
                getattr(_target(request, path), path[-1].name).extend(["x"] * MANY)
                return request

            builders.append(build)
    random.Random(method.path).shuffle(builders)
    return [method.request_class, *builders]


def _round_robin(queues: list[list]) -> Iterator:
    """The first item of every queue, then the second of every queue, and so on."""
    for index in range(max((len(q) for q in queues), default=0)):
        yield from (q[index] for q in queues if index < len(q))


# -- the test -----------------------------------------------------------------------------
def _code(method: Method, request) -> tuple[grpc.StatusCode, str]:
    try:
        method.call(request, timeout=CALL_TIMEOUT_SECONDS)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def expected_codes(method: Method) -> set[grpc.StatusCode]:
    """The gateway publishes the descriptors of the contracts it relays but serves only the
    methods its permission table lists; any other is UNIMPLEMENTED there, and only that."""
    served = permissions.allowed_roles(method.path) or method.path in permissions.PUBLIC
    if method.process == "gateway" and not served:
        return {grpc.StatusCode.UNIMPLEMENTED}
    return EXPECTED


def _lists(methods: list[Method]) -> list[Method]:
    return [m for m in methods if m.descriptor.name.startswith("List")]


def test_hostile_input_to_every_unary_method(tmp_path):
    with pack(tmp_path) as processes, contextlib.ExitStack() as stack:
        methods = []
        for process in processes:
            channel = stack.enter_context(grpc.insecure_channel(process.target))
            methods += discover(process, grpc.intercept_channel(channel, _Bearer()))
        names = {m.descriptor.containing_service.full_name for m in methods}
        for expected in (
            "retailcare.classification.v1.ClassificationService",
            "retailcare.complaints.v1.ComplaintsService",
            "retailcare.rules.v1.RuleSetAdmin",
            "grpc.health.v1.Health",
        ):
            assert expected in names, names
        assert {m.process for m in methods} == set(PACK.names)

        before = {m.path + m.process: _code(m, m.request_class())[0] for m in _lists(methods)}
        assert grpc.StatusCode.OK in before.values()

        jobs = list(_round_robin([[(m, build) for build in variants(m)] for m in methods]))
        deadline = time.monotonic() + FUZZ_SECONDS
        unexpected, sent, covered = [], 0, set()

        def send(job):
            method, build = job
            if time.monotonic() > deadline:
                return None
            code, details = _code(method, build())
            return method, code, details

        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            for outcome in pool.map(send, jobs):
                if outcome is None:
                    continue
                method, code, details = outcome
                sent += 1
                covered.add((method.process, method.path))
                if code not in expected_codes(method):
                    unexpected.append(f"{method.process} {method.path}: {code.name} {details[:200]}")
        print(f"sent {sent} of {len(jobs)} hostile requests to {len(methods)} methods")
        assert covered == {(m.process, m.path) for m in methods}, "some methods got no hostile request"
        assert not unexpected, "\n".join(sorted(set(unexpected))[:40])

        for process in processes:
            assert process.child.poll() is None, f"{process.name} exited"
            with grpc.insecure_channel(process.target) as channel:
                health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING, process.name
        after = {m.path + m.process: _code(m, m.request_class())[0] for m in _lists(methods)}
        assert after == before

        # Without a token the gateway refuses before it reads what the request holds.
        gateway = next(p for p in processes if p.name == "gateway")
        get_customer = next(m for m in methods if m.process == "gateway" and m.path.endswith("/GetCustomer"))
        request = get_customer.request_class(licence_number="a\x00" * 1000)
        with grpc.insecure_channel(gateway.target) as bare:
            call = bare.unary_unary(get_customer.path, request_serializer=lambda m: m.SerializeToString())
            with pytest.raises(grpc.RpcError) as refused:
                call(request, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


if __name__ == "__main__":  # pragma: no cover - a manual run prints the figures
    sys.exit(pytest.main([__file__, "-s", "-q"]))


def test_streamed_requests_are_checked_message_by_message(tmp_path):
    """Client-streaming calls, which the fuzzing above leaves out, get the same checks."""
    from retailcare.classification.v1 import classification_pb2 as cpb
    from retailcare.classification.v1 import classification_pb2_grpc

    from services.common.errors import field_violations
    from services.composition import service_definition
    from tests.support.services import channel_to, running, settings_for

    good = cpb.CustomerInput(licence_number="L-1", name="ok", business_format="grocery", market_type="urban")
    bad = cpb.CustomerInput(
        licence_number="L-2", name="a\x00b", business_format="grocery", market_type="urban"
    )
    with running(service_definition("classification"), settings_for(tmp_path)) as service:
        with channel_to(service) as channel:
            stub = classification_pb2_grpc.ClassificationServiceStub(channel)
            batches = iter(
                [cpb.ImportCustomersRequest(rows=[good]), cpb.ImportCustomersRequest(rows=[good, bad])]
            )
            with pytest.raises(grpc.RpcError) as refused:
                list(stub.ImportCustomers(batches, timeout=20))
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field_violations(refused.value) == {
                "rows[1].name": "holds a control character (U+0000) at position 1"
            }
            listed = stub.ListCustomers(cpb.ListCustomersRequest(), timeout=10).customers
            assert [c.input.licence_number for c in listed] == ["L-1"]  # the first batch only
