"""Processes as an operator runs them: SIGTERM drains, `retailcare up` starts and stops the pack."""

import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import grpc
import pytest

from services.common.pack import is_serving
from services.composition import PACK
from tests.support import probe_service
from tests.support.ports import pack_environment
from tests.support.services import child_environment, start_child, wait_serving


def _wait_until_started(http_port: int, method: str) -> None:
    """Until the server's metrics show the call started: then it is surely in flight."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5).read().decode()
        if f'grpc_server_started_total{{grpc_method="{method}"' in text:
            return
        time.sleep(0.02)
    raise AssertionError(f"{method} never started")


def test_sigterm_lets_a_slow_call_finish_then_exits(tmp_path):
    env = pack_environment(str(tmp_path))
    target = f"127.0.0.1:{env['RETAILCARE_GATEWAY_GRPC_PORT']}"
    process = start_child(["-m", "tests.support.probe_service"], env)
    try:
        wait_serving(target, process)
        outcome = {}

        def slow_call():
            with grpc.insecure_channel(target) as channel:
                outcome["reply"] = probe_service.call(channel, "Sleep", b"1.5")

        caller = threading.Thread(target=slow_call)
        caller.start()
        _wait_until_started(int(env["RETAILCARE_GATEWAY_HTTP_PORT"]), "Sleep")
        process.send_signal(signal.SIGTERM)
        caller.join(10)
        assert outcome.get("reply") == b"slept"
        assert process.wait(15) == 0
    finally:
        process.kill()
        process.wait()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _start_up(env: dict) -> tuple[subprocess.Popen, list[str]]:
    """`retailcare up` running, and what it printed up to its "Ctrl-C stops" line."""
    up = subprocess.Popen(
        [sys.executable, "-m", "services.composition", "up"],
        env=child_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines = []
    for line in up.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    return up, lines


def test_up_starts_the_pack_and_sigterm_stops_every_process(tmp_path):
    env = pack_environment(str(tmp_path))
    up, lines = _start_up(env)
    try:
        assert any("SERVING" in line for line in lines), lines
        for name in PACK.start_order:
            assert is_serving(f"127.0.0.1:{env[f'RETAILCARE_{name.upper()}_GRPC_PORT']}")
            assert any(line.startswith(name) for line in lines)
        children = _children_of(up.pid)
        assert len(children) == 4
        up.send_signal(signal.SIGTERM)
        assert up.wait(30) == 0
        assert not [pid for pid in children if _alive(pid)]
    finally:
        up.kill()
        up.wait()


def test_up_refuses_to_start_when_a_port_is_taken_and_leaves_nothing_behind(tmp_path):
    env = pack_environment(str(tmp_path))
    port = int(env["RETAILCARE_COMPLAINTS_HTTP_PORT"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "services.composition", "up"],
            env=child_environment(env),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"complaints: HTTP port {port} is already in use" in result.stdout
    assert not is_serving(f"127.0.0.1:{env['RETAILCARE_CLASSIFICATION_GRPC_PORT']}")


def test_a_process_that_dies_stops_the_pack(tmp_path):
    up, _ = _start_up(pack_environment(str(tmp_path)))
    try:
        children = _children_of(up.pid)
        victim = children[0]
        subprocess.run(["kill", "-9", str(victim)], check=True)
        assert up.wait(30) == 1
        assert "exited unexpectedly" in up.stdout.read()
        assert not [pid for pid in children if _alive(pid)]
    finally:
        up.kill()
        up.wait()


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("RETAILCARE_CLASSIFICATION_DATABASE_URL", "sqlite//nope", "classification_database_url"),
        ("RETAILCARE_NO_SUCH_KEY", "1", "RETAILCARE_NO_SUCH_KEY"),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line(tmp_path, variable, value, named):
    env = pack_environment(str(tmp_path))
    env[variable] = value
    result = subprocess.run(
        [sys.executable, "-m", "services.composition", "serve", "classification"],
        env=child_environment(env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and named in result.stderr
