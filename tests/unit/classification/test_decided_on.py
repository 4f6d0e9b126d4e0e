"""Reads of a customer and its service menu say on which rule-set versions they were
decided and whether another version is active (the reclassification job has not reached
the customer yet): use cases over in-memory storage and rule sets, and the contract mapping."""

import pytest

from services.classification import mapping
from services.classification.domain import ENTITLEMENTS_RULE_SET, GRADING_RULE_SET, Customer
from services.classification.ports import CustomerQuery
from services.classification.service_layer import ClassificationUseCases, DecidedOn
from tests.unit.classification.fakes import FakeRuleSets, FakeStorage


@pytest.fixture
def rules():
    return FakeRuleSets()


@pytest.fixture
def use_cases(rules):
    cases = ClassificationUseCases(FakeStorage(), rules)
    cases.load_service_catalogue()
    return cases


def _create(use_cases, licence: str, sales: float) -> None:
    use_cases.create(
        {
            "licence_number": licence,
            "name": f"Shop {licence}",
            "business_format": "grocery",
            "market_type": "urban",
            "monthly_sales_cartons": sales,
        }
    )


def _decided_on(use_cases, licence: str) -> DecidedOn:
    customer, _ = use_cases.menu(licence)
    return use_cases.decided_on(customer)


def test_a_menu_decided_on_the_active_versions_says_so(use_cases):
    _create(use_cases, "L-1", 60.0)
    assert _decided_on(use_cases, "L-1") == DecidedOn(1, 1, 1, 1)
    assert not _decided_on(use_cases, "L-1").newer_version_active


def test_a_newer_version_is_reported_until_the_customer_is_reclassified(use_cases, rules):
    _create(use_cases, "L-1", 60.0)
    rules.versions[ENTITLEMENTS_RULE_SET] = 2
    rules.tiers = {5: "A", 4: "B", 3: "B"}

    stale = _decided_on(use_cases, "L-1")
    assert stale == DecidedOn(1, 1, 1, 2) and stale.newer_version_active
    _, items = use_cases.menu("L-1")
    assert {d.service: p for d, p in items}["scarce_brand_supply"] == {"allocation_tier": "C"}

    list(use_cases.reclassify(CustomerQuery()))

    fresh = _decided_on(use_cases, "L-1")
    assert fresh == DecidedOn(1, 2, 1, 2) and not fresh.newer_version_active
    _, items = use_cases.menu("L-1")
    assert {d.service: p for d, p in items}["scarce_brand_supply"] == {"allocation_tier": "B"}


def test_a_new_grading_version_makes_the_menu_stale_too(use_cases, rules):
    _create(use_cases, "L-1", 60.0)
    rules.versions[GRADING_RULE_SET] = 2
    assert _decided_on(use_cases, "L-1").newer_version_active


def test_a_rollback_to_an_older_version_counts_as_another_active_version(use_cases, rules):
    rules.versions[ENTITLEMENTS_RULE_SET] = 3
    _create(use_cases, "L-1", 60.0)
    rules.versions[ENTITLEMENTS_RULE_SET] = 2  # rolled back
    assert _decided_on(use_cases, "L-1") == DecidedOn(1, 3, 1, 2)
    assert _decided_on(use_cases, "L-1").newer_version_active


def test_the_replies_carry_the_versions(use_cases, rules):
    _create(use_cases, "L-1", 60.0)
    rules.versions[GRADING_RULE_SET] = 4
    customer, items = use_cases.menu("L-1")
    decided_on = use_cases.decided_on(customer)

    menu = mapping.menu_reply(customer, items, decided_on)
    message = mapping.customer_message(customer, decided_on)

    for reply in (menu.decided_on, message.decided_on):
        assert (
            reply.grading_version,
            reply.entitlements_version,
            reply.active_grading_version,
            reply.active_entitlements_version,
            reply.newer_version_active,
        ) == (1, 1, 4, 1, True)
    assert menu.entitlements_version == 1
    assert not mapping.customer_message(customer).HasField("decided_on")


def test_a_customer_never_classified_is_on_no_version():
    unclassified = Customer(inputs={"licence_number": "L-9"})
    decided_on = DecidedOn.of(unclassified, {GRADING_RULE_SET: 1, ENTITLEMENTS_RULE_SET: 1})
    assert decided_on == DecidedOn(0, 0, 1, 1) and decided_on.newer_version_active
