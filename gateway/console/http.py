"""The console's HTTP basics: the security headers every answer carries, JSON answers,
and how a domain error (the gateway's own or a service's, passed on) becomes an HTTP
status with its message and field violations."""

from __future__ import annotations

import json

import grpc
from google.rpc import error_details_pb2, status_pb2

from services.common.errors import DomainError
from services.common.http_endpoints import HttpReply

# No inline script or style, nothing from elsewhere, no framing, no form posts.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)
JSON_TYPE = "application/json; charset=utf-8"

HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}
_DETAILS_KEY = "grpc-status-details-bin"


def reply(status: int, body: bytes, content_type: str) -> HttpReply:
    return HttpReply(status, body, content_type, SECURITY_HEADERS)


def json_reply(status: int, value) -> HttpReply:
    return reply(status, json.dumps(value, ensure_ascii=False).encode("utf-8"), JSON_TYPE)


def problem(status: int, message: str, violations: list[tuple[str, str]] = (), code: str = "") -> HttpReply:
    return json_reply(
        status,
        {
            "error": message,
            "code": code,
            "violations": [{"field": field, "description": why} for field, why in violations],
        },
    )


def violations_of(error: DomainError) -> list[tuple[str, str]]:
    """The BadRequest field violations the error carries (its own or a service's)."""
    status = error.to_status()
    details = dict(status.trailing_metadata or ()).get(_DETAILS_KEY)
    if not details:
        return []
    found: list[tuple[str, str]] = []
    for detail in status_pb2.Status.FromString(details).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            found.extend((v.field, v.description) for v in request.field_violations)
    return found


def error_reply(error: DomainError) -> HttpReply:
    code = error.code
    return problem(HTTP_STATUS.get(code, 500), error.message, violations_of(error), code.name)
