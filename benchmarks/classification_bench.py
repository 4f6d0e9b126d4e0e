"""Classification benchmark on generated customers, through a real gRPC channel:
reclassifying everyone (first classification, then after a rule change), and the
impact preview of a draft rule set; on SQLite, then on PostgreSQL (a schema of its own,
removed after the run). The automatic reclassification after a publish is off here: the
explicit ReclassifyCustomers call is what is measured. Targets on this machine:
>= 5,000 customers/s reclassified on SQLite and >= 3,000/s on PostgreSQL, 100,000
previewed in under 30 s. Prints; asserts nothing.

    make bench-classification     # or: python -m benchmarks.classification_bench --customers 100000 --backends sqlite
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time

import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from benchmarks import summary
from benchmarks.databases import BACKENDS, database_url, postgres_reachable
from benchmarks.rules_bench import FORMATS
from services.classification.domain import Customer, normalised_inputs
from services.classification.storage import customer_row, customers
from services.common.times import now
from services.composition import PACK, service_definition
from tests.support.services import channel_to, running, settings_for


def generated_customers(count: int, rng: random.Random) -> list[dict]:
    """Unclassified customers as table rows (as an earlier system's data would arrive)."""
    moment = now()
    rows = []
    for index in range(count):
        market = rng.choice(["urban", "urban", "rural"])
        inputs = normalised_inputs(
            {
                "licence_number": f"G{index:09d}",
                "name": f"Generated shop {index}",
                "business_format": rng.choice(FORMATS),
                "market_type": market,
                "zone_type": rng.choice(
                    ["city_centre", "county_town"] if market == "urban" else ["township", "village"]
                ),
                "monthly_sales_cartons": round(rng.lognormvariate(3.5, 1.1), 1),
                "shop_area_m2": round(rng.uniform(8, 400), 1) if rng.random() < 0.9 else None,
                "compliance_violations_12m": rng.choice([0, 0, 0, 1, 2, 5]),
                "credit_rating": rng.choice("AABBCD"),
                "cooperation_score": rng.randint(30, 100),
            }
        )
        rows.append(customer_row(Customer(inputs=inputs, created_at=moment, updated_at=moment)))
    return rows


RECLASSIFY_TARGETS = {"sqlite": 5000, "postgresql": 3000}  # customers/s
PREVIEW_TARGET_SECONDS = 30.0  # for 100,000 customers


def reclassify(stub, label: str) -> float:
    started = time.perf_counter()
    last = list(stub.ReclassifyCustomers(pb.ReclassifyCustomersRequest(), timeout=3600))[-1]
    elapsed = time.perf_counter() - started
    print(
        f"  {label:<44}{last.processed:>9,} customers {elapsed:7.1f} s {last.processed / elapsed:>9,.0f}/s   changed {last.changed:,}"
    )
    return last.processed / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite, postgresql or both")
    parser.add_argument("--database-url", default="", help="classification database instead of --backends")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.database_url:
            bench(folder, args.database_url, args.customers)
            return
        for backend in args.backends.split(","):
            if backend == "postgresql" and (problem := postgres_reachable()):
                print(f"classification benchmark on postgresql skipped: {problem}")
                continue
            with database_url(backend, folder, f"classification-{backend}") as url:
                rates, previews = bench(folder, url, args.customers)
            least = RECLASSIFY_TARGETS[backend]
            for label, rate in rates.items():
                summary.record(
                    "classification",
                    f"reclassify, {label} ({backend})",
                    rate,
                    "/s",
                    f">= {least:,}/s",
                    rate >= least,
                )
            limit = PREVIEW_TARGET_SECONDS * args.customers / 100_000
            for label, seconds in previews.items():
                summary.record(
                    "classification",
                    f"preview of {args.customers:,}, {label} ({backend})",
                    seconds,
                    "s",
                    f"< {limit:g} s",
                    seconds < limit,
                )


def bench(folder: str, url: str, count: int) -> tuple[dict[str, float], dict[str, float]]:
    """Reclassification rates (customers/s) and preview times (s) by label."""
    rates, previews = {}, {}
    settings = settings_for(folder, classification_database_url=url, reclassification_batch_size=0)
    with (
        running(service_definition("classification"), settings) as service,
        channel_to(service) as channel,
    ):
        stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        rows = generated_customers(count, random.Random(5))
        started = time.perf_counter()
        with service.runtime.engine.begin() as connection:
            for start in range(0, len(rows), 5000):
                connection.execute(sa.insert(customers), rows[start : start + 5000])
        print(
            f"classification benchmark, {count:,} generated customers "
            f"(inserted in {time.perf_counter() - started:.1f} s), {service.runtime.engine.url.get_backend_name()}"
        )
        rates["first classification"] = reclassify(stub, "first classification of everyone")
        reclassify(stub, "again, nothing changed")
        source = (
            PACK.rule_set_catalogue()
            .all_kinds()["service-entitlements"]
            .default_path.read_text(encoding="utf-8")
        )
        edited = source.replace("allocation_tier: C}", "allocation_tier: B}").replace(
            "scarce_brand_supply: {allocation_tier: C}", "scarce_brand_supply: {allocation_tier: B}"
        )
        grading = (
            PACK.rule_set_catalogue().all_kinds()["customer-grading"].default_path.read_text(encoding="utf-8")
        )
        stricter = grading.replace(
            "monthly_sales_cartons: {at_least: 40}", "monthly_sales_cartons: {at_least: 80}"
        )
        for label, draft in (
            ("entitlement tier change", edited),
            ("stricter three-star rule", stricter),
        ):
            started = time.perf_counter()
            report = stub.PreviewRuleSetImpact(
                pb.PreviewRuleSetImpactRequest(draft_source=draft), timeout=3600
            )
            elapsed = time.perf_counter() - started
            previews[label] = elapsed
            print(
                f"  {'preview: ' + label:<44}{report.customers:>9,} customers {elapsed:7.1f} s {report.customers / elapsed:>9,.0f}/s   would change {report.changed:,}"
            )
        admin.PublishRuleSet(
            rules_pb.PublishRuleSetRequest(source=edited, author="bench", comment="tier B"), timeout=60
        )
        rates["after a tier change"] = reclassify(stub, "after publishing the tier change")
    return rates, previews


if __name__ == "__main__":
    main()
