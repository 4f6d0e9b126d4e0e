"""The supervision pack: every service a real server behind the gateway, evaluation on
SQLite and PostgreSQL, one customer of zone Z1 managed by cm-1 of team-1, an inspector
and this year's evaluation period Y."""

import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb

from services.common import times
from tests.e2e.gateway.conftest import BACKENDS, GatewayPack, customer

LICENCE = "110101100001"


@pytest.fixture
def pack(tmp_path, db_url):
    gateway_pack = GatewayPack(tmp_path, evaluation_database_url=db_url, downstream_timeout_seconds=10)
    try:
        for name in (*BACKENDS, "gateway"):
            gateway_pack.start(name)
        yield gateway_pack
    finally:
        gateway_pack.close()


@pytest.fixture
def admin(pack):
    stubs = pack.stubs("admin")
    stubs(
        stubs.classification.UpsertMarketZone,
        cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")),
    )
    stubs(
        stubs.classification.CreateCustomer,
        cpb.CreateCustomerRequest(customer=customer(LICENCE, customer_manager_id="cm-1")),
    )
    ev = stubs.evaluation
    for staff in (
        epb.Staff(id="cm-1", name="Li", role="customer_manager", line="customer_service", active=True),
        epb.Staff(id="in-1", name="Wu", role="inspector", line="logistics", level="county", active=True),
    ):
        stubs(ev.UpsertStaff, epb.UpsertStaffRequest(staff=staff))
    stubs(ev.UpsertTeam, epb.UpsertTeamRequest(team=epb.Team(id="team-1", name="Old town")))
    stubs(
        ev.AssignTeamMember,
        epb.AssignTeamMemberRequest(
            staff_id="cm-1", team_id="team-1", specialty="customer_communication", from_date="2020-01-01"
        ),
    )
    year = times.now().year
    stubs(
        ev.CreatePeriod,
        epb.CreatePeriodRequest(
            period=epb.Period(id="Y", kind="year", starts_on=f"{year}-01-01", ends_on=f"{year}-12-31")
        ),
    )
    return stubs
