"""The complaints use cases over in-memory ports (tests/unit/complaints/fakes.py): what
is stored, what is refused and what is left untouched, with the clock set."""

import datetime

import grpc
import pytest

from services.common.clients import DownstreamError
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.complaints import domain
from services.complaints.calendar import CalendarYear
from services.complaints.customers import CustomerDirectory
from services.complaints.domain import Intake
from services.complaints.ports import ComplaintFilter, Conflict
from services.complaints.service_layer import Complaints, DayChange
from tests.unit.complaints.fakes import (
    CALENDAR,
    YEAR_2030,
    FakeCustomers,
    FakePolicy,
    FakeUnitOfWork,
    FixedCalendarSource,
    Store,
    cst,
    end_of,
)

NOW = cst("2030-09-25T10:00")  # a Wednesday; three working days on is Sun 29 Sep (make-up)


class Pack:
    def __init__(self, policy: FakePolicy | None = None, years=(YEAR_2030,)):
        self.store = Store()
        self.customers = FakeCustomers()
        self.policy = policy or FakePolicy(version=1, outputs={"deadline_working_days": 3})
        self.use_cases = Complaints(
            lambda read_only=False: FakeUnitOfWork(self.store, read_only=read_only),
            self.policy,
            self.customers,
            FixedCalendarSource(list(years)),
        )
        self.use_cases.load_calendar()

    def events(self, complaint_id: str) -> list[str]:
        return [e.action for e in self.store.events[complaint_id]]


@pytest.fixture
def pack(clock):
    clock.set(NOW)
    return Pack()


def intake(key: str = "k-1", **values) -> Intake:
    fields = {
        "idempotency_key": key,
        "licence_number": "L-1",
        "channel": "hotline",
        "category": "delivery",
        "severity": "",
        "description": "late delivery",
        "received_by": "staff-7",
    }
    fields.update(values)
    return Intake.of(**fields)


# -- intake --------------------------------------------------------------------------------
def test_filing_stores_the_complaint_and_its_first_event(pack):
    complaint, replayed = pack.use_cases.file(intake())
    assert not replayed
    assert pack.store.complaints[complaint.id] == complaint
    assert (complaint.team_id, complaint.policy.version, complaint.deadline_at) == (
        "team-1",
        1,
        end_of("2030-09-29"),
    )
    assert pack.events(complaint.id) == ["file"]
    assert pack.policy.asked == [{"category": "delivery", "severity": "normal", "channel": "hotline"}]


def test_a_retry_replays_and_different_content_is_refused(pack):
    first, _ = pack.use_cases.file(intake())
    again, replayed = pack.use_cases.file(intake())
    assert replayed and again == first
    with pytest.raises(InvalidArgument) as refused:
        pack.use_cases.file(intake(severity="high", channel="visit"))
    assert refused.value.violations[0][0] == "idempotency_key"
    assert "(channel, severity)" in refused.value.violations[0][1]
    assert len(pack.store.complaints) == 1


@pytest.mark.parametrize("failure", [RuntimeError("rule set broken"), KeyError("complaint-policy")])
def test_a_policy_that_cannot_decide_files_on_the_defaults(clock, failure):
    clock.set(NOW)
    pack = Pack(policy=FakePolicy(failure=failure))
    complaint, _ = pack.use_cases.file(intake())
    assert complaint.policy == domain.PolicySnapshot.defaults()
    assert complaint.deadline_at == end_of("2030-09-29")


def test_an_unknown_customer_is_refused_and_an_outage_is_flagged(pack):
    with pytest.raises(InvalidArgument) as unknown:
        pack.use_cases.file(intake(licence_number="L-NOBODY"))
    assert [f for f, _ in unknown.value.violations] == ["licence_number"]
    assert not pack.store.complaints
    pack.customers.reachable = False
    complaint, _ = pack.use_cases.file(intake())
    assert complaint.needs_verification and complaint.team_id == ""
    assert pack.use_cases.verify_flagged() == 0
    pack.customers.reachable = True
    assert pack.use_cases.verify_flagged() == 1
    stored = pack.store.complaints[complaint.id]
    assert (stored.needs_verification, stored.team_id) == (False, "team-1")
    assert pack.events(complaint.id) == ["file", "customer_verified"]


def test_bad_intake_stores_nothing(pack):
    with pytest.raises(InvalidArgument) as bad:
        pack.use_cases.file(intake(description=" ", received_at=NOW + datetime.timedelta(hours=1)))
    assert {f for f, _ in bad.value.violations} == {"description", "received_at"}
    assert not pack.store.complaints


# -- changing ------------------------------------------------------------------------------
def test_an_illegal_action_is_failed_precondition_and_changes_nothing(pack, clock):
    complaint, _ = pack.use_cases.file(intake())
    with pytest.raises(FailedPrecondition):
        pack.use_cases.change_state(complaint.id, "close", "staff-7", "")
    assert pack.store.complaints[complaint.id] == complaint
    with pytest.raises(InvalidArgument):
        pack.use_cases.change_state(complaint.id, "record_return_visit", "staff-7", "")
    with pytest.raises(NotFound):
        pack.use_cases.change_state("nope", "accept", "staff-7", "")


def test_the_clock_pauses_while_waiting_across_the_holidays(pack, clock):
    complaint, _ = pack.use_cases.file(intake())
    pack.use_cases.change_state(complaint.id, "accept", "s", "")
    clock.set(cst("2030-09-27T11:00"))
    pack.use_cases.change_state(complaint.id, "wait_on_retailer", "s", "")
    clock.set(cst("2030-10-09T11:00"))
    resumed = pack.use_cases.change_state(complaint.id, "resume", "s", "")
    # paused on Fri 27 Sep; Sun 29, Mon 30 Sep, Tue 8, Wed 9 Oct added to Sun 29 Sep
    assert resumed.deadline_at == end_of("2030-10-10")
    assert pack.store.complaints[complaint.id].deadline_at == end_of("2030-10-10")


def test_a_return_visit_is_stored_and_a_low_score_reopens(pack):
    complaint, _ = pack.use_cases.file(intake())
    pack.use_cases.change_state(complaint.id, "accept", "s", "")
    pack.use_cases.change_state(complaint.id, "resolve", "s", "")
    visited = pack.use_cases.return_visit(complaint.id, 1, "still late", "clerk")
    assert visited.state == domain.REOPENED and len(pack.store.visits) == 1
    assert pack.events(complaint.id) == ["file", "accept", "resolve", "record_return_visit", "reopen"]
    with pytest.raises(InvalidArgument):
        pack.use_cases.return_visit(complaint.id, 6, "", "clerk")


def test_the_sweep_warns_escalates_and_never_repeats(pack, clock):
    complaint, _ = pack.use_cases.file(intake())
    assert pack.use_cases.sweep(cst("2030-09-29T12:00"))[:2] == (1, 0)  # past 75 %
    assert pack.use_cases.sweep(end_of("2030-10-08"))[:2] == (0, 3)  # deadline, +1 (Mon 30), +1 (Tue 8)
    assert pack.use_cases.sweep(end_of("2030-10-08"))[:2] == (0, 0)
    stored = pack.store.complaints[complaint.id]
    assert (stored.escalation_level, stored.state, stored.overdue_at) == (
        3,
        domain.ESCALATED,
        end_of("2030-09-29"),
    )
    assert pack.events(complaint.id) == [
        "file",
        "warn",
        "escalate_to_owner",
        "escalate_to_team_leader",
        "escalate_to_county",
        "escalate",
    ]


# -- reading -------------------------------------------------------------------------------
def test_lists_page_through_everything_once(pack):
    for n in range(7):
        pack.use_cases.file(intake(f"k-{n}"))
    seen, token = [], ""
    while True:
        page, token = pack.use_cases.list(ComplaintFilter(owner="staff-7"), 3, token)
        seen += [c.idempotency_key for c in page]
        if not token:
            break
    assert sorted(seen) == [f"k-{n}" for n in range(7)] and len(seen) == 7
    with pytest.raises(InvalidArgument):
        pack.use_cases.list(
            ComplaintFilter(owner="staff-8"), 3, pack.use_cases.list(ComplaintFilter(), 3, "")[1]
        )


def test_statistics_need_a_period(pack):
    pack.use_cases.file(intake())
    rows = pack.use_cases.statistics(
        NOW - datetime.timedelta(days=1), NOW + datetime.timedelta(days=1), "team"
    )
    assert [(r.key, r.received) for r in rows] == [("team-1", 1)]
    with pytest.raises(InvalidArgument):
        pack.use_cases.statistics(NOW, NOW, "owner")


# -- the calendar --------------------------------------------------------------------------
def test_a_day_off_laid_over_a_known_year_moves_open_deadlines_and_can_be_taken_back(pack):
    complaint, _ = pack.use_cases.file(intake())
    done, _ = pack.use_cases.file(intake("k-done", received_at=cst("2030-09-20T10:00")))
    pack.use_cases.change_state(done.id, "accept", "s", "")
    pack.use_cases.change_state(done.id, "resolve", "s", "")
    view, recomputed = pack.use_cases.change_calendar_days(
        [DayChange("2030-09-26", False, "typhoon")], "admin"
    )
    assert recomputed == 1
    assert view.data.source == "library" and datetime.date(2030, 9, 26) in view.data.holidays
    assert pack.store.years[2030] == YEAR_2030  # the official data stays as it was
    assert pack.store.complaints[complaint.id].deadline_at == end_of("2030-09-30")
    assert pack.events(complaint.id)[-1] == "deadline_recomputed"
    assert pack.events(done.id)[-1] == "resolve"  # closed cases keep their history
    change = view.changes[0]
    assert (change.id, change.actor, change.reason, change.active) == (1, "admin", "typhoon", True)
    with pytest.raises(FailedPrecondition):  # the same day twice
        pack.use_cases.change_calendar_days([DayChange("2030-09-26", True, "again")], "admin")
    view, recomputed = pack.use_cases.remove_calendar_change(change.id, "admin-2")
    assert recomputed == 1 and datetime.date(2030, 9, 26) not in view.data.holidays
    assert pack.store.complaints[complaint.id].deadline_at == end_of("2030-09-29")
    listed, _ = pack.use_cases.calendar_changes(2030, 0, "")
    assert [(c.id, c.removed_by) for c in listed] == [(1, "admin-2")]
    with pytest.raises(FailedPrecondition):
        pack.use_cases.remove_calendar_change(change.id, "admin-2")
    with pytest.raises(NotFound):
        pack.use_cases.remove_calendar_change(99, "admin-2")


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ([], {"days"}),
        ([DayChange("2030-13-01", False, "x")], {"days[0].date"}),
        ([DayChange("2030-09-26", False, " ")], {"days[0].note"}),
        ([DayChange("2030-09-26", False, "x"), DayChange("2031-01-06", False, "x")], {"days"}),
        ([DayChange("2030-09-26", False, "x"), DayChange("2030-09-26", False, "y")], {"days"}),
    ],
)
def test_bad_day_changes_name_the_field(pack, changes, fields):
    with pytest.raises(InvalidArgument) as bad:
        pack.use_cases.change_calendar_days(changes, "admin")
    assert {f for f, _ in bad.value.violations} == fields
    assert not pack.store.changes


def test_a_change_that_changes_nothing_or_a_year_without_data_is_refused(pack):
    with pytest.raises(FailedPrecondition, match="a day off already"):
        pack.use_cases.change_calendar_days([DayChange("2030-10-01", False, "x")], "admin")
    with pytest.raises(FailedPrecondition, match="set the year first"):
        pack.use_cases.change_calendar_days([DayChange("2031-01-06", False, "x")], "admin")


def test_a_known_year_is_replaced_only_when_asked(pack):
    complaint, _ = pack.use_cases.file(intake())
    with pytest.raises(FailedPrecondition, match="replace_known_year"):
        pack.use_cases.set_calendar_year(2030, ["2030-09-26"], [], "admin")
    assert pack.store.years[2030] == YEAR_2030
    view, recomputed = pack.use_cases.set_calendar_year(
        2030, ["2030-09-26"], [], "admin", replace_known_year=True
    )
    assert view.data == CalendarYear(2030, "admin", frozenset({datetime.date(2030, 9, 26)}), frozenset())
    # no make-up Sunday any more and Thursday off: Fri 27, Mon 30 Sep, Tue 1 Oct
    assert recomputed == 1 and pack.store.complaints[complaint.id].deadline_at == end_of("2030-10-01")


def test_a_year_without_data_is_set_and_estimated_deadlines_become_exact(clock):
    clock.set(cst("2030-12-30T09:00"))
    pack = Pack()
    complaint, _ = pack.use_cases.file(intake())
    assert complaint.deadline_estimated and pack.use_cases.calendar_year(2031).data is None
    view, recomputed = pack.use_cases.set_calendar_year(2031, ["2031-01-01"], ["2031-01-04"], "admin")
    assert view.data.source == "admin" and recomputed == 1
    stored = pack.store.complaints[complaint.id]
    # 31 Dec, (1 Jan off), 2 and 3 Jan: a day later than the Monday-to-Friday guess
    assert (stored.deadline_at, stored.deadline_estimated) == (end_of("2031-01-03"), False)
    with pytest.raises(InvalidArgument) as bad:
        pack.use_cases.set_calendar_year(2031, ["2031-01-04", "nope"], [], "")
    assert {f for f, _ in bad.value.violations} == {"holidays", "actor"}


def test_the_calendar_is_seeded_once_from_its_source(clock):
    pack = Pack(years=(YEAR_2030,))
    assert pack.use_cases.calendar.years == CALENDAR.years
    pack.use_cases.set_calendar_year(2031, [], [], "admin")
    pack.use_cases.calendar_source = FixedCalendarSource([YEAR_2030, CalendarYear(2031, "library")])
    pack.use_cases.load_calendar()  # a later start: the stored 2031 stays the administrator's
    assert pack.store.years[2031].source == "admin"


# -- the customer check --------------------------------------------------------------------
class _Refusal(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode):
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return "licence_number: at most 40 characters"

    def trailing_metadata(self):
        return ()


class _Client:
    def __init__(self, code: grpc.StatusCode):
        self.code = code

    def get_customer(self, licence_number):
        raise DownstreamError("classification", "GetCustomer", _Refusal(self.code))


def test_a_licence_classification_refuses_is_no_customer_and_other_failures_are_passed_on():
    refused = CustomerDirectory(_Client(grpc.StatusCode.INVALID_ARGUMENT)).check("L" * 5000)
    assert refused.known is False and "classification accepts" in refused.why
    with pytest.raises(DownstreamError):
        CustomerDirectory(_Client(grpc.StatusCode.INTERNAL)).check("L-1")


def test_a_year_a_newer_library_brings_makes_estimated_deadlines_exact(clock):
    clock.set(cst("2030-12-30T09:00"))
    pack = Pack()
    complaint, _ = pack.use_cases.file(intake())
    assert complaint.deadline_estimated
    pack.use_cases.calendar_source = FixedCalendarSource(
        [YEAR_2030, CalendarYear(2031, "library", frozenset({datetime.date(2031, 1, 1)}))]
    )
    pack.use_cases.load_calendar()  # the next start, after an upgrade of the library
    stored = pack.store.complaints[complaint.id]
    assert (stored.deadline_at, stored.deadline_estimated) == (end_of("2031-01-03"), False)
    assert pack.store.events[complaint.id][-1].note.startswith("calendar year 2031 added: ")
    assert pack.use_cases.calendar.is_workday(datetime.date(2031, 1, 1)) == (False, False)


def test_replicas_seeding_the_calendar_at_once(clock):
    """The first commit finds that another replica stored the years meanwhile."""
    store, attempts = Store(), []

    class Racing(FakeUnitOfWork):
        def commit(self) -> None:
            attempts.append(sorted(self._working.years))
            if len(attempts) == 1:
                store.years[2030] = YEAR_2030  # the other replica's commit
                raise Conflict()
            super().commit()

    use_cases = Complaints(
        lambda read_only=False: Racing(store, read_only=read_only),
        FakePolicy(),
        FakeCustomers(),
        FixedCalendarSource([YEAR_2030]),
    )
    use_cases.load_calendar()
    assert attempts == [[2030], [2030]] and store.years == {2030: YEAR_2030}
    assert use_cases.calendar.years == CALENDAR.years


def test_calendar_changes_page_through_once(pack):
    days = ["2030-09-26", "2030-09-27", "2030-10-12"]
    for day in days:
        pack.use_cases.change_calendar_days([DayChange(day, False, "x")], "admin")
    seen, token = [], ""
    while True:
        page, token = pack.use_cases.calendar_changes(2030, 2, token)
        seen += [c.day.isoformat() for c in page]
        if not token:
            break
    assert seen == days
    _, first_token = pack.use_cases.calendar_changes(2030, 2, "")
    with pytest.raises(InvalidArgument):  # a token of another year's listing
        pack.use_cases.calendar_changes(2031, 2, first_token)
