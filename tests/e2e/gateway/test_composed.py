"""The gateway's composed calls and relays, through real servers."""

import logging
import pathlib

import grpc
import pytest
from prometheus_client import REGISTRY
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as kpb
from retailcare.gateway.v1 import gateway_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2 as rpb

from services.common import metrics
from services.common.errors import field_violations
from services.common.logs import request_id_var
from tests.e2e.gateway.conftest import complaint, customer

ROOT = pathlib.Path(__file__).resolve().parents[3]
LICENCE = "110101100001"


def test_the_profile_composes_customer_explanation_menu_and_open_complaints(service):
    filed = service(service.gateway.FileComplaint, complaint("k-1")).complaint
    profile = service(
        service.gateway.GetCustomerProfile, pb.GetCustomerProfileRequest(licence_number=LICENCE)
    )

    assert profile.customer.input.licence_number == LICENCE
    assert profile.customer.team_id == "team-1"
    grade = profile.customer.classification.grade
    assert grade > 0 and profile.explanation.summary.startswith(f"grade {grade}, ")
    assert {reason.output for reason in profile.explanation.reasons} >= {"grade", "star_level"}
    assert len(profile.service_menu) == len(profile.customer.classification.services) > 0
    for item in profile.service_menu:
        assert item.procedure_steps and item.standard and item.commitment
        assert (item.responsible_person, item.team_id) == ("manager-9", "team-1")
    assert [c.id for c in profile.open_complaints] == [filed.id]
    assert profile.open_complaints[0].deadline_at.seconds > 0
    assert not profile.missing_parts and not profile.more_open_complaints


def test_open_complaints_are_limited_soonest_deadline_first(service):
    for key in ("k-1", "k-2", "k-3"):
        service(service.gateway.FileComplaint, complaint(key))
    profile = service(
        service.gateway.GetCustomerProfile,
        pb.GetCustomerProfileRequest(licence_number=LICENCE, open_complaints_limit=2),
    )
    deadlines = [c.deadline_at.ToDatetime() for c in profile.open_complaints]
    assert len(deadlines) == 2 and deadlines == sorted(deadlines)
    assert profile.more_open_complaints


def test_a_complaint_against_an_unknown_customer_is_not_filed(service):
    with pytest.raises(grpc.RpcError) as refused:
        service(service.gateway.FileComplaint, complaint("k-9", licence="999999999999"))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    listed = service(
        service.complaints.ListComplaints,
        kpb.ListComplaintsRequest(filter=kpb.ComplaintFilter(licence_number="999999999999")),
    )
    assert not listed.complaints


def test_a_replayed_complaint_returns_the_first(service):
    first = service(service.gateway.FileComplaint, complaint("k-1")).complaint
    again = service(service.gateway.FileComplaint, complaint("k-1"))
    assert again.replayed and again.complaint.id == first.id


def test_bad_input_is_refused_with_the_field(service):
    with pytest.raises(grpc.RpcError) as refused:
        service(service.gateway.GetCustomerProfile, pb.GetCustomerProfileRequest(licence_number=" "))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "licence_number" in field_violations(refused.value)
    with pytest.raises(grpc.RpcError) as refused:
        service(
            service.gateway.GetCustomerProfile,
            pb.GetCustomerProfileRequest(licence_number=LICENCE, open_complaints_limit=1000),
        )
    assert "open_complaints_limit" in field_violations(refused.value)


def test_service_errors_pass_through_with_their_code_and_field_details(service):
    with pytest.raises(grpc.RpcError) as refused:
        service(
            service.classification.CreateCustomer,
            cpb.CreateCustomerRequest(customer=customer("110101100003", business_format="casino")),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(refused.value)) == {"business_format"}
    with pytest.raises(grpc.RpcError) as missing:
        service(
            service.gateway.GetCustomerProfile, pb.GetCustomerProfileRequest(licence_number="999999999999")
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as failed:
        service(service.complaints.ChangeComplaintState, kpb.ChangeComplaintStateRequest(id="nope"))
    assert failed.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)


def test_streaming_relays(service, admin):
    rows = [customer("110101100010"), customer("110101100011", business_format="casino")]
    replies = list(
        service(service.classification.ImportCustomers, iter([cpb.ImportCustomersRequest(rows=rows)]))
    )
    assert replies[0].created == 1 and [e.row for e in replies[0].errors] == [2]
    progress = list(admin(admin.classification.ReclassifyCustomers, cpb.ReclassifyCustomersRequest()))
    assert progress[-1].done and progress[-1].processed == 3


def test_the_change_feed_says_through_the_gateway_whether_changes_are_left(service, admin):
    """The two customers' creations are two changes: a page of one leaves one after it."""
    feed = admin.classification.ListClassificationChanges
    first = admin(feed, cpb.ListClassificationChangesRequest(page_size=1))
    assert [c.licence_number for c in first.changes] == ["110101100001"] and first.has_more
    last = admin(feed, cpb.ListClassificationChangesRequest(after_change_id=first.changes[0].change_id))
    assert [c.licence_number for c in last.changes] == ["110101100002"] and not last.has_more


def test_rule_sets_are_administered_at_the_owner_through_one_address(pack):
    analyst = pack.stubs("analyst")
    listed = analyst(analyst.rules.ListRuleSets, rpb.ListRuleSetsRequest())
    names = {summary.name for summary in listed.rule_sets}
    assert {"customer-grading", "service-entitlements", "complaint-policy", "kpi-scoring"} <= names
    version = analyst(
        analyst.rules.GetRuleSetVersion, rpb.GetRuleSetVersionRequest(rule_set="complaint-policy")
    )
    assert version.version.rule_set == "complaint-policy" and version.version.active
    source = (ROOT / "services/classification/rule_sets/customer-grading.yaml").read_text(encoding="utf-8")
    checked = analyst(analyst.rules.ValidateRuleSet, rpb.ValidateRuleSetRequest(source=source))
    assert checked.valid and checked.rule_set == "customer-grading"
    with pytest.raises(grpc.RpcError) as unknown:
        analyst(analyst.rules.GetRuleSetVersion, rpb.GetRuleSetVersionRequest(rule_set="no-such-set"))
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "rule_set" in field_violations(unknown.value)
    with pytest.raises(grpc.RpcError) as nameless:
        analyst(analyst.rules.ValidateRuleSet, rpb.ValidateRuleSetRequest(source="rules: []"))
    assert "source" in field_violations(nameless.value)


def _client_handled(service: str, method: str) -> float:
    unary = metrics.GRPC_TYPES[(False, False)]
    labels = {"grpc_type": unary, "grpc_service": service, "grpc_method": method, "grpc_code": "OK"}
    return REGISTRY.get_sample_value("grpc_client_handled_total", labels) or 0.0


def test_downstream_calls_are_counted_per_method_as_client_metrics(service):
    explain = ("retailcare.classification.v1.ClassificationService", "ExplainClassification")
    listing = ("retailcare.complaints.v1.ComplaintsService", "ListComplaints")
    before = [_client_handled(*explain), _client_handled(*listing)]
    service(service.gateway.GetCustomerProfile, pb.GetCustomerProfileRequest(licence_number=LICENCE))
    assert [_client_handled(*explain), _client_handled(*listing)] == [before[0] + 1, before[1] + 1]


class _RequestIds(logging.Handler):
    """The request id each server had in hand when it logged a call."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.seen: dict[str, set[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        method = getattr(record, "method", "")
        self.seen.setdefault(method.rsplit("/", 1)[-1], set()).add(request_id_var.get())


def test_the_callers_request_id_reaches_every_downstream_call(service):
    handler, calls = _RequestIds(), logging.getLogger("retailcare.calls")
    calls.addHandler(handler)
    previous = calls.level
    calls.setLevel(logging.INFO)
    try:
        metadata = (*service.metadata, ("x-request-id", "req-from-erp-42"))
        service.gateway.GetCustomerProfile(
            pb.GetCustomerProfileRequest(licence_number=LICENCE), metadata=metadata, timeout=10
        )
        service.classification.GetServiceMenu(
            cpb.GetServiceMenuRequest(licence_number=LICENCE), metadata=metadata, timeout=10
        )
    finally:
        calls.removeHandler(handler)
        calls.setLevel(previous)
    for method in (
        "GetCustomerProfile",
        "GetCustomer",
        "ExplainClassification",
        "GetServiceMenu",
        "ListComplaints",
        "ListVisitCards",
    ):
        assert handler.seen.get(method) == {"req-from-erp-42"}, (method, handler.seen.get(method))
