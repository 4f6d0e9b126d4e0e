"""The escalation sweep across restarts, warnings, setting a year the calendar has no data
for, the paused clock, metrics. Every test sets the clock (services/common/times.py), so
none depends on today's date, and the year without data is one the calendar source given
to the service lacks, so none depends on which years the calendar library knows."""

import datetime
import urllib.request

import grpc
import pytest
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.errors import field_violations
from tests.e2e.complaints.conftest import Pack, complaint
from tests.support.clock import cst
from tests.support.rule_samples import default_source
from tests.unit.complaints.fakes import library_without

MONDAY = cst("2026-03-02T09:00")  # an ordinary week: Tuesday to Thursday are the 3 working days
THIRTY_DAYS_ON = datetime.timedelta(days=30)
LADDER = ["escalate_to_owner", "escalate_to_team_leader", "escalate_to_county", "escalate_to_city"]


def end_of(day: str) -> datetime.datetime:
    """24:00 China Standard Time of that day."""
    return cst(day + "T00:00") + datetime.timedelta(days=1)


def _due(filed) -> datetime.datetime:
    return filed.deadline_at.ToDatetime(tzinfo=datetime.UTC)


def _actions(stub, complaint_id) -> list[str]:
    events = stub.ListComplaintEvents(pb.ListComplaintEventsRequest(id=complaint_id), timeout=10).events
    return [e.action for e in events]


def _get(stub, complaint_id):
    return stub.GetComplaint(pb.GetComplaintRequest(id=complaint_id), timeout=10).complaint


def _sweep(stub):
    return stub.RunEscalationSweep(pb.RunEscalationSweepRequest(), timeout=60)


def test_sweep_escalates_once_per_level_across_restarts(pack, clock):
    clock.set(MONDAY)
    with pack.classification():
        with pack.complaints() as (_, stub):
            old = stub.FileComplaint(complaint("k-old"), timeout=10).complaint
            assert _due(old) == end_of("2026-03-05") and not old.deadline_estimated
        clock.advance(THIRTY_DAYS_ON)
        with pack.complaints() as (_, stub):  # restart: the start-up sweep catches up
            old = _get(stub, old.id)
            assert (old.overdue, old.escalation_level, old.escalated_to, old.state) == (
                True,
                4,
                "city",
                pb.ESCALATED,
            )
            assert [a for a in _actions(stub, old.id) if a.startswith("escalate_to_")] == LADDER
            fresh = stub.FileComplaint(complaint("k-fresh"), timeout=10).complaint
            assert _sweep(stub).escalations == 0
        with pack.complaints() as (_, stub):  # and again: nothing doubles
            assert len([a for a in _actions(stub, old.id) if a.startswith("escalate_to_")]) == 4
            untouched = _get(stub, fresh.id)
            assert (untouched.escalation_level, untouched.overdue) == (0, False)


def test_sweep_warns_before_the_deadline_then_escalates_after_it(pack, clock):
    clock.set(MONDAY)
    with pack.classification(), pack.complaints() as (_, stub):
        filed = stub.FileComplaint(complaint("k-warn"), timeout=10).complaint
        clock.set(cst("2026-03-03T09:00"))  # a quarter of the time used
        assert (_sweep(stub).warned, _sweep(stub).escalations) == (0, 0)
        clock.set(cst("2026-03-05T12:00"))  # most of it used, the deadline not reached
        swept = _sweep(stub)
        assert (swept.warned, swept.escalations) == (1, 0)
        assert _sweep(stub).warned == 0
        assert not _get(stub, filed.id).overdue
        clock.set(end_of("2026-03-05") + datetime.timedelta(seconds=1))
        assert _sweep(stub).escalations == 1
        overdue = _get(stub, filed.id)
        assert (overdue.overdue, overdue.escalation_level, overdue.escalated_to) == (True, 1, "owner")
        assert overdue.state == pb.ESCALATED
        assert _actions(stub, filed.id) == ["file", "warn", "escalate_to_owner", "escalate"]


def test_a_year_without_data_is_estimated_until_an_administrator_sets_it(tmp_path, db_url, clock):
    pack = Pack(tmp_path, db_url, calendar_source=library_without(2027))
    clock.set(cst("2026-11-20T09:00"))  # a Friday; 30 working days later is in 2027
    with pack.classification(), pack.complaints() as (service, stub):
        with grpc.insecure_channel(f"127.0.0.1:{service.settings.grpc_port('complaints')}") as channel:
            thirty_days = default_source("complaint-policy").replace(
                "  - id: default_deadline",
                "  - id: other_thirty_days\n    priority: 10\n    when: {category: other}\n    then:\n      - set_deadline: {working_days: 30}\n  - id: default_deadline",
            )
            rule_sets_pb2_grpc.RuleSetAdminStub(channel).PublishRuleSet(
                rules_pb.PublishRuleSetRequest(
                    source=thirty_days, author="analyst", comment="other: 30 days"
                ),
                timeout=10,
            )
        assert stub.GetCalendarYear(pb.GetCalendarYearRequest(year=2027), timeout=10).source == "fallback"
        filed = stub.FileComplaint(complaint("k-2027", category="other"), timeout=10).complaint
        # 23 Nov - 31 Dec 2026 hold 29 working days; Friday 1 Jan 2027 is guessed a working day.
        assert (_due(filed), filed.deadline_estimated) == (end_of("2027-01-01"), True)

        reply = stub.SetCalendarYear(
            pb.SetCalendarYearRequest(year=2027, holidays=["2027-01-01"], make_up_workdays=[], actor="admin"),
            timeout=10,
        )

        assert (reply.calendar.source, reply.deadlines_recomputed) == ("admin", 1)
        assert list(reply.calendar.holidays) == ["2027-01-01"]
        fixed = _get(stub, filed.id)
        assert (_due(fixed), fixed.deadline_estimated) == (end_of("2027-01-04"), False)
        assert _actions(stub, filed.id) == ["file", "deadline_recomputed"]
        known = stub.GetCalendarYear(pb.GetCalendarYearRequest(year=2025), timeout=10)
        assert (
            known.source == "library"
            and "2025-01-28" in known.holidays
            and "2025-01-26" in known.make_up_workdays
        )
        with pytest.raises(grpc.RpcError) as bad:
            stub.SetCalendarYear(
                pb.SetCalendarYearRequest(year=2028, holidays=["2028-01-10", "nope"], actor="a"), timeout=10
            )
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(bad.value)) == {"holidays"}
        assert stub.GetCalendarYear(pb.GetCalendarYearRequest(year=2028), timeout=10).source == "fallback"


def test_waiting_on_the_retailer_pauses_the_clock(pack, clock):
    clock.set(MONDAY)
    with pack.classification(), pack.complaints() as (_, stub):
        filed = stub.FileComplaint(complaint("k-pause"), timeout=10).complaint
        for action in (pb.ACCEPT, pb.WAIT_ON_RETAILER):
            stub.ChangeComplaintState(
                pb.ChangeComplaintStateRequest(id=filed.id, action=action, actor="s"), timeout=10
            )
        clock.advance(datetime.timedelta(days=7))  # waited 3-6 and 9 March: 5 working days
        resumed = stub.ChangeComplaintState(
            pb.ChangeComplaintStateRequest(id=filed.id, action=pb.RESUME, actor="s"), timeout=10
        ).complaint
        assert _due(filed) == end_of("2026-03-05")
        assert _due(resumed) == end_of("2026-03-12")
        assert _sweep(stub).escalations == 0  # past the first deadline, not past the moved one


def test_complaint_metrics(pack, clock):
    clock.set(MONDAY)
    with pack.classification(), pack.complaints() as (service, stub):
        stub.FileComplaint(complaint("k-m1"), timeout=10)
        clock.advance(THIRTY_DAYS_ON)
        stub.FileComplaint(complaint("k-m2", category="price"), timeout=10)
        _sweep(stub)
        port = service.settings.http_port("complaints")
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'complaints_open{category="price",state="received"} 1.0' in text
    assert 'complaints_open{category="delivery",state="escalated"} 1.0' in text
    assert "complaints_overdue 1.0" in text
    assert 'complaint_escalations_total{level="city"}' in text
    assert 'complaints_filed_total{channel="hotline"}' in text
