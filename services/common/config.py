"""Configuration: documented defaults, overridden by an optional YAML file, then by
environment variables (``RETAILCARE_<KEY>``). Unknown keys and malformed values stop
start-up with one line naming them."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from services.common.leased_jobs import SETTLING_SECONDS

if TYPE_CHECKING:
    from services.common.declaration import PackDeclaration

ENV_PREFIX = "RETAILCARE_"
CONFIG_FILE_ENV = "RETAILCARE_CONFIG"
# Variables under this prefix belong to the test suite, not to a running service.
TEST_ENV_PREFIX = "RETAILCARE_TEST_"

MAX_PORT = 65535
DATABASE_SCHEMES = {"sqlite", "postgresql", "postgresql+psycopg"}


class ConfigError(Exception):
    """A configuration problem, phrased for the person starting the service."""


@dataclass(frozen=True)
class Option:
    kind: type
    default: Any
    doc: str
    secret: bool = False  # `retailcare config` shows whether it is set, not its value


def options(pack: PackDeclaration) -> dict[str, Option]:
    """Every configuration key of the pack: the common ones and each service's ports,
    target and (when it has one) database URL."""
    options = {
        "data_dir": Option(str, "data", "folder for the SQLite files of the embedded default"),
        "log_level": Option(str, "INFO", "DEBUG, INFO, WARNING or ERROR"),
        "bind_host": Option(str, "127.0.0.1", "address the servers listen on (0.0.0.0 in a pod)"),
        "shutdown_grace_seconds": Option(float, 10.0, "time in-flight calls get after SIGTERM"),
        "drain_seconds": Option(float, 1.0, "NOT_SERVING is reported this long before stopping"),
        "max_workers": Option(int, 16, "threads serving gRPC calls per process"),
        "call_workers": Option(
            int,
            2,
            "threads serving the unary calls of a service whose calls only compute and read its "
            "own database (classification), beside max_workers threads for its streams (0: one pool)",
        ),
        "max_concurrent_rpcs": Option(int, 256, "calls beyond this get RESOURCE_EXHAUSTED"),
        "max_message_bytes": Option(int, 4 * 1024 * 1024, "largest request or response"),
        "rules_poll_seconds": Option(float, 0.5, "how often a process checks for a new version"),
        "rules_serve_from": Option(
            str, "generated", "generated (the checked Python function) or durable (durable-rules alone)"
        ),
        "rules_shadow_share": Option(
            float, 0.01, "share of served decisions checked again through durable-rules (0 to 1)"
        ),
        "descriptions_cache_seconds": Option(
            float,
            5.0,
            "how old classification's copy of the service descriptions for menus may get: a change "
            "is seen at once by the replica that made it, by the others within this time (0: no copy)",
        ),
        "reclassification_batch_size": Option(
            int, 1000, "customers per batch of the reclassification after an activation (0: none)"
        ),
        "job_settling_seconds": Option(
            float,
            SETTLING_SECONDS,
            "how long after an activation (plus two rule polls) its job (reclassification, "
            "re-scoring, complaint-policy following) keeps a last pass over what a replica that "
            "had not loaded the version yet may have written on the old one",
        ),
        "access_log": Option(
            str,
            "sampled",
            "which calls get an access log line: all, sampled or errors (failures are always logged)",
        ),
        "access_log_share": Option(
            float, 0.01, "share of successful calls logged when access_log is sampled"
        ),
        "escalation_sweep_seconds": Option(
            float, 30.0, "how often complaints checks deadlines and escalates"
        ),
        "card_follow_seconds": Option(
            float,
            2.0,
            "how often evaluation follows classification's changes into commitment cards (0: never)",
        ),
        "downstream_timeout_seconds": Option(
            float, 5.0, "deadline for calls to other services when the caller set none"
        ),
        "tls_cert_file": Option(
            str, "", "PEM certificate: with tls_key_file every gRPC port speaks TLS only"
        ),
        "tls_key_file": Option(str, "", "PEM private key of tls_cert_file"),
        "tls_client_ca_file": Option(
            str, "", "PEM CA: servers demand client certificates it signed (mutual TLS)"
        ),
        "tls_ca_file": Option(str, "", "PEM CA that channels to the other services trust (turns TLS on)"),
        "service_token_file": Option(
            str,
            "",
            "file with the token the processes show each other; services then refuse calls without it",
        ),
        "gateway_token_file": Option(
            str, "", "file of gateway token hashes, re-read on change (default <data_dir>/gateway-tokens)"
        ),
        "gateway_tokens": Option(
            str, "", "more gateway tokens: 'ROLE SHA256-HEX [LABEL]' entries, comma-separated", secret=True
        ),
    }
    for name, (grpc_port, http_port) in pack.default_ports.items():
        options[f"{name}_grpc_port"] = Option(int, grpc_port, f"gRPC port of {name}")
        options[f"{name}_http_port"] = Option(int, http_port, f"metrics and probe port of {name}")
        options[f"{name}_target"] = Option(
            str, "", f"address callers use for {name} (default 127.0.0.1:<grpc port>)"
        )
    for name in pack.with_database:
        options[f"{name}_database_url"] = Option(
            str, "", f"SQLAlchemy URL of {name}'s database (default SQLite in data_dir)"
        )
    return options


class Settings:
    """Resolved configuration; read values as attributes (``settings.data_dir``)."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def grpc_port(self, service: str) -> int:
        return self._values[f"{service}_grpc_port"]

    def http_port(self, service: str) -> int:
        return self._values[f"{service}_http_port"]

    def target(self, service: str) -> str:
        return self._values[f"{service}_target"] or f"127.0.0.1:{self.grpc_port(service)}"

    def gateway_token_path(self) -> pathlib.Path:
        return pathlib.Path(
            self._values["gateway_token_file"] or pathlib.Path(self.data_dir) / "gateway-tokens"
        )

    def database_url(self, service: str) -> URL:
        raw = self._values[f"{service}_database_url"]
        if not raw:
            path = pathlib.Path(self.data_dir).resolve() / f"{service}.db"
            return make_url(f"sqlite:///{path}")
        return parse_database_url(f"{service}_database_url", raw)


def parse_database_url(key: str, raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"{key}: malformed database URL {raw!r}") from None
    if url.drivername not in DATABASE_SCHEMES:
        raise ConfigError(
            f"{key}: unsupported database {url.drivername!r} in {raw!r} "
            f"(use sqlite:///PATH or postgresql://USER@HOST:PORT/DB)"
        )
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername.startswith("postgresql") and not url.database:
        raise ConfigError(f"{key}: the database URL {raw!r} names no database")
    return url


def _convert(options: Mapping[str, Option], key: str, raw: Any, source: str) -> Any:
    kind = options[key].kind
    if isinstance(raw, kind) and not isinstance(raw, bool):
        value = raw
    else:
        try:
            value = kind(str(raw).strip())
        except ValueError:
            raise ConfigError(f"{source}: {key} must be {kind.__name__}, got {raw!r}") from None
    if key.endswith("_port") and not 1 <= value <= MAX_PORT:
        raise ConfigError(f"{source}: {key} must be a port from 1 to {MAX_PORT}, got {raw!r}")
    return value


def shown(options: Mapping[str, Option], key: str, value: Any) -> str:
    """A value as `retailcare config` prints it: secrets and database passwords masked."""
    if options[key].secret and value:
        return "(set)"
    if key.endswith("_database_url") and value:
        return masked_url(make_url(value))
    return str(value)


def masked_url(url: URL) -> str:
    """A database URL fit for a message or a log line: the password replaced by ***."""
    return url.render_as_string(hide_password=True)


def load_settings(
    pack: PackDeclaration,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    known = options(pack)
    values = {key: option.default for key, option in known.items()}
    config_path = environ.get(CONFIG_FILE_ENV)
    if config_path:
        for key, raw in _read_config_file(config_path).items():
            if key not in known:
                raise ConfigError(f"{config_path}: unknown configuration key {key!r}")
            values[key] = _convert(known, key, raw, config_path)
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_FILE_ENV:
            continue
        if name.startswith(TEST_ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in known:
            raise ConfigError(f"unknown configuration key {name}")
        values[key] = _convert(known, key, raw, name)
    for key, raw in (overrides or {}).items():
        values[key] = _convert(known, key, raw, "override")
    settings = Settings(values)
    for service in pack.with_database:
        settings.database_url(service)  # fail now, naming the key, not at first query
    if values["rules_serve_from"] not in {"generated", "durable"}:
        raise ConfigError(
            f"rules_serve_from must be generated or durable, got {values['rules_serve_from']!r}"
        )
    if not 0 <= values["rules_shadow_share"] <= 1:
        raise ConfigError(f"rules_shadow_share must be from 0 to 1, got {values['rules_shadow_share']!r}")
    if values["call_workers"] < 0:
        raise ConfigError(f"call_workers must be 0 or more, got {values['call_workers']!r}")
    if values["access_log"] not in {"all", "sampled", "errors"}:
        raise ConfigError(f"access_log must be all, sampled or errors, got {values['access_log']!r}")
    if not 0 <= values["access_log_share"] <= 1:
        raise ConfigError(f"access_log_share must be from 0 to 1, got {values['access_log_share']!r}")
    if values["log_level"].upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"log_level must be DEBUG, INFO, WARNING or ERROR, got {values['log_level']!r}")
    return settings


def _read_config_file(path: str) -> dict[str, Any]:
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read configuration file {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of key: value")
    return data
