"""deploy/compose.yaml played without a container engine: the same start order, the same
commands and the same environment each container gets (the image's ENV from the
Dockerfile, then the service's ``environment``), with only what a host cannot share
rewritten - database URLs point at a fresh database on the local PostgreSQL server,
service host names at 127.0.0.1, ports at free ones."""

from __future__ import annotations

import contextlib
import json
import pathlib
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import yaml
from sqlalchemy.engine import make_url

from services.common.pack import is_serving
from services.composition import PACK
from tests.support.databases import POSTGRES_URL
from tests.support.ports import free_port
from tests.support.services import child_environment

DEPLOY = pathlib.Path(__file__).resolve().parents[3] / "deploy"
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def load_compose(environ: dict[str, str] | None = None) -> dict:
    """compose.yaml with ``${NAME:-default}`` filled in the way compose does it: in the
    parsed values, from ``environ`` (none by default, so the file's defaults)."""
    environ = environ or {}

    def fill(value):
        if isinstance(value, str):
            return _VARIABLE.sub(lambda m: environ.get(m.group(1)) or (m.group(2) or ""), value)
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return value

    return fill(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


@dataclass(frozen=True)
class Image:
    entrypoint: list[str]
    env: dict[str, str]


def load_image() -> Image:
    """ENTRYPOINT and ENV of deploy/Dockerfile."""
    entrypoint: list[str] = []
    env: dict[str, str] = {}
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        instruction, _, rest = line.partition(" ")
        if instruction == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif instruction == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
    return Image(entrypoint, env)


def start_order(services: dict) -> list[str]:
    """Compose's order: every service after the ones it depends on."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle {path + (name,)}"
        if name in ordered:
            return
        for dependency in depends_on(services[name]):
            visit(dependency, (*path, name))
        ordered.append(name)

    for name in services:
        visit(name, ())
    return ordered


def depends_on(service: dict) -> dict[str, str]:
    """dependency -> condition (the short list form means service_started)."""
    raw = service.get("depends_on", {})
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in raw.items()}


@dataclass
class Replay:
    """What a replay started: where each process listens and its output files."""

    database: str
    workdir: pathlib.Path
    grpc_ports: dict[str, int]
    http_ports: dict[str, int]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)

    def grpc_target(self, name: str) -> str:
        return f"127.0.0.1:{self.grpc_ports[name]}"

    def metrics_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http_ports[name]}/metrics"

    def output(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def admin_connection(self) -> psycopg.Connection:
        return psycopg.connect(_server_url(self.database), autocommit=True)


def _server_url(database: str) -> str:
    url = make_url(POSTGRES_URL.replace("postgresql+psycopg", "postgresql")).set(database=database)
    return url.render_as_string(hide_password=False)


class ComposeReplay:
    def __init__(self, workdir: pathlib.Path):
        self.compose = load_compose()
        self.services: dict = self.compose["services"]
        self.image = load_image()
        self.postgres = self.services["postgres"]["environment"]
        self.replay = Replay(
            database=f"rc_{uuid.uuid4().hex[:12]}",
            workdir=workdir,
            grpc_ports={name: free_port() for name in PACK.default_ports},
            http_ports={name: free_port() for name in PACK.default_ports},
        )

    # -- what each container would get ---------------------------------------------------

    def environment(self, name: str) -> dict[str, str]:
        env = dict(self.image.env)
        env.update({key: str(value) for key, value in self.services[name].get("environment", {}).items()})
        for key, value in list(env.items()):
            if key.endswith("_DATABASE_URL"):
                env[key] = self._local_database_url(value)
            elif key.endswith("_TARGET"):
                env[key] = self._local_target(value)
        env["RETAILCARE_BIND_HOST"] = "127.0.0.1"
        env["RETAILCARE_DATA_DIR"] = str(self.replay.workdir / f"{name}-data")
        for service in PACK.default_ports:
            env[f"RETAILCARE_{service.upper()}_GRPC_PORT"] = str(self.replay.grpc_ports[service])
            env[f"RETAILCARE_{service.upper()}_HTTP_PORT"] = str(self.replay.http_ports[service])
        return env

    def _local_database_url(self, value: str) -> str:
        url = make_url(value)
        assert (url.host, url.port) == ("postgres", 5432), f"{value}: not the compose PostgreSQL"
        assert url.database == self.postgres["POSTGRES_DB"], f"{value}: not POSTGRES_DB"
        assert (url.username, url.password) == (
            self.postgres["POSTGRES_USER"],
            self.postgres["POSTGRES_PASSWORD"],
        ), f"{value}: not the compose credentials"
        local = make_url(POSTGRES_URL)
        return url.set(
            username=local.username,
            password=local.password,
            host=local.host,
            port=local.port,
            database=self.replay.database,
        ).render_as_string(hide_password=False)

    def _local_target(self, value: str) -> str:
        host, _, port = value.rpartition(":")
        assert host in PACK.default_ports and int(port) == PACK.default_ports[host][0], (
            f"{value}: not a service"
        )
        return self.replay.grpc_target(host)

    def command(self, name: str) -> list[str]:
        entrypoint = self.image.entrypoint
        assert entrypoint == ["retailcare"], entrypoint
        script = pathlib.Path(sys.executable).parent / "retailcare"
        return [str(script), *self.services[name]["command"]]

    # -- the sequence ------------------------------------------------------------------

    def create_database(self) -> None:
        """What the postgres image does on an empty volume: create POSTGRES_DB, then run
        the scripts mounted in /docker-entrypoint-initdb.d in it."""
        with psycopg.connect(_server_url(make_url(POSTGRES_URL).database), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.replay.database}"')
        with self.replay.admin_connection() as connection:
            for script in self.init_scripts():
                connection.execute(script.read_text())

    def init_scripts(self) -> list[pathlib.Path]:
        scripts = []
        for volume in self.services["postgres"].get("volumes", []):
            source, _, target = volume.partition(":")
            if target.startswith("/docker-entrypoint-initdb.d/"):
                scripts.append(DEPLOY / source)
        return sorted(scripts, key=lambda path: path.name)

    def drop_database(self) -> None:
        with psycopg.connect(_server_url(make_url(POSTGRES_URL).database), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.replay.database}" WITH (FORCE)')

    def ours(self) -> list[str]:
        """The services built from the pack's image, in start order."""
        return [name for name in start_order(self.services) if "build" in self.services[name]]

    def start(self, name: str) -> subprocess.Popen:
        for dependency, condition in depends_on(self.services[name]).items():
            if condition == "service_completed_successfully":
                assert self.replay.exit_codes.get(dependency) == 0, f"{name} needs {dependency} done"
            elif condition == "service_healthy" and dependency in self.replay.processes:
                self.wait_healthy(dependency)
        log = (self.replay.workdir / f"{name}.log").open("w")
        process = subprocess.Popen(
            self.command(name),
            env=child_environment(self.environment(name)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.replay.processes[name] = process
        return process

    def run_to_completion(self, name: str, timeout: float = 120) -> int:
        process = self.start(name)
        code = process.wait(timeout=timeout)
        self.replay.exit_codes[name] = code
        assert code == 0, f"{name} exited with {code}:\n{self.replay.output(name)}"
        return code

    def wait_serving(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        process = self.replay.processes[name]
        while time.monotonic() < deadline:
            assert process.poll() is None, (
                f"{name} exited with {process.returncode}:\n{self.replay.output(name)}"
            )
            if is_serving(self.replay.grpc_target(name), timeout=0.5):
                return
            time.sleep(0.2)
        raise AssertionError(f"{name} not SERVING after {timeout}s:\n{self.replay.output(name)}")

    def healthcheck(self, name: str) -> list[str]:
        """The service's healthcheck command, its ``python`` this interpreter and its
        container port the one the replay gave the service."""
        kind, program, *args = self.services[name]["healthcheck"]["test"]
        assert (kind, program) == ("CMD", "python")
        container_port, host_port = PACK.default_ports[name][1], self.replay.http_ports[name]
        return [sys.executable, *(arg.replace(f":{container_port}/", f":{host_port}/") for arg in args)]

    def wait_healthy(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while subprocess.run(self.healthcheck(name), capture_output=True).returncode != 0:
            process = self.replay.processes[name]
            assert process.poll() is None, (
                f"{name} exited with {process.returncode}:\n{self.replay.output(name)}"
            )
            assert time.monotonic() < deadline, (
                f"{name} not healthy after {timeout}s:\n{self.replay.output(name)}"
            )
            time.sleep(0.5)

    def stop_all(self) -> None:
        for process in self.replay.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.replay.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def compose_up(workdir: pathlib.Path) -> Iterator[tuple[ComposeReplay, Replay]]:
    """Creates the database, runs the one-shot services (``restart: "no"``) to completion
    and starts the long-running ones in compose's order; all SERVING when this yields."""
    compose = ComposeReplay(workdir)
    compose.create_database()
    try:
        long_running = []
        for name in compose.ours():
            if compose.services[name].get("restart") == "no":
                compose.run_to_completion(name)
            else:
                compose.start(name)
                long_running.append(name)
        for name in long_running:
            compose.wait_serving(name)
        yield compose, compose.replay
    finally:
        compose.stop_all()
        compose.drop_database()
