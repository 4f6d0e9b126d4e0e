import contextlib
import datetime

import pytest
from google.protobuf import timestamp_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2_grpc
from retailcare.evaluation.v1 import evaluation_pb2 as pb
from retailcare.evaluation.v1 import evaluation_pb2_grpc

from services.composition import service_definition
from tests.e2e.classification.conftest import customer
from tests.support.services import channel_to, running, settings_for

CUSTOMERS = {"L-1": "cm-1", "L-2": "cm-1", "L-5": "cm-1", "L-3": "cm-2", "L-4": "cm-2"}


class Pack:
    """Classification and complaints on SQLite, evaluation on the database under test."""

    def __init__(self, tmp_path, db_url):
        self.settings = settings_for(
            tmp_path,
            evaluation_database_url=db_url,
            classification_database_url=f"sqlite:///{tmp_path / 'classification.db'}",
            complaints_database_url=f"sqlite:///{tmp_path / 'complaints.db'}",
            rules_poll_seconds=0.1,
            escalation_sweep_seconds=3600,
            downstream_timeout_seconds=10,  # generous on a loaded machine; an outage fails at once
        )

    @contextlib.contextmanager
    def service(self, name):
        with running(service_definition(name), self.settings) as service, channel_to(service) as channel:
            yield channel

    @contextlib.contextmanager
    def classification(self):
        with self.service("classification") as channel:
            stub = classification_pb2_grpc.ClassificationServiceStub(channel)
            stub.UpsertMarketZone(
                cpb.UpsertMarketZoneRequest(
                    zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")
                ),
                timeout=10,
            )
            for licence, manager in CUSTOMERS.items():
                with contextlib.suppress(Exception):  # already there after a restart
                    stub.CreateCustomer(
                        cpb.CreateCustomerRequest(
                            customer=customer(licence, market_zone="Z1", customer_manager_id=manager)
                        ),
                        timeout=10,
                    )
            yield stub

    @contextlib.contextmanager
    def complaints(self):
        with self.service("complaints") as channel:
            yield complaints_pb2_grpc.ComplaintsServiceStub(channel)

    @contextlib.contextmanager
    def evaluation(self):
        with self.service("evaluation") as channel:
            yield evaluation_pb2_grpc.EvaluationServiceStub(channel)


@pytest.fixture
def pack(tmp_path, db_url):
    return Pack(tmp_path, db_url)


@pytest.fixture
def stubs(pack):
    """(evaluation, classification, complaints) stubs with all three services up."""
    with (
        pack.classification() as classification,
        pack.complaints() as complaints,
        pack.evaluation() as evaluation,
    ):
        yield evaluation, classification, complaints


def stamp(moment: datetime.datetime) -> timestamp_pb2.Timestamp:
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(moment)
    return result


STAFF = [
    pb.Staff(id="cm-1", name="Li", role="customer_manager", line="customer_service", active=True),
    pb.Staff(id="cm-2", name="Wang", role="customer_manager", line="customer_service", active=True),
    pb.Staff(id="mm-1", name="Zhao", role="market_manager", line="marketing", active=True),
    pb.Staff(id="bm-1", name="Qian", role="brand_manager", line="marketing", active=True),
    pb.Staff(id="lg-1", name="Sun", role="phone_order_clerk", line="logistics", active=True),
    pb.Staff(id="tl-1", name="Zhou", role="team_leader", line="marketing", active=True),
    pb.Staff(id="in-1", name="Wu", role="inspector", line="logistics", level="city", active=True),
    pb.Staff(id="in-2", name="Zheng", role="inspector", line="logistics", level="county", active=True),
]
MEMBERS = {
    "cm-1": "customer_communication",
    "cm-2": "key_customer_guidance",
    "mm-1": "market_analysis",
    "tl-1": "customer_communication",
}


def set_up_people(stub, period_kind="year", period_id="2026", starts="2026-01-01", ends="2026-12-31"):
    for staff in STAFF:
        stub.UpsertStaff(pb.UpsertStaffRequest(staff=staff), timeout=10)
    stub.UpsertTeam(
        pb.UpsertTeamRequest(team=pb.Team(id="team-1", name="Old town service department")), timeout=10
    )
    for staff_id, specialty in MEMBERS.items():
        stub.AssignTeamMember(
            pb.AssignTeamMemberRequest(
                staff_id=staff_id, team_id="team-1", specialty=specialty, from_date="2025-01-01"
            ),
            timeout=10,
        )
    stub.CreatePeriod(
        pb.CreatePeriodRequest(
            period=pb.Period(id=period_id, kind=period_kind, starts_on=starts, ends_on=ends)
        ),
        timeout=10,
    )


def complete_items(menu) -> list:
    """A card item for every service on a menu, every step done."""
    return [
        pb.VisitItem(
            service=item.description.service, steps_done=range(1, len(item.description.procedure_steps) + 1)
        )
        for item in menu.items
    ]
