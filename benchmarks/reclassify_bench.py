"""Automatic reclassification benchmark: the time from publishing a rule-set version to
"every active customer on the new version", on generated customers, through a real
classification server and its job thread (default settings: batches of 1,000, a poll
every 0.5 s).

Each round publishes a change of each rule set twice: once to a server running the
automatic jobs (the measurement: publish, the job starts, runs, completes, and a count of
customers still on another version is zero), once to a server with the jobs off followed
by an explicit ReclassifyCustomers call, the way before the jobs (the baseline). Both are
measured in the same run on the same customers, alternating; medians of the rounds and
the ratio job / baseline. Target on this machine: 100,000 customers in under 30 s.
Prints; asserts nothing.

    make bench-reclassify                 # SQLite, 100,000 customers, 3 rounds
    python -m benchmarks.reclassify_bench --postgres    # a fresh schema on the local PostgreSQL
    python -m benchmarks.reclassify_bench --customers 20000 --rounds 1

``--first-classification`` measures instead what `make bench-classification` calls the first
classification of everyone (ReclassifyCustomers over customers never classified, each of
them written with a history entry), round after round on freshly inserted customers: the
median rate and the CPU time this process (server and caller) spent per customer, the
steadier figure on a loaded machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid

import psycopg
import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from benchmarks import summary
from benchmarks.classification_bench import generated_customers
from services.classification.job_store import JobStore
from services.classification.storage import classifications, customers
from services.composition import PACK, service_definition
from tests.support.services import channel_to, running, settings_for

GRADING, ENTITLEMENTS = "customer-grading", "service-entitlements"
VERSION_COLUMN = {GRADING: customers.c.grading_version, ENTITLEMENTS: customers.c.entitlements_version}
POSTGRES_URL = os.environ.get("RETAILCARE_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test")
DEADLINE = 1800


def _default(name: str) -> str:
    return PACK.rule_set_catalogue().all_kinds()[name].default_path.read_text(encoding="utf-8")


# Two texts of each rule set, published alternately: each switch moves many customers
# (the three-star threshold; the three-star allocation tier).
TEXTS = {
    GRADING: (
        _default(GRADING),
        _default(GRADING).replace(
            "monthly_sales_cartons: {at_least: 40}", "monthly_sales_cartons: {at_least: 80}"
        ),
    ),
    ENTITLEMENTS: (
        _default(ENTITLEMENTS),
        _default(ENTITLEMENTS).replace("allocation_tier: C}", "allocation_tier: B}"),
    ),
}


@contextlib.contextmanager
def postgres_schema():
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


class Server:
    """The classification service in this process, with the automatic jobs on or off."""

    def __init__(self, folder: str, url: str, jobs: bool):
        settings = settings_for(
            folder,
            classification_database_url=url,
            reclassification_batch_size=1000 if jobs else 0,
            log_level="WARNING",
        )
        self._stack = contextlib.ExitStack()
        self.service = self._stack.enter_context(running(service_definition("classification"), settings))
        channel = self._stack.enter_context(channel_to(self.service))
        self.stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        self.admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        self.engine = self.service.runtime.engine

    def close(self) -> None:
        self._stack.close()

    def publish(self, rule_set: str, text: str, label: str) -> int:
        request = rules_pb.PublishRuleSetRequest(source=f"{text}\n# {label}\n", author="bench", comment=label)
        return self.admin.PublishRuleSet(request, timeout=120).version.version

    def behind(self, rule_set: str, version: int) -> int:
        """Active customers not on ``version`` of the rule set."""
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count())
                .select_from(customers)
                .where(customers.c.active.is_(True), VERSION_COLUMN[rule_set] != version)
            ).scalar_one()

    def reclassify(self) -> pb.ReclassifyCustomersResponse:
        return list(self.stub.ReclassifyCustomers(pb.ReclassifyCustomersRequest(), timeout=DEADLINE))[-1]


def wait_for_jobs(server: Server) -> None:
    """Until the latest job of each rule set is the active version's and completed (the
    catch-up after a baseline round published with the jobs off)."""
    store, registry = JobStore(server.engine), server.service.runtime.rule_sets
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        active = registry.store.active_versions()
        latest = [store.latest(name) for name in (GRADING, ENTITLEMENTS)]
        if all(job and job.version == active[job.rule_set] and job.state == "completed" for job in latest):
            return
        time.sleep(0.2)
    raise SystemExit("the jobs did not complete")


def measure_job(server: Server, rule_set: str, text: str, label: str) -> tuple[float, str]:
    store = JobStore(server.engine)
    started = time.perf_counter()
    version = server.publish(rule_set, text, label)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        job = store.latest(rule_set)
        if (
            job
            and job.version == version
            and job.state == "completed"
            and server.behind(rule_set, version) == 0
        ):
            elapsed = time.perf_counter() - started
            return elapsed, f"changed {job.changed:,}, failed {job.failed:,}, skipped {job.skipped:,}"
        time.sleep(0.1)
    raise SystemExit(f"{rule_set} v{version}: not every customer on it after {DEADLINE} s")


def measure_baseline(server: Server, rule_set: str, text: str, label: str) -> tuple[float, str]:
    started = time.perf_counter()
    version = server.publish(rule_set, text, label)
    registry = server.service.runtime.rule_sets
    while registry.serving_version(rule_set) != version:  # this process loads it at its next poll
        time.sleep(0.02)
    last = server.reclassify()
    elapsed = time.perf_counter() - started
    behind = server.behind(rule_set, version)
    if behind:
        raise SystemExit(f"{rule_set} v{version}: {behind} customers not on it after ReclassifyCustomers")
    return elapsed, f"changed {last.changed:,}, failed {last.failed:,}, skipped {last.skipped:,}"


def run(folder: str, url: str, count: int, rounds: int) -> None:
    server = Server(folder, url, jobs=False)
    started = time.perf_counter()
    rows = generated_customers(count, random.Random(5))
    with server.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(customers), rows[start : start + 5000])
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    server.reclassify()
    print(
        f"reclassification benchmark, {count:,} generated customers on {server.engine.url.get_backend_name()}"
        f" (inserted in {inserted:.1f} s, first classification {time.perf_counter() - started:.1f} s)"
    )
    backend = server.engine.url.get_backend_name()
    server.close()
    timings: dict[tuple[str, str], list[float]] = {}
    publications = {GRADING: 0, ENTITLEMENTS: 0}
    for round_number in range(1, rounds + 1):
        for mode in ("job", "baseline"):
            server = Server(folder, url, jobs=mode == "job")
            try:
                if mode == "job":
                    wait_for_jobs(server)
                for rule_set in (GRADING, ENTITLEMENTS):
                    publications[rule_set] += 1  # the changed text, then the default again, ...
                    text = TEXTS[rule_set][publications[rule_set] % 2]
                    label = f"bench round {round_number} {mode} {publications[rule_set]}"
                    measure = measure_job if mode == "job" else measure_baseline
                    elapsed, counts = measure(server, rule_set, text, label)
                    timings.setdefault((rule_set, mode), []).append(elapsed)
                    print(f"  round {round_number} {rule_set:<21} {mode:<9}{elapsed:7.1f} s   {counts}")
            finally:
                server.close()
    print(f"medians of {rounds} round(s), publish -> every active customer on the new version:")
    for rule_set in (GRADING, ENTITLEMENTS):
        job = statistics.median(timings[(rule_set, "job")])
        baseline = statistics.median(timings[(rule_set, "baseline")])
        print(
            f"  {rule_set:<21} automatic job {job:7.1f} s ({count / job:>7,.0f}/s)"
            f"   publish + ReclassifyCustomers {baseline:7.1f} s   ratio {job / baseline:5.2f}"
        )
        figure = f"publish -> {count:,} customers on it, {rule_set}, {backend}"
        summary.record("reclassify", figure, job, "s", "< 30 s", job < 30)
        summary.record("reclassify", f"{figure}: job / explicit call", job / baseline, "x", "", None)


def first_classification(folder: str, url: str, count: int, rounds: int) -> None:
    server = Server(folder, url, jobs=False)
    try:
        rows = generated_customers(count, random.Random(5))
        backend = server.engine.url.get_backend_name()
        rates, cpu = [], []
        for round_number in range(1, rounds + 1):
            with server.engine.begin() as connection:
                connection.execute(sa.delete(classifications))
                connection.execute(sa.delete(customers))
                for start in range(0, len(rows), 5000):
                    connection.execute(sa.insert(customers), rows[start : start + 5000])
            if backend == "postgresql":
                with server.engine.connect() as connection:
                    connection.execute(sa.text("ANALYZE customers"))
                    connection.commit()
            started, used = time.perf_counter(), time.process_time()
            last = server.reclassify()
            elapsed, used = time.perf_counter() - started, time.process_time() - used
            rates.append(last.processed / elapsed)
            cpu.append(used / last.processed)
            print(
                f"  round {round_number}: {last.processed:,} customers in {elapsed:.1f} s ({rates[-1]:,.0f}/s),"
                f" CPU {cpu[-1] * 1e6:,.0f} us a customer, changed {last.changed:,}"
            )
        rate, per_customer = statistics.median(rates), statistics.median(cpu)
        print(
            f"first classification of {count:,} on {backend}: median {rate:,.0f}/s,"
            f" CPU {per_customer * 1e6:,.0f} us a customer ({rounds} rounds)"
        )
        least = 5000 if backend == "sqlite" else 3000
        figure = f"first classification of {count:,}, {backend} (median of {rounds})"
        summary.record("reclassify", figure, rate, "/s", f">= {least:,}/s", rate >= least)
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--first-classification", action="store_true", help="the first classification of everyone, per round"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help=f"a fresh schema on {POSTGRES_URL}")
    where.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    measure = first_classification if args.first_classification else run
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            with postgres_schema() as url:
                measure(folder, url, args.customers, args.rounds)
        else:
            measure(folder, args.database_url or f"sqlite:///{folder}/bench.db", args.customers, args.rounds)


if __name__ == "__main__":
    main()
