"""The complaints gauges the alerts watch, as a real server's /metrics reports them:
complaints due soon (past the warning share of their deadline, not overdue) and the last
year the working calendar has data for. The clock is set, so no test depends on today."""

import datetime
import re
import urllib.request

from retailcare.complaints.v1 import complaints_pb2 as pb

from tests.e2e.complaints.conftest import Pack, complaint
from tests.support.clock import cst
from tests.unit.complaints.fakes import FixedCalendarSource, library_without

MONDAY = cst("2026-03-02T09:00")  # 3 working days: due at the end of Thursday 5 March


def gauge(service, name: str) -> float:
    port = service.settings.http_port("complaints")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = re.findall(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert len(found) == 1, f"{name} reported {len(found)} times"
    return float(found[0])


def _act(stub, complaint_id: str, *actions) -> None:
    for action in actions:
        stub.ChangeComplaintState(
            pb.ChangeComplaintStateRequest(id=complaint_id, action=action, actor="staff-7"), timeout=10
        )


def test_complaints_are_due_soon_past_the_warning_share_until_resolved_or_overdue(pack, clock):
    clock.set(MONDAY)
    with pack.classification(), pack.complaints() as (service, stub):
        stub.FileComplaint(complaint("k-late"), timeout=10)
        resolved = stub.FileComplaint(complaint("k-resolved", licence="L-2"), timeout=10).complaint
        assert gauge(service, "complaints_due_soon") == 0

        clock.set(cst("2026-03-03T09:00"))  # a quarter of the time used
        assert gauge(service, "complaints_due_soon") == 0

        clock.set(cst("2026-03-05T12:00"))  # past the 75 % share, before the deadline; no sweep
        assert gauge(service, "complaints_due_soon") == 2
        stub.FileComplaint(complaint("k-fresh"), timeout=10)  # its time has just begun
        assert gauge(service, "complaints_due_soon") == 2
        _act(stub, resolved.id, pb.ACCEPT, pb.RESOLVE)
        assert gauge(service, "complaints_due_soon") == 1

        clock.set(cst("2026-03-06T00:00") + datetime.timedelta(seconds=1))
        stub.RunEscalationSweep(pb.RunEscalationSweepRequest(), timeout=60)
        assert (gauge(service, "complaints_due_soon"), gauge(service, "complaints_overdue")) == (0, 1)


def test_the_calendar_s_last_year_follows_the_data_source_and_the_administrator(tmp_path, db_url, clock):
    clock.set(MONDAY)
    pack = Pack(tmp_path, db_url, calendar_source=library_without(2026))
    with pack.classification(), pack.complaints() as (service, stub):
        assert gauge(service, "complaints_calendar_last_year") == 2025
        stub.SetCalendarYear(
            pb.SetCalendarYearRequest(year=2027, holidays=["2027-01-01"], make_up_workdays=[], actor="admin"),
            timeout=10,
        )
        assert gauge(service, "complaints_calendar_last_year") == 2027


def test_a_calendar_without_any_year_reports_zero(tmp_path, db_url, clock):
    clock.set(MONDAY)
    pack = Pack(tmp_path, db_url, calendar_source=FixedCalendarSource([]))
    with pack.complaints() as (service, _):
        assert gauge(service, "complaints_calendar_last_year") == 0
