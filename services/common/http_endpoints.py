"""The per-process HTTP port: /metrics for Prometheus, /healthz (alive), /readyz (SERVING),
and whatever a process adds (the gateway's web console) as an ``HttpApp``."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger("retailcare.http")

MAX_BODY_BYTES = 1024 * 1024
# A refused body up to this size is read and dropped before the 413; a larger one closes.
MAX_DISCARDED_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


# Answers the requests it serves; None for a path it does not serve.
HttpApp = Callable[[HttpRequest], HttpReply | None]


class _Server(ThreadingHTTPServer):
    # Binds although connections of a run just stopped (or a scrape) are in TIME-WAIT;
    # a port another process listens on is still refused.
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that went away mid-request is no news; anything else is logged through
        the process's logs (the standard library prints a bare traceback on stderr)."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("HTTP client went away", extra={"error": type(error).__name__})
            return
        log.error("HTTP request failed", exc_info=error)


class HttpEndpoints:
    def __init__(self, host: str, port: int, is_ready: Callable[[], bool], app: HttpApp | None = None):
        handler = _handler_class(is_ready, app)
        self._server = _Server((host, port), handler)  # OSError when taken
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_class(is_ready: Callable[[], bool], app: HttpApp | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 30  # seconds a silent client may hold a connection's thread

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if self._by_app(b""):
                return
            if path == "/metrics":
                self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._reply(200, b"ok\n")
            elif path == "/readyz":
                ready = is_ready()
                self._reply(200 if ready else 503, b"ready\n" if ready else b"not ready\n")
            else:
                self._reply(404, b"not found; try /metrics, /healthz or /readyz\n")

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY_BYTES:
                self.close_connection = True
                if length > 0:
                    self._discard(length)
                self._reply(413 if length > 0 else 400, b"a body of at most 1 MiB, with its Content-Length\n")
                return
            if not self._by_app(self.rfile.read(length)):
                self._reply(404, b"not found\n")

        def _discard(self, length: int) -> None:
            """Reads and drops a refused body of moderate size, so that a client still
            sending it reads the 413 instead of a broken pipe."""
            left = length if length <= MAX_DISCARDED_BYTES else 0
            while left > 0:
                try:
                    chunk = self.rfile.read(min(left, 64 * 1024))
                except OSError:  # a client that stopped sending
                    return
                if not chunk:
                    return
                left -= len(chunk)

        def _by_app(self, body: bytes) -> bool:
            """Lets the process's app answer; False when it does not serve the path."""
            if app is None:
                return False
            path, _, query = self.path.partition("?")
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = app(HttpRequest(self.command, path, query, headers, body))
            if reply is None:
                return False
            self._reply(reply.status, reply.body, reply.content_type, reply.headers)
            return True

        def _reply(
            self, status: int, body: bytes, content_type: str = "text/plain", headers: tuple = ()
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:  # noqa: A002 - scrapes are not news
            return

    return Handler
