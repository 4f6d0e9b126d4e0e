"""Classification's servicer on the two servers grpcio offers, each in its own process:
the sync server the kernel runs (a pool of serving threads, two as `call_workers`) and
grpc.aio with each call run on its event loop's thread, the handler as it is (its
SQLite work blocks the loop while it runs). Neither has the kernel's interceptors, so
the servers are compared with nothing else different. Health, `GetCustomer` and
`ClassifyCustomer` at `--in-flight` calls from a two-process load generator,
interleaved round after round; prints per server and scenario the median calls/s, p50,
p99 and the server process's CPU time per call. Asserts nothing.

    python -m benchmarks.server_modes_bench --seconds 3 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from retailcare.classification.v1 import classification_pb2_grpc

from benchmarks import gateway_bench as gateway
from benchmarks.handler_bench import seeded_servicer
from benchmarks.per_call_bench import measured
from tests.support.ports import free_port

SERVERS = ("sync", "asyncio")
CALLS = (("health", gateway.HEALTH), ("GetCustomer", gateway.GET), ("ClassifyCustomer", gateway.CLASSIFY))


class OnTheLoop:
    """The servicer's unary methods as coroutines that run them on the event loop."""

    def __init__(self, servicer):
        self._servicer = servicer

    def __getattr__(self, name: str):
        method = getattr(self._servicer, name)

        async def on_the_loop(request, context):
            return method(request, context)

        return on_the_loop


def serve(server_kind: str, address: str, ready, threads: int) -> None:
    """One server process: serves until it is terminated."""
    with seeded_servicer(gateway.CUSTOMERS) as servicer:
        if server_kind == "sync":
            server = grpc.server(futures.ThreadPoolExecutor(threads))
            classification_pb2_grpc.add_ClassificationServiceServicer_to_server(servicer, server)
            health_pb2_grpc.add_HealthServicer_to_server(
                health.HealthServicer(experimental_non_blocking=True), server
            )
            server.add_insecure_port(address)
            server.start()
            ready.set()
            server.wait_for_termination()
            return

        async def on_asyncio() -> None:
            server = grpc.aio.server()
            classification_pb2_grpc.add_ClassificationServiceServicer_to_server(OnTheLoop(servicer), server)
            health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
            server.add_insecure_port(address)
            await server.start()
            ready.set()
            await server.wait_for_termination()

        asyncio.run(on_asyncio())


def main() -> None:
    parser = gateway.load_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 3.0)
    parser.add_argument("--threads", type=int, default=2, help="the sync server's serving threads")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    targets, servers = {}, {}
    for kind in SERVERS:
        targets[kind] = f"127.0.0.1:{free_port()}"
        ready = context.Event()
        servers[kind] = context.Process(target=serve, args=(kind, targets[kind], ready, args.threads))
        servers[kind].start()
        if not ready.wait(120):
            raise SystemExit(f"the {kind} server did not start")
    runs: dict[tuple[str, str], list[dict]] = {}
    try:
        for _ in range(args.rounds):
            for name, method in CALLS:
                for kind in SERVERS:
                    scenario = gateway.Scenario(name, kind, method)
                    run = measured(targets, scenario, args, {"cpu_us": servers[kind].pid})
                    runs.setdefault((kind, name), []).append(run)
    finally:
        for process in servers.values():
            process.terminate()
            process.join(30)
    print(f"\n{args.in_flight} calls in flight, median of {args.rounds} interleaved rounds")
    print(f"{'server':<9}{'call':<18}{'calls/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'CPU/call':>10}{'errors':>8}")
    for (kind, name), rounds in runs.items():

        def median(key: str, rounds=rounds) -> float:
            return statistics.median(run[key] for run in rounds)

        print(
            f"{kind:<9}{name:<18}{median('per_second'):>9.0f}{median('p50'):>8.1f}{median('p99'):>8.1f}"
            f"{median('cpu_us'):>7.0f} us{sum(run['errors'] for run in rounds):>8}"
        )


if __name__ == "__main__":
    main()
