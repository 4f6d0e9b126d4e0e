import pytest
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.composition import service_definition
from tests.support.services import channel_to, running, settings_for


@pytest.fixture
def classification(tmp_path, db_url):
    # Reclassification here is the explicit call's; test_reclassification_job covers the automatic one.
    settings = settings_for(
        tmp_path, classification_database_url=db_url, rules_poll_seconds=0.1, reclassification_batch_size=0
    )
    with running(service_definition("classification"), settings) as service, channel_to(service) as channel:
        yield (
            service,
            classification_pb2_grpc.ClassificationServiceStub(channel),
            rule_sets_pb2_grpc.RuleSetAdminStub(channel),
        )


@pytest.fixture
def stub(classification):
    return classification[1]


@pytest.fixture(scope="class")
def refusing_stub(tmp_path_factory):
    """One server (SQLite) for a class of refusals that store nothing: each test asserts
    that nothing was stored, so each leaves the server as it found it for the next. (A
    class, not the module: two classification servers in one process would share one
    metrics registry.)"""
    folder = tmp_path_factory.mktemp("refusals")
    settings = settings_for(
        folder,
        classification_database_url=f"sqlite:///{folder / 'test.db'}",
        rules_poll_seconds=0.1,
        reclassification_batch_size=0,
    )
    with running(service_definition("classification"), settings) as service, channel_to(service) as channel:
        yield classification_pb2_grpc.ClassificationServiceStub(channel)


def customer(licence: str, **values) -> pb.CustomerInput:
    defaults = {
        "name": f"Shop {licence}",
        "business_format": "grocery",
        "market_type": "urban",
        "monthly_sales_cartons": 30,
    }
    defaults.update(values)
    return pb.CustomerInput(licence_number=licence, **defaults)
