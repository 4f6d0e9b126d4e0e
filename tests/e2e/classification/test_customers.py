"""The classification service end to end through a real channel, on SQLite and PostgreSQL."""

import grpc
import pytest
from google.protobuf import field_mask_pb2
from retailcare.classification.v1 import classification_pb2 as pb

from services.classification.rules import SERVICES
from services.common.errors import field_violations
from tests.e2e.classification.conftest import customer

FIVE_STAR = dict(
    business_format="supermarket",
    market_type="urban",
    zone_type="city_centre",
    monthly_sales_cartons=520,
    shop_area_m2=300,
    compliance_violations_12m=0,
    credit_rating="A",
    cooperation_score=90,
    customer_manager_id="cm-07",
)
ONE_STAR_VILLAGE = dict(
    business_format="grocery",
    market_type="rural",
    zone_type="village",
    monthly_sales_cartons=7,
    shop_area_m2=15,
)
THREE_STAR = dict(
    business_format="convenience_store",
    market_type="urban",
    zone_type="county_town",
    monthly_sales_cartons=60,
    compliance_violations_12m=1,
    credit_rating="B",
    cooperation_score=60,
)


def _create(stub, licence, **values):
    return stub.CreateCustomer(
        pb.CreateCustomerRequest(customer=customer(licence, **values)), timeout=10
    ).customer


def _menu(stub, licence) -> dict:
    reply = stub.GetServiceMenu(pb.GetServiceMenuRequest(licence_number=licence), timeout=10)
    return {item.description.service: dict(item.parameters) for item in reply.items}


def test_default_rule_sets_decide_all_eleven_services(stub):
    top = _create(stub, "L-5STAR", **FIVE_STAR)
    assert (top.classification.grade, top.classification.star_level) == (30, 5)
    assert top.classification.classification_code == "C13"
    assert top.classification.segment == "key_account"
    assert set(top.classification.services) == set(SERVICES)
    menu = _menu(stub, "L-5STAR")
    assert menu["scarce_brand_supply"] == {"allocation_tier": "A"}
    assert menu["differentiated_visit"] == {"visits_per_month": 4.0}
    assert list(menu["ordering_method"]["channels"]) == ["online", "phone", "system_interface"]
    assert menu["new_product_placement"] == {"placement": "first_wave"}

    small = _create(stub, "L-1STAR", **ONE_STAR_VILLAGE)
    assert (small.classification.star_level, small.classification.classification_code) == (1, "A21")
    menu = _menu(stub, "L-1STAR")
    assert "scarce_brand_supply" not in menu and "new_product_placement" not in menu
    assert list(menu["settlement_method"]["settlement_methods"]) == ["bank_debit", "mobile_payment"]
    assert menu["differentiated_visit"] == {"visits_per_month": 1.0}
    assert list(menu["business_guidance"]["topics"]) == ["basic_operation"]
    assert {
        "free_phone_ordering",
        "customer_manager_visit",
        "storefront_image_upkeep",
        "retail_price_upkeep",
    } <= set(menu)

    middle = _create(stub, "L-3STAR", **THREE_STAR)
    assert middle.classification.star_level == 3
    assert _menu(stub, "L-3STAR")["scarce_brand_supply"] == {"allocation_tier": "C"}


def test_service_menu_carries_procedures_standards_commitments_and_manager(stub):
    _create(stub, "L-MENU", **FIVE_STAR)
    reply = stub.GetServiceMenu(pb.GetServiceMenuRequest(licence_number="L-MENU"), timeout=10)
    assert reply.customer_manager_id == "cm-07" and reply.entitlements_version == 1
    scarce = next(i for i in reply.items if i.description.service == "scarce_brand_supply")
    assert scarce.description.name.startswith("紧俏货源投放")
    assert (
        scarce.description.procedure_steps and scarce.description.standard and scarce.description.commitment
    )
    edited = pb.ServiceDescription(
        service="scarce_brand_supply",
        name="紧俏货源投放",
        kind="personalised",
        procedure_steps=["Tier from star level", "Offer in the ordering window"],
        standard="Published tiers.",
        commitment="Fair allocation.",
    )
    stub.UpdateServiceDescription(pb.UpdateServiceDescriptionRequest(description=edited), timeout=10)
    reply = stub.GetServiceMenu(pb.GetServiceMenuRequest(licence_number="L-MENU"), timeout=10)
    scarce = next(i for i in reply.items if i.description.service == "scarce_brand_supply")
    assert list(scarce.description.procedure_steps) == [
        "Tier from star level",
        "Offer in the ordering window",
    ]


def test_explain_names_the_deciding_rules(stub):
    _create(stub, "L-WHY", **THREE_STAR)
    reply = stub.ExplainClassification(pb.ExplainClassificationRequest(licence_number="L-WHY"), timeout=10)
    reasons = {r.output: (r.rule_set, r.version, r.rule_id) for r in reply.reasons}
    assert reasons["star_level"] == ("customer-grading", 1, "star_3")
    assert reasons["grade"] == ("customer-grading", 1, "grade_16")
    assert reasons["services.scarce_brand_supply"] == ("service-entitlements", 1, "scarce_brand_3_star")
    assert reasons["services.differentiated_visit"][2] == "visits_county_town"
    assert "star_3" in reply.grading_fired_rules


class TestRefusals:
    """Refused input: nothing stored, the server serves the next as it was."""

    @pytest.mark.parametrize(
        ("values", "fields"),
        [
            ({"licence_number": ""}, {"licence_number"}),
            ({"business_format": "bakery"}, {"business_format"}),
            ({"monthly_sales_cartons": -5}, {"monthly_sales_cartons"}),
            (
                {"business_format": "", "market_type": "city", "cooperation_score": 101},
                {"business_format", "market_type", "cooperation_score"},
            ),
            ({"market_zone": "nowhere"}, {"market_zone"}),
        ],
    )
    def test_bad_input_names_the_fields_and_writes_nothing(self, refusing_stub, values, fields):
        stub = refusing_stub
        values = dict(values)
        licence = values.pop("licence_number", "L-BAD")
        with pytest.raises(grpc.RpcError) as error:
            stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer(licence, **values)), timeout=10)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(error.value)) == fields
        listed = stub.ListCustomers(
            pb.ListCustomersRequest(filter=pb.CustomerFilter(activity=pb.CustomerFilter.ALL)), timeout=10
        )
        assert not listed.customers


def test_duplicate_licence_is_already_exists(stub):
    _create(stub, "L-DUP")
    with pytest.raises(grpc.RpcError) as error:
        _create(stub, "L-DUP", name="Another")
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (
        stub.GetCustomer(pb.GetCustomerRequest(licence_number="L-DUP"), timeout=10).customer.input.name
        == "Shop L-DUP"
    )


def test_update_reclassifies_and_keeps_history(stub):
    _create(stub, "L-UP", monthly_sales_cartons=30)
    request = pb.UpdateCustomerRequest(
        customer=customer("L-UP", monthly_sales_cartons=600, name="ignored"),
        update_mask=field_mask_pb2.FieldMask(paths=["monthly_sales_cartons"]),
    )
    updated = stub.UpdateCustomer(request, timeout=10).customer
    assert (updated.input.name, updated.classification.grade, updated.classification.reason) == (
        "Shop L-UP",
        30,
        "update",
    )
    history = stub.ListClassificationHistory(
        pb.ListClassificationHistoryRequest(licence_number="L-UP"), timeout=10
    )
    assert [(c.grade, c.reason) for c in history.classifications] == [(30, "update"), (11, "create")]
    with pytest.raises(grpc.RpcError) as bad_mask:
        stub.UpdateCustomer(
            pb.UpdateCustomerRequest(
                customer=customer("L-UP"), update_mask=field_mask_pb2.FieldMask(paths=["colour"])
            ),
            timeout=10,
        )
    assert "update_mask" in field_violations(bad_mask.value)
    with pytest.raises(grpc.RpcError) as missing:
        stub.UpdateCustomer(pb.UpdateCustomerRequest(customer=customer("L-NONE")), timeout=10)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_list_filters_pagination_and_deactivation(stub):
    for index in range(5):
        _create(stub, f"L-{index}", **(FIVE_STAR if index % 2 else ONE_STAR_VILLAGE))
    stub.DeactivateCustomer(pb.DeactivateCustomerRequest(licence_number="L-1", reason="closed"), timeout=10)
    five_star = stub.ListCustomers(
        pb.ListCustomersRequest(filter=pb.CustomerFilter(star_level=5)), timeout=10
    )
    assert [c.input.licence_number for c in five_star.customers] == ["L-3"]
    everyone = stub.ListCustomers(
        pb.ListCustomersRequest(filter=pb.CustomerFilter(star_level=5, activity=pb.CustomerFilter.ALL)),
        timeout=10,
    )
    assert [c.input.licence_number for c in everyone.customers] == ["L-1", "L-3"]
    rural = stub.ListCustomers(
        pb.ListCustomersRequest(filter=pb.CustomerFilter(market_type="rural"), page_size=2), timeout=10
    )
    assert [c.input.licence_number for c in rural.customers] == ["L-0", "L-2"] and rural.next_page_token
    rest = stub.ListCustomers(
        pb.ListCustomersRequest(
            filter=pb.CustomerFilter(market_type="rural"), page_size=2, page_token=rural.next_page_token
        ),
        timeout=10,
    )
    assert [c.input.licence_number for c in rest.customers] == ["L-4"] and not rest.next_page_token
    with pytest.raises(grpc.RpcError) as negative:
        stub.ListCustomers(pb.ListCustomersRequest(page_size=-1), timeout=10)
    assert set(field_violations(negative.value)) == {"page_size"}
    history = stub.ListClassificationHistory(
        pb.ListClassificationHistoryRequest(licence_number="L-1"), timeout=10
    )
    assert len(history.classifications) == 1


def test_oversized_page_is_capped(stub):
    rows = [customer(f"L-{i:04d}") for i in range(505)]
    replies = list(stub.ImportCustomers(iter([pb.ImportCustomersRequest(rows=rows)]), timeout=120))
    assert sum(r.created for r in replies) == 505
    page = stub.ListCustomers(pb.ListCustomersRequest(page_size=100000), timeout=30)
    assert len(page.customers) == 500 and page.next_page_token


def test_zone_reassignment_moves_customers(stub):
    stub.UpsertMarketZone(
        pb.UpsertMarketZoneRequest(
            zone=pb.MarketZone(code="LY-01", name="Luoyuan old town", team_id="team-a")
        ),
        timeout=10,
    )
    stub.UpsertMarketZone(
        pb.UpsertMarketZoneRequest(zone=pb.MarketZone(code="LY-02", name="Harbour", team_id="team-b")),
        timeout=10,
    )
    assert _create(stub, "L-Z1", market_zone="LY-01").team_id == "team-a"
    _create(stub, "L-Z2", market_zone="LY-01")
    _create(stub, "L-Z3", market_zone="LY-02")
    with pytest.raises(grpc.RpcError) as steal:
        stub.UpsertMarketZone(
            pb.UpsertMarketZoneRequest(zone=pb.MarketZone(code="LY-01", name="x", team_id="team-b")),
            timeout=10,
        )
    assert steal.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    moved = stub.ReassignMarketZone(pb.ReassignMarketZoneRequest(code="LY-01", team_id="team-c"), timeout=10)
    assert (moved.customers_moved, moved.zone.team_id) == (2, "team-c")
    team_c = stub.ListCustomers(
        pb.ListCustomersRequest(filter=pb.CustomerFilter(team_id="team-c")), timeout=10
    )
    assert sorted(c.input.licence_number for c in team_c.customers) == ["L-Z1", "L-Z2"]
    assert (
        stub.GetCustomer(pb.GetCustomerRequest(licence_number="L-Z3"), timeout=10).customer.team_id
        == "team-b"
    )
