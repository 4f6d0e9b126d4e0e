"""The pack behind a gateway (tests/e2e/gateway/conftest.py) and the console on the
gateway's HTTP port, asked over real HTTP."""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
from google.protobuf import timestamp_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb

from services.common import times
from tests.e2e.gateway.conftest import BACKENDS, TOKENS, GatewayPack, complaint, customer


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Console:
    def __init__(self, base: str):
        self.base = base

    def request(self, method: str, path: str, role: str | None = None, body=None, headers=None) -> Answer:
        sent = dict(headers or {})
        if role is not None:
            sent["Authorization"] = f"Bearer {TOKENS[role]}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read())


@pytest.fixture
def console_pack(tmp_path):
    pack = GatewayPack(tmp_path)
    try:
        for name in (*BACKENDS, "gateway"):
            pack.start(name)
        yield pack
    finally:
        pack.close()


@pytest.fixture
def console(console_pack) -> Console:
    return Console(f"http://127.0.0.1:{console_pack.settings.http_port('gateway')}")


@pytest.fixture(scope="class")
def reading_console(tmp_path_factory) -> Console:
    """One pack for a class of tests that store nothing (reads, validation, refusals):
    each leaves it as it found it for the next. (A class, not the module: two servers of
    one service in one process would share one metrics registry.)"""
    pack = GatewayPack(tmp_path_factory.mktemp("console"))
    try:
        for name in (*BACKENDS, "gateway"):
            pack.start(name)
        yield Console(f"http://127.0.0.1:{pack.settings.http_port('gateway')}")
    finally:
        pack.close()


@pytest.fixture
def populated(console_pack):
    """Two zones of two teams, customers in both, complaints against two of them."""
    admin = console_pack.stubs("admin")
    for code, team in (("Z1", "team-1"), ("Z2", "team-2")):
        zone = cpb.MarketZone(code=code, name=f"Zone {code}", team_id=team)
        admin(admin.classification.UpsertMarketZone, cpb.UpsertMarketZoneRequest(zone=zone))
    service = console_pack.stubs("service")
    shops = [("110101100001", "Z1", 30), ("110101100002", "Z1", 400), ("110101100003", "Z2", 90)]
    for licence, zone, cartons in shops:
        request = cpb.CreateCustomerRequest(
            customer=customer(licence, market_zone=zone, monthly_sales_cartons=cartons)
        )
        service(service.classification.CreateCustomer, request)
    for key, licence in (("c-1", "110101100001"), ("c-2", "110101100003"), ("c-3", "110101100003")):
        service(service.gateway.FileComplaint, complaint(key, licence))
    return console_pack


# customer-grading's default: these facts make a five-star customer (every one of them
# gets a return visit under the default return-visit-sampling).
FIVE_STARS = dict(
    business_format="supermarket",
    market_type="urban",
    zone_type="city_centre",
    monthly_sales_cartons=400,
    credit_rating="A",
    cooperation_score=95,
    compliance_violations_12m=0,
)
OMITTED = "110101100001"  # its visit card skips a step


@dataclass
class Evaluated:
    period: str
    service: str  # the committed item the findings concern
    tasks: int  # return-visit tasks planned for the period


def _visit_moment() -> datetime.datetime:
    """Five minutes ago on the services' clock: the period is that moment's month."""
    return times.now() - datetime.timedelta(minutes=5)


@pytest.fixture
def evaluated(populated) -> Evaluated:
    """On top of ``populated``: team-1 known to evaluation (team-2 is not) with its customer
    manager, this month's period with two visit cards (one skipping a step) and a run;
    two findings against team-1 (one upheld after its hearing, one open); a return-visit
    plan with one task answered. All through the gateway."""
    stubs = populated.stubs("admin")
    ev = stubs.evaluation
    today = _visit_moment().date()
    first = today.replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    period = f"{today:%Y-%m}"
    five_stars = "110101100009"
    stubs(
        stubs.classification.CreateCustomer,
        cpb.CreateCustomerRequest(customer=customer(five_stars, market_zone="Z1", **FIVE_STARS)),
    )
    for staff in (
        epb.Staff(id="manager-9", name="Li", role="customer_manager", line="customer_service", active=True),
        epb.Staff(id="in-1", name="Wu", role="inspector", line="logistics", level="county", active=True),
        epb.Staff(id="lg-1", name="Sun", role="phone_order_clerk", line="logistics", active=True),
    ):
        stubs(ev.UpsertStaff, epb.UpsertStaffRequest(staff=staff))
    stubs(ev.UpsertTeam, epb.UpsertTeamRequest(team=epb.Team(id="team-1", name="Old town")))
    stubs(
        ev.AssignTeamMember,
        epb.AssignTeamMemberRequest(
            staff_id="manager-9", team_id="team-1", specialty="customer_communication", from_date="2020-01-01"
        ),
    )
    stubs(
        ev.CreatePeriod,
        epb.CreatePeriodRequest(
            period=epb.Period(id=period, kind="month", starts_on=first.isoformat(), ends_on=last.isoformat())
        ),
    )
    visited = timestamp_pb2.Timestamp()
    visited.FromDatetime(_visit_moment())
    service = ""
    for licence in (OMITTED, "110101100002"):
        menu = stubs(stubs.classification.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=licence))
        items = []
        for item in menu.items:
            steps = list(range(1, len(item.description.procedure_steps) + 1))
            if licence == OMITTED and len(steps) > 1 and not service:
                steps, service = steps[:-1], item.description.service
            items.append(epb.VisitItem(service=item.description.service, steps_done=steps))
        request = epb.RecordVisitCardRequest(
            staff_id="manager-9", licence_number=licence, visited_at=visited, items=items
        )
        stubs(ev.RecordVisitCard, request)
    stubs(ev.RunPeriodEvaluation, epb.RunPeriodEvaluationRequest(period_id=period, run_by="ops"))

    def finding(evidence: str) -> epb.Finding:
        found = epb.Finding(
            inspector_id="in-1",
            licence_number=OMITTED,
            service=service,
            kind=epb.FINDING_NOT_DELIVERED,
            evidence=[evidence],
        )
        return stubs(ev.RecordFinding, epb.RecordFindingRequest(finding=found)).finding

    upheld = finding("the retailer says the last step was never done")
    stubs(ev.RecordHearing, epb.RecordHearingRequest(finding_id=upheld.id, response="I forgot it"))
    stubs(
        ev.DecideFinding,
        epb.DecideFindingRequest(finding_id=upheld.id, upheld=True, decided_by="lead-1", note="confirmed"),
    )
    finding("no visit card for the week")
    plan = stubs(
        ev.PlanReturnVisits,
        epb.PlanReturnVisitsRequest(period_id=period, assignee_ids=["lg-1"], due_on=last.isoformat()),
    )
    answered = next(task for task in plan.tasks if task.licence_number == five_stars)
    stubs(
        ev.RecordReturnVisitAnswer,
        epb.RecordReturnVisitAnswerRequest(
            task_id=answered.id, answered_by="lg-1", satisfaction=[5, 4], opinion="fine"
        ),
    )
    return Evaluated(period, service, len(plan.tasks))
