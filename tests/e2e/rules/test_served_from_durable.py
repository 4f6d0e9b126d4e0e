"""rules_serve_from through a real classification server: served from durable-rules alone
or from the generated function (every decision shadow-checked), it decides the same."""

import pytest
from prometheus_client import REGISTRY
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.composition import service_definition
from tests.e2e.classification.conftest import customer
from tests.support.services import channel_to, running, settings_for

GRADING = "customer-grading"


def _shadow_checks() -> float:
    return REGISTRY.get_sample_value("rules_shadow_checks_total", {"rule_set": GRADING}) or 0.0


def _mismatches() -> float:
    return REGISTRY.get_sample_value("rules_shadow_mismatches_total", {"rule_set": GRADING}) or 0.0


@pytest.mark.parametrize(("serve_from", "shadow_checked"), [("durable", False), ("generated", True)])
def test_a_customer_is_classified_whichever_path_serves(tmp_path, serve_from, shadow_checked):
    settings = settings_for(tmp_path, rules_serve_from=serve_from, rules_shadow_share=1.0)
    checks, mismatches = _shadow_checks(), _mismatches()
    with running(service_definition("classification"), settings) as service, channel_to(service) as channel:
        stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        created = stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer("L-SERVED", monthly_sales_cartons=92)), timeout=10
        ).customer
    assert created.classification.grade == 19
    assert (_shadow_checks() > checks) is shadow_checked
    assert _mismatches() == mismatches
