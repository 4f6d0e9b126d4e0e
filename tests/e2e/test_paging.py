"""Every paged list through a real channel, on SQLite and PostgreSQL: walking all pages
with sizes that split the list unevenly gives exactly one full read (nothing skipped,
nothing twice), and a page token the service did not issue is INVALID_ARGUMENT on the
page_token field, never a silent first page and never INTERNAL."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common import paging
from services.common.errors import field_violations
from services.composition import service_definition
from tests.e2e.classification.conftest import customer
from tests.e2e.complaints.conftest import Pack, complaint, stamp
from tests.support.clock import cst
from tests.support.rule_samples import default_source
from tests.support.services import channel_to, running, settings_for

ITEMS = 7
PAGE_SIZES = [1, 2, 3, 4, 6, 7, 8]  # 7 rows: even splits, uneven ones, one page, more than all
GRADING = "customer-grading"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


NOT_ISSUED = [
    "%%%",  # not base64
    "bm90IGEgdG9rZW4",  # base64 without its padding
    _b64("three"),  # decodes, but to no position
    _b64("-2"),  # a position before the first
    _b64("2.5"),
    _b64(" 2"),  # a position, but not as the service writes it
    _b64("02"),
    _b64(str(2**64)),  # larger than any SQL integer
    "Mg==" + "x",  # an issued token with something appended
    "M!g==",  # and with something inserted
]


@dataclass
class PagedList:
    """One list method with a request filter: ``call(page_size, page_token)`` -> reply."""

    name: str
    method: Any
    request: Any  # (page_size, page_token) -> request message
    items: Any  # reply -> list of messages

    def page(self, size: int, token: str = ""):
        return self.method(self.request(size, token), timeout=30)


def walk(paged: PagedList, size: int, most: int = ITEMS) -> list:
    """Every item, following next_page_token from the first page to the last (of at most
    ``most`` items)."""
    seen, token = [], ""
    for _ in range(most + 2):
        reply = paged.page(size, token)
        items = paged.items(reply)
        assert len(items) <= size, f"{paged.name}: a page of {len(items)} for page_size {size}"
        seen.extend(items)
        token = reply.next_page_token
        if not token:
            return seen
    raise AssertionError(f"{paged.name}: still a next page after {most + 2} pages of {size}")


def full_read(paged: PagedList) -> list:
    reply = paged.page(500)
    assert not reply.next_page_token
    return paged.items(reply)


def check_walks_and_tokens(paged: PagedList, expected_count: int) -> None:
    everything = full_read(paged)
    assert len(everything) == expected_count, paged.name
    for size in PAGE_SIZES:
        assert walk(paged, size, expected_count) == everything, f"{paged.name}, page_size {size}"
    second_page = paged.items(paged.page(2, paged.page(2).next_page_token))
    assert second_page == everything[2:4], paged.name
    for token in NOT_ISSUED:
        with pytest.raises(grpc.RpcError) as refused:
            paged.page(2, token)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (paged.name, token)
        assert set(field_violations(refused.value)) == {"page_token"}, (paged.name, token)
    issued = paged.page(3).next_page_token
    for tampered in (issued[:-1], issued + issued, "=" + issued):
        with pytest.raises(grpc.RpcError) as refused:
            paged.page(3, tampered)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (paged.name, tampered)


@pytest.fixture
def classification_lists(tmp_path, db_url):
    # No automatic reclassification after the publishes below: the walks need customers that stay put.
    settings = settings_for(tmp_path, classification_database_url=db_url, reclassification_batch_size=0)
    with running(service_definition("classification"), settings) as service, channel_to(service) as channel:
        stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
        _fill(stub, admin)
        yield stub, admin


def _fill(stub, admin) -> None:
    for n in range(ITEMS):  # urban and rural interleaved, so the rural filter drops rows in between
        market = "rural" if n % 3 == 0 else "urban"
        stub.CreateCustomer(
            cpb.CreateCustomerRequest(customer=customer(f"L-{n}", market_type=market)), timeout=10
        )
    for _ in range(ITEMS - 1):  # the first entry came with the customer
        stub.ClassifyCustomer(cpb.ClassifyCustomerRequest(licence_number="L-1"), timeout=10)
    for n in reversed(range(ITEMS)):  # listed by code, whatever the order they came in
        stub.UpsertMarketZone(
            cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code=f"Z{n}", name=f"Zone {n}", team_id="t")),
            timeout=10,
        )
    source = default_source(GRADING)
    for n in range(2, ITEMS + 1):  # version 1 is the default rule set
        admin.PublishRuleSet(
            rules_pb.PublishRuleSetRequest(
                source=f"{source}\n# revision {n}\n", author="analyst", comment=f"revision {n}"
            ),
            timeout=10,
        )


def test_list_customers_pages(classification_lists):
    stub, _ = classification_lists
    check_walks_and_tokens(
        PagedList(
            "ListCustomers",
            stub.ListCustomers,
            lambda size, token: cpb.ListCustomersRequest(page_size=size, page_token=token),
            lambda reply: list(reply.customers),
        ),
        ITEMS,
    )
    rural = PagedList(
        "ListCustomers(rural)",
        stub.ListCustomers,
        lambda size, token: cpb.ListCustomersRequest(
            filter=cpb.CustomerFilter(market_type="rural"), page_size=size, page_token=token
        ),
        lambda reply: list(reply.customers),
    )
    everything = full_read(rural)
    assert [c.input.licence_number for c in everything] == ["L-0", "L-3", "L-6"]
    for size in (1, 2, 3, 4):
        assert walk(rural, size) == everything, size


def test_a_made_up_token_beyond_any_id_is_refused_not_sent_to_the_database(classification_lists):
    """The token's check sum has no secret: a caller who knows the scheme can sign any
    position. One past PostgreSQL's INTEGER ids was INTERNAL there ("integer out of range")."""
    stub, _ = classification_lists
    scope = "customers active []"  # ListCustomers without a filter
    assert paging.decode_token(
        stub.ListCustomers(cpb.ListCustomersRequest(page_size=2)).next_page_token, scope
    )
    for position in (2**31, 2**40):
        with pytest.raises(grpc.RpcError) as refused:
            stub.ListCustomers(
                cpb.ListCustomersRequest(page_size=2, page_token=paging.encode_token(position, scope)),
                timeout=30,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, position
        assert set(field_violations(refused.value)) == {"page_token"}
    last = stub.ListCustomers(
        cpb.ListCustomersRequest(page_size=2, page_token=paging.encode_token(2**31 - 1, scope)), timeout=30
    )
    assert list(last.customers) == [] and last.next_page_token == ""


def test_list_classification_history_pages(classification_lists):
    stub, _ = classification_lists
    check_walks_and_tokens(
        PagedList(
            "ListClassificationHistory",
            stub.ListClassificationHistory,
            lambda size, token: cpb.ListClassificationHistoryRequest(
                licence_number="L-1", page_size=size, page_token=token
            ),
            lambda reply: list(reply.classifications),
        ),
        ITEMS,
    )


def test_list_rule_set_versions_pages(classification_lists):
    _, admin = classification_lists
    paged = PagedList(
        "ListRuleSetVersions",
        admin.ListRuleSetVersions,
        lambda size, token: rules_pb.ListRuleSetVersionsRequest(
            rule_set=GRADING, page_size=size, page_token=token
        ),
        lambda reply: list(reply.versions),
    )
    check_walks_and_tokens(paged, ITEMS)
    assert sorted(v.version for v in full_read(paged)) == list(range(1, ITEMS + 1))


def test_list_complaints_pages(tmp_path, db_url):
    pack = Pack(tmp_path, db_url)
    with pack.classification(), pack.complaints() as (service, stub):
        with grpc.insecure_channel(f"127.0.0.1:{service.settings.grpc_port('complaints')}") as channel:
            versions = PagedList(
                "ListRuleSetVersions(complaints)",
                rule_sets_pb2_grpc.RuleSetAdminStub(channel).ListRuleSetVersions,
                lambda size, token: rules_pb.ListRuleSetVersionsRequest(
                    rule_set="complaint-policy", page_size=size, page_token=token
                ),
                lambda reply: list(reply.versions),
            )
            assert walk(versions, 1) == full_read(versions)
            first = cst("2026-03-02T09:00")
            for n in range(ITEMS):  # two licences interleaved; received an hour apart
                stub.FileComplaint(
                    complaint(
                        f"k-page-{n}",
                        licence="L-1" if n % 2 else "L-2",
                        received_at=stamp(first + datetime.timedelta(hours=n)),
                    ),
                    timeout=10,
                )
            check_walks_and_tokens(
                PagedList(
                    "ListComplaints",
                    stub.ListComplaints,
                    lambda size, token: pb.ListComplaintsRequest(page_size=size, page_token=token),
                    lambda reply: list(reply.complaints),
                ),
                ITEMS,
            )
            days_off = [
                "2025-03-03",
                "2025-03-04",
                "2025-03-05",
                "2025-03-06",
                "2025-03-07",
                "2025-03-10",
                "2025-03-11",
            ]
            stub.ChangeCalendarDays(
                pb.ChangeCalendarDaysRequest(
                    days=[pb.CalendarDay(date=day, working=False, note="storm") for day in days_off],
                    actor="admin",
                ),
                timeout=10,
            )
            changes = PagedList(
                "ListCalendarChanges",
                stub.ListCalendarChanges,
                lambda size, token: pb.ListCalendarChangesRequest(
                    year=2025, page_size=size, page_token=token
                ),
                lambda reply: list(reply.changes),
            )
            check_walks_and_tokens(changes, ITEMS)
            assert sorted(change.date for change in full_read(changes)) == days_off
            one_licence = PagedList(
                "ListComplaints(L-1)",
                stub.ListComplaints,
                lambda size, token: pb.ListComplaintsRequest(
                    filter=pb.ComplaintFilter(licence_number="L-1"), page_size=size, page_token=token
                ),
                lambda reply: list(reply.complaints),
            )
            everything = full_read(one_licence)
            assert [c.idempotency_key for c in everything] == ["k-page-1", "k-page-3", "k-page-5"]
            for size in (1, 2, 4):
                assert walk(one_licence, size) == everything, size


def test_list_rule_set_audit_pages(classification_lists):
    _, admin = classification_lists
    paged = PagedList(
        "ListRuleSetAudit",
        admin.ListRuleSetAudit,
        lambda size, token: rules_pb.ListRuleSetAuditRequest(
            rule_set=GRADING, page_size=size, page_token=token
        ),
        lambda reply: list(reply.entries),
    )
    check_walks_and_tokens(paged, 2 * ITEMS)  # each version: publish, activate


def test_list_market_zones_pages(classification_lists):
    stub, _ = classification_lists
    paged = PagedList(
        "ListMarketZones",
        stub.ListMarketZones,
        lambda size, token: cpb.ListMarketZonesRequest(page_size=size, page_token=token),
        lambda reply: list(reply.zones),
    )
    check_walks_and_tokens(paged, ITEMS)
    assert [zone.code for zone in full_read(paged)] == [f"Z{n}" for n in range(ITEMS)]
