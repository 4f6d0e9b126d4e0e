"""The facts each rule set decides a stored customer with (GetCustomerFacts), over
in-memory storage: a customer without a classification has no star level to give."""

import dataclasses

import pytest

from services.classification.domain import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET
from services.classification.service_layer import ClassificationUseCases
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.unit.classification.fakes import FakeRuleSets, FakeStorage


@pytest.fixture
def use_cases():
    return ClassificationUseCases(FakeStorage(), FakeRuleSets())


def _create(use_cases, licence: str):
    return use_cases.create(
        {
            "licence_number": licence,
            "name": "Shop",
            "business_format": "grocery",
            "market_type": "urban",
            "zone_type": "village",
            "monthly_sales_cartons": 250.0,
        }
    )


def test_the_grading_reads_the_inputs_and_the_entitlements_the_stored_star_level(use_cases):
    _create(use_cases, "l-1")
    licence, grading = use_cases.facts(" l-1 ", GRADING_RULE_SET)
    assert licence == "L-1"
    assert grading == {"business_format": "grocery", "market_type": "urban", "monthly_sales_cartons": 250.0}
    assert use_cases.facts("L-1", ENTITLEMENTS_RULE_SET) == (
        "L-1",
        {"star_level": 4, "business_format": "grocery", "market_type": "urban", "zone_type": "village"},
    )


def test_a_customer_without_a_classification_has_no_entitlement_facts(use_cases):
    created = _create(use_cases, "l-2")
    with use_cases.new_unit_of_work() as uow:
        uow.customers.save(dataclasses.replace(created, classification=None))
    assert use_cases.facts("L-2", GRADING_RULE_SET)[1]["monthly_sales_cartons"] == 250.0
    with pytest.raises(FailedPrecondition) as refused:
        use_cases.facts("L-2", ENTITLEMENTS_RULE_SET)
    assert refused.value.subject == "L-2" and "no star level" in refused.value.message


@pytest.mark.parametrize("rule_set", ["complaint-policy", "", "Customer-Grading"])
def test_only_the_classification_rule_sets_have_customer_facts(use_cases, rule_set):
    _create(use_cases, "l-3")
    with pytest.raises(InvalidArgument) as refused:
        use_cases.facts("L-3", rule_set)
    assert [field for field, _ in refused.value.violations] == ["rule_set"]


def test_an_unknown_customer_is_not_found(use_cases):
    with pytest.raises(NotFound):
        use_cases.facts("L-404", GRADING_RULE_SET)
