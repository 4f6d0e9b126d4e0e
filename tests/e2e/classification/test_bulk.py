"""Bulk work end to end: a rule change then reclassification, imports with bad rows,
an impact preview that changes nothing, metrics; SQLite and PostgreSQL."""

import csv
import urllib.request

import grpc
import openpyxl
import pytest
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb

from services.composition import main
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
# Analysts' change: three-star customers move up to scarce-brand tier B.
TIER_B_FOR_THREE_STARS = (
    default_source("service-entitlements")
    .replace(
        "- grant_service: {service: scarce_brand_supply, allocation_tier: C}",
        "- grant_service: {service: scarce_brand_supply, allocation_tier: B}",
    )
    .replace("scarce_brand_supply: {allocation_tier: C}", "scarce_brand_supply: {allocation_tier: B}")
)


def _menu(stub, licence) -> dict:
    reply = stub.GetServiceMenu(pb.GetServiceMenuRequest(licence_number=licence), timeout=10)
    return {item.description.service: dict(item.parameters) for item in reply.items}


def test_rule_change_then_reclassification_changes_the_menu(classification):
    _, stub, admin = classification
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("L-3", **THREE_STAR)), timeout=10)
    stub.CreateCustomer(
        pb.CreateCustomerRequest(customer=customer("L-1", monthly_sales_cartons=5)), timeout=10
    )
    assert _menu(stub, "L-3")["scarce_brand_supply"] == {"allocation_tier": "C"}
    admin.PublishRuleSet(
        rules_pb.PublishRuleSetRequest(source=TIER_B_FOR_THREE_STARS, author="analyst", comment="tier B"),
        timeout=10,
    )
    assert _menu(stub, "L-3")["scarce_brand_supply"] == {"allocation_tier": "C"}  # stored until reclassified
    progress = list(stub.ReclassifyCustomers(pb.ReclassifyCustomersRequest(), timeout=60))
    assert progress[-1].done and (progress[-1].processed, progress[-1].total, progress[-1].changed) == (
        2,
        2,
        1,
    )
    assert _menu(stub, "L-3")["scarce_brand_supply"] == {"allocation_tier": "B"}
    got = stub.GetCustomer(pb.GetCustomerRequest(licence_number="L-3"), timeout=10).customer.classification
    assert (got.entitlements_version, got.reason) == (2, "reclassify")
    again = list(stub.ReclassifyCustomers(pb.ReclassifyCustomersRequest(), timeout=60))
    assert again[-1].changed == 0
    history = stub.ListClassificationHistory(
        pb.ListClassificationHistoryRequest(licence_number="L-3"), timeout=10
    )
    assert [c.reason for c in history.classifications] == ["reclassify", "create"]


def test_preview_reports_changes_and_leaves_the_data_untouched(classification):
    _, stub, _ = classification
    for index in range(6):
        stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer(f"L-{index}", **THREE_STAR)), timeout=10
        )
    stub.CreateCustomer(
        pb.CreateCustomerRequest(customer=customer("L-small", monthly_sales_cartons=5)), timeout=10
    )
    before = [
        stub.GetCustomer(pb.GetCustomerRequest(licence_number=f"L-{i}"), timeout=10).customer
        for i in range(6)
    ]
    report = stub.PreviewRuleSetImpact(
        pb.PreviewRuleSetImpactRequest(draft_source=TIER_B_FOR_THREE_STARS, sample_size=2), timeout=60
    )
    assert (report.rule_set, report.customers, report.changed) == ("service-entitlements", 7, 6)
    assert [(c.service, c.gained, c.lost, c.parameters_changed) for c in report.service_changes] == [
        ("scarce_brand_supply", 0, 0, 6)
    ]
    stricter = default_source("customer-grading").replace(
        "monthly_sales_cartons: {at_least: 40}", "monthly_sales_cartons: {at_least: 80}"
    )
    report = stub.PreviewRuleSetImpact(
        pb.PreviewRuleSetImpactRequest(draft_source=stricter, sample_size=2), timeout=60
    )
    assert (report.customers, report.changed) == (7, 6)
    assert [(t.__getattribute__("from"), t.to, t.customers) for t in report.star_transitions] == [(3, 2, 6)]
    assert {(c.service, c.gained, c.lost) for c in report.service_changes if c.gained or c.lost} == {
        ("scarce_brand_supply", 0, 6),
        ("new_product_placement", 0, 6),
    }
    assert (
        len(report.sample) == 2
        and report.sample[0].before.star_level == 3
        and report.sample[0].after.star_level == 2
    )
    after = [
        stub.GetCustomer(pb.GetCustomerRequest(licence_number=f"L-{i}"), timeout=10).customer
        for i in range(6)
    ]
    assert before == after
    history = stub.ListClassificationHistory(
        pb.ListClassificationHistoryRequest(licence_number="L-0"), timeout=10
    )
    assert len(history.classifications) == 1


def test_streamed_import_keeps_good_rows_and_reports_bad_ones(classification):
    _, stub, _ = classification
    batches = [
        pb.ImportCustomersRequest(
            rows=[customer("L-A"), customer("", name="no licence"), customer("L-B", business_format="bakery")]
        ),
        pb.ImportCustomersRequest(
            rows=[customer("L-C", monthly_sales_cartons=-1), customer("L-A"), customer("L-D")]
        ),
    ]
    replies = list(stub.ImportCustomers(iter(batches), timeout=60))
    assert [(r.created, r.rows_done) for r in replies] == [(1, 3), (1, 3)]
    errors = [(e.row, e.field) for r in replies for e in r.errors]
    assert errors == [
        (2, "licence_number"),
        (3, "business_format"),
        (4, "monthly_sales_cartons"),
        (5, "licence_number"),
    ]
    listed = stub.ListCustomers(pb.ListCustomersRequest(), timeout=10)
    assert [c.input.licence_number for c in listed.customers] == ["L-A", "L-D"]
    updated = list(
        stub.ImportCustomers(
            iter([pb.ImportCustomersRequest(rows=[customer("L-A", name="Renamed")], update_existing=True)]),
            timeout=60,
        )
    )
    assert updated[0].updated == 1
    assert (
        stub.GetCustomer(pb.GetCustomerRequest(licence_number="L-A"), timeout=10).customer.input.name
        == "Renamed"
    )


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_import_command_reads_files_with_a_progress_line(
    classification, tmp_path, monkeypatch, capsys, suffix
):
    service, stub, _ = classification
    monkeypatch.setenv(
        "RETAILCARE_CLASSIFICATION_GRPC_PORT", str(service.settings.grpc_port("classification"))
    )
    header = [
        "licence_number",
        "name",
        "business_format",
        "market_type",
        "monthly_sales_cartons",
        "credit_rating",
    ]
    rows = [
        header,
        ["F-1", "Good one", "grocery", "urban", 12, "A"],
        ["F-2", "Bad format", "bakery", "urban", 12, ""],
        ["F-3", "Bad sales", "mall", "rural", "lots", ""],
        ["F-4", "Good two", "mall", "rural", 300, "B"],
    ]
    path = tmp_path / f"customers.{suffix}"
    if suffix == "csv":
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)
    else:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    assert main(["customers", "import", str(path), "--batch-size", "2"]) == 1
    captured = capsys.readouterr()
    assert "2 created, 0 updated, 2 rows refused" in captured.out
    assert "row 3: business_format: unknown value 'bakery'" in captured.err
    assert "row 4: monthly_sales_cartons: 'lots' is not a number" in captured.err
    assert "[" in captured.err and "4/4 rows" in captured.err
    listed = stub.ListCustomers(pb.ListCustomersRequest(), timeout=10)
    assert [c.input.licence_number for c in listed.customers] == ["F-1", "F-4"]


def test_classification_metrics(classification):
    service, stub, _ = classification
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("L-M", **THREE_STAR)), timeout=10)
    port = service.settings.http_port("classification")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'customers_by_star_level{star_level="3"} 1.0' in text
    assert 'customers_by_business_format{business_format="convenience_store"} 1.0' in text
    assert "classifications_total" in text
    assert 'entitlements_granted_total{service="scarce_brand_supply"}' in text


NO_STAR_FOR_SMALL_SHOPS = """\
name: customer-grading
inputs:
  monthly_sales_cartons: {type: decimal, required: true}
  business_format: {type: one_of, required: true, values: [grocery, convenience_store, supermarket, mall, tobacco_liquor, entertainment, other]}
  market_type: {type: one_of, required: true, values: [urban, rural]}
rules:
  - {id: everyone_grade_5, then: [{set_grade: {grade: 5}}, {set_size_class: {size_class: 1}}]}
  - {id: stars_from_40, when: {monthly_sales_cartons: {at_least: 40}}, then: [{set_star_level: {level: 3}}]}
"""


def test_customers_the_rules_cannot_decide_are_counted_not_fatal(classification):
    _, stub, admin = classification
    stub.CreateCustomer(
        pb.CreateCustomerRequest(customer=customer("L-big", monthly_sales_cartons=60)), timeout=10
    )
    stub.CreateCustomer(
        pb.CreateCustomerRequest(customer=customer("L-small", monthly_sales_cartons=5)), timeout=10
    )
    admin.PublishRuleSet(
        rules_pb.PublishRuleSetRequest(source=NO_STAR_FOR_SMALL_SHOPS, author="a", comment="c"), timeout=10
    )
    last = list(stub.ReclassifyCustomers(pb.ReclassifyCustomersRequest(), timeout=60))[-1]
    assert (last.processed, last.failed, last.done) == (2, 1, True)
    assert (
        stub.GetCustomer(
            pb.GetCustomerRequest(licence_number="L-big"), timeout=10
        ).customer.classification.grade
        == 5
    )
    small = stub.GetCustomer(pb.GetCustomerRequest(licence_number="L-small"), timeout=10).customer
    assert small.classification.grading_version == 1  # left as it was
    with pytest.raises(grpc.RpcError) as refused:
        stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer("L-tiny", monthly_sales_cartons=1)), timeout=10
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "decided no star_level" in refused.value.details()
    with pytest.raises(grpc.RpcError):
        stub.GetCustomer(pb.GetCustomerRequest(licence_number="L-tiny"), timeout=10)
