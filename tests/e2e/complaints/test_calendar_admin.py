"""Administering the working calendar through real channels, on SQLite and PostgreSQL:
changes of single days laid over an official year, listed, removed, and the open
deadlines they move. The official years come from a made-up data source and the clock
is set, so nothing depends on the calendar library or on today's date."""

import contextlib
import datetime

import grpc
import pytest
from retailcare.complaints.v1 import complaints_pb2 as pb
from retailcare.complaints.v1 import complaints_pb2_grpc

from services.common.errors import field_violations
from services.complaints.app import definition_for
from tests.e2e.complaints.conftest import complaint
from tests.support.services import channel_to, running
from tests.unit.complaints.fakes import YEAR_2030, FixedCalendarSource, cst, end_of

NOW = cst("2030-09-25T10:00")  # Wednesday; three working days on is Sunday 29 Sep (make-up)


@contextlib.contextmanager
def complaints(pack):
    with (
        running(definition_for(FixedCalendarSource([YEAR_2030])), pack.settings) as service,
        channel_to(service) as channel,
    ):
        yield complaints_pb2_grpc.ComplaintsServiceStub(channel)


def _due(stub, complaint_id) -> datetime.datetime:
    found = stub.GetComplaint(pb.GetComplaintRequest(id=complaint_id), timeout=10).complaint
    return found.deadline_at.ToDatetime(tzinfo=datetime.UTC)


def _actions(stub, complaint_id) -> list[str]:
    events = stub.ListComplaintEvents(pb.ListComplaintEventsRequest(id=complaint_id), timeout=10).events
    return [e.action for e in events]


def _refused(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call(request, timeout=10)
    return error.value


def test_a_day_changed_on_an_official_year_moves_open_deadlines_until_removed(pack, clock):
    clock.set(NOW)
    with pack.classification():
        with complaints(pack) as stub:
            filed = stub.FileComplaint(complaint("k-cal"), timeout=10).complaint
            assert _due(stub, filed.id) == end_of("2030-09-29")

            replace = _refused(
                stub.SetCalendarYear,
                pb.SetCalendarYearRequest(year=2030, holidays=["2030-09-26"], actor="admin"),
            )
            assert replace.code() == grpc.StatusCode.FAILED_PRECONDITION

            changed = stub.ChangeCalendarDays(
                pb.ChangeCalendarDaysRequest(
                    days=[pb.CalendarDay(date="2030-09-26", working=False, note="typhoon")], actor="admin"
                ),
                timeout=10,
            )
            assert changed.deadlines_recomputed == 1
            assert changed.calendar.source == "library" and "2030-09-26" in changed.calendar.holidays
            assert [(c.date, c.working, c.reason, c.actor) for c in changed.calendar.changes] == [
                ("2030-09-26", False, "typhoon", "admin")
            ]
            assert _due(stub, filed.id) == end_of("2030-09-30")
            assert _actions(stub, filed.id) == ["file", "deadline_recomputed"]

            again = _refused(
                stub.ChangeCalendarDays,
                pb.ChangeCalendarDaysRequest(
                    days=[pb.CalendarDay(date="2030-09-26", working=True, note="again")], actor="admin"
                ),
            )
            assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

        with complaints(pack) as stub:  # a restart: the change is stored, the deadline too
            year = stub.GetCalendarYear(pb.GetCalendarYearRequest(year=2030), timeout=10)
            assert "2030-09-26" in year.holidays and len(year.changes) == 1
            change_id = year.changes[0].id
            removed = stub.RemoveCalendarChange(
                pb.RemoveCalendarChangeRequest(id=change_id, actor="admin-2"), timeout=10
            )
            assert removed.deadlines_recomputed == 1 and "2030-09-26" not in removed.calendar.holidays
            assert not removed.calendar.changes
            assert _due(stub, filed.id) == end_of("2030-09-29")
            listed = stub.ListCalendarChanges(pb.ListCalendarChangesRequest(year=2030), timeout=10).changes
            assert [(c.id, c.removed_by, c.HasField("removed_at")) for c in listed] == [
                (change_id, "admin-2", True)
            ]
            gone = _refused(
                stub.RemoveCalendarChange, pb.RemoveCalendarChangeRequest(id=change_id + 1, actor="a")
            )
            assert gone.code() == grpc.StatusCode.NOT_FOUND

            replaced = stub.SetCalendarYear(
                pb.SetCalendarYearRequest(
                    year=2030, holidays=["2030-09-26"], actor="admin", replace_known_year=True
                ),
                timeout=10,
            )
            assert replaced.calendar.source == "admin" and replaced.deadlines_recomputed == 1
            # no make-up Sunday and Thursday off: Fri 27, Mon 30 Sep, Tue 1 Oct
            assert _due(stub, filed.id) == end_of("2030-10-01")


def test_bad_calendar_changes_name_the_field(pack, clock):
    clock.set(NOW)
    with complaints(pack) as stub:
        bad = _refused(
            stub.ChangeCalendarDays,
            pb.ChangeCalendarDaysRequest(
                days=[pb.CalendarDay(date="2030-02-30", note="x"), pb.CalendarDay(date="2030-03-01")],
                actor="a",
            ),
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(bad)) == {"days[0].date", "days[1].note"}
        unknown_year = _refused(
            stub.ChangeCalendarDays,
            pb.ChangeCalendarDaysRequest(days=[pb.CalendarDay(date="2031-03-03", note="x")], actor="a"),
        )
        assert unknown_year.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert not stub.ListCalendarChanges(pb.ListCalendarChangesRequest(year=2030), timeout=10).changes
