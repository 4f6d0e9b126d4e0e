"""Ports for the servers a test starts.

A port the kernel hands out for ``bind(("127.0.0.1", 0))`` comes from the ephemeral
range, which the outgoing connections of every test also draw from: between picking
such a port and the server binding it, a client socket can take it ("port already in
use"). So the ports are drawn at random from below the ephemeral range, never twice in
one test run, and checked free. Under pytest-xdist each worker draws from its own slice
of that range: a port one worker has picked but not yet bound (a pack starts its
services one after the other) looks free to the others."""

import os
import random
import socket

_EPHEMERAL = "/proc/sys/net/ipv4/ip_local_port_range"
_handed_out: set[int] = set()


def _range() -> tuple[int, int]:
    """Ports below the ephemeral range (Linux default 32768-60999), above the well-known
    ones; this xdist worker's slice of them."""
    try:
        with open(_EPHEMERAL) as limits:
            low = int(limits.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    ports = (10_000, low - 1) if low > 12_000 else (low + 30_000, 65_000)
    return worker_slice(
        ports, os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    )


def worker_slice(ports: tuple[int, int], worker: str, workers: str) -> tuple[int, int]:
    """Worker ``gwN`` of ``workers``'s share of ``ports`` (both ends included); all of
    them outside xdist."""
    if not worker.startswith("gw") or not workers.isdigit():
        return ports
    index, count = int(worker[2:]), int(workers)
    share = (ports[1] - ports[0] + 1) // count
    low = ports[0] + index * share
    return low, low + share - 1


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    low, high = _range()
    for _ in range(200):
        port = random.randint(low, high)
        if port not in _handed_out and _is_free(port):
            _handed_out.add(port)
            return port
    with socket.socket() as probe:  # a crowded range: let the kernel choose
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pack_environment(data_dir: str) -> dict[str, str]:
    """RETAILCARE_* variables giving every process free ports and its own data folder."""
    from services.composition import PACK

    env = {"RETAILCARE_DATA_DIR": data_dir, "RETAILCARE_DRAIN_SECONDS": "0.2"}
    for name in PACK.names:
        env[f"RETAILCARE_{name.upper()}_GRPC_PORT"] = str(free_port())
        env[f"RETAILCARE_{name.upper()}_HTTP_PORT"] = str(free_port())
    return env
