"""The one bootstrap every process uses: build the gRPC server with health, reflection
and interceptors; bind; get ready (migrate, load rule sets); report SERVING; and on
SIGTERM/SIGINT report NOT_SERVING, let in-flight calls finish, then stop."""

from __future__ import annotations

import logging
import pathlib
import signal
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from services.common.auth import side_door_guard
from services.common.clients import KEEPALIVE_TIME_MS
from services.common.config import Settings, masked_url
from services.common.database import create_database_engine
from services.common.http_endpoints import HttpApp, HttpEndpoints
from services.common.interceptors import AccessLog, ServerCallInterceptor
from services.common.limits import LimitsInterceptor
from services.common.logs import configure_logging
from services.common.migrations import upgrade_to_head
from services.common.tls import add_port

log = logging.getLogger("retailcare.server")
MAX_CONNECTION_AGE_MS = 5 * 60 * 1000  # lets client-side round_robin rebalance in k8s


class StartupError(Exception):
    """Start-up failed for a reason the operator can fix; the message says which."""


@dataclass
class Runtime:
    """What a service's code gets from the kernel."""

    name: str
    settings: Settings
    engine: Engine | None = None
    rule_sets: Any = None  # the RuleSetRegistry of a service that owns rule sets
    use_cases: Any = None  # the service's use cases, used by its servicers and at start-up
    stop_callbacks: list[Callable[[], None]] = field(default_factory=list)
    # More conditions for /readyz besides SERVING, e.g. the gateway's downstream services.
    readiness_checks: list[Callable[[], bool]] = field(default_factory=list)
    # More pages on the HTTP port besides /metrics, /healthz, /readyz (the gateway's console).
    http_app: HttpApp | None = None

    def on_stop(self, callback: Callable[[], None]) -> None:
        self.stop_callbacks.append(callback)

    def register_collector(self, collector) -> None:
        """A Prometheus collector for this process's /metrics, removed when it stops."""
        REGISTRY.register(collector)
        self.on_stop(lambda: REGISTRY.unregister(collector))


@dataclass(frozen=True)
class ServiceDefinition:
    """A service: its name, its migrations, how to register its servicers (returns the
    full gRPC service names) and what must happen before it reports SERVING."""

    name: str
    register: Callable[[grpc.Server, Runtime], list[str]]
    migrations_dir: pathlib.Path | None = None
    prepare: Callable[[Runtime], None] | None = None
    # Interceptors after the kernel's own (which logs, counts and maps errors of every call).
    interceptors: Callable[[Settings], list[grpc.ServerInterceptor]] | None = None
    # A front door (the gateway) is called from outside the pack and checks its own
    # tokens; every other process demands the service token when one is configured.
    front_door: bool = False
    # Methods (full names, "/package.Service/Method") of short unary calls that only compute
    # and use the service's own database: `call_workers` threads serve them, and every
    # other call (streams, which hold a thread for as long as they are open, long previews,
    # administration, health checks) gets `max_workers` threads of its own, so none of
    # those can hold up the short calls or be held up by them. Work bound to the
    # interpreter lock goes faster on a few threads than on many.
    short_calls: frozenset[str] = frozenset()


class RunningService:
    def __init__(self, definition: ServiceDefinition, settings: Settings):
        self.definition = definition
        self.settings = settings
        self.runtime = Runtime(definition.name, settings)
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self._stopped = threading.Event()
        self._stop_requested = threading.Event()
        self._server: grpc.Server | None = None
        self._http: HttpEndpoints | None = None
        self._service_names: list[str] = []
        self._pools: tuple[futures.ThreadPoolExecutor, ...] = ()
        self.ready = False

    def start(self) -> RunningService:
        name = self.definition.name
        self._pools = thread_pools(self.settings, bool(self.definition.short_calls))
        calls, streams = self._pools
        if self.definition.migrations_dir is not None:
            threads = self.settings.max_workers + (self.settings.call_workers if calls is not streams else 0)
            self.runtime.engine = create_database_engine(self.settings.database_url(name), threads)
        server = grpc.server(
            calls,
            interceptors=[
                ServerCallInterceptor(
                    AccessLog.from_settings(self.settings),
                    streams if calls is not streams else None,
                    self.definition.short_calls,
                ),
                *side_door_guard(self.settings, self.definition.front_door),
                *self._extra_interceptors(),
                LimitsInterceptor(),
            ],
            maximum_concurrent_rpcs=self.settings.max_concurrent_rpcs,
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", self.settings.max_message_bytes),
                ("grpc.max_send_message_length", self.settings.max_message_bytes),
                ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
                # Callers' keepalive pings (services/common/clients.py) are welcome.
                ("grpc.http2.min_ping_interval_without_data_ms", KEEPALIVE_TIME_MS // 2),
                (
                    "grpc.max_connection_age_grace_ms",
                    int(self.settings.shutdown_grace_seconds * 1000),
                ),
            ],
        )
        self._service_names = self.definition.register(server, self.runtime)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        reflection.enable_server_reflection(
            [*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
        grpc_port = self.settings.grpc_port(name)
        address = f"{self.settings.bind_host}:{grpc_port}"
        try:
            add_port(server, address, self.settings)
        except RuntimeError:
            raise StartupError(f"{name}: gRPC port {grpc_port} is already in use ({address})") from None
        http_port = self.settings.http_port(name)
        try:
            self._http = HttpEndpoints(
                self.settings.bind_host, http_port, self._is_ready, self.runtime.http_app
            )
        except OSError as error:
            raise StartupError(f"{name}: HTTP port {http_port} cannot be used ({error.strerror})") from None
        self._server = server
        server.start()
        self._http.start()
        log.info("listening", extra={"grpc_port": grpc_port, "http_port": http_port})
        self._prepare()
        return self

    def _is_ready(self) -> bool:
        return self.ready and all(check() for check in self.runtime.readiness_checks)

    def _extra_interceptors(self) -> list[grpc.ServerInterceptor]:
        make = self.definition.interceptors
        return make(self.settings) if make is not None else []

    def _prepare(self) -> None:
        if self.definition.migrations_dir is not None:
            try:
                upgrade_to_head(self.definition.migrations_dir, self.runtime.engine)
            except DBAPIError as error:  # the first use of the database: unreachable, or refused
                raise StartupError(
                    database_problem(self.definition.name, self.runtime.engine, error)
                ) from None
        if self.definition.prepare is not None:
            self.definition.prepare(self.runtime)
        self.ready = True
        self._set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving")

    def _set_health(self, status) -> None:
        for service_name in ["", *self._service_names]:
            self.health.set(service_name, status)

    def request_stop(self) -> None:
        self._stop_requested.set()

    def wait(self) -> None:
        """Blocks until a stop is requested, then stops gracefully."""
        while not self._stop_requested.wait(0.5):
            pass
        self.stop()

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.ready = False
        self.health.enter_graceful_shutdown()
        log.info("draining", extra={"grace_seconds": self.settings.shutdown_grace_seconds})
        if self._server is not None:
            time.sleep(self.settings.drain_seconds)
            self._server.stop(self.settings.shutdown_grace_seconds).wait()
        for pool in set(self._pools):
            pool.shutdown(wait=False)
        for callback in reversed(self.runtime.stop_callbacks):
            callback()
        if self._http is not None:
            self._http.stop()
        if self.runtime.engine is not None:
            self.runtime.engine.dispose()
        log.info("stopped")


def thread_pools(
    settings: Settings, short_calls: bool
) -> tuple[futures.ThreadPoolExecutor, futures.ThreadPoolExecutor]:
    """The threads of the short calls and those of the others: one pool of `max_workers`,
    or for a service that names short calls `call_workers` threads for them beside it."""
    if not short_calls or settings.call_workers == 0:
        shared = futures.ThreadPoolExecutor(settings.max_workers, thread_name_prefix="grpc")
        return shared, shared
    return (
        futures.ThreadPoolExecutor(settings.call_workers, thread_name_prefix="grpc-call"),
        futures.ThreadPoolExecutor(settings.max_workers, thread_name_prefix="grpc-stream"),
    )


def database_problem(name: str, engine: Engine, error: DBAPIError) -> str:
    """One line naming the database (without its password) and what went wrong."""
    reason = str(error.orig or error).strip().splitlines()[0]
    if engine.url.password:
        reason = reason.replace(str(engine.url.password), "***")
    return f"{name}: cannot use the database {masked_url(engine.url)}: {reason}"


def serve_forever(definition: ServiceDefinition, settings: Settings) -> None:
    """Runs one service in this process until SIGTERM or SIGINT."""
    configure_logging(definition.name, settings.log_level)
    running = RunningService(definition, settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: running.request_stop())
    try:
        running.start()
    except BaseException:
        running.stop()
        raise
    running.wait()
