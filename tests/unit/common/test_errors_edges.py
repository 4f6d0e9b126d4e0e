"""Domain errors and their gRPC status form (services/common/errors.py) at their edges."""

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.common import errors
from services.common.errors import (
    MAX_DETAIL_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_VIOLATIONS_BYTES,
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    clip,
)


class _ReceivedError(grpc.RpcError):
    """What a client holds after a failed call: the status as it came over the wire."""

    def __init__(self, status: grpc.Status):
        self._status = status

    def code(self):
        return self._status.code

    def details(self):
        return self._status.details

    def trailing_metadata(self):
        return self._status.trailing_metadata


def _proto(status: grpc.Status) -> status_pb2.Status:
    (key, value), *_ = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    return status_pb2.Status.FromString(value)


def _unpacked(status: grpc.Status, kind):
    (detail,) = _proto(status).details
    message = kind()
    assert detail.Unpack(message)
    return message


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("", 5, ""),
        ("abcde", 5, "abcde"),  # exactly the limit stays whole
        ("abcdef", 5, "ab…"),  # two bytes and the three of "…"
        ("价格价格", 12, "价格价格"),
        ("价格价格", 11, "价格…"),  # a character is never cut in half
        ("价格价格", 9, "价格…"),
        ("价格价格", 8, "价…"),
    ],
)
def test_clip(text, limit, expected):
    assert clip(text, limit) == expected
    assert len(clip(text, limit).encode()) <= limit


def test_clip_defaults_to_the_detail_limit():
    assert clip("x" * MAX_DETAIL_BYTES) == "x" * MAX_DETAIL_BYTES
    assert clip("x" * (MAX_DETAIL_BYTES + 1)) == "x" * (MAX_DETAIL_BYTES - 3) + "…"


def test_a_domain_error_keeps_its_message_and_has_no_details():
    error = DomainError("something")
    assert (error.message, str(error), error.details(), error.code) == (
        "something",
        "something",
        [],
        grpc.StatusCode.UNKNOWN,
    )


def test_invalid_argument_summarises_every_violation():
    error = InvalidArgument([("a", "is required"), ("b.c", "must be positive")])
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == "invalid argument: a: is required; b.c: must be positive"
    assert InvalidArgument([("a", "x")], "told otherwise").message == "told otherwise"
    assert InvalidArgument(iter([("a", "x")])).violations == [("a", "x")]


def test_invalid_argument_details_carry_every_field_in_order():
    status = InvalidArgument([("a", "is required"), ("b", "is odd")]).to_status()
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    request = _unpacked(status, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in request.field_violations] == [
        ("a", "is required"),
        ("b", "is odd"),
    ]
    assert errors.field_violations(_ReceivedError(status)) == {"a": "is required", "b": "is odd"}


def test_long_fields_and_reasons_are_clipped():
    request = InvalidArgument([("f" * 300, "w" * 300)]).details()[0]
    (violation,) = request.field_violations
    assert len(violation.field.encode()) == MAX_DETAIL_BYTES // 2
    assert violation.field.endswith("…") and violation.field.startswith("f")
    assert len(violation.description.encode()) == MAX_DETAIL_BYTES
    assert violation.description.endswith("…")


def test_violations_stop_at_the_budget():
    why = "w" * 100  # each violation: 1 + 100 bytes
    request = InvalidArgument([(str(n % 10), why) for n in range(50)]).details()[0]
    fitting = MAX_VIOLATIONS_BYTES // 101
    assert len(request.field_violations) == fitting
    per_violation = 128  # 16 of them spend the budget to exactly 0: all 16 fit, a 17th not
    exact = InvalidArgument([("f", "w" * (per_violation - 1))] * 17).details()[0]
    assert len(exact.field_violations) == MAX_VIOLATIONS_BYTES // per_violation == 16


@pytest.mark.parametrize(
    ("kind", "args", "code", "message"),
    [
        (NotFound, ("customer", "L-1"), grpc.StatusCode.NOT_FOUND, "customer 'L-1' not found"),
        (AlreadyExists, ("customer", "L-1"), grpc.StatusCode.ALREADY_EXISTS, "customer 'L-1' already exists"),
        (NotFound, ("customer", "L-1", "gone"), grpc.StatusCode.NOT_FOUND, "gone"),
    ],
)
def test_resource_errors(kind, args, code, message):
    error = kind(*args)  # made here, not at collection, so the test is seen reaching __init__
    status = error.to_status()
    assert (status.code, status.details, error.message) == (code, message, message)
    info = _unpacked(status, error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("customer", "L-1")
    assert (error.resource_type, error.name) == ("customer", "L-1")


def test_resource_names_are_clipped():
    (info,) = NotFound("customer", "n" * 1000).details()
    assert len(info.resource_name.encode()) == MAX_DETAIL_BYTES


def test_failed_precondition_details():
    error = FailedPrecondition("not now", subject="complaint c-1", kind="TRANSITION")
    status = error.to_status()
    assert (status.code, status.details) == (grpc.StatusCode.FAILED_PRECONDITION, "not now")
    (violation,) = _unpacked(status, error_details_pb2.PreconditionFailure).violations
    assert (violation.type, violation.subject, violation.description) == (
        "TRANSITION",
        "complaint c-1",
        "not now",
    )
    plain = FailedPrecondition("no")
    (violation,) = plain.details()[0].violations
    assert (violation.type, violation.subject) == ("STATE", "")


def test_build_status_clips_the_message_and_packs_the_code():
    status = errors.build_status(grpc.StatusCode.NOT_FOUND, "m" * 2000, [])
    proto = _proto(status)
    assert proto.code == code_pb2.NOT_FOUND and not proto.details
    assert len(status.details.encode()) == MAX_MESSAGE_BYTES == len(proto.message.encode())


def test_internal_status_names_the_error_id():
    status = errors.internal_status("abc123")
    assert status.code == grpc.StatusCode.INTERNAL
    assert status.details == "internal error; quote error id abc123 to support"
    info = _unpacked(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INTERNAL_ERROR",
        "retailcare",
        {"error_id": "abc123"},
    )


def test_field_violations_of_an_error_without_them():
    assert errors.field_violations(_ReceivedError(NotFound("x", "y").to_status())) == {}
    plain = grpc.Status()
    plain.code, plain.details, plain.trailing_metadata = grpc.StatusCode.UNKNOWN, "", ()
    assert errors.field_violations(_ReceivedError(plain)) == {}
