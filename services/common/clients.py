"""Calling another service: one way to open a channel and one base class for the client of
each contract, so every consumer gets the same load balancing, retries, deadlines,
request ids, metrics and error mapping.

Which downstream codes mean what to the caller:
- UNAVAILABLE, DEADLINE_EXCEEDED: "could not ask" -> ``DownstreamUnavailable``; our own
  caller gets UNAVAILABLE with a message naming the service.
- NOT_FOUND: "not there" -> ``DownstreamNotFound``.
- any other code -> ``DownstreamError``, passed to our caller with the downstream code,
  message and details intact.
"""

from __future__ import annotations

import collections
import functools
import json
import time
from collections.abc import Callable, Iterable

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.common import metrics
from services.common.auth import SERVICE_TOKEN_HEADER, read_service_token
from services.common.config import Settings
from services.common.deadlines import downstream_timeout
from services.common.errors import DomainError, build_status
from services.common.interceptors import PACK_USER_AGENT, REQUEST_ID_HEADER
from services.common.logs import request_id_var
from services.common.tls import channel_credentials

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
COULD_NOT_ASK = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# Methods whose names start so only read; a retry of them after UNAVAILABLE is harmless.
READ_PREFIXES = ("Get", "List", "Explain", "Diff", "Validate", "DryRun", "Preview")
RETRY_POLICY = {
    "maxAttempts": 3,
    "initialBackoff": "0.05s",
    "maxBackoff": "0.5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
# gRPC waits up to 120 s between reconnection attempts by default; after an outage a
# caller should find the service again within a second.
RECONNECT_BACKOFF_MS = (200, 1000)
# Pings on a busy connection find a dead peer behind a silent network; servers permit
# them at this interval (services/common/server.py).
KEEPALIVE_TIME_MS = 30_000
KEEPALIVE_TIMEOUT_MS = 10_000


def read_methods(contract: ServiceDescriptor) -> list[tuple[str, str]]:
    """(service, method) of every idempotent read of a contract, by method name."""
    return [
        (contract.full_name, method.name)
        for method in contract.methods
        if method.name.startswith(READ_PREFIXES)
    ]


def service_config(retried_methods: Iterable[tuple[str, str]] = ()) -> str:
    """round_robin over every address the target resolves to; retries on UNAVAILABLE for
    the given (service, method) pairs."""
    config: dict = {"loadBalancingConfig": [{"round_robin": {}}]}
    names = [{"service": service, "method": method} for service, method in retried_methods]
    if names:
        config["methodConfig"] = [{"name": names, "retryPolicy": RETRY_POLICY}]
    return json.dumps(config)


def open_channel(
    target: str,
    *,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    credentials: grpc.ChannelCredentials | None = None,
    retried_methods: Iterable[tuple[str, str]] = (),
    service_token: str = "",
) -> grpc.Channel:
    """A channel to every replica behind ``target`` (e.g. ``dns:///classification:50052``
    or ``ipv4:10.0.0.1:50052,10.0.0.2:50052``), plaintext unless ``credentials`` given,
    with the client interceptor that forwards the request id and counts calls."""
    initial_backoff, max_backoff = RECONNECT_BACKOFF_MS
    options = [
        ("grpc.service_config", service_config(retried_methods)),
        ("grpc.enable_retries", 1),
        ("grpc.initial_reconnect_backoff_ms", initial_backoff),
        ("grpc.min_reconnect_backoff_ms", initial_backoff),
        ("grpc.max_reconnect_backoff_ms", max_backoff),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # Servers of the pack do not echo the request id to their own callers.
        ("grpc.primary_user_agent", PACK_USER_AGENT),
    ]
    if credentials is None:
        channel = grpc.insecure_channel(target, options=options)
    else:
        channel = grpc.secure_channel(target, credentials, options=options)
    return grpc.intercept_channel(channel, ClientCallInterceptor(service_token))


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    pass


def _with_request_id(details: grpc.ClientCallDetails, extra: tuple = ()) -> grpc.ClientCallDetails:
    metadata = list(details.metadata or ())
    request_id = request_id_var.get()
    if request_id and not any(key == REQUEST_ID_HEADER for key, _ in metadata):
        metadata.append((REQUEST_ID_HEADER, request_id))
    metadata.extend(extra)
    return _CallDetails(
        details.method,
        details.timeout,
        metadata,
        details.credentials,
        details.wait_for_ready,
        details.compression,
    )


def _split_method(method: str | bytes) -> tuple[str, str]:
    if isinstance(method, bytes):
        method = method.decode()
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name


class _MethodMetrics:
    """The client metric children of one downstream method, looked up once."""

    def __init__(self, grpc_type: str, method: str | bytes):
        self.labels = (grpc_type, *_split_method(method))
        self.started = metrics.CLIENT_STARTED.labels(*self.labels)
        self.seconds = metrics.CLIENT_HANDLING_SECONDS.labels(*self.labels)
        self._handled: dict[grpc.StatusCode, object] = {}

    def handled(self, code: grpc.StatusCode):
        child = self._handled.get(code)
        if child is None:
            child = self._handled[code] = metrics.CLIENT_HANDLED.labels(
                *self.labels, metrics.code_label(code)
            )
        return child


@functools.lru_cache(maxsize=1024)
def _method_metrics(grpc_type: str, method: str | bytes) -> _MethodMetrics:
    return _MethodMetrics(grpc_type, method)


class ClientCallInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Forwards the current call's request id as ``x-request-id``, shows the pack's
    service token when one is configured, and records the go-grpc-prometheus client
    metrics of every call."""

    def __init__(self, service_token: str = ""):
        self._extra = ((SERVICE_TOKEN_HEADER, service_token),) if service_token else ()

    def _intercept(self, streaming: tuple[bool, bool], continuation, details, request):
        method_metrics = _method_metrics(metrics.GRPC_TYPES[streaming], details.method)
        method_metrics.started.inc()
        started = time.perf_counter()

        def finished(call) -> None:
            method_metrics.handled(call.code() or grpc.StatusCode.OK).inc()
            method_metrics.seconds.observe(time.perf_counter() - started)

        call = continuation(_with_request_id(details, self._extra), request)
        call.add_done_callback(finished)
        return call

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return self._intercept((False, False), continuation, client_call_details, request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return self._intercept((False, True), continuation, client_call_details, request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return self._intercept((True, False), continuation, client_call_details, request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return self._intercept((True, True), continuation, client_call_details, request_iterator)


class DownstreamUnavailable(DomainError):
    """The service could not be asked (down, unreachable, or out of time)."""

    code = grpc.StatusCode.UNAVAILABLE

    def __init__(self, service: str, method: str, detail: str = ""):
        self.service = service
        self.method = method
        super().__init__(f"{service} unavailable ({method})" + (f": {detail}" if detail else ""))

    def details(self) -> list:
        return [
            error_details_pb2.ErrorInfo(
                reason="SERVICE_UNAVAILABLE",
                domain="retailcare",
                metadata={"service": self.service, "method": self.method},
            )
        ]


class DownstreamError(DomainError):
    """The service answered with a failure; our caller gets its code, message and details."""

    def __init__(self, service: str, method: str, error: grpc.RpcError):
        self.service = service
        self.method = method
        self.code = error.code()
        super().__init__(error.details() or "")
        self._status = rpc_status.from_call(error)  # None when it sent no rich status

    def to_status(self) -> grpc.Status:
        if self._status is not None:
            return rpc_status.to_status(self._status)
        return build_status(self.code, self.message, [])


class DownstreamNotFound(DownstreamError):
    """The service was asked and the thing is not there."""


def downstream_failure(service: str, method: str, error: grpc.RpcError) -> DomainError:
    """The domain error a failed call to ``service`` stands for."""
    code = error.code()
    if code in COULD_NOT_ASK:
        return DownstreamUnavailable(service, method, error.details() or code.name)
    if code == grpc.StatusCode.NOT_FOUND:
        return DownstreamNotFound(service, method, error)
    return DownstreamError(service, method, error)


def _method_name(stub_method: Callable) -> str:
    """The method name of a stub's callable, for messages (grpcio keeps it privately)."""
    full = getattr(stub_method, "_method", b"") or b""
    return _split_method(full)[1] or "call"


class ServiceClient:
    """Base of the client of one contract. Subclasses set ``SERVICE`` (the pack's name for
    the service) and ``CONTRACT`` (its gRPC service descriptor) and call ``self.call``."""

    SERVICE: str = ""
    CONTRACT: ServiceDescriptor | None = None

    def __init__(
        self,
        service: str,
        target: str,
        default_timeout_seconds: float,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        wait_for_ready: bool = False,
        service_token: str = "",
    ):
        self.service = service
        self.default_timeout_seconds = default_timeout_seconds
        # wait_for_ready: a call made during a reconnection waits for it (up to the
        # deadline) instead of failing at once.
        self.wait_for_ready = wait_for_ready
        retried = read_methods(self.CONTRACT) if self.CONTRACT is not None else []
        self.channel = open_channel(
            target,
            max_message_bytes=max_message_bytes,
            credentials=credentials,
            retried_methods=retried,
            service_token=service_token,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options):
        """The client a process of the pack uses: target, default deadline, TLS, service
        token and message limit from its configuration."""
        return cls(
            cls.SERVICE,
            settings.target(cls.SERVICE),
            settings.downstream_timeout_seconds,
            credentials=channel_credentials(settings),
            max_message_bytes=settings.max_message_bytes,
            service_token=read_service_token(settings),
            **options,
        )

    def call(self, stub_method: Callable, request):
        """One unary call with the caller's remaining deadline (clamped); failures become
        ``DownstreamUnavailable`` / ``DownstreamNotFound`` / ``DownstreamError``."""
        try:
            return stub_method(
                request,
                timeout=downstream_timeout(self.default_timeout_seconds),
                wait_for_ready=self.wait_for_ready,
            )
        except grpc.RpcError as error:
            raise downstream_failure(self.service, _method_name(stub_method), error) from None

    def close(self) -> None:
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
