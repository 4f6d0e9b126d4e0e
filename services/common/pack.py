"""``retailcare up``: the whole pack on one machine, one process per service."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.auth import issue_development_tokens
from services.common.config import Settings
from services.common.declaration import PackDeclaration
from services.common.tls import open_plain_or_secure

READY_TIMEOUT_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Children get SIGTERM if ``up`` itself is killed, so none is left orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def ports_in_use(settings: Settings, names) -> list[str]:
    """The ports another process listens on. Like the servers (which bind with address
    reuse), the probe ignores connections of a stopped run still in TIME-WAIT."""
    problems = []
    for name in names:
        for kind, port in (("gRPC", settings.grpc_port(name)), ("HTTP", settings.http_port(name))):
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((settings.bind_host, port))
                except OSError:
                    problems.append(f"{name}: {kind} port {port} is already in use")
    return problems


def is_serving(target: str, timeout: float = 1.0, settings: Settings | None = None) -> bool:
    """Health check of one process; over TLS when ``settings`` configure it."""
    channel = (
        open_plain_or_secure(target, settings) if settings is not None else grpc.insecure_channel(target)
    )
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING


class Pack:
    def __init__(self, settings: Settings, pack: PackDeclaration, out=sys.stdout):
        self.settings = settings
        self.pack = pack
        self.start_order = pack.start_order
        self.out = out
        self.children: dict[str, subprocess.Popen] = {}
        self.stop_requested = threading.Event()

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def run(self) -> int:
        problems = ports_in_use(self.settings, self.start_order)
        if problems:
            for problem in problems:
                self.say(f"cannot start: {problem}")
            return 1
        self.tokens = self._development_tokens()
        try:
            for name in self.start_order:
                self.children[name] = subprocess.Popen(
                    [sys.executable, "-m", self.pack.cli_module, "serve", name],
                    preexec_fn=die_with_parent,
                    start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
                )
            if not self._wait_until_serving():
                return 1
            self._print_development_tokens()
            self._print_endpoints()
            return self._supervise()
        finally:
            self.stop_all()

    def _wait_until_serving(self) -> bool:
        started = time.monotonic()
        pending = list(self.start_order)
        while pending:
            if self.stop_requested.is_set():
                return False
            for name in list(pending):
                code = self.children[name].poll()
                if code is not None:
                    self.say(f"{name} exited with code {code} during start-up; stopping the pack")
                    return False
                if is_serving(self.settings.target(name), timeout=0.5, settings=self.settings):
                    pending.remove(name)
            if time.monotonic() - started > READY_TIMEOUT_SECONDS:
                self.say(f"not SERVING after {READY_TIMEOUT_SECONDS:.0f}s: {', '.join(pending)}")
                return False
            time.sleep(0.1)
        self.say(f"all {len(self.start_order)} processes SERVING in {time.monotonic() - started:.1f}s")
        return True

    def _print_endpoints(self) -> None:
        self.say(f"{'service':<16}{'gRPC':<22}{'metrics / probes':<34}pid")
        for name in self.start_order:
            host = self.settings.bind_host
            http = f"http://{host}:{self.settings.http_port(name)}/metrics"
            grpc_address = f"{host}:{self.settings.grpc_port(name)}"
            self.say(f"{name:<16}{grpc_address:<22}{http:<34}{self.children[name].pid}")
        self.say("Ctrl-C stops the pack.")

    def _development_tokens(self) -> dict[str, str]:
        """Fresh gateway tokens per role for each run, unless tokens are configured."""
        if self.settings.gateway_token_file or self.settings.gateway_tokens:
            return {}
        return issue_development_tokens(self.settings.gateway_token_path())

    def _print_development_tokens(self) -> None:
        if not self.tokens:
            return
        self.say(
            f"development tokens for the gateway (this run only; hashes in {self.settings.gateway_token_path()}):"
        )
        for role, token in self.tokens.items():
            self.say(f"  {role:<10}{token}")
        self.say("  e.g. grpcurl -plaintext -H 'authorization: Bearer TOKEN' 127.0.0.1:50051 list")
        self.say(
            f"  or sign in to the console: http://127.0.0.1:{self.settings.http_port('gateway')}/console/"
        )

    def _supervise(self) -> int:
        while not self.stop_requested.wait(0.2):
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    self.say(f"{name} exited unexpectedly with code {code}; stopping the pack")
                    return 1
        return 0

    def stop_all(self) -> None:
        running = {n: c for n, c in self.children.items() if c.poll() is None}
        for child in running.values():
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds + 10
        for name, child in running.items():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{name} did not stop in time; killing it")
                child.kill()
                child.wait()
        if running:
            self.say("pack stopped")


def up(settings: Settings, declaration: PackDeclaration) -> int:
    pack = Pack(settings, declaration)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: pack.stop_requested.set())
    return pack.run()
