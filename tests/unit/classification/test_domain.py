"""The classification domain on its own: checks, the field declaration, classifying, the
change and history policy, territories, the menu and the impact preview."""

import datetime
import math

import pytest

from services.classification import domain
from services.classification.domain import (
    CREATE,
    ON_DEMAND,
    RECLASSIFY,
    UPDATE,
    Customer,
    Effect,
    MarketZone,
    Outcome,
    PreviewReport,
    ServiceDescription,
)
from tests.unit.classification.fakes import FakeRuleSets

MOMENT = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)
LATER = MOMENT + datetime.timedelta(hours=1)


def inputs(**values) -> dict:
    base = {
        "licence_number": "L-1",
        "name": "Shop",
        "business_format": "grocery",
        "market_type": "urban",
        "monthly_sales_cartons": 30.0,
    }
    return domain.normalised_inputs({**base, **values})


def problems(**values) -> dict:
    return dict(domain.check_inputs(inputs(**values), lambda code: code == "Z-1"))


def outcome(**values) -> Outcome:
    base = dict(
        grade=11,
        star_level=2,
        size_class=1,
        classification_code="A11",
        segment="",
        services={"free_phone_ordering": {}},
        grading_version=1,
        entitlements_version=1,
        reasons={"grade": "g11"},
        grading_fired=("g11",),
    )
    return Outcome(**{**base, **values})


# -- licence numbers and inputs --------------------------------------------------------------------
@pytest.mark.parametrize(
    "given",
    ["L-001", "l-001", "  L-001 ", "Ｌ－００１", "ｌ-001", "L-001\u3000", "\tl-001\n"],
)
def test_licence_numbers_are_normalised_to_one_spelling(given):
    assert domain.normalise_licence(given) == "L-001"


def test_inputs_are_trimmed_and_completed():
    values = domain.normalised_inputs({"licence_number": " ｌ-7 ", "name": "  Shop  ", "shop_area_m2": None})
    assert values["licence_number"] == "L-7" and values["name"] == "Shop"
    assert set(values) == set(domain.INPUT_NAMES)
    assert values["district"] == "" and values["shop_area_m2"] is None and values["cooperation_score"] is None


def test_good_input_has_no_problems():
    assert (
        problems(market_zone="Z-1", shop_area_m2=0.0, cooperation_score=100, compliance_violations_12m=0)
        == {}
    )


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"licence_number": ""}, {"licence_number"}),
        ({"licence_number": "   "}, {"licence_number"}),
        ({"licence_number": "A\x00B"}, {"licence_number"}),
        ({"licence_number": "A\u200bB"}, {"licence_number"}),
        ({"licence_number": "L" * 41}, {"licence_number"}),
        ({"name": " "}, {"name"}),
        ({"business_format": "bakery"}, {"business_format"}),
        ({"business_format": "", "market_type": "city"}, {"business_format", "market_type"}),
        ({"zone_type": "moon"}, {"zone_type"}),
        ({"credit_rating": "E"}, {"credit_rating"}),
        ({"market_zone": "Z-2"}, {"market_zone"}),
        ({"monthly_sales_cartons": -0.5}, {"monthly_sales_cartons"}),
        ({"monthly_sales_cartons": math.inf}, {"monthly_sales_cartons"}),
        ({"monthly_sales_cartons": 1e308}, {"monthly_sales_cartons"}),
        ({"monthly_sales_cartons": math.nan}, {"monthly_sales_cartons"}),
        ({"monthly_sales_cartons": None}, {"monthly_sales_cartons"}),
        ({"shop_area_m2": -1.0}, {"shop_area_m2"}),
        ({"shop_area_m2": -math.inf}, {"shop_area_m2"}),
        ({"compliance_violations_12m": -1}, {"compliance_violations_12m"}),
        ({"compliance_violations_12m": 10_001}, {"compliance_violations_12m"}),
        ({"compliance_violations_12m": 1.5}, {"compliance_violations_12m"}),
        ({"cooperation_score": 101}, {"cooperation_score"}),
        ({"cooperation_score": True}, {"cooperation_score"}),
    ],
)
def test_each_problem_names_its_field(values, fields):
    assert set(problems(**values)) == fields


def test_range_limits_are_inclusive_and_stated():
    assert problems(monthly_sales_cartons=1_000_000.0, compliance_violations_12m=10_000) == {}
    assert problems(monthly_sales_cartons=1_000_000.5)["monthly_sales_cartons"] == (
        "must be a finite number from 0 to 1,000,000"
    )
    assert problems(cooperation_score=-1)["cooperation_score"] == "must be a whole number from 0 to 100"


def test_messages_quote_only_a_prefix_of_a_bad_value():
    message = problems(business_format="x" * 5000)["business_format"]
    assert len(message) < 200 and "x" * 40 + "…" in message


def test_required_choices_list_the_values():
    assert problems(market_type="")["market_type"] == "is required: one of urban, rural"


def test_update_masks_name_input_fields_but_never_the_licence():
    assert domain.check_update_mask(["name", "monthly_sales_cartons"]) == []
    assert domain.check_update_mask(["colour"]) == [("update_mask", "unknown field 'colour'")]
    assert [f for f, _ in domain.check_update_mask(["licence_number"])] == ["update_mask"]


# -- imported cells --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("licence_number", "012345670123", "012345670123"),
        ("contact_phone", "02012345670", "02012345670"),
        ("contact_phone", " 0591-123 ", "0591-123"),
        ("monthly_sales_cartons", "12", 12.0),
        ("monthly_sales_cartons", "0.5", 0.5),
        ("compliance_violations_12m", "3", 3),
        ("cooperation_score", "007", 7),
    ],
)
def test_cells_convert_by_the_declared_type(name, text, value):
    converted = domain.value_from_text(domain.FIELDS[name], text)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize(
    ("name", "text", "why"),
    [
        ("compliance_violations_12m", "1.5", "'1.5' is not a whole number"),
        ("monthly_sales_cartons", "lots", "'lots' is not a number"),
        ("monthly_sales_cartons", "inf", "must be a finite number from 0 to 1,000,000"),
        ("monthly_sales_cartons", "1e308", "must be a finite number from 0 to 1,000,000"),
        ("compliance_violations_12m", "99999999999", "must be a whole number from 0 to 10,000"),
        ("cooperation_score", "-3", "must be a whole number from 0 to 100"),
    ],
)
def test_cells_that_do_not_fit_say_why(name, text, why):
    with pytest.raises(ValueError, match=why):
        domain.value_from_text(domain.FIELDS[name], text)


# -- one declaration --------------------------------------------------------------------------------
def test_filters_and_grading_facts_come_from_the_declaration():
    assert domain.FILTER_FIELDS == (
        "business_format",
        "market_type",
        "zone_type",
        "district",
        "market_zone",
        "team_id",
        "star_level",
        "grade",
    )
    facts = domain.grading_facts(inputs(shop_area_m2=20.0, credit_rating="", contact_name="Wang"))
    assert facts == {
        "business_format": "grocery",
        "market_type": "urban",
        "monthly_sales_cartons": 30.0,
        "shop_area_m2": 20.0,
    }


def test_outcome_parts_by_role():
    assert domain.NOTICED_PARTS == ("grade", "star_level", "classification_code", "segment", "services")
    assert domain.VERSION_PARTS == ("grading_version", "entitlements_version")
    assert "reasons" not in domain.COMPARED_PARTS and "size_class" in domain.COMPARED_PARTS
    assert domain.OUTCOME_PARTS[-3:] == ("reasons", "grading_fired", "entitlement_fired")
    # Bulk reads build an Outcome from the compared columns alone, positionally.
    assert domain.OUTCOME_PARTS[: len(domain.COMPARED_PARTS)] == domain.COMPARED_PARTS


# -- classifying ----------------------------------------------------------------------------------------
def test_classify_grades_then_entitles_from_the_star_level():
    rules = FakeRuleSets()
    result = domain.classify(inputs(business_format="supermarket", monthly_sales_cartons=250.0), rules.decide)
    assert (result.grade, result.star_level, result.size_class) == (13, 4, 3)
    assert result.classification_code == "C13"
    assert domain.classify(inputs(monthly_sales_cartons=600.0), rules.decide).segment == "key_account"
    assert result.services["scarce_brand_supply"] == {"allocation_tier": "B"}
    assert result.reasons["star_level"] == "star_level_rule"
    assert result.reasons["services.scarce_brand_supply"] == "grant_scarce_brand_supply"
    assert "services" not in result.reasons  # the whole-map key is no output of its own
    assert result.versions() == (1, 1)


def test_a_grading_that_leaves_the_star_level_undecided_is_incomplete():
    rules = FakeRuleSets()
    rules.undecided_below = 100
    with pytest.raises(domain.IncompleteDecision, match="decided no star_level"):
        domain.classify(inputs(monthly_sales_cartons=5.0), rules.decide)


@pytest.mark.parametrize(
    ("business_format", "market_type", "size", "code"),
    [("grocery", "urban", 1, "A11"), ("mall", "rural", 3, "D23"), ("other", "urban", 2, "G12")],
)
def test_classification_code(business_format, market_type, size, code):
    assert domain.classification_code(business_format, market_type, size) == code


def test_explained_names_rule_set_and_version_of_each_output():
    decided = outcome(
        reasons={"star_level": "s2", "services.scarce_brand_supply": "t"},
        grading_version=3,
        entitlements_version=7,
    )
    assert decided.explained() == [
        ("services.scarce_brand_supply", "service-entitlements", 7, "t"),
        ("star_level", "customer-grading", 3, "s2"),
    ]


def test_version_of_each_rule_set():
    decided = outcome(grading_version=3, entitlements_version=7)
    assert decided.version_of(domain.GRADING_RULE_SET) == 3
    assert decided.version_of(domain.ENTITLEMENTS_RULE_SET) == 7
    with pytest.raises(KeyError, match="complaint-policy"):
        decided.version_of("complaint-policy")


def test_an_entitlements_draft_keeps_the_stored_grading():
    rules = FakeRuleSets()
    before = outcome(star_level=3, grade=2)
    after = domain.classify_with_draft(
        inputs(monthly_sales_cartons=500.0), before, domain.ENTITLEMENTS_RULE_SET, rules.decide
    )
    assert (after.grade, after.star_level) == (2, 3)
    assert after.services["scarce_brand_supply"] == {"allocation_tier": "C"}
    grading = domain.classify_with_draft(
        inputs(monthly_sales_cartons=500.0), before, domain.GRADING_RULE_SET, rules.decide
    )
    assert grading.star_level == 5
    unclassified = domain.classify_with_draft(
        inputs(monthly_sales_cartons=500.0), None, domain.ENTITLEMENTS_RULE_SET, rules.decide
    )
    assert unclassified.star_level == 5


# -- the change and history policy -----------------------------------------------------------------------
@pytest.mark.parametrize("reason", [CREATE, UPDATE, ON_DEMAND])
def test_what_a_caller_asks_for_is_always_recorded(reason):
    assert domain.effect_of(reason, outcome(), outcome()) is Effect.CHANGE


@pytest.mark.parametrize(
    ("before", "after", "effect"),
    [
        (None, outcome(), Effect.CHANGE),
        (outcome(), outcome(), Effect.NOTHING),
        (outcome(), outcome(reasons={"grade": "other"}, grading_fired=()), Effect.NOTHING),
        (outcome(), outcome(size_class=2), Effect.NOTHING),
        (outcome(), outcome(entitlements_version=2), Effect.REFRESH),
        (outcome(), outcome(grading_version=2), Effect.REFRESH),
        (outcome(), outcome(grade=12), Effect.CHANGE),
        (outcome(), outcome(star_level=3), Effect.CHANGE),
        (outcome(), outcome(classification_code="A12"), Effect.CHANGE),
        (outcome(), outcome(segment="key_account"), Effect.CHANGE),
        (outcome(), outcome(services={"free_phone_ordering": {"x": 1}}), Effect.CHANGE),
        (outcome(), outcome(services={}, entitlements_version=2), Effect.CHANGE),
    ],
)
def test_a_reclassification_records_only_what_changed(before, after, effect):
    assert domain.effect_of(RECLASSIFY, before, after) is effect


def test_recording_keeps_or_replaces_the_current_classification():
    customer = Customer.register(inputs(), "team-a", outcome(), MOMENT)
    assert (customer.classification.reason, customer.classification.classified_at) == (CREATE, MOMENT)
    assert customer.record(outcome(), RECLASSIFY, LATER) is Effect.NOTHING
    assert customer.classification.classified_at == MOMENT
    assert customer.record(outcome(grading_version=2), RECLASSIFY, LATER) is Effect.REFRESH
    assert customer.classification.reason == RECLASSIFY and customer.outcome.grading_version == 2
    assert customer.record(outcome(grading_version=2), ON_DEMAND, LATER) is Effect.CHANGE
    assert customer.classification.reason == ON_DEMAND


def test_a_revision_replaces_the_named_fields_only():
    customer = Customer.register(inputs(district="Gulou"), "", outcome(), MOMENT)
    revised = customer.revised_inputs(
        {"licence_number": "OTHER", "name": "  New name ", "district": "Taijiang"}, ["licence_number", "name"]
    )
    assert (revised["licence_number"], revised["name"], revised["district"]) == ("L-1", "New name", "Gulou")
    customer.revise(revised, "team-b", outcome(grade=12), LATER)
    assert (customer.team_id, customer.updated_at, customer.created_at) == ("team-b", LATER, MOMENT)
    assert (customer.inputs["name"], customer.classification.reason) == ("New name", UPDATE)


def test_deactivation_happens_once_and_ends_updates():
    customer = Customer.register(inputs(), "", outcome(), MOMENT)
    customer.ensure_active()
    assert customer.deactivate("closed", LATER) is True
    assert (customer.active, customer.deactivated_at, customer.updated_at) == (False, LATER, LATER)
    assert customer.deactivate("again", LATER + datetime.timedelta(days=1)) is False
    assert customer.deactivation_reason == "closed" and customer.deactivated_at == LATER
    with pytest.raises(domain.CustomerInactive):
        customer.ensure_active()


# -- territories and the menu --------------------------------------------------------------------------
def test_a_zone_can_be_renamed_by_its_team_and_reassigned_explicitly():
    zone = MarketZone("LY-01", "Old town", "team-a", MOMENT)
    zone.rename("Old town east", "team-a", LATER)
    assert (zone.name, zone.updated_at) == ("Old town east", LATER)
    with pytest.raises(domain.ZoneOwnedElsewhere, match="belongs to team team-a") as owned:
        zone.rename("Taken", "team-b", LATER)
    assert owned.value.code == "LY-01"
    assert zone.name == "Old town east"
    zone.reassign("team-b", LATER)
    assert zone.team_id == "team-b"


def test_service_descriptions_are_checked():
    good = ServiceDescription("s", "Name", "standard", ["step"], "standard", "commitment")
    assert good.problems() == []
    bad = ServiceDescription("", "", "special", [], "", "x")
    assert bad.problems() == [
        ("description.service", "is required"),
        ("description.name", "is required"),
        ("description.standard", "is required"),
        ("description.procedure_steps", "list at least one step"),
        ("description.kind", "must be standard or personalised"),
    ]


def test_the_menu_follows_the_descriptions_order_and_names_undescribed_services():
    described = [
        ServiceDescription("free_phone_ordering", "Phone", "standard", ["call"], "s", "c"),
        ServiceDescription("scarce_brand_supply", "Scarce", "personalised", ["offer"], "s", "c"),
    ]
    services = {"new_service": {}, "scarce_brand_supply": {"allocation_tier": "A"}, "free_phone_ordering": {}}
    customer = Customer.register(inputs(), "", outcome(services=services), MOMENT)
    items = domain.menu(customer, described)
    assert [d.service for d, _ in items] == ["free_phone_ordering", "scarce_brand_supply", "new_service"]
    assert items[1][1] == {"allocation_tier": "A"} and items[2][0].name == "new_service"


# -- impact preview -----------------------------------------------------------------------------------
def test_the_preview_counts_what_customers_would_notice():
    report = PreviewReport(rule_set="service-entitlements")
    same = outcome()
    report.count("L-SAME", same, outcome(entitlements_version=2, reasons={}), sample_size=1)
    tiers = {"free_phone_ordering": {}, "scarce_brand_supply": {"allocation_tier": "C"}}
    report.count(
        "L-TIER",
        outcome(services=tiers),
        outcome(services={**tiers, "scarce_brand_supply": {"allocation_tier": "B"}}),
        sample_size=1,
    )
    report.count(
        "L-STAR",
        outcome(star_level=3, grade=16, services=tiers),
        outcome(star_level=2, grade=11, services={"free_phone_ordering": {}, "personal_care": {}}),
        sample_size=1,
    )
    report.count("L-NEW", None, outcome(), sample_size=1)
    assert (report.customers, report.changed) == (4, 3)
    assert report.star_transitions == {(3, 2): 1, (0, 2): 1}
    assert report.grade_transitions == {(16, 11): 1, (0, 11): 1}
    assert report.reparameterised == {"scarce_brand_supply": 1}
    assert report.lost == {"scarce_brand_supply": 1}
    assert report.gained == {"personal_care": 1, "free_phone_ordering": 1}
    assert [licence for licence, _, _ in report.sample] == ["L-TIER"]


def test_numbers_must_be_numbers_and_limits_are_exact():
    assert set(problems(monthly_sales_cartons="12")) == {"monthly_sales_cartons"}
    assert problems(licence_number="L" * 40) == {}
    assert problems(monthly_sales_cartons=0.0, cooperation_score=0, shop_area_m2=1_000_000.0) == {}


def test_entitlement_facts_carry_the_zone_type_under_the_record_s_name():
    assert domain.entitlement_facts(inputs(zone_type="village"), 3) == {
        "star_level": 3,
        "business_format": "grocery",
        "market_type": "urban",
        "zone_type": "village",
    }
    assert "zone_type" not in domain.entitlement_facts(inputs(), 3)


def test_an_unclassified_customer_has_an_empty_menu():
    customer = Customer(inputs=inputs())
    assert customer.outcome is None
    assert domain.menu(customer, [ServiceDescription("s", "S", "standard", ["x"], "s", "c")]) == []


def test_messages_say_what_is_wrong():
    assert problems(name="")["name"] == "is required"
    assert problems(monthly_sales_cartons=None)["monthly_sales_cartons"] == "is required"
    assert problems(business_format="bakery")["business_format"] == (
        "unknown value 'bakery': use one of grocery, convenience_store, supermarket, mall, "
        "tobacco_liquor, entertainment, other"
    )
    assert problems(market_zone="Z-2")["market_zone"] == (
        "unknown market zone 'Z-2'; create it first (UpsertMarketZone)"
    )
    assert problems(zone_type="x" * 40)["zone_type"].startswith(f"unknown value '{'x' * 40}':")
    assert domain.check_update_mask(["licence_number"]) == [
        ("update_mask", "licence_number names the customer and cannot change")
    ]
    assert domain.check_required("zone.", {"code": "", "name": "x"}) == [("zone.code", "is required")]
    with pytest.raises(domain.CustomerInactive) as inactive:
        closed = Customer(inputs=inputs(), active=False)
        closed.ensure_active()
    assert inactive.value.licence == "L-1" and str(inactive.value) == "customer L-1 is inactive"


class Decided:
    def __init__(self, version, outputs, fired=(), reasons=None):
        self.version, self.outputs, self.fired, self.reasons = version, outputs, fired, reasons or {}


def test_classify_fills_what_the_rules_leave_open():
    def decide(rule_set, facts):
        if rule_set == domain.GRADING_RULE_SET:
            return Decided(4, {"grade": 3, "star_level": 1, "size_class": 1}, ["g", "s"])
        return Decided(9, {}, ["nothing_granted"])

    result = domain.classify(inputs(), decide)
    assert (result.segment, result.services, result.grading_fired) == ("", {}, ("g", "s"))
    assert result.entitlement_fired == ("nothing_granted",)
    assert result.versions() == (4, 9)
    draft = domain.classify_with_draft(inputs(), outcome(), domain.ENTITLEMENTS_RULE_SET, decide)
    assert (draft.services, draft.entitlements_version, draft.grade) == ({}, 9, 11)

    def decide_nothing(rule_set, facts):
        return Decided(4, {"size_class": 1})

    with pytest.raises(domain.IncompleteDecision, match="customer-grading v4 decided no grade, star_level$"):
        domain.classify(inputs(), decide_nothing)


def test_registering_and_revising_stamp_the_moment():
    customer = Customer.register(inputs(), "", outcome(), MOMENT)
    assert (customer.created_at, customer.updated_at, customer.classification.classified_at) == (MOMENT,) * 3
    customer.revise(inputs(), "", outcome(), LATER)
    assert (customer.updated_at, customer.classification.classified_at) == (LATER, LATER)


def test_undescribed_services_and_repeated_transitions():
    described = [ServiceDescription("free_phone_ordering", "Phone", "standard", ["call"], "s", "c")]
    customer = Customer.register(
        inputs(), "", outcome(services={"free_phone_ordering": {}, "new": {}}), MOMENT
    )
    items = domain.menu(customer, described)
    assert items[0][0].name == "Phone"
    assert vars(items[1][0]) == vars(ServiceDescription("new", "new", "", [], "", ""))
    assert {f for f, _ in ServiceDescription("s", "S", "standard", ["x"], "s", "").problems()} == {
        "description.commitment"
    }
    report = PreviewReport(rule_set="customer-grading")
    for licence in ("A", "B"):
        report.count(licence, outcome(grade=11, star_level=2), outcome(grade=12, star_level=3), sample_size=0)
    assert report.grade_transitions == {(11, 12): 2} and report.star_transitions == {(2, 3): 2}
    assert report.sample == []


def test_quoting_keeps_values_up_to_the_prefix_whole():
    assert domain._quoted("y" * 40) == repr("y" * 40)
    assert domain._quoted("y" * 41) == repr("y" * 40 + "…")
