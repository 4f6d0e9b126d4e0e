"""Per-call CPU of classification's handlers without gRPC: the servicer called in this
process, on SQLite in a temporary folder, with the shipped rule sets (their poll every
hour, so no background work counts), `--customers` customers as `make bench-gateway`
makes them. Prints the CPU time per call of each round (process time, every thread) and
the median; asserts nothing.

    python -m benchmarks.handler_bench --method ClassifyCustomer --threads 4

With `--calls-only N` it makes N calls after 50 to warm up and prints nothing: run it
under `valgrind --tool=callgrind` with N and with 0, and the difference of the totals
divided by N is the instructions a call, a count the machine's load does not move.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator

from retailcare.classification.v1 import classification_pb2 as pb

from benchmarks.gateway_bench import ZONE, customer_input, licence
from services.classification import storage
from services.classification.change_feed import ClassificationChanges
from services.classification.rules import RULE_SETS, RegistryRuleSets
from services.classification.service_layer import ClassificationUseCases
from services.classification.servicer import ClassificationServicer
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.migrations import upgrade_to_head
from services.common.rules.registry import RuleSetRegistry
from services.composition import service_definition

REQUESTS = {
    "ClassifyCustomer": pb.ClassifyCustomerRequest,
    "GetCustomer": pb.GetCustomerRequest,
    "GetServiceMenu": pb.GetServiceMenuRequest,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=sorted(REQUESTS), default="ClassifyCustomer")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calls", type=int, default=1000, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--calls-only", type=int, default=None, metavar="N")
    args = parser.parse_args()
    with seeded_servicer(args.customers) as servicer:
        run(servicer, args)


@contextlib.contextmanager
def seeded_servicer(customers: int) -> Iterator[ClassificationServicer]:
    """Classification's servicer on SQLite in a temporary folder, with the shipped rule
    sets and ``customers`` customers made as `make bench-gateway` makes them."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_database_engine(parse_database_url("classification", f"sqlite:///{folder}/c.db"), 8)
        upgrade_to_head(service_definition("classification").migrations_dir, engine)
        registry = RuleSetRegistry(engine, RULE_SETS, 3600.0)
        registry.load_defaults()
        registry.start()
        try:
            use_cases = ClassificationUseCases(
                storage.unit_of_work_factory(engine), RegistryRuleSets(registry)
            )
            use_cases.load_service_catalogue()
            changes = ClassificationChanges(engine, 4 << 20, use_cases.menu_descriptions)
            servicer = ClassificationServicer(use_cases, None, changes)
            seed(servicer, customers)
            yield servicer
        finally:
            registry.stop()
            engine.dispose()


def seed(servicer: ClassificationServicer, customers: int) -> None:
    servicer.UpsertMarketZone(pb.UpsertMarketZoneRequest(zone=ZONE), None)
    for index in range(customers):
        servicer.CreateCustomer(pb.CreateCustomerRequest(customer=customer_input(index)), None)


def run(servicer: ClassificationServicer, args) -> None:
    requests = [REQUESTS[args.method](licence_number=licence(i)) for i in range(args.customers)]
    handler = getattr(servicer, args.method)

    def calls(count: int) -> None:
        for n in range(count):
            handler(requests[n % len(requests)], None)

    calls(50)
    if args.calls_only is not None:
        calls(args.calls_only)
        return
    rounds = []
    for _ in range(args.rounds):
        started = time.process_time()
        threads = [
            threading.Thread(target=calls, args=(args.calls // args.threads,)) for _ in range(args.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rounds.append((time.process_time() - started) / args.calls * 1e6)
    print(
        f"{args.method}, {args.threads} thread(s): CPU per call "
        + ", ".join(f"{value:.0f}" for value in rounds)
        + f" us; median {statistics.median(rounds):.0f} us"
    )


if __name__ == "__main__":
    main()
