import contextlib
import datetime

import grpc
import pytest
from google.protobuf import timestamp_pb2
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.complaints.v1 import complaints_pb2_grpc

from services.complaints.app import definition_for
from services.composition import service_definition
from tests.e2e.classification.conftest import customer
from tests.support.services import channel_to, running, settings_for


class Pack:
    """Classification (SQLite) and complaints (the database under test), started and
    restarted on the same ports and databases."""

    def __init__(self, tmp_path, db_url, calendar_source=None):
        # The official calendar years complaints starts with (the library's by default).
        self.complaints_definition = (
            service_definition("complaints") if calendar_source is None else definition_for(calendar_source)
        )
        self.settings = settings_for(
            tmp_path,
            complaints_database_url=db_url,
            classification_database_url=f"sqlite:///{tmp_path / 'classification.db'}",
            rules_poll_seconds=0.1,
            escalation_sweep_seconds=3600,  # sweeps run when a test asks for one
        )

    @contextlib.contextmanager
    def complaints(self):
        with (
            running(self.complaints_definition, self.settings) as service,
            channel_to(service) as channel,
        ):
            yield service, complaints_pb2_grpc.ComplaintsServiceStub(channel)

    @contextlib.contextmanager
    def classification(self):
        with (
            running(service_definition("classification"), self.settings) as service,
            channel_to(service) as channel,
        ):
            stub = classification_pb2_grpc.ClassificationServiceStub(channel)
            stub.UpsertMarketZone(
                cpb.UpsertMarketZoneRequest(
                    zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")
                ),
                timeout=10,
            )
            for licence in ("L-1", "L-2"):
                try:
                    stub.CreateCustomer(
                        cpb.CreateCustomerRequest(customer=customer(licence, market_zone="Z1")), timeout=10
                    )
                except grpc.RpcError as error:  # already there after a restart; anything else fails
                    if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                        raise
            yield service


@pytest.fixture
def pack(tmp_path, db_url):
    return Pack(tmp_path, db_url)


@pytest.fixture
def stub(pack):
    with pack.classification(), pack.complaints() as (_, stub):
        yield stub


@pytest.fixture(scope="class")
def refusing_stub(tmp_path_factory):
    """One pack (SQLite) for a class of refusals that file nothing: each test asserts that
    nothing was filed, so each leaves the pack as it found it for the next. (A class, not
    the module: two servers of one service in one process would share one metrics
    registry.)"""
    folder = tmp_path_factory.mktemp("refusals")
    refusals = Pack(folder, f"sqlite:///{folder / 'test.db'}")
    with refusals.classification(), refusals.complaints() as (_, stub):
        yield stub


def stamp(moment: datetime.datetime) -> timestamp_pb2.Timestamp:
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(moment)
    return result


def complaint(key: str, licence: str = "L-1", **values) -> pb.FileComplaintRequest:
    defaults = {
        "channel": "hotline",
        "category": "delivery",
        "description": "late delivery",
        "received_by": "staff-7",
    }
    defaults.update(values)
    return pb.FileComplaintRequest(idempotency_key=key, licence_number=licence, **defaults)
