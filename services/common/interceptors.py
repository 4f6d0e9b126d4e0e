"""What every call needs, added once per server: a request id, a log line, the
conventional metrics, domain errors mapped to statuses, and the caller's deadline
kept at hand for downstream calls.

A request id the caller sent (``x-request-id``) is echoed back in the initial metadata,
except to the pack's own clients (their user agent starts with ``PACK_USER_AGENT``),
which made the id and do not read it back; a call without one gets an id made here, for
the logs and the downstream calls, and nothing extra is sent back. (An explicit send of
initial metadata costs the server a batch of its own on every call.)"""

from __future__ import annotations

import contextvars
import functools
import itertools
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass

import grpc

from services.common import metrics
from services.common.errors import DomainError, internal_status
from services.common.logs import request_id_var

log = logging.getLogger("retailcare.calls")

REQUEST_ID_HEADER = "x-request-id"
# The user agent the pack's channels announce (services/common/clients.py).
PACK_USER_AGENT = "retailcare-pack"
current_context: contextvars.ContextVar[grpc.ServicerContext | None] = contextvars.ContextVar(
    "current_context", default=None
)

# (request streaming, response streaming) -> the handler attribute holding the behaviour
_ATTRIBUTES = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}


@dataclass(frozen=True)
class AccessLog:
    """Which finished calls get a log line: every one (``all``), a random share of the
    successful ones (``sampled``) or none of them (``errors``); a call that ends with any
    other status than OK is always logged. A line costs about a tenth of a cheap call."""

    mode: str = "all"
    share: float = 1.0

    @classmethod
    def from_settings(cls, settings) -> AccessLog:
        return cls(settings.access_log, settings.access_log_share)

    def wanted(self, code: grpc.StatusCode) -> bool:
        if code is not grpc.StatusCode.OK or self.mode == "all":
            return True
        return self.mode == "sampled" and random.random() < self.share


class _RequestIds:
    """Ids unique across processes and cheap to make: a random prefix per process (made
    again in a forked child) and a counter."""

    def __init__(self):
        self._reseed()
        if hasattr(os, "register_at_fork"):  # POSIX only
            os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self._prefix = os.urandom(6).hex()
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):08x}"


new_request_id = _RequestIds().next


def _split_method(full_method: str) -> tuple[str, str]:
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


class _MethodMetrics:
    """The labelled metric children of one method, looked up once instead of per call."""

    def __init__(self, labels: tuple[str, str, str]):
        self.labels = labels
        self.started = metrics.STARTED.labels(*labels)
        self.received = metrics.MSG_RECEIVED.labels(*labels)
        self.sent = metrics.MSG_SENT.labels(*labels)
        self.seconds = metrics.HANDLING_SECONDS.labels(*labels)
        self._handled: dict[grpc.StatusCode, object] = {}

    def handled(self, code: grpc.StatusCode):
        child = self._handled.get(code)
        if child is None:
            child = self._handled[code] = metrics.HANDLED.labels(*self.labels, metrics.code_label(code))
        return child


@functools.lru_cache(maxsize=1024)
def _method_metrics(grpc_type: str, full_method: str) -> _MethodMetrics:
    return _MethodMetrics((grpc_type, *_split_method(full_method)))


class _Call:
    """Book-keeping of one call from start to its final status."""

    def __init__(
        self, grpc_type: str, full_method: str, context: grpc.ServicerContext, access_log: AccessLog
    ):
        self.access_log = access_log
        self.metrics = _method_metrics(grpc_type, full_method)
        self.labels = self.metrics.labels
        self.full_method = full_method
        self.context = context
        self.given, self.echo = _given_request_id(context.invocation_metadata())
        self.request_id = self.given or new_request_id()
        self.started = time.perf_counter()
        self.metrics.started.inc()
        self._finishing = threading.Lock()  # finish() counts a call once

    def enter(self) -> list[contextvars.Token]:
        if self.echo:
            self.context.send_initial_metadata(((REQUEST_ID_HEADER, self.given),))
        return [request_id_var.set(self.request_id), current_context.set(self.context)]

    def count_received(self, request_or_iterator, request_streaming: bool):
        received = self.metrics.received
        if request_streaming:
            return _counted(request_or_iterator, received)
        received.inc()
        return request_or_iterator

    def fail(self, error: BaseException) -> None:
        """Turns an exception into the call's status; always raises."""
        if not self.context.is_active():
            # The caller cancelled or ran out of time, and whatever the handler then hit
            # (typically its request stream ending) is no error of ours: nobody is left
            # to tell, so end quietly with the code that says what happened.
            self.context.abort(self.gone_code(), "the caller went away")
        if isinstance(error, DomainError):
            self.context.abort_with_status(error.to_status())
        code = self.context.code()
        if code is not None and code != grpc.StatusCode.OK:
            raise error  # the handler aborted on purpose; its status stands
        error_id = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error",
            exc_info=error,
            extra={"error_id": error_id, "method": self.full_method},
        )
        self.context.abort_with_status(internal_status(error_id))

    def gone_code(self) -> grpc.StatusCode:
        """CANCELLED, or DEADLINE_EXCEEDED when the caller's deadline has passed."""
        remaining = self.context.time_remaining()
        if remaining is not None and remaining <= 0:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED

    def finish(self) -> None:
        if not self._finishing.acquire(blocking=False):
            return
        code = self.context.code()
        if code is None:
            code = grpc.StatusCode.OK if self.context.is_active() else self.gone_code()
        elapsed = time.perf_counter() - self.started
        self.metrics.handled(code).inc()
        self.metrics.seconds.observe(elapsed)
        # Probes call health every few seconds; their lines would drown the rest.
        level = logging.DEBUG if self.labels[1] == "grpc.health.v1.Health" else logging.INFO
        if not log.isEnabledFor(level) or not self.access_log.wanted(code):
            return
        log.log(
            level,
            "call",
            extra={"method": self.full_method, "code": code.name, "ms": round(elapsed * 1000, 2)},
        )


def _given_request_id(metadata) -> tuple[str, bool]:
    """The caller's request id ('' if none) and whether to echo it."""
    given, from_pack = "", False
    for key, value in metadata or ():
        if key == REQUEST_ID_HEADER:
            given = given or value
        elif key == "user-agent":
            from_pack = value.startswith(PACK_USER_AGENT)
    return given, bool(given) and not from_pack


def _counted(items: Iterator, counter) -> Iterator:
    for item in items:
        counter.inc()
        yield item


class ServerCallInterceptor(grpc.ServerInterceptor):
    """Wraps every handler with the call's book-keeping (and lets it return its reply
    serialised already, as bytes); with ``other_pool``, every call
    but the unary ones of ``short_calls`` runs on its threads instead of the server's
    (grpcio's ``experimental_thread_pool`` of a handler's behaviour), so open streams, long
    previews and health checks never take the threads of the short calls, nor wait for them."""

    def __init__(
        self,
        access_log: AccessLog | None = None,
        other_pool: futures.ThreadPoolExecutor | None = None,
        short_calls: frozenset[str] = frozenset(),
    ):
        self.access_log = access_log or AccessLog()
        self.other_pool = other_pool
        self.short_calls = short_calls

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        streaming = (handler.request_streaming, handler.response_streaming)
        grpc_type, attribute = metrics.GRPC_TYPES[streaming], _ATTRIBUTES[streaming]
        behavior = getattr(handler, attribute)
        method = handler_call_details.method
        wrapped = (_wrap_streaming if handler.response_streaming else _wrap_unary)(
            behavior, grpc_type, method, handler.request_streaming, self.access_log
        )
        short = method in self.short_calls and not (handler.request_streaming or handler.response_streaming)
        if self.other_pool is not None and not short:
            wrapped.experimental_thread_pool = self.other_pool
        return handler._replace(
            **{attribute: wrapped, "response_serializer": _sending_bytes(handler.response_serializer)}
        )


@functools.lru_cache(maxsize=1024)
def _sending_bytes(serialize: Callable | None) -> Callable | None:
    """The method's serializer, except that a reply a handler made serialised already (a
    large one assembled from cached parts, say) is sent as it is."""
    if serialize is None:
        return None

    def serialized(response):
        return response if type(response) is bytes else serialize(response)

    return serialized


def _wrap_unary(
    behavior: Callable, grpc_type: str, method: str, request_streaming: bool, access_log: AccessLog
):
    def call(request_or_iterator, context):
        tracked = _Call(grpc_type, method, context, access_log)
        tokens = tracked.enter()
        try:
            request_or_iterator = tracked.count_received(request_or_iterator, request_streaming)
            response = behavior(request_or_iterator, context)
            tracked.metrics.sent.inc()
            return response
        except BaseException as error:  # noqa: B036 - every failure must get a status
            tracked.fail(error)
        finally:
            tracked.finish()
            _reset(tokens)

    return call


def _wrap_streaming(
    behavior: Callable, grpc_type: str, method: str, request_streaming: bool, access_log: AccessLog
):
    def call(request_or_iterator, context):
        tracked = _Call(grpc_type, method, context, access_log)
        # When the caller cancels right after a response, grpcio stops driving this
        # generator without closing it; the call is then counted when the RPC ends.
        context.add_callback(tracked.finish)
        tokens = tracked.enter()
        sent = tracked.metrics.sent
        try:
            request_or_iterator = tracked.count_received(request_or_iterator, request_streaming)
            for response in behavior(request_or_iterator, context):
                sent.inc()
                yield response
        except GeneratorExit:  # the caller went away; nothing left to tell it
            raise
        except BaseException as error:  # noqa: B036 - every failure must get a status
            tracked.fail(error)
        finally:
            tracked.finish()
            _reset(tokens)

    return call


def _reset(tokens: list[contextvars.Token]) -> None:
    request_id_var.reset(tokens[0])
    current_context.reset(tokens[1])
