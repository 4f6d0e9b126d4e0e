"""Reclassification after a rule-set version change, through a real channel on SQLite and
PostgreSQL: every reclassified customer ends up on the active versions, including the
customers whose result the new version does not change (those are refreshed, not
counted as changed and not given a history entry)."""

import pytest
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb

from tests.e2e.classification.conftest import customer
from tests.support.rule_samples import default_source

THREE_STAR = dict(
    business_format="convenience_store",
    market_type="urban",
    zone_type="county_town",
    monthly_sales_cartons=60,
    compliance_violations_12m=1,
    credit_rating="B",
    cooperation_score=60,
)
# Changes the menu of three-star customers only.
TIER_B_FOR_THREE_STARS = (
    default_source("service-entitlements")
    .replace(
        "- grant_service: {service: scarce_brand_supply, allocation_tier: C}",
        "- grant_service: {service: scarce_brand_supply, allocation_tier: B}",
    )
    .replace("scarce_brand_supply: {allocation_tier: C}", "scarce_brand_supply: {allocation_tier: B}")
)
CHANGED = ["L-3A", "L-3B"]
UNCHANGED = ["L-SMALL", "L-RURAL", "L-BIG"]


def _publish(admin, source: str, comment: str) -> int:
    reply = admin.PublishRuleSet(
        rules_pb.PublishRuleSetRequest(source=source, author="analyst", comment=comment), timeout=10
    )
    return reply.version.version


def _classification(stub, licence: str) -> pb.Classification:
    return stub.GetCustomer(pb.GetCustomerRequest(licence_number=licence), timeout=10).customer.classification


def _versions(stub) -> dict[str, tuple[int, int]]:
    return {
        licence: (c.grading_version, c.entitlements_version)
        for licence in CHANGED + UNCHANGED
        for c in [_classification(stub, licence)]
    }


def _history_length(stub, licence: str) -> int:
    reply = stub.ListClassificationHistory(
        pb.ListClassificationHistoryRequest(licence_number=licence, page_size=500), timeout=10
    )
    return len(reply.classifications)


def _reclassify(stub, **filter_values) -> pb.ReclassifyCustomersResponse:
    request = pb.ReclassifyCustomersRequest(filter=pb.CustomerFilter(**filter_values))
    progress = list(stub.ReclassifyCustomers(request, timeout=60))
    assert progress[-1].done
    return progress[-1]


@pytest.fixture
def customers(classification):
    _, stub, admin = classification
    for licence in CHANGED:
        stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer(licence, **THREE_STAR)), timeout=10)
    stub.CreateCustomer(
        pb.CreateCustomerRequest(customer=customer("L-SMALL", monthly_sales_cartons=5)), timeout=10
    )
    stub.CreateCustomer(
        pb.CreateCustomerRequest(
            customer=customer("L-RURAL", market_type="rural", zone_type="village", monthly_sales_cartons=7)
        ),
        timeout=10,
    )
    stub.CreateCustomer(
        pb.CreateCustomerRequest(
            customer=customer(
                "L-BIG",
                business_format="supermarket",
                zone_type="city_centre",
                monthly_sales_cartons=520,
                shop_area_m2=300,
                compliance_violations_12m=0,
                credit_rating="A",
                cooperation_score=90,
            )
        ),
        timeout=10,
    )
    return stub, admin


def test_unchanged_customers_move_to_the_new_entitlements_version(customers):
    stub, admin = customers
    assert set(_versions(stub).values()) == {(1, 1)}
    before = {licence: _classification(stub, licence) for licence in UNCHANGED}
    assert _publish(admin, TIER_B_FOR_THREE_STARS, "tier B for three stars") == 2

    done = _reclassify(stub)

    assert (done.processed, done.total, done.changed, done.failed, done.skipped) == (5, 5, 2, 0, 0)
    assert _versions(stub) == {licence: (1, 2) for licence in CHANGED + UNCHANGED}
    for licence in UNCHANGED:
        after = _classification(stub, licence)
        assert (after.grade, after.star_level, list(after.services)) == (
            before[licence].grade,
            before[licence].star_level,
            list(before[licence].services),
        )
        assert _history_length(stub, licence) == 1, licence  # refreshed, not a new entry
    for licence in CHANGED:
        assert _history_length(stub, licence) == 2, licence


def test_a_version_that_changes_no_result_still_moves_every_customer(customers):
    stub, admin = customers
    same_rules = default_source("customer-grading") + "\n# reviewed, no change\n"
    assert _publish(admin, same_rules, "reviewed") == 2

    done = _reclassify(stub)

    assert (done.processed, done.changed) == (5, 0)
    assert _versions(stub) == {licence: (2, 1) for licence in CHANGED + UNCHANGED}
    again = _reclassify(stub)
    assert (again.processed, again.changed) == (5, 0)
    assert _versions(stub) == {licence: (2, 1) for licence in CHANGED + UNCHANGED}
    assert all(_history_length(stub, licence) == 1 for licence in CHANGED + UNCHANGED)


def test_a_filtered_reclassification_moves_only_the_customers_it_selects(customers):
    stub, admin = customers
    _publish(admin, default_source("customer-grading") + "\n# revision 2\n", "revision 2")

    done = _reclassify(stub, market_type="rural")

    assert (done.processed, done.total, done.changed) == (1, 1, 0)
    versions = _versions(stub)
    assert versions.pop("L-RURAL") == (2, 1)
    assert set(versions.values()) == {(1, 1)}


def test_explanations_cite_the_version_the_customer_is_on(customers):
    stub, admin = customers
    _publish(admin, default_source("customer-grading") + "\n# revision 2\n", "revision 2")
    _reclassify(stub)
    explanation = stub.ExplainClassification(
        pb.ExplainClassificationRequest(licence_number="L-SMALL"), timeout=10
    )
    grading = [reason for reason in explanation.reasons if reason.rule_set == "customer-grading"]
    assert grading and {reason.version for reason in grading} == {2}
    assert explanation.classification.grading_version == 2
