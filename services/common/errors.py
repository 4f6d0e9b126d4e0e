"""Domain errors and their gRPC form (status code plus google.rpc.Status details).

Domain and service-layer code raises these; the error interceptor turns them into a
status the caller can act on. Anything else becomes INTERNAL with a logged error id.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

# A stock client cannot read a status whose metadata outgrows about 8 KiB, so the
# message and the texts of the details are cut (a bad value is quoted by a prefix only).
MAX_MESSAGE_BYTES = 512
MAX_DETAIL_BYTES = 256
MAX_VIOLATIONS_BYTES = 2048  # all field violations of one status together


def clip(text: str, limit: int = MAX_DETAIL_BYTES) -> str:
    """At most ``limit`` bytes of UTF-8, cut on a character boundary and marked with "…"."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode("utf-8", "ignore") + "…"


class DomainError(Exception):
    code = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def details(self) -> list:
        return []

    def to_status(self) -> grpc.Status:
        return build_status(self.code, self.message, self.details())


class InvalidArgument(DomainError):
    """Bad input; ``violations`` maps each offending field to what is wrong with it."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: Iterable[tuple[str, str]], message: str = ""):
        self.violations = list(violations)
        summary = "; ".join(f"{field}: {why}" for field, why in self.violations)
        super().__init__(message or f"invalid argument: {summary}")

    def details(self) -> list:
        request = error_details_pb2.BadRequest()
        budget = MAX_VIOLATIONS_BYTES
        for field, why in self.violations:
            field, why = clip(field, MAX_DETAIL_BYTES // 2), clip(why)
            budget -= len(field.encode()) + len(why.encode())
            if budget < 0:
                break
            request.field_violations.add(field=field, description=why)
        return [request]


class _ResourceError(DomainError):
    def __init__(self, resource_type: str, name: str, message: str = ""):
        self.resource_type = resource_type
        self.name = name
        super().__init__(message or self.default_message())

    def default_message(self) -> str:
        raise NotImplementedError

    def details(self) -> list:
        return [
            error_details_pb2.ResourceInfo(resource_type=self.resource_type, resource_name=clip(self.name))
        ]


class NotFound(_ResourceError):
    code = grpc.StatusCode.NOT_FOUND

    def default_message(self) -> str:
        return f"{self.resource_type} {self.name!r} not found"


class AlreadyExists(_ResourceError):
    code = grpc.StatusCode.ALREADY_EXISTS

    def default_message(self) -> str:
        return f"{self.resource_type} {self.name!r} already exists"


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, message: str, subject: str = "", kind: str = "STATE"):
        super().__init__(message)
        self.subject = subject
        self.kind = kind

    def details(self) -> list:
        failure = error_details_pb2.PreconditionFailure()
        failure.violations.add(type=self.kind, subject=clip(self.subject), description=clip(self.message))
        return [failure]


def build_status(code: grpc.StatusCode, message: str, details: list) -> grpc.Status:
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    proto = status_pb2.Status(
        code=getattr(code_pb2, code.name), message=clip(message, MAX_MESSAGE_BYTES), details=packed
    )
    return rpc_status.to_status(proto)


def internal_status(error_id: str) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(
        reason="INTERNAL_ERROR", domain="retailcare", metadata={"error_id": error_id}
    )
    return build_status(
        grpc.StatusCode.INTERNAL, f"internal error; quote error id {error_id} to support", [info]
    )


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    """The BadRequest field violations of a received error, for callers and tests."""
    status = rpc_status.from_call(error)
    found: dict[str, str] = {}
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            found.update({v.field: v.description for v in request.field_violations})
    return found
