"""Gateway benchmark on loopback: each service and the gateway in its own process, and a
multi-process load generator keeping a fixed number of calls in flight. Scenarios:
classify through the gateway and straight to classification (the gateway's cost shows
as their ratio), a bare gateway call (its health check: auth, interceptors, no
downstream: the bare hop), reading a customer and its service menu straight from
classification, the customer profile and complaint filing through the gateway. The
scenarios run interleaved, round after round, so a machine whose load changes affects
them alike; each figure is the median of the rounds. Prints throughput, p50 / p95 / p99
and errors per scenario; asserts nothing.

Targets on this machine (load generator included): classify through the gateway at
least 40 % of the direct throughput, p99 at most 25 ms at 16 calls in flight, no errors;
straight to classification, `GetCustomer` at least 0.6x and
`ClassifyCustomer` and `GetServiceMenu` at least 0.45x of the bare hop's throughput.

    make bench-gateway     # or: python -m benchmarks.gateway_bench --seconds 4 --rounds 3 --in-flight 16
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as kpb
from retailcare.gateway.v1 import gateway_pb2 as gpb

from benchmarks import summary
from services.common.auth import hash_token
from tests.support.ports import free_port, pack_environment
from tests.support.services import start_child, wait_serving

CUSTOMERS = 200
ZONE = cpb.MarketZone(code="Z1", name="Bench", team_id="team-1")  # where they are
SERVICE_TOKEN = "bench-service-token"
ADMIN_TOKEN = "bench-admin-token"
CLASSIFY = "/retailcare.classification.v1.ClassificationService/ClassifyCustomer"
GET = "/retailcare.classification.v1.ClassificationService/GetCustomer"
MENU = "/retailcare.classification.v1.ClassificationService/GetServiceMenu"
HEALTH = "/grpc.health.v1.Health/Check"
PROFILE = "/retailcare.gateway.v1.Gateway/GetCustomerProfile"
FILE = "/retailcare.gateway.v1.Gateway/FileComplaint"


def licence(index: int) -> str:
    return f"1101011{index:05d}"


@dataclass(frozen=True)
class Scenario:
    name: str
    service: str  # which process it calls
    method: str

    def request(self, n: int) -> bytes:
        if self.method == CLASSIFY:
            return cpb.ClassifyCustomerRequest(licence_number=licence(n % CUSTOMERS)).SerializeToString()
        if self.method == GET:
            return cpb.GetCustomerRequest(licence_number=licence(n % CUSTOMERS)).SerializeToString()
        if self.method == MENU:
            return cpb.GetServiceMenuRequest(licence_number=licence(n % CUSTOMERS)).SerializeToString()
        if self.method == HEALTH:
            return health_pb2.HealthCheckRequest().SerializeToString()
        if self.method == PROFILE:
            return gpb.GetCustomerProfileRequest(licence_number=licence(n % CUSTOMERS)).SerializeToString()
        return kpb.FileComplaintRequest(
            idempotency_key=uuid.uuid4().hex,
            licence_number=licence(n % CUSTOMERS),
            channel="hotline",
            category="delivery",
            description="benchmark complaint",
            received_by="staff-1",
        ).SerializeToString()


SCENARIOS = (
    Scenario("classify via gateway", "gateway", CLASSIFY),
    Scenario("classify direct", "classification", CLASSIFY),
    Scenario("classify via asyncio relay", "gateway-asyncio", CLASSIFY),
    Scenario("get customer via gateway", "gateway", GET),
    Scenario("get customer direct", "classification", GET),
    Scenario("get customer via asyncio relay", "gateway-asyncio", GET),
    Scenario("service menu direct", "classification", MENU),
    Scenario("bare gateway call (health)", "gateway", HEALTH),
    Scenario("profile via gateway", "gateway", PROFILE),
    Scenario("file complaint via gateway", "gateway", FILE),
)


def _load(target: str, scenario: Scenario, threads: int, seconds: float, seed: int, results) -> None:
    """One load-generator process: ``threads`` callers, each one call in flight."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    metadata = (("authorization", f"Bearer {SERVICE_TOKEN}"),)
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(scenario.method)
        stop_at = time.perf_counter() + seconds

        def caller(index: int) -> None:
            mine, failed, n = [], [], seed * 10_000 + index * 997
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    call(scenario.request(n), metadata=metadata, timeout=10)
                    mine.append(time.perf_counter() - started)
                except grpc.RpcError as error:
                    failed.append(f"{error.code().name}: {error.details()}")
                n += 1
            with lock:
                latencies.extend(mine)
                errors.extend(failed)

        workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
        cpu = time.process_time()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        cpu = time.process_time() - cpu  # while calling: not the process's start-up
    results.put((latencies, errors, cpu))


def run_scenario(targets: dict[str, str], scenario: Scenario, args) -> dict:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    threads = max(1, args.in_flight // args.processes)
    processes = [
        context.Process(
            target=_load, args=(targets[scenario.service], scenario, threads, args.seconds, seed, results)
        )
        for seed in range(args.processes)
    ]
    for process in processes:
        process.start()
    latencies, errors, load_cpu = [], [], 0.0
    for _ in processes:
        got, failed, cpu = results.get()
        latencies += got
        errors += failed
        load_cpu += cpu
    for process in processes:
        process.join()
    latencies.sort()

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "name": scenario.name,
        "calls": len(latencies),
        "per_second": len(latencies) / args.seconds,
        "p50": percentile(0.50),
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "errors": len(errors),
        "example_error": errors[0] if errors else "",
        "load_cpu_seconds": load_cpu,  # the load generator's, while calling
    }


def seed_customers(gateway_target: str) -> None:
    with grpc.insecure_channel(gateway_target) as channel:
        stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        admin = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
        stub.UpsertMarketZone(
            cpb.UpsertMarketZoneRequest(zone=ZONE),
            metadata=admin,
            timeout=10,
        )
        for index in range(CUSTOMERS):
            stub.CreateCustomer(
                cpb.CreateCustomerRequest(customer=customer_input(index)), metadata=admin, timeout=10
            )


def customer_input(index: int) -> cpb.CustomerInput:
    """The benchmark's customer number ``index``, in ZONE."""
    return cpb.CustomerInput(
        licence_number=licence(index),
        name=f"Shop {index}",
        business_format=("grocery", "supermarket", "convenience_store")[index % 3],
        market_type=("urban", "rural")[index % 2],
        monthly_sales_cartons=10 + index % 120,
        market_zone=ZONE.code,
        customer_manager_id=f"manager-{index % 7}",
    )


def start_pack(data_dir: str, gateway_values: dict[str, str]):
    env = pack_environment(data_dir)
    env["RETAILCARE_LOG_LEVEL"] = "WARNING"
    env["RETAILCARE_GATEWAY_TOKENS"] = f"service {hash_token(SERVICE_TOKEN)},admin {hash_token(ADMIN_TOKEN)}"
    env.update(gateway_values)
    children, targets = [], {}
    for name in ("classification", "complaints", "evaluation", "gateway"):
        targets[name] = f"127.0.0.1:{env[f'RETAILCARE_{name.upper()}_GRPC_PORT']}"
        child = start_child(["-m", "services.composition", "serve", name], env, capture=False)
        children.append(child)
        wait_serving(targets[name], child, timeout=60)
    port = free_port()
    targets["gateway-asyncio"] = f"127.0.0.1:{port}"
    children.append(
        start_child(
            [
                "-m",
                "benchmarks.gateway_asyncio",
                str(port),
                targets["classification"],
                env["RETAILCARE_GATEWAY_TOKENS"],
            ],
            env,
            capture=False,
        )
    )
    wait_answering(targets["gateway-asyncio"])
    return children, targets


def wait_answering(target: str, seconds: float = 30.0) -> None:
    """Until a server without a health service answers a call (with any status)."""
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(target) as channel:
        while True:
            try:
                channel.unary_unary(CLASSIFY)(b"", timeout=1)
                return
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    return
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def median_rows(rounds: list[list[dict]]) -> list[dict]:
    """Per scenario: calls and errors summed over the rounds, the rest the median."""
    merged = []
    for runs in zip(*rounds, strict=True):
        row = {key: statistics.median(run[key] for run in runs) for key in MEASURED}
        row.update(
            name=runs[0]["name"],
            calls=sum(run["calls"] for run in runs),
            errors=sum(run["errors"] for run in runs),
            example_error=next((run["example_error"] for run in runs if run["errors"]), ""),
            rounds=[run["per_second"] for run in runs],
        )
        merged.append(row)
    return merged


MEASURED = ("per_second", "p50", "p95", "p99", "mean")
BARE = "bare gateway call (health)"
# (scenario, figure, least share of the bare hop's throughput)
AGAINST_BARE = (
    ("get customer direct", "GetCustomer direct / bare hop", 0.6),
    ("classify direct", "ClassifyCustomer direct / bare hop", 0.45),
    ("service menu direct", "GetServiceMenu direct / bare hop", 0.45),
)
P99_TARGET_MS = 25.0


def print_table(rows: list[dict], in_flight: int, rounds: int) -> None:
    print(f"\n{in_flight} calls in flight, median of {rounds} interleaved rounds")
    print(f"{'scenario':<32}{'calls':>8}{'calls/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for row in rows:
        print(
            f"{row['name']:<32}{row['calls']:>8}{row['per_second']:>10.0f}{row['p50']:>9.1f}"
            f"{row['p95']:>9.1f}{row['p99']:>9.1f}{row['errors']:>8}"
        )
        if row["errors"]:
            print(f"    e.g. {row['example_error']}")
    by_name = {row["name"]: row for row in rows}
    for call in ("classify", "get customer"):
        direct = by_name[f"{call} direct"]["per_second"] or float("nan")
        via, relay = by_name[f"{call} via gateway"], by_name[f"{call} via asyncio relay"]
        print(
            f"{call}: through the gateway {via['per_second'] / direct:.0%} of direct, p99 {via['p99']:.1f} ms; "
            f"asyncio relay candidate {relay['per_second'] / direct:.0%}, p99 {relay['p99']:.1f} ms"
        )
    bare = by_name[BARE]["per_second"] or float("nan")
    print(
        "straight to classification, as a share of the bare hop's throughput: "
        + ", ".join(f"{name} {by_name[name]['per_second'] / bare:.2f}x" for name, _, _ in AGAINST_BARE)
    )
    print(
        "targets: classify through the gateway >= 40 % of direct, p99 <= 25 ms, no errors; "
        "GetCustomer >= 0.6x, ClassifyCustomer and GetServiceMenu >= 0.45x of the bare hop"
    )
    record_summary(by_name, in_flight)


def record_summary(by_name: dict[str, dict], in_flight: int) -> None:
    bare = by_name[BARE]["per_second"] or float("nan")
    for name, figure, least in AGAINST_BARE:
        share = by_name[name]["per_second"] / bare
        summary.record("gateway", figure, share, "x", f">= {least}x", share >= least)
    classify = by_name["classify via gateway"]["per_second"] / (by_name["classify direct"]["per_second"] or 1)
    summary.record(
        "gateway", "classify via gateway / direct", classify * 100, "%", ">= 40 %", classify >= 0.4
    )
    for name in ("classify via gateway", "profile via gateway"):
        p99 = by_name[name]["p99"]
        summary.record(
            "gateway", f"{name}: p99 at {in_flight} in flight", p99, "ms", "<= 25 ms", p99 <= P99_TARGET_MS
        )
    errors = sum(row["errors"] for row in by_name.values())
    summary.record("gateway", "errors, every scenario", errors, "", "0", errors == 0)


def load_options(parser: argparse.ArgumentParser, seconds: float) -> argparse.ArgumentParser:
    """The options of a benchmark that runs scenarios through this load generator."""
    parser.add_argument("--seconds", type=float, default=seconds, help="per scenario and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    return parser


def main() -> None:
    args = load_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), 4.0).parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        children, targets = start_pack(data_dir, {})
        try:
            seed_customers(targets["gateway"])
            rounds = [
                [run_scenario(targets, scenario, args) for scenario in SCENARIOS] for _ in range(args.rounds)
            ]
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(30)
    print_table(median_rows(rounds), args.in_flight, args.rounds)


if __name__ == "__main__":
    main()
