"""Hostile input and races against a real classification service on SQLite and PostgreSQL:
licence spellings, numbers out of range, unknown enum numbers, market-zone paging,
imports that keep cells as text, and a customer updated while a reclassification runs."""

import csv
import math
import urllib.request

import grpc
import openpyxl
import pytest
from google.protobuf import field_mask_pb2, message
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb

from services.classification.storage import SqlCustomers
from services.common.errors import field_violations
from services.composition import main
from tests.e2e.classification.conftest import customer
from tests.support.databases import ONE_DATABASE
from tests.support.rule_samples import default_source
from tests.support.services import channel_to


def _get(stub, licence: str) -> pb.Customer:
    return stub.GetCustomer(pb.GetCustomerRequest(licence_number=licence), timeout=10).customer


def _refused(call, request) -> dict[str, str]:
    """The field violations of a refused call (a streaming reply is read to its end)."""
    with pytest.raises(grpc.RpcError) as error:
        reply = call(request, timeout=10)
        if not isinstance(reply, message.Message):
            list(reply)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return field_violations(error.value)


def test_a_licence_in_another_case_or_width_is_the_same_customer(stub):
    created = stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer(" l-norm-01 ")), timeout=10)
    assert created.customer.input.licence_number == "L-NORM-01"
    for spelling in ("L-NORM-01", "l-norm-01", "Ｌ－ＮＯＲＭ－０１", "ｌ-norm-01"):
        assert _get(stub, spelling).input.licence_number == "L-NORM-01"
    with pytest.raises(grpc.RpcError) as duplicate:
        stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("Ｌ－ＮＯＲＭ－０１")), timeout=10)
    assert duplicate.value.code() == grpc.StatusCode.ALREADY_EXISTS
    request = pb.UpdateCustomerRequest(
        customer=customer("l-norm-01", name="Renamed"), update_mask=field_mask_pb2.FieldMask(paths=["name"])
    )
    assert stub.UpdateCustomer(request, timeout=10).customer.input.name == "Renamed"
    listed = stub.ListCustomers(pb.ListCustomersRequest(), timeout=10)
    assert [c.input.licence_number for c in listed.customers] == ["L-NORM-01"]


@pytest.mark.parametrize(
    "values",
    [
        {"monthly_sales_cartons": math.inf},
        {"monthly_sales_cartons": 1e308},
        {"monthly_sales_cartons": 2_000_000},
        {"monthly_sales_cartons": math.nan},
        {"shop_area_m2": -math.inf},
        {"compliance_violations_12m": 2**31 - 1},
    ],
)
@ONE_DATABASE  # refused before storage; the value stored before stays
def test_numbers_outside_their_range_are_invalid_arguments(stub, values):
    field = next(iter(values))
    violations = _refused(stub.CreateCustomer, pb.CreateCustomerRequest(customer=customer("L-NUM", **values)))
    assert [name for name in violations if name.endswith(field)], violations
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("L-NUM")), timeout=10)
    request = pb.UpdateCustomerRequest(
        customer=customer("L-NUM", **values), update_mask=field_mask_pb2.FieldMask(paths=[field])
    )
    assert [name for name in _refused(stub.UpdateCustomer, request) if name.endswith(field)]
    assert _get(stub, "L-NUM").input.monthly_sales_cartons == 30


class TestRefusals:
    """Refused input: nothing stored, the server serves the next as it was."""

    @pytest.mark.parametrize("licence", ["L\x00NUL", "L\u200bZERO-WIDTH", "L\nLINE"])
    def test_licences_must_be_printable(self, refusing_stub, licence):
        stub = refusing_stub
        violations = _refused(stub.CreateCustomer, pb.CreateCustomerRequest(customer=customer(licence)))
        assert [name for name in violations if name.endswith("licence_number")]
        assert not stub.ListCustomers(pb.ListCustomersRequest(), timeout=10).customers


def test_unknown_activity_numbers_are_refused(stub):
    stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer("L-ENUM")), timeout=10)
    odd = pb.CustomerFilter(activity=7)
    assert "filter.activity" in _refused(stub.ListCustomers, pb.ListCustomersRequest(filter=odd))
    assert "filter.activity" in _refused(stub.ReclassifyCustomers, pb.ReclassifyCustomersRequest(filter=odd))
    everyone = pb.ListCustomersRequest(filter=pb.CustomerFilter(activity=pb.CustomerFilter.ALL))
    assert len(stub.ListCustomers(everyone, timeout=10).customers) == 1


def test_market_zones_come_in_pages(stub):
    codes = [f"Z-{index:02d}" for index in range(7)]
    for code in reversed(codes):
        stub.UpsertMarketZone(
            pb.UpsertMarketZoneRequest(zone=pb.MarketZone(code=code, name=f"Zone {code}", team_id="team-a")),
            timeout=10,
        )
    whole = stub.ListMarketZones(pb.ListMarketZonesRequest(), timeout=10)
    assert [z.code for z in whole.zones] == codes and not whole.next_page_token
    walked, token = [], ""
    for _ in range(len(codes)):
        page = stub.ListMarketZones(pb.ListMarketZonesRequest(page_size=3, page_token=token), timeout=10)
        assert len(page.zones) <= 3
        walked.extend(page.zones)
        token = page.next_page_token
        if not token:
            break
    assert walked == list(whole.zones)
    first = stub.ListMarketZones(pb.ListMarketZonesRequest(page_size=3), timeout=10)
    assert "page_token" in _refused(
        stub.ListMarketZones, pb.ListMarketZonesRequest(page_token=first.next_page_token[:-2] + "xx")
    )
    customers_token = stub.ListCustomers(pb.ListCustomersRequest(page_size=1), timeout=10).next_page_token
    for foreign in ("garbage", "MTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw", customers_token):
        if foreign:
            assert "page_token" in _refused(
                stub.ListMarketZones, pb.ListMarketZonesRequest(page_token=foreign)
            )
    assert "page_size" in _refused(stub.ListMarketZones, pb.ListMarketZonesRequest(page_size=-1))


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_imports_read_cells_as_text_and_convert_by_declared_type(
    classification, tmp_path, monkeypatch, capsys, suffix
):
    service, stub, _ = classification
    monkeypatch.setenv(
        "RETAILCARE_CLASSIFICATION_GRPC_PORT", str(service.settings.grpc_port("classification"))
    )
    rows = [
        [
            "licence_number",
            "name",
            "business_format",
            "market_type",
            "monthly_sales_cartons",
            "contact_phone",
            "compliance_violations_12m",
        ],
        ["012345670123", "Leading zeros", "grocery", "urban", "12", "02012345670", "2"],
        ["012345670124", "Half a violation", "grocery", "urban", "12", "", "1.5"],
        ["012345670125", "Octal-looking phone", "mall", "rural", "300.5", "0777", ""],
        ["012345670126", "Too many cartons", "mall", "rural", "inf", "", ""],
    ]
    path = tmp_path / f"customers.{suffix}"
    if suffix == "csv":
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)
    else:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.active["G3"] = 1.5  # a number cell, as a spreadsheet user would type it
        book.save(path)
    assert main(["customers", "import", str(path), "--batch-size", "2"]) == 1
    captured = capsys.readouterr()
    assert "2 created, 0 updated, 2 rows refused" in captured.out
    assert "row 3: compliance_violations_12m: '1.5' is not a whole number" in captured.err
    assert "row 5: monthly_sales_cartons: must be a finite number" in captured.err
    kept = _get(stub, "012345670123").input
    assert (kept.licence_number, kept.contact_phone, kept.compliance_violations_12m) == (
        "012345670123",
        "02012345670",
        2,
    )
    assert _get(stub, "012345670125").input.contact_phone == "0777"
    assert _get(stub, "012345670125").input.monthly_sales_cartons == 300.5


def test_a_customer_updated_during_reclassification_is_skipped_and_reported(classification, monkeypatch):
    service, stub, admin = classification
    for licence in ("L-RACE", "L-CALM"):
        stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer(licence, monthly_sales_cartons=60)), timeout=10
        )
    original = SqlCustomers.comparable_page
    updated = []

    def update_after_the_read(self, *arguments):
        batch = original(self, *arguments)
        if batch and not updated:  # another caller changes L-RACE between the read and the write
            with channel_to(service) as channel:
                other = classification_pb2_grpc.ClassificationServiceStub(channel)
                request = pb.UpdateCustomerRequest(
                    customer=customer("L-RACE", monthly_sales_cartons=600),
                    update_mask=field_mask_pb2.FieldMask(paths=["monthly_sales_cartons"]),
                )
                updated.append(other.UpdateCustomer(request, timeout=10).customer)
        return batch

    # A new grading version that decides the same for everyone: every customer is rewritten.
    admin.PublishRuleSet(
        rules_pb.PublishRuleSetRequest(
            source=default_source("customer-grading") + "\n# republished\n", author="analyst", comment="same"
        ),
        timeout=10,
    )
    monkeypatch.setattr(SqlCustomers, "comparable_page", update_after_the_read)
    last = list(stub.ReclassifyCustomers(pb.ReclassifyCustomersRequest(), timeout=60))[-1]
    monkeypatch.undo()
    assert (last.done, last.processed, last.skipped, last.changed) == (True, 2, 1, 0)
    race = _get(stub, "L-RACE")
    assert race.input.monthly_sales_cartons == 600
    assert (race.classification.grade, race.classification.reason) == (30, "update")
    calm = _get(stub, "L-CALM").classification
    assert (calm.grading_version, calm.reason) == (2, "reclassify")
    history = stub.ListClassificationHistory(
        pb.ListClassificationHistoryRequest(licence_number="L-RACE"), timeout=10
    )
    assert [c.reason for c in history.classifications] == ["update", "create"]
    port = service.settings.http_port("classification")
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    skipped = [line for line in metrics.splitlines() if line.startswith("reclassification_skipped_total ")]
    assert skipped and float(skipped[0].split()[1]) >= 1
