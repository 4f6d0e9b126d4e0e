"""Entitling again under an entitlements version that grants nothing: the customer keeps
the stored grading and has no services, as when classifying afresh."""

from services.classification import domain
from tests.unit.classification.fakes import FakeDecision, FakeRuleSets


class GrantingNothing(FakeRuleSets):
    def entitle(self, facts, version, tiers):
        return FakeDecision(version, {}, ("nothing_granted",), {})


def test_an_entitlements_version_granting_nothing_leaves_no_services():
    inputs = domain.normalised_inputs(
        {
            "licence_number": "L-1",
            "business_format": "mall",
            "market_type": "rural",
            "monthly_sales_cartons": 60.0,
        }
    )
    before = domain.classify(inputs, FakeRuleSets().decide)
    assert before.services  # the stored classification had services
    rules = GrantingNothing()
    rules.versions[domain.ENTITLEMENTS_RULE_SET] = 2

    again = domain.entitle_again(inputs, before, rules.decide)
    assert again.services == {}
    assert (again.entitlements_version, again.entitlement_fired) == (2, ("nothing_granted",))
    assert (again.grade, again.star_level, again.grading_fired) == (
        before.grade,
        before.star_level,
        before.grading_fired,
    )
    assert again == domain.classify(inputs, rules.decide)
