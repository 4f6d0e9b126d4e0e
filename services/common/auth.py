"""Bearer tokens and roles: who may call which method of a server.

Tokens are kept only as SHA-256 hashes, from configuration entries and from a token
file that is read again when it changes (tokens are added and revoked without a
restart). One interceptor checks each call against a permission table that the process
supplies; anything the table does not grant is refused. Refusals are counted by reason
and logged without the token."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pathlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from prometheus_client import Counter

from services.common.config import ConfigError, Settings
from services.common.errors import build_status

log = logging.getLogger("retailcare.auth")

ROLES = ("service", "analyst", "ops", "admin")
AUTHORIZATION_HEADER = "authorization"
BEARER = "bearer "
TOKEN_FILE_CHECK_SECONDS = 1.0

REFUSED = Counter(
    "grpc_server_refused_total",
    "Calls refused before reaching a handler, by reason.",
    ["grpc_service", "grpc_method", "reason"],
)


class TokenFileError(ValueError):
    """A line of a token file or a configured entry that cannot be read."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Grant:
    role: str
    label: str = ""


def parse_entries(lines: Iterable[str], source: str) -> dict[str, Grant]:
    """``ROLE SHA256-HEX [LABEL]`` per line (``#`` starts a comment) -> hash -> grant."""
    grants: dict[str, Grant] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(maxsplit=2)
        if len(parts) < 2:
            raise TokenFileError(f"{source}:{number}: expected 'ROLE SHA256-HEX [LABEL]'")
        role, digest = parts[0], parts[1].lower().removeprefix("sha256:")
        if role not in ROLES:
            raise TokenFileError(f"{source}:{number}: unknown role {role!r} (roles: {', '.join(ROLES)})")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise TokenFileError(f"{source}:{number}: not a SHA-256 hex digest")
        grants[digest] = Grant(role, parts[2] if len(parts) > 2 else "")
    return grants


class TokenStore:
    """Hash -> role, from fixed entries plus a file that is re-read when it changes."""

    def __init__(self, entries: Mapping[str, Grant], path: pathlib.Path | None = None):
        self._fixed = dict(entries)
        self._path = path
        self._from_file: dict[str, Grant] = {}
        self._file_stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._refresh(force=True)

    def grant_for(self, token: str) -> Grant | None:
        self._refresh()
        digest = hash_token(token)
        return self._fixed.get(digest) or self._from_file.get(digest)

    def __len__(self) -> int:
        self._refresh()
        return len(self._fixed) + len(self._from_file)

    def _refresh(self, force: bool = False) -> None:
        if self._path is None:
            return
        now = time.monotonic()
        if not force and now - self._checked_at < TOKEN_FILE_CHECK_SECONDS:
            return
        with self._lock:
            self._checked_at = now
            try:
                stat = os.stat(self._path)
            except FileNotFoundError:
                if self._from_file:
                    log.warning("token file gone; its tokens are refused", extra={"path": str(self._path)})
                self._from_file, self._file_stamp = {}, None
                return
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._file_stamp:
                return
            try:
                text = self._path.read_text(encoding="utf-8")
                self._from_file = parse_entries(text.splitlines(), str(self._path))
            except (OSError, TokenFileError) as error:
                # Keep what was loaded before: a half-edited file must not lock everyone out.
                log.error("token file not reloaded", extra={"path": str(self._path), "error": str(error)})
                return
            self._file_stamp = stamp
            log.info("token file loaded", extra={"path": str(self._path), "tokens": len(self._from_file)})


def add_token(path: pathlib.Path, role: str, label: str) -> str:
    """Makes a new token for ``role``, appends its hash to the token file and returns
    the token itself, which is shown once and stored nowhere."""
    if role not in ROLES:
        raise TokenFileError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if any(c.isspace() for c in label):
        raise TokenFileError("a label has no spaces")
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(f"{role} {hash_token(token)} {label}\n")
    os.chmod(path, 0o600)
    return token


def revoke_tokens(path: pathlib.Path, label: str) -> int:
    """Removes the tokens with this label from the token file; returns how many."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split("#", 1)[0].split()[2:3] != [label]]
    path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    return len(lines) - len(kept)


def issue_development_tokens(path: pathlib.Path) -> dict[str, str]:
    """One fresh token per role for a development pack; replaces the file's tokens."""
    path.unlink(missing_ok=True)
    return {role: add_token(path, role, f"development-{role}") for role in ROLES}


@dataclass(frozen=True)
class Refusal:
    code: grpc.StatusCode
    reason: str
    message: str


def _bearer_token(metadata) -> str | None:
    for key, value in metadata or ():
        if key == AUTHORIZATION_HEADER:
            return value[len(BEARER) :].strip() if value[: len(BEARER)].lower() == BEARER else ""
    return None


class Authorizer:
    """Decides one call: ``allowed_roles(method)`` gives the roles that may call a full
    method name (empty: nobody); ``public`` methods need no token at all."""

    def __init__(
        self,
        tokens: TokenStore,
        allowed_roles: Callable[[str], frozenset[str]],
        public: frozenset[str] = frozenset(),
    ):
        self.tokens = tokens
        self.allowed_roles = allowed_roles
        self.public = public

    def refusal(self, method: str, metadata) -> Refusal | None:
        if method in self.public:
            return None
        token = _bearer_token(metadata)
        if token is None:
            return Refusal(
                grpc.StatusCode.UNAUTHENTICATED, "missing_token", "send authorization: Bearer <token>"
            )
        if not token:
            return Refusal(
                grpc.StatusCode.UNAUTHENTICATED, "malformed_token", "authorization must be 'Bearer <token>'"
            )
        grant = self.tokens.grant_for(token)
        if grant is None:
            return Refusal(grpc.StatusCode.UNAUTHENTICATED, "unknown_token", "the token is not valid")
        allowed = self.allowed_roles(method)
        if grant.role not in allowed:
            return Refusal(
                grpc.StatusCode.PERMISSION_DENIED,
                "role_not_allowed",
                f"role {grant.role} may not call {method} (roles that may: {', '.join(sorted(allowed)) or 'none'})",
            )
        return None


class AuthInterceptor(grpc.ServerInterceptor):
    """Refuses calls the authorizer refuses, before the handler runs."""

    def __init__(self, authorizer: Authorizer):
        self.authorizer = authorizer

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        refusal = self.authorizer.refusal(method, handler_call_details.invocation_metadata)
        if refusal is None:
            return handler
        service, _, name = method.lstrip("/").rpartition("/")
        REFUSED.labels(service, name, refusal.reason).inc()
        log.warning("refused", extra={"method": method, "reason": refusal.reason})
        return _refusing(handler, refusal)


def _refusing(handler: grpc.RpcMethodHandler, refusal: Refusal) -> grpc.RpcMethodHandler:
    info = error_details_pb2.ErrorInfo(reason=refusal.reason.upper(), domain="retailcare")
    status = build_status(refusal.code, refusal.message, [info])

    def refuse(request, context):
        context.abort_with_status(status)

    def refuse_streaming(request, context):
        context.abort_with_status(status)
        yield  # pragma: no cover - abort raises; this makes the function a generator

    if handler.response_streaming:
        attribute = "stream_stream" if handler.request_streaming else "unary_stream"
        return handler._replace(**{attribute: refuse_streaming})
    attribute = "stream_unary" if handler.request_streaming else "unary_unary"
    return handler._replace(**{attribute: refuse})


# -- between the processes of the pack ---------------------------------------------------
SERVICE_TOKEN_HEADER = "x-retailcare-service-token"
_HEALTH_PREFIX = "/grpc.health.v1.Health/"


def read_service_token(settings: Settings) -> str:
    """The pack's service token from ``service_token_file``; empty when none is set."""
    path = settings.service_token_file
    if not path:
        return ""
    try:
        token = pathlib.Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"service_token_file: cannot read {path}: {error.strerror}") from None
    if not token:
        raise ConfigError(f"service_token_file: {path} is empty")
    return token


class ServiceTokenInterceptor(grpc.ServerInterceptor):
    """Refuses every call but health checks that does not show the pack's service token:
    with it configured, only the gateway and the other services get in."""

    def __init__(self, token: str):
        self._digest = hash_token(token)

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_HEALTH_PREFIX):
            return handler
        shown = dict(handler_call_details.invocation_metadata or ()).get(SERVICE_TOKEN_HEADER)
        if shown is not None and hmac.compare_digest(hash_token(shown), self._digest):
            return handler
        reason = "missing_service_token" if shown is None else "wrong_service_token"
        service, _, name = method.lstrip("/").rpartition("/")
        REFUSED.labels(service, name, reason).inc()
        log.warning("refused", extra={"method": method, "reason": reason})
        message = "this service takes calls only from the gateway and the other services"
        return _refusing(handler, Refusal(grpc.StatusCode.UNAUTHENTICATED, reason, message))


def side_door_guard(settings: Settings, front_door: bool) -> list[grpc.ServerInterceptor]:
    """The service-token check for a process behind the gateway, when configured."""
    token = read_service_token(settings)
    return [ServiceTokenInterceptor(token)] if token and not front_door else []
