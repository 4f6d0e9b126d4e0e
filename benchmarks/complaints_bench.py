"""Complaints benchmark through real gRPC channels: intake throughput (each complaint
checked with a running classification service, decided by the policy, stored with its
first event) from concurrent callers, and escalation sweeps over 100,000 open
complaints; with the complaints database on SQLite, then on PostgreSQL (a schema of its
own, removed after the run). Targets on this machine: >= 500 complaints filed per
second from 16 callers on one replica; the first sweep over 100,000 open complaints in
under 5 s. Intake runs 3 rounds, the sweep --sweep-rounds (default 3) on fresh complaints
each time; both print their median and the CPU time the two service processes spent per
complaint (steadier than rates on a loaded machine). Prints; asserts nothing.

    make bench-complaints     # or: python -m benchmarks.complaints_bench --open 100000 --backends sqlite
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import random
import statistics
import tempfile
import threading
import time
import uuid

import grpc
import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.complaints.v1 import complaints_pb2_grpc

from benchmarks import summary
from benchmarks.databases import BACKENDS, database_url, postgres_reachable
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.complaints.storage import ComplaintEventRow, ComplaintRow
from tests.support.ports import pack_environment
from tests.support.services import start_child, wait_serving

CUSTOMERS = 200
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used (Linux /proc; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def intake(stub, callers: int, per_caller: int) -> float:
    errors = []

    def caller(index: int) -> None:
        rng = random.Random(index)
        for n in range(per_caller):
            request = pb.FileComplaintRequest(
                idempotency_key=f"bench-{index}-{n}-{uuid.uuid4().hex[:6]}",
                licence_number=f"B{rng.randrange(CUSTOMERS):05d}",
                channel=rng.choice(["hotline", "retailer_app", "visit"]),
                category=rng.choice(["delivery", "price", "ordering", "service_attitude"]),
                description="benchmark complaint",
                received_by=f"staff-{rng.randrange(20)}",
            )
            try:
                stub.FileComplaint(request, timeout=30)
            except Exception as error:  # counted, not raised: the figure must still print
                errors.append(error)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        print(f"  {len(errors)} calls failed, e.g. {errors[0]}")
    return callers * per_caller / elapsed


def open_complaints(count: int, rng: random.Random) -> list[dict]:
    now = datetime.datetime.now(datetime.UTC)
    rows = []
    for index in range(count):
        roll = rng.random()
        # 10 % overdue for days (several levels due), 20 % past the warning share, the rest fresh
        age = (
            datetime.timedelta(days=rng.uniform(6, 20))
            if roll < 0.1
            else datetime.timedelta(days=rng.uniform(0, 3))
        )
        received = now - age
        deadline = received + datetime.timedelta(days=4)
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "idempotency_key": f"open-{index}",
                "licence_number": f"B{index % CUSTOMERS:05d}",
                "channel": "hotline",
                "category": "delivery",
                "severity": "normal",
                "description": "generated",
                "owner": f"staff-{index % 20}",
                "handler": f"staff-{index % 20}",
                "team_id": "team-1",
                "state": "accepted",
                "received_at": received,
                "deadline_at": deadline,
                "deadline_estimated": False,
                "deadline_working_days": 3,
                "policy_version": 1,
                "pause_clock": True,
                "warn_at_share": 0.75,
                "escalation_levels": ["owner", "team_leader", "county", "city"],
                "escalation_interval": 1,
                "needs_verification": False,
                "warn_at": received + (deadline - received) * (0.1 if roll < 0.3 else 0.95),
                "escalation_level": 0,
                "escalated_to": "",
                "next_escalation_at": deadline,
                "created_at": received,
                "updated_at": received,
            }
        )
    return rows


INTAKE_TARGET = 500  # complaints/s
SWEEP_TARGET_SECONDS = 5.0


def bench(folder: str, url: str, args) -> tuple[float, float]:
    """(intake median complaints/s, first sweep seconds) with the complaints database at url."""
    # Each service in its own process, as `retailcare up` runs them; callers here.
    env = pack_environment(folder)
    env["RETAILCARE_ESCALATION_SWEEP_SECONDS"] = "3600"
    env["RETAILCARE_COMPLAINTS_DATABASE_URL"] = url
    target = {
        name: f"127.0.0.1:{env[f'RETAILCARE_{name.upper()}_GRPC_PORT']}"
        for name in ("classification", "complaints")
    }
    children = [
        start_child(["-m", "services.composition", "serve", name], env, capture=False) for name in target
    ]
    try:
        for name, child in zip(target, children, strict=True):
            wait_serving(target[name], child)
        with grpc.insecure_channel(target["classification"]) as channel:
            customers = classification_pb2_grpc.ClassificationServiceStub(channel)
            rows = [
                cpb.CustomerInput(
                    licence_number=f"B{i:05d}",
                    name="shop",
                    business_format="grocery",
                    market_type="urban",
                    monthly_sales_cartons=30,
                )
                for i in range(CUSTOMERS)
            ]
            list(customers.ImportCustomers(iter([cpb.ImportCustomersRequest(rows=rows)]), timeout=120))
        with grpc.insecure_channel(target["complaints"]) as channel:
            stub = complaints_pb2_grpc.ComplaintsServiceStub(channel)
            engine = create_database_engine(parse_database_url("bench", url))
            print(
                f"complaints benchmark ({engine.url.get_backend_name()}; each service its own process, on loopback)"
            )
            intake(stub, 4, 20)  # warm-up
            pids = [child.pid for child in children]
            rates, cpu = [], []
            for _ in range(3):
                before = cpu_seconds(pids)
                rates.append(intake(stub, args.callers, args.per_caller))
                cpu.append((cpu_seconds(pids) - before) / (args.callers * args.per_caller))
            print(
                f"  intake, {args.callers} concurrent callers: median {statistics.median(rates):,.0f} complaints/s "
                f"(rounds: {', '.join(f'{r:,.0f}' for r in rates)}), services' CPU "
                f"{statistics.median(cpu) * 1e6:,.0f} us a complaint"
            )
            generated = open_complaints(args.open, random.Random(3))
            sweep = pb.RunEscalationSweepRequest()
            firsts, sweep_cpu = [], []
            for _ in range(args.sweep_rounds):
                with engine.begin() as connection:  # fresh open complaints, none swept yet
                    connection.execute(sa.delete(ComplaintEventRow.__table__))
                    connection.execute(sa.delete(ComplaintRow.__table__))
                    for begin in range(0, len(generated), 5000):
                        connection.execute(sa.insert(ComplaintRow.__table__), generated[begin : begin + 5000])
                before = cpu_seconds(pids)
                first = stub.RunEscalationSweep(sweep, timeout=3600)
                sweep_cpu.append(cpu_seconds(pids) - before)
                firsts.append(first.seconds)
                print(
                    f"  sweep over {args.open:,} open complaints, first: {first.seconds:6.2f} s "
                    f"({first.warned:,} warned, {first.escalations:,} escalations), services' CPU {sweep_cpu[-1]:.2f} s"
                )
            engine.dispose()
            print(
                f"  first sweep: median {statistics.median(firsts):.2f} s of {len(firsts)} round(s), "
                f"services' CPU {statistics.median(sweep_cpu):.2f} s"
            )
            quiet = [stub.RunEscalationSweep(sweep, timeout=3600).seconds for _ in range(5)]
            print(f"  sweep with nothing newly due: median {statistics.median(quiet) * 1000:,.1f} ms")
            return statistics.median(rates), statistics.median(firsts)
    finally:
        for child in children:
            child.terminate()
            child.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--per-caller", type=int, default=150)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--sweep-rounds", type=int, default=3, help="first sweeps, each on fresh complaints")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite, postgresql or both")
    parser.add_argument("--database-url", default="", help="complaints database instead of --backends")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.database_url:
            bench(folder, args.database_url, args)
            return
        for backend in args.backends.split(","):
            if backend == "postgresql" and (problem := postgres_reachable()):
                print(f"complaints benchmark on postgresql skipped: {problem}")
                continue
            data_dir = pathlib.Path(folder, backend)  # the other services' data, per run
            data_dir.mkdir()
            with database_url(backend, str(data_dir), "complaints") as url:
                rate, sweep_seconds = bench(str(data_dir), url, args)
            summary.record(
                "complaints",
                f"intake, {args.callers} callers, one replica ({backend})",
                rate,
                "/s",
                f">= {INTAKE_TARGET}/s",
                rate >= INTAKE_TARGET,
            )
            limit = SWEEP_TARGET_SECONDS * args.open / 100_000  # the target is for 100,000
            summary.record(
                "complaints",
                f"first escalation sweep over {args.open:,} open ({backend})",
                sweep_seconds,
                "s",
                f"< {limit:g} s",
                sweep_seconds < limit,
            )


if __name__ == "__main__":
    main()
