"""GetCustomerFacts through a real channel, on SQLite and PostgreSQL: the facts each rule
set decides a stored customer with, the ones a dry run of a draft on that customer takes."""

import grpc
import pytest
from retailcare.classification.v1 import classification_pb2 as pb

from services.classification.rules import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
from services.common.errors import field_violations
from services.common.rules.admin import facts_of
from tests.e2e.classification.conftest import customer
from tests.e2e.classification.test_customers import FIVE_STAR


def _facts(stub, licence: str, rule_set: str) -> pb.GetCustomerFactsResponse:
    return stub.GetCustomerFacts(pb.GetCustomerFactsRequest(licence_number=licence, rule_set=rule_set))


def test_each_rule_set_gets_the_facts_it_decides_the_stored_customer_with(stub):
    created = stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("f-1", **FIVE_STAR))).customer
    grading = _facts(stub, " f-1 ", GRADING_RULE_SET)  # as stored: normalised
    assert (grading.licence_number, grading.rule_set) == ("F-1", GRADING_RULE_SET)
    assert facts_of(grading.facts) == {
        "business_format": "supermarket",
        "market_type": "urban",
        "monthly_sales_cartons": 520,
        "shop_area_m2": 300,
        "compliance_violations_12m": 0,
        "credit_rating": "A",
        "cooperation_score": 90,
    }
    entitlements = facts_of(_facts(stub, "f-1", ENTITLEMENTS_RULE_SET).facts)
    assert entitlements == {
        "star_level": created.classification.star_level,
        "business_format": "supermarket",
        "market_type": "urban",
        "zone_type": "city_centre",
    }
    assert created.classification.star_level == 5


def test_an_unknown_rule_set_or_customer_is_refused_by_name(stub):
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("f-2", **FIVE_STAR)))
    for rule_set in ("complaint-policy", "", "x" * 65):
        with pytest.raises(grpc.RpcError) as refused:
            _facts(stub, "f-2", rule_set)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, rule_set
        assert list(field_violations(refused.value)) == ["rule_set"]
    with pytest.raises(grpc.RpcError) as missing:
        _facts(stub, "nobody", GRADING_RULE_SET)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as blank:
        _facts(stub, "", GRADING_RULE_SET)
    assert blank.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(blank.value)) == ["licence_number"]
