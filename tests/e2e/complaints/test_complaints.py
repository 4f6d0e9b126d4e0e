"""The complaints service end to end through real channels, on SQLite and PostgreSQL."""

import datetime
import threading

import grpc
import pytest
from google.protobuf import timestamp_pb2
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.errors import field_violations
from services.common.times import now
from services.complaints import domain
from tests.e2e.complaints.conftest import complaint, stamp
from tests.support.rule_samples import default_source

NOW = now()  # the services' clock: RETAILCARE_TEST_CLOCK may set it for the whole run


def _file(stub, key, **values):
    return stub.FileComplaint(complaint(key, **values), timeout=10)


def _act(stub, complaint_id, action, actor="staff-7", note=""):
    return stub.ChangeComplaintState(
        pb.ChangeComplaintStateRequest(id=complaint_id, action=action, actor=actor, note=note), timeout=10
    ).complaint


def test_intake_sets_owner_team_and_a_three_working_day_deadline(stub):
    received = datetime.datetime(
        2025, 1, 24, 1, 0, tzinfo=datetime.UTC
    )  # 09:00 Beijing, before Spring Festival
    filed = _file(stub, "k-1", received_at=stamp(received)).complaint
    assert (filed.owner, filed.handler, filed.team_id, filed.state) == (
        "staff-7",
        "staff-7",
        "team-1",
        pb.RECEIVED,
    )
    assert filed.deadline_at.ToDatetime(tzinfo=datetime.UTC) == datetime.datetime(
        2025, 2, 5, 16, 0, tzinfo=datetime.UTC
    )  # 24:00 on 5 Feb, Beijing
    assert (filed.deadline_working_days, filed.policy_version, filed.deadline_estimated) == (3, 1, False)
    assert not filed.needs_verification


def test_retried_intake_never_files_twice_even_concurrently(stub):
    results, errors = [], []

    def retry():
        try:
            results.append(_file(stub, "same-key"))
        except grpc.RpcError as error:
            errors.append(error)

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({r.complaint.id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * 7
    listed = stub.ListComplaints(
        pb.ListComplaintsRequest(filter=pb.ComplaintFilter(licence_number="L-1")), timeout=10
    )
    assert len(listed.complaints) == 1
    with pytest.raises(grpc.RpcError) as reused:
        _file(stub, "same-key", description="something else")
    assert "idempotency_key" in field_violations(reused.value)


def test_accepted_and_flagged_when_classification_is_down_then_verified(pack):
    with pack.complaints() as (_, stub):  # classification is not running
        filed = _file(stub, "k-down", licence="L-1").complaint
        stranger = _file(stub, "k-down-2", licence="L-NOBODY").complaint
        assert filed.needs_verification and filed.state == pb.RECEIVED and filed.team_id == ""
        assert stub.RunEscalationSweep(pb.RunEscalationSweepRequest(), timeout=60).verified == 0
        with pack.classification():
            assert stub.RunEscalationSweep(pb.RunEscalationSweepRequest(), timeout=60).verified == 1
            checked = stub.GetComplaint(pb.GetComplaintRequest(id=filed.id), timeout=10).complaint
            assert (checked.needs_verification, checked.team_id) == (False, "team-1")
            still = stub.GetComplaint(pb.GetComplaintRequest(id=stranger.id), timeout=10).complaint
            assert still.needs_verification  # no such customer: left for a person
            events = stub.ListComplaintEvents(pb.ListComplaintEventsRequest(id=filed.id), timeout=10).events
            assert [e.action for e in events] == ["file", "customer_verified"]


class TestRefusals:
    """Refused requests: nothing filed, the pack serves the next as it was."""

    @pytest.mark.parametrize(
        ("values", "fields"),
        [
            ({"licence": "L-NOBODY"}, {"licence_number"}),
            ({"licence": "L" * 5000}, {"licence_number"}),  # never taken for an outage
            ({"description": "   "}, {"description"}),
            ({"received_at": stamp(NOW + datetime.timedelta(hours=2))}, {"received_at"}),
            ({"category": "weather", "channel": "pigeon"}, {"category", "channel"}),
            ({"received_by": ""}, {"received_by"}),
        ],
    )
    def test_bad_intake_names_the_fields_and_files_nothing(self, refusing_stub, values, fields):
        stub = refusing_stub
        with pytest.raises(grpc.RpcError) as error:
            _file(stub, "k-bad", **values)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(error.value)) == fields
        assert not stub.ListComplaints(pb.ListComplaintsRequest(), timeout=10).complaints

    def test_times_out_of_their_window_name_the_field(self, refusing_stub):
        stub = refusing_stub

        def far(**values) -> timestamp_pb2.Timestamp:
            return timestamp_pb2.Timestamp(**values)

        cases = [
            (stub.FileComplaint, complaint("k-t1", received_at=far(seconds=10**12)), "received_at"),
            (stub.FileComplaint, complaint("k-t2", received_at=far(seconds=0)), "received_at"),  # 1970
            (stub.FileComplaint, complaint("k-t3", received_at=far(seconds=1, nanos=-5)), "received_at"),
            (
                stub.ListComplaints,
                pb.ListComplaintsRequest(filter=pb.ComplaintFilter(received_from=far(seconds=-(10**12)))),
                "filter.received_from",
            ),
            (
                stub.GetComplaintStatistics,
                pb.GetComplaintStatisticsRequest(period_from=far(seconds=1), period_to=far(seconds=10**13)),
                "period_to",
            ),
        ]
        for call, request, field in cases:
            with pytest.raises(grpc.RpcError) as refused:
                call(request, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
            assert set(field_violations(refused.value)) == {field}
        assert not stub.ListComplaints(pb.ListComplaintsRequest(), timeout=10).complaints


ROUTES = {  # actions that bring a new complaint into each state
    domain.RECEIVED: [],
    domain.ACCEPTED: [pb.ACCEPT],
    domain.IN_PROGRESS: [pb.ACCEPT, pb.START_WORK],
    domain.WAITING: [pb.ACCEPT, pb.WAIT_ON_RETAILER],
    domain.ESCALATED: [pb.ESCALATE],
    domain.RESOLVED: [pb.ACCEPT, pb.RESOLVE],
    domain.RETURN_VISITED: [pb.ACCEPT, pb.RESOLVE, "visit"],
    domain.CLOSED: [pb.ACCEPT, pb.RESOLVE, "visit", pb.CLOSE],
    domain.REOPENED: [pb.ACCEPT, pb.RESOLVE, pb.REOPEN],
}
ACTION_NAMES = {value: name.lower() for name, value in pb.Action.items() if value}


def test_every_illegal_transition_is_failed_precondition(stub):
    assert set(ROUTES) == set(domain.STATES)
    for index, (state, route) in enumerate(ROUTES.items()):
        complaint_id = _file(stub, f"k-state-{index}").complaint.id
        for step in route:
            if step == "visit":
                stub.RecordReturnVisit(
                    pb.RecordReturnVisitRequest(id=complaint_id, satisfaction=5, visited_by="v"), timeout=10
                )
            else:
                _act(stub, complaint_id, step)
        current = stub.GetComplaint(pb.GetComplaintRequest(id=complaint_id), timeout=10).complaint
        assert pb.State.Name(current.state).lower() == state
        for action, name in ACTION_NAMES.items():
            if (state, name) in domain.TRANSITIONS:
                continue
            with pytest.raises(grpc.RpcError) as error:
                _act(stub, complaint_id, action)
            assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION, (state, name)
        if (state, "record_return_visit") not in domain.TRANSITIONS:
            with pytest.raises(grpc.RpcError) as visit:
                stub.RecordReturnVisit(
                    pb.RecordReturnVisitRequest(id=complaint_id, satisfaction=4, visited_by="v"), timeout=10
                )
            assert visit.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        after = stub.GetComplaint(pb.GetComplaintRequest(id=complaint_id), timeout=10).complaint
        assert after.state == current.state  # nothing changed


def test_hand_off_keeps_the_owner_and_every_change_is_an_event(stub):
    complaint_id = _file(stub, "k-hand").complaint.id
    _act(stub, complaint_id, pb.ACCEPT)
    handed = stub.HandOffComplaint(
        pb.HandOffComplaintRequest(
            id=complaint_id, handler="brand-mgr-2", reason="supply question", actor="staff-7"
        ),
        timeout=10,
    ).complaint
    assert (handed.owner, handed.handler) == ("staff-7", "brand-mgr-2")
    _act(stub, complaint_id, pb.START_WORK, actor="brand-mgr-2")
    _act(stub, complaint_id, pb.RESOLVE, actor="brand-mgr-2", note="allocation explained")
    events = stub.ListComplaintEvents(pb.ListComplaintEventsRequest(id=complaint_id), timeout=10).events
    assert [(e.action, e.actor) for e in events] == [
        ("file", "staff-7"),
        ("accept", "staff-7"),
        ("hand_off", "staff-7"),
        ("start_work", "brand-mgr-2"),
        ("resolve", "brand-mgr-2"),
    ]
    assert events[-1].note == "allocation explained" and events[-1].to_state == pb.RESOLVED


def test_return_visits_close_or_reopen(stub):
    happy = _file(stub, "k-happy").complaint.id
    _act(stub, happy, pb.ACCEPT)
    _act(stub, happy, pb.RESOLVE)
    visited = stub.RecordReturnVisit(
        pb.RecordReturnVisitRequest(id=happy, satisfaction=5, comment="thanks", visited_by="clerk-1"),
        timeout=10,
    )
    assert (visited.reopened, visited.complaint.state, visited.complaint.satisfaction) == (
        False,
        pb.RETURN_VISITED,
        5,
    )
    assert _act(stub, happy, pb.CLOSE).state == pb.CLOSED
    unhappy = _file(stub, "k-unhappy").complaint.id
    _act(stub, unhappy, pb.ACCEPT)
    _act(stub, unhappy, pb.RESOLVE)
    visited = stub.RecordReturnVisit(
        pb.RecordReturnVisitRequest(id=unhappy, satisfaction=1, visited_by="clerk-1"), timeout=10
    )
    assert (visited.reopened, visited.complaint.state) == (True, pb.REOPENED)
    with pytest.raises(grpc.RpcError) as seven:
        stub.RecordReturnVisit(
            pb.RecordReturnVisitRequest(id=happy, satisfaction=7, visited_by="clerk-1"), timeout=10
        )
    assert set(field_violations(seven.value)) == {"satisfaction"}


def test_a_policy_change_never_rewrites_an_existing_deadline(pack):
    with pack.classification(), pack.complaints() as (service, stub):
        with grpc.insecure_channel(f"127.0.0.1:{service.settings.grpc_port('complaints')}") as channel:
            admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
            before = _file(
                stub, "k-old", received_at=stamp(datetime.datetime(2025, 3, 10, 1, tzinfo=datetime.UTC))
            ).complaint
            five_days = (
                default_source("complaint-policy")
                .replace(
                    "  - id: default_deadline",
                    "  - id: delivery_five_days\n    priority: 10\n    when: {category: delivery}\n    then:\n      - set_deadline: {working_days: 5}\n  - id: default_deadline",
                )
                .replace(
                    "deadline_working_days: 3\n      pause_clock_while_waiting: true",
                    "deadline_working_days: 5\n      pause_clock_while_waiting: true",
                )
            )
            admin.PublishRuleSet(
                rules_pb.PublishRuleSetRequest(source=five_days, author="analyst", comment="delivery 5 days"),
                timeout=10,
            )
            after = _file(
                stub, "k-new", received_at=stamp(datetime.datetime(2025, 3, 10, 1, tzinfo=datetime.UTC))
            ).complaint
            again = stub.GetComplaint(pb.GetComplaintRequest(id=before.id), timeout=10).complaint
    assert (again.deadline_working_days, again.policy_version, again.deadline_at) == (
        3,
        1,
        before.deadline_at,
    )
    assert (after.deadline_working_days, after.policy_version) == (5, 2)
    assert after.deadline_at.ToDatetime() - before.deadline_at.ToDatetime() == datetime.timedelta(
        days=4
    )  # Thu -> Mon


def test_queries_and_statistics(stub):
    start = datetime.datetime(2025, 3, 10, 1, tzinfo=datetime.UTC)
    first = _file(stub, "k-s1", received_at=stamp(start)).complaint.id
    _file(stub, "k-s2", received_at=stamp(start), received_by="staff-8", licence="L-2")
    _act(stub, first, pb.ACCEPT)
    _act(stub, first, pb.RESOLVE)
    stub.RecordReturnVisit(pb.RecordReturnVisitRequest(id=first, satisfaction=4, visited_by="v"), timeout=10)
    mine = stub.ListComplaints(
        pb.ListComplaintsRequest(filter=pb.ComplaintFilter(owner="staff-8")), timeout=10
    )
    assert [c.licence_number for c in mine.complaints] == ["L-2"]
    open_ones = stub.ListComplaints(
        pb.ListComplaintsRequest(filter=pb.ComplaintFilter(states=[pb.RECEIVED])), timeout=10
    )
    assert len(open_ones.complaints) == 1
    stub.RunEscalationSweep(pb.RunEscalationSweepRequest(), timeout=60)
    overdue = stub.ListComplaints(
        pb.ListComplaintsRequest(filter=pb.ComplaintFilter(overdue_only=True)), timeout=10
    )
    assert [c.licence_number for c in overdue.complaints] == ["L-2"]
    period = dict(
        period_from=stamp(start - datetime.timedelta(days=1)),
        period_to=stamp(start + datetime.timedelta(days=1)),
    )
    by_owner = stub.GetComplaintStatistics(pb.GetComplaintStatisticsRequest(**period), timeout=10).rows
    assert [(r.key, r.received, r.resolved, r.overdue, r.mean_satisfaction) for r in by_owner] == [
        ("staff-7", 1, 1, 0, 4.0),
        ("staff-8", 1, 0, 1, 0.0),
    ]
    assert by_owner[0].resolved_on_time == 0  # resolved today, long after its March deadline
    by_team = stub.GetComplaintStatistics(
        pb.GetComplaintStatisticsRequest(group_by=pb.GetComplaintStatisticsRequest.TEAM, **period), timeout=10
    ).rows
    assert [(r.key, r.received) for r in by_team] == [("team-1", 2)]
    with pytest.raises(grpc.RpcError) as no_period:
        stub.GetComplaintStatistics(pb.GetComplaintStatisticsRequest(), timeout=10)
    assert no_period.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_key_reused_with_other_content_in_any_field_is_refused(stub):
    first = _file(stub, "k-same", received_at=stamp(NOW - datetime.timedelta(hours=1))).complaint
    assert _file(stub, "k-same", received_at=first.received_at).replayed
    changes = {
        "severity": {"severity": "high"},
        "channel": {"channel": "visit"},
        "category": {"category": "price"},
        "received_by": {"received_by": "staff-8"},
        "received_at": {"received_at": stamp(NOW - datetime.timedelta(hours=2))},
        "licence_number": {"licence": "L-2"},
    }
    for field, change in changes.items():
        values = {"received_at": first.received_at, **change}
        with pytest.raises(grpc.RpcError) as refused:
            _file(stub, "k-same", **values)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert field in field_violations(refused.value)["idempotency_key"], field
    assert len(stub.ListComplaints(pb.ListComplaintsRequest(), timeout=10).complaints) == 1


def test_a_licence_spelled_otherwise_is_filed_under_the_customers_licence(stub):
    # Lower case, a full-width hyphen and surrounding spaces: the same customer L-1.
    filed = _file(stub, "k-spelling", licence=" l\uff0d1 ").complaint
    assert (filed.licence_number, filed.team_id, filed.needs_verification) == ("L-1", "team-1", False)
    for spelling in ("L-1", " l\uff0d1 "):  # the filter is read the same way
        listed = stub.ListComplaints(
            pb.ListComplaintsRequest(filter=pb.ComplaintFilter(licence_number=spelling)), timeout=10
        ).complaints
        assert [c.id for c in listed] == [filed.id]


def test_a_complaint_filed_while_classification_is_down_keeps_one_spelling(pack):
    with pack.complaints() as (_, stub):  # classification is not running: the licence is not checked
        filed = _file(stub, "k-down-spelling", licence=" l\uff0d1 ").complaint
        assert (filed.licence_number, filed.needs_verification) == ("L-1", True)
