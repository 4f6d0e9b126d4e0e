"""Evaluation benchmark: scoring a county-sized period through a real gRPC channel.

500 staff in 25 teams, 20,000 customers (imported into classification through its
contract, 50 per customer manager), 200,000 visit cards and 30,000 ratings (written
straight into evaluation's tables, as a migration from an earlier system would), then
RunPeriodEvaluation once and again (a re-run while the period is open). Target on this
machine: under 30 s per run. Prints; asserts nothing.

    make bench-evaluation     # or: python -m benchmarks.evaluation_bench --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import datetime
import random
import tempfile
import time
import uuid

import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc

from benchmarks import summary
from services.composition import service_definition
from services.evaluation.storage import (
    ActualRow,
    CustomerMenuRow,
    MembershipRow,
    RatingRow,
    StaffRow,
    TeamRow,
    VisitCardRow,
)
from tests.support.services import channel_to, running, settings_for

TEAMS, MANAGERS_PER_TEAM, OTHERS_PER_TEAM = 25, 16, 4  # 25 * 20 = 500 staff
SPECIALTIES = ("customer_communication", "market_analysis", "key_customer_guidance")
ROLES = ("market_manager", "brand_manager", "phone_order_clerk", "team_leader")
LINES = {
    "market_manager": "marketing",
    "brand_manager": "marketing",
    "phone_order_clerk": "logistics",
    "team_leader": "marketing",
}
ITEMS = [
    {"service": "customer_manager_visit", "steps_done": [1, 2, 3, 4], "note": ""},
    {"service": "storefront_image_upkeep", "steps_done": [1, 2, 3], "note": ""},
    {"service": "retail_price_upkeep", "steps_done": [1, 2, 3], "note": ""},
]


def staff_rows() -> tuple[list[dict], list[dict], list[str]]:
    staff, members, managers = [], [], []
    for team in range(TEAMS):
        for index in range(MANAGERS_PER_TEAM + OTHERS_PER_TEAM):
            staff_id = f"s{team:02d}-{index:02d}"
            role = "customer_manager" if index < MANAGERS_PER_TEAM else ROLES[index - MANAGERS_PER_TEAM]
            line = "customer_service" if role == "customer_manager" else LINES[role]
            staff.append(
                {"id": staff_id, "name": staff_id, "role": role, "line": line, "level": "", "active": True}
            )
            members.append(
                {
                    "staff_id": staff_id,
                    "team_id": f"team-{team:02d}",
                    "specialty": SPECIALTIES[index % 3],
                    "from_date": datetime.date(2025, 1, 1),
                    "to_date": None,
                }
            )
            if role == "customer_manager":
                managers.append(staff_id)
    return staff, members, managers


def import_customers(stub, count: int, managers: list[str]) -> dict[str, str]:
    """licence -> customer manager, imported through classification's contract."""
    owner = {f"B{index:07d}": managers[index % len(managers)] for index in range(count)}
    licences = list(owner)

    def batches():
        for start in range(0, count, 1000):
            yield cpb.ImportCustomersRequest(
                first_row=start + 1,
                rows=[
                    cpb.CustomerInput(
                        licence_number=licence,
                        name=f"Shop {licence}",
                        business_format="grocery",
                        market_type="urban",
                        monthly_sales_cartons=30 + index % 200,
                        customer_manager_id=owner[licence],
                    )
                    for index, licence in enumerate(licences[start : start + 1000], start=start)
                ],
            )

    for reply in stub.ImportCustomers(batches(), timeout=3600):
        if reply.errors:
            raise SystemExit(f"import refused rows: {reply.errors[:3]}")
    return owner


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--cards", type=int, default=200_000)
    parser.add_argument("--ratings", type=int, default=30_000)
    parser.add_argument(
        "--database-url", default="", help="evaluation's database; default a temporary SQLite file"
    )
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(
            folder,
            classification_database_url=f"sqlite:///{folder}/classification.db",
            complaints_database_url=f"sqlite:///{folder}/complaints.db",
            evaluation_database_url=args.database_url or f"sqlite:///{folder}/evaluation.db",
            downstream_timeout_seconds=60,
        )
        with (
            running(service_definition("classification"), settings) as classification,
            channel_to(classification) as classification_channel,
            running(service_definition("complaints"), settings),
            running(service_definition("evaluation"), settings) as evaluation,
            channel_to(evaluation) as channel,
        ):
            stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)
            staff, members, managers = staff_rows()
            started = time.perf_counter()
            owner = import_customers(
                classification_pb2_grpc.ClassificationServiceStub(classification_channel),
                args.customers,
                managers,
            )
            print(
                f"evaluation benchmark: {len(staff)} staff, {args.customers:,} customers imported in {time.perf_counter() - started:.1f} s"
            )
            stub.CreatePeriod(
                pb.CreatePeriodRequest(
                    period=pb.Period(id="2026", kind="year", starts_on="2026-01-01", ends_on="2026-12-31")
                ),
                timeout=60,
            )
            started = time.perf_counter()
            moment = datetime.datetime(2026, 6, 30, tzinfo=datetime.UTC)
            licences = list(owner)
            staff_ids = [s["id"] for s in staff]
            with evaluation.runtime.engine.begin() as connection:
                connection.execute(sa.insert(StaffRow.__table__), staff)
                connection.execute(
                    sa.insert(TeamRow.__table__),
                    [{"id": f"team-{t:02d}", "name": f"Team {t}"} for t in range(TEAMS)],
                )
                connection.execute(sa.insert(MembershipRow.__table__), members)
                connection.execute(
                    sa.insert(CustomerMenuRow.__table__),
                    [
                        {
                            "licence_number": c,
                            "visits_per_month": 1,
                            "entitlements_version": 1,
                            "fetched_at": moment,
                        }
                        for c in licences
                    ],
                )
                connection.execute(
                    sa.insert(ActualRow.__table__),
                    [
                        {
                            "period_id": "2026",
                            "subject_kind": "staff",
                            "subject_id": s,
                            "sales_actual": rng.uniform(500, 1500),
                            "sales_target": 1000.0,
                        }
                        for s in staff_ids
                    ],
                )
                for start in range(0, args.cards, 10_000):
                    batch = []
                    for _ in range(min(10_000, args.cards - start)):
                        licence = rng.choice(licences)
                        omitted = rng.random() < 0.1
                        batch.append(
                            {
                                "id": uuid.uuid4().hex,
                                "staff_id": owner[licence],
                                "licence_number": licence,
                                "visited_at": moment - datetime.timedelta(days=rng.randint(0, 170)),
                                "recorded_at": moment,
                                "items": ITEMS[:2] if omitted else ITEMS,
                                "notes": "",
                                "checked": True,
                                "entitlements_version": 1,
                                "visits_per_month_due": 1,
                                "items_due": 13,
                                "omission_count": 1 if omitted else 0,
                                "omissions": [
                                    {"service": "retail_price_upkeep", "step": 0, "description": "not done"}
                                ]
                                if omitted
                                else [],
                                "supersedes_card_id": "",
                                "superseded_by_card_id": "",
                                "corrected_by": "",
                                "correction_reason": "",
                            }
                        )
                    connection.execute(sa.insert(VisitCardRow.__table__), batch)
                ratings, seen = [], set()
                while len(ratings) < args.ratings:
                    subject = rng.choice(staff_ids)
                    mode = rng.choice(("peer", "peer", "customer_survey", "self", "inspection", "competency"))
                    rater = (
                        rng.choice(licences)
                        if mode == "customer_survey"
                        else (subject if mode == "self" else rng.choice(staff_ids))
                    )
                    if (mode, rater, subject) in seen:
                        continue
                    seen.add((mode, rater, subject))
                    survey = mode == "customer_survey"
                    ratings.append(
                        {
                            "period_id": "2026",
                            "mode": mode,
                            "rater_id": rater,
                            "subject_id": subject,
                            "score": 0.0 if survey else float(rng.randint(50, 100)),
                            "answers": [rng.randint(2, 5) for _ in range(5)] if survey else [],
                            "comment": "",
                            "revision": 1,
                            "recorded_at": moment,
                        }
                    )
                connection.execute(sa.insert(RatingRow.__table__), ratings)
            print(
                f"  {args.cards:,} visit cards and {args.ratings:,} ratings written in {time.perf_counter() - started:.1f} s ({evaluation.runtime.engine.url.get_backend_name()})"
            )
            for label in ("run", "re-run"):
                started = time.perf_counter()
                reply = stub.RunPeriodEvaluation(
                    pb.RunPeriodEvaluationRequest(period_id="2026", run_by="bench"), timeout=600
                )
                elapsed = time.perf_counter() - started
                print(
                    f"  {label:<8} {reply.staff_scored} staff and {reply.teams_scored} teams scored, "
                    f"{reply.plans_opened} plans opened: {elapsed:.1f} s (target < 30 s)"
                )
                summary.record(
                    "evaluation",
                    f"period evaluation {label}, {args.customers:,} customers",
                    elapsed,
                    "s",
                    "< 30 s",
                    elapsed < 30,
                )


if __name__ == "__main__":
    main()
