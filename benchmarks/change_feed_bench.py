"""CPU of the change feed's page read (ListClassificationChanges without the network):
``ClassificationChanges.after`` over a page of history entries and the reply serialised,
per change, median of the rounds. Entries of many customers repeat a few menus of the
service catalogue, as a classification load writes them. With ``--baseline`` (another
change_feed.py, e.g. ``git show <commit>:services/classification/change_feed.py``) both
are measured round after round in the same run. Prints; asserts nothing.

    python -m benchmarks.change_feed_bench --changes 500 --baseline /tmp/old_change_feed.py
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import inspect
import statistics
import sys
import tempfile
import time

import yaml
from retailcare.classification.v1 import classification_pb2 as pb

from benchmarks.databases import BACKENDS, database_url
from services.classification import change_feed, domain
from services.classification.domain import Customer, Outcome, ServiceDescription
from services.classification.service_layer import CATALOGUE_FILE, Cached
from services.classification.storage import SqlUnitOfWork
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.migrations import upgrade_to_head
from services.composition import service_definition

MOMENT = datetime.datetime(2026, 11, 24, 8, 0, tzinfo=datetime.UTC)
MENUS = 8  # distinct menus among the entries


def _outcome(n: int, services: list[str]) -> Outcome:
    menu = n % MENUS
    given = {s: {"tier": "ABC"[menu % 3], "visits_a_month": menu} for s in services[: 6 + menu % 4]}
    return Outcome(12, 3, 2, "A12", "growth", given, 4, 9, {"grade": "g-12"}, ("g-12",), (f"e-{menu}",))


def _seed(engine, changes: int) -> None:
    catalogue = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    services = list(catalogue)
    with SqlUnitOfWork(engine) as uow:
        uow.descriptions.seed(
            [ServiceDescription(service=s, updated_at=MOMENT, **e) for s, e in catalogue.items()]
        )
        for n in range(changes):
            inputs = domain.normalised_inputs(
                {
                    "licence_number": f"1101{n:08d}",
                    "name": "Shop",
                    "business_format": "grocery",
                    "market_type": "urban",
                    "monthly_sales_cartons": 30.0,
                    "customer_manager_id": f"cm-{n % 7}",
                }
            )
            customer = Customer.register(inputs, "team-1", _outcome(n, services), MOMENT)
            uow.customers.add(customer)
            uow.customers.add_history(customer)


def _feed(module, engine):
    """The module's ClassificationChanges as the service wires it (the descriptions' copy
    when it takes one)."""
    if "descriptions" in inspect.signature(module.ClassificationChanges).parameters:
        return module.ClassificationChanges(engine, 4 * 1024 * 1024, Cached(60).get)
    return module.ClassificationChanges(engine, 4 * 1024 * 1024)


def _page_us(feed, changes: int) -> tuple[float, int]:
    """CPU µs a change of reading a page and serialising the reply; the reply's bytes a change."""
    start = time.process_time()
    page = feed.after(0, changes)
    module = sys.modules[type(feed).__module__]
    count = len(getattr(page, "changes", page))  # a list before pages said whether more were left
    if hasattr(module, "reply_data"):
        reply = module.reply_data(page)
    elif hasattr(module, "page_reply"):  # parsed, then serialised by the server
        reply = module.page_reply(page).SerializeToString()
    else:  # as the servicer built it before page_reply
        reply = pb.ListClassificationChangesResponse(changes=[c.message for c in page]).SerializeToString()
    return (time.process_time() - start) / count * 1e6, len(reply) // count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=500, help="entries a page (at most 500)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=["sqlite"])
    parser.add_argument("--baseline", help="another change_feed.py to measure alongside")
    args = parser.parse_args()
    modules = {"current": change_feed}
    if args.baseline:
        spec = importlib.util.spec_from_file_location("baseline_change_feed", args.baseline)
        modules["baseline"] = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules["baseline"])
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends:
            with database_url(backend, folder, "feed") as url:
                engine = create_database_engine(parse_database_url("bench", url))
                upgrade_to_head(service_definition("classification").migrations_dir, engine)
                _seed(engine, args.changes)
                feeds = {name: _feed(module, engine) for name, module in modules.items()}
                runs: dict[str, list[float]] = {name: [] for name in feeds}
                sizes = {}
                for _ in range(args.rounds):
                    for name, feed in feeds.items():
                        us, sizes[name] = _page_us(feed, args.changes)
                        runs[name].append(us)
                engine.dispose()
            for name, values in runs.items():
                print(
                    f"{backend:10s} {name:8s} {statistics.median(values):8.1f} µs a change "
                    f"(min {min(values):.1f}), {sizes[name]} bytes a change"
                )


if __name__ == "__main__":
    main()
