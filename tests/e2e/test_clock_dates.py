"""Key behaviour with the clock set to several dates: 1 January, an ordinary day, the last
hour before a year the calendar has no data for, 1 January of that year and a leap day in
another such year. The calendar source given to complaints lacks 2027 and 2028, whatever
the installed library knows. Services run in this process, so they read the set clock."""

import datetime

import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.complaints.v1 import complaints_pb2 as pb

from services.common.times import to_timestamp
from tests.e2e.complaints.conftest import Pack, complaint
from tests.support.clock import cst
from tests.support.services import channel_to
from tests.unit.complaints.fakes import library_without


def end_of(day: str) -> datetime.datetime:
    """24:00 China Standard Time of that day."""
    return cst(day + "T00:00") + datetime.timedelta(days=1)


def _moment(stamp) -> datetime.datetime:
    return stamp.ToDatetime(tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("now", "due_end_of", "estimated", "calendar_source"),
    [
        ("2026-01-01T00:30", "2026-01-06", False, "library"),  # New Year holiday; Sunday 4 Jan works
        ("2026-06-15T10:00", "2026-06-18", False, "library"),
        ("2026-12-31T23:30", "2027-01-05", True, "library"),  # 1, 4 and 5 Jan 2027 guessed
        ("2027-01-01T09:00", "2027-01-06", True, "fallback"),
        ("2028-02-29T12:00", "2028-03-03", True, "fallback"),
    ],
)
def test_filing_classifying_listing_and_escalating_on_a_date(
    tmp_path, db_url, clock, now, due_end_of, estimated, calendar_source
):
    moment = cst(now)
    clock.set(moment)
    pack = Pack(tmp_path, db_url, calendar_source=library_without(2027, 2028))
    with pack.classification() as classification, pack.complaints() as (_, stub):
        with channel_to(classification) as channel:
            customer = (
                classification_pb2_grpc.ClassificationServiceStub(channel)
                .GetCustomer(cpb.GetCustomerRequest(licence_number="L-1"), timeout=10)
                .customer
            )
        assert _moment(customer.created_at) == _moment(customer.classification.classified_at) == moment

        filed = stub.FileComplaint(complaint("k-date"), timeout=10).complaint
        assert _moment(filed.received_at) == moment
        assert (_moment(filed.deadline_at), filed.deadline_estimated) == (end_of(due_end_of), estimated)
        year = stub.GetCalendarYear(pb.GetCalendarYearRequest(year=moment.year), timeout=10)
        assert year.source == calendar_source

        hour = datetime.timedelta(hours=1)
        around = pb.ComplaintFilter(
            received_from=to_timestamp(moment - hour), received_to=to_timestamp(moment + hour)
        )
        listed = stub.ListComplaints(pb.ListComplaintsRequest(filter=around), timeout=10).complaints
        assert [c.id for c in listed] == [filed.id]
        later = pb.ComplaintFilter(received_from=to_timestamp(moment + datetime.timedelta(seconds=1)))
        assert not stub.ListComplaints(pb.ListComplaintsRequest(filter=later), timeout=10).complaints
        figures = stub.GetComplaintStatistics(
            pb.GetComplaintStatisticsRequest(
                period_from=to_timestamp(moment - hour), period_to=to_timestamp(moment + hour)
            ),
            timeout=10,
        ).rows
        assert sum(row.received for row in figures) == 1

        clock.set(end_of(due_end_of) - datetime.timedelta(seconds=1))
        stub.RunEscalationSweep(pb.RunEscalationSweepRequest(), timeout=60)
        assert not stub.GetComplaint(pb.GetComplaintRequest(id=filed.id), timeout=10).complaint.overdue
        clock.set(end_of(due_end_of) + datetime.timedelta(seconds=1))
        assert stub.RunEscalationSweep(pb.RunEscalationSweepRequest(), timeout=60).escalations == 1
        overdue = stub.GetComplaint(pb.GetComplaintRequest(id=filed.id), timeout=10).complaint
        assert (overdue.overdue, overdue.escalated_to) == (True, "owner")
