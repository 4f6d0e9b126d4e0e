"""``retailcare demo``: a walk through the pack started by ``make run``, all through the
gateway: sample customers, staff and a team, two visits (one skipping a step), a
complaint, a period evaluation, and readable tables of what came out. Re-runnable: what
already exists is kept.

It lets itself in with an admin token it adds to the gateway's token file (the gateway
reads the file again within a second) and revokes when it is done."""

from __future__ import annotations

import datetime
import sys
import time

import grpc
from google.protobuf import timestamp_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as kpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.gateway.v1 import gateway_pb2 as pb
from retailcare.gateway.v1 import gateway_pb2_grpc

from services.common.auth import TOKEN_FILE_CHECK_SECONDS, add_token, revoke_tokens
from services.common.config import Settings, load_settings
from services.common.tls import open_plain_or_secure

TEAM = "team-demo"
ZONE = "Z-DEMO"
MANAGER = "demo-manager"
CUSTOMERS = (
    ("110101200001", "Golden Leaf Supermarket", "supermarket", "urban", 160),
    ("110101200002", "Corner Grocery Wang", "grocery", "urban", 45),
    ("110101200003", "Village Shop Li", "grocery", "rural", 12),
    ("110101200004", "Night Owl Convenience", "convenience_store", "urban", 80),
)
STAFF = (
    epb.Staff(id=MANAGER, name="Li Ming", role="customer_manager", line="customer_service", active=True),
    epb.Staff(id="demo-leader", name="Zhou Hua", role="team_leader", line="marketing", active=True),
)
CALL_TIMEOUT = 30
DEMO_LABEL = "demo"


def table(out, title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    """A plain-text table with columns as wide as their widest cell."""
    cells = [tuple(str(value) for value in row) for row in rows]
    widths = [max(len(str(text)) for text in column) for column in zip(header, *cells, strict=True)]
    print(f"\n{title}", file=out)
    for row in (header, tuple("-" * width for width in widths), *cells):
        print(
            "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip(), file=out
        )


def _stamp(moment: datetime.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _this_month(today: datetime.date) -> epb.Period:
    first = today.replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return epb.Period(
        id=f"{today:%Y-%m}", kind="month", starts_on=first.isoformat(), ends_on=last.isoformat()
    )


class Demo:
    def __init__(self, channel: grpc.Channel, token: str, out):
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.out = out
        self.gateway = gateway_pb2_grpc.GatewayStub(channel)
        self.customers = classification_pb2_grpc.ClassificationServiceStub(channel)
        self.evaluation = evaluation_pb2_grpc.EvaluationServiceStub(channel)

    def call(self, method, request, *, existing_ok: bool = False):
        try:
            return method(request, metadata=self.metadata, timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            if existing_ok and error.code() == grpc.StatusCode.ALREADY_EXISTS:
                return None
            raise

    def say(self, line: str) -> None:
        print(line, file=self.out)

    def run(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        period = _this_month(now.date())
        self.load_customers()
        self.load_team(period)
        self.record_visits(now)
        complaint = self.call(
            self.gateway.FileComplaint,
            complaint_request(f"demo-{now:%Y%m%d}", CUSTOMERS[1][0]),
        ).complaint
        self.say(f"filed complaint {complaint.id} against {complaint.licence_number}")
        ran = self.call(
            self.evaluation.RunPeriodEvaluation,
            epb.RunPeriodEvaluationRequest(period_id=period.id, run_by="demo"),
        )
        self.say(
            f"period {period.id} evaluated: {ran.staff_scored} staff and {ran.teams_scored} teams scored"
        )
        self.print_results(period.id)

    def load_customers(self) -> None:
        self.call(
            self.customers.UpsertMarketZone,
            cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code=ZONE, name="Demo district", team_id=TEAM)),
        )
        for licence, name, business_format, market, cartons in CUSTOMERS:
            customer = cpb.CustomerInput(
                licence_number=licence,
                name=name,
                business_format=business_format,
                market_type=market,
                monthly_sales_cartons=cartons,
                market_zone=ZONE,
                customer_manager_id=MANAGER,
            )
            self.call(
                self.customers.CreateCustomer, cpb.CreateCustomerRequest(customer=customer), existing_ok=True
            )
        self.say(f"{len(CUSTOMERS)} sample customers in market zone {ZONE} (team {TEAM})")

    def load_team(self, period: epb.Period) -> None:
        for staff in STAFF:
            self.call(self.evaluation.UpsertStaff, epb.UpsertStaffRequest(staff=staff))
        self.call(
            self.evaluation.UpsertTeam,
            epb.UpsertTeamRequest(team=epb.Team(id=TEAM, name="Demo service department")),
        )
        for staff, specialty in ((MANAGER, "customer_communication"), ("demo-leader", "market_analysis")):
            membership = epb.AssignTeamMemberRequest(
                staff_id=staff, team_id=TEAM, specialty=specialty, from_date="2025-01-01"
            )
            try:
                self.call(self.evaluation.AssignTeamMember, membership)
            except grpc.RpcError as error:  # a re-run: the membership from that date is there
                if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    raise
        self.call(self.evaluation.CreatePeriod, epb.CreatePeriodRequest(period=period), existing_ok=True)
        self.say(f"staff {', '.join(s.id for s in STAFF)} in team {TEAM}; period {period.id}")

    def record_visits(self, now: datetime.datetime) -> None:
        for licence, skip_a_step in ((CUSTOMERS[0][0], False), (CUSTOMERS[1][0], True)):
            menu = self.call(self.customers.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=licence))
            card = self.call(
                self.evaluation.RecordVisitCard,
                epb.RecordVisitCardRequest(
                    staff_id=MANAGER,
                    licence_number=licence,
                    visited_at=_stamp(now - datetime.timedelta(minutes=10)),
                    items=visit_items(menu, skip_a_step),
                    notes="demo visit",
                ),
            ).card
            self.say(f"visit card {card.id} for {licence}: {len(card.omissions)} omission(s)")

    def print_results(self, period_id: str) -> None:
        rows = []
        for licence, *_ in CUSTOMERS:
            customer = self.call(
                self.customers.GetCustomer, cpb.GetCustomerRequest(licence_number=licence)
            ).customer
            c = customer.classification
            rows.append(
                (licence, customer.input.name, c.grade, c.star_level, c.classification_code, len(c.services))
            )
        table(self.out, "Customers", ("licence", "name", "grade", "stars", "code", "services"), rows)

        profile = self.call(
            self.gateway.GetCustomerProfile, pb.GetCustomerProfileRequest(licence_number=CUSTOMERS[1][0])
        )
        self.say(f"\nProfile of {profile.customer.input.name}: {profile.explanation.summary}")
        table(
            self.out,
            "Service menu (commitments published to the customer)",
            ("service", "name", "steps", "responsible"),
            [(i.service, i.name, len(i.procedure_steps), i.responsible_person) for i in profile.service_menu],
        )
        table(
            self.out,
            "Recent visits",
            ("card", "staff", "omissions"),
            [
                (v.id, v.staff_id, "; ".join(o.description for o in v.omissions) or "none")
                for v in profile.recent_visits
            ],
        )
        table(
            self.out,
            "Open complaints",
            ("id", "category", "state", "deadline"),
            [
                (
                    c.id,
                    c.category,
                    kpb.State.Name(c.state),
                    c.deadline_at.ToDatetime().strftime("%Y-%m-%d %H:%M"),
                )
                for c in profile.open_complaints
            ],
        )
        overview = self.call(
            self.gateway.GetTeamOverview, pb.GetTeamOverviewRequest(team_id=TEAM, period_id=period_id)
        )
        stars = ", ".join(f"{s.star_level}*: {s.customers}" for s in overview.customers_by_star_level)
        self.say(
            f"\nTeam {overview.team.name}: {overview.customers} customers ({stars}); "
            f"{overview.visits} visits, {overview.visits_with_omissions} with omissions; "
            f"{overview.open_complaints} complaints open, {overview.overdue_complaints} overdue"
        )
        results = [overview.team_result, *overview.member_results] if overview.team_result.subject_id else []
        table(
            self.out,
            f"Period {period_id} results",
            ("subject", "kind", "score", "grade", "pay coefficient"),
            [
                (r.subject_id, r.subject_kind, f"{r.total_score:.1f}", r.grade, f"{r.pay_coefficient:.2f}")
                for r in results
            ],
        )


def complaint_request(key: str, licence: str) -> kpb.FileComplaintRequest:
    return kpb.FileComplaintRequest(
        idempotency_key=key,
        licence_number=licence,
        channel="hotline",
        category="delivery",
        description="the order arrived two days late",
        received_by=MANAGER,
    )


def visit_items(menu: cpb.GetServiceMenuResponse, skip_a_step: bool) -> list[epb.VisitItem]:
    """Every service of the menu with every step done, except (when asked) the last step
    of the first service that has several."""
    items, skipped = [], False
    for item in menu.items:
        steps = list(range(1, len(item.description.procedure_steps) + 1))
        if skip_a_step and not skipped and len(steps) > 1:
            steps, skipped = steps[:-1], True
        items.append(epb.VisitItem(service=item.description.service, steps_done=steps))
    return items


def run_demo(settings: Settings, out=sys.stdout) -> int:
    path = settings.gateway_token_path()
    token = add_token(path, "admin", DEMO_LABEL)
    time.sleep(TOKEN_FILE_CHECK_SECONDS + 0.1)  # the gateway reads the file again by then
    try:
        with open_plain_or_secure(settings.target("gateway"), settings) as channel:
            Demo(channel, token, out).run()
    except grpc.RpcError as error:
        print(f"demo stopped: {error.code().name}: {error.details()}", file=sys.stderr)
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            print("is the pack running (make run)?", file=sys.stderr)
        return 1
    finally:
        revoke_tokens(path, DEMO_LABEL)
    return 0


def add_demo_command(commands) -> None:
    demo = commands.add_parser("demo", help="walk through the running pack with sample data, via the gateway")
    demo.set_defaults(run=lambda args: run_demo(load_settings(args.pack)))
