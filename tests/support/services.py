"""Real services on loopback for tests, in this process or as child processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import grpc

from services.common.config import load_settings
from services.common.pack import is_serving
from services.common.server import RunningService, ServiceDefinition
from services.composition import PACK
from tests.support.clock import clock_environment
from tests.support.ports import pack_environment


def settings_for(data_dir, **values):
    env = pack_environment(str(data_dir))
    env["RETAILCARE_SHUTDOWN_GRACE_SECONDS"] = "5"
    # Jobs complete two rule polls after their activation, not five seconds more (the test
    # of a replica writing on an old version sets its own).
    env["RETAILCARE_JOB_SETTLING_SECONDS"] = "0"
    env.update({f"RETAILCARE_{key.upper()}": str(value) for key, value in values.items()})
    return load_settings(PACK, environ=env)


@contextlib.contextmanager
def running(definition: ServiceDefinition, settings) -> Iterator[RunningService]:
    service = RunningService(definition, settings)
    try:
        yield service.start()
    finally:
        service.stop()


@contextlib.contextmanager
def channel_to(service: RunningService) -> Iterator[grpc.Channel]:
    target = f"127.0.0.1:{service.settings.grpc_port(service.definition.name)}"
    with grpc.insecure_channel(target) as channel:
        yield channel


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    """This environment without RETAILCARE_* variables, the clock of this process, extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETAILCARE_")}
    env.update(clock_environment())
    env.update(extra)
    return env


def start_child(args: list[str], env: dict[str, str], capture: bool = True) -> subprocess.Popen:
    """A child process; its output is captured only when asked, since a child whose
    unread pipe fills up blocks on its next log line."""
    stream = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, *args], env=child_environment(env), stdout=stream, stderr=stream, text=True
    )


def wait_serving(target: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stderr.read() if process.stderr else "(not captured)"
            raise AssertionError(f"process exited with {process.returncode}: {output}")
        if is_serving(target, timeout=0.5):
            return
        time.sleep(0.1)
    raise AssertionError(f"{target} not SERVING after {timeout}s")
