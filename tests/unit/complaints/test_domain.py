"""The Complaint itself: its deadline clock, state machine, escalation ladder and return
visits, on a made-up calendar year (2030) so nothing depends on the calendar library or
on today's date."""

import dataclasses
import datetime

import pytest

from services.complaints import domain
from services.complaints.calendar import CalendarYear, WorkingCalendar
from services.complaints.domain import Complaint, Intake, PolicySnapshot
from tests.unit.complaints.fakes import CALENDAR, DAY, YEAR_2030, cst, end_of


def intake(**values) -> Intake:
    fields = {
        "idempotency_key": "k-1",
        "licence_number": "L-1",
        "channel": "hotline",
        "category": "delivery",
        "severity": "",
        "description": " late delivery ",
        "received_by": "staff-7",
    }
    fields.update(values)
    return Intake.of(**fields)


def filed(received: str = "2030-03-04T09:00", policy: PolicySnapshot | None = None, **values) -> Complaint:
    complaint, _ = Complaint.file(
        intake(received_at=cst(received), **values),
        complaint_id="c-1",
        team_id="team-1",
        needs_verification=False,
        policy=policy or PolicySnapshot.defaults(),
        calendar=CALENDAR,
        moment=cst(received),
    )
    return complaint


# -- intake --------------------------------------------------------------------------------
def test_filing_sets_owner_deadline_warning_and_ladder():
    complaint, events = Complaint.file(
        intake(),
        complaint_id="c-1",
        team_id="team-1",
        needs_verification=False,
        policy=PolicySnapshot.defaults(),
        calendar=CALENDAR,
        moment=cst("2030-03-04T09:00"),  # a Monday
    )
    assert (complaint.owner, complaint.handler, complaint.state, complaint.severity) == (
        "staff-7",
        "staff-7",
        domain.RECEIVED,
        "normal",
    )
    assert complaint.description == "late delivery"
    assert complaint.deadline_at == end_of("2030-03-07") and not complaint.deadline_estimated
    # warning at 75 % of the time from receipt to deadline
    assert (
        complaint.warn_at == cst("2030-03-04T09:00") + (end_of("2030-03-07") - cst("2030-03-04T09:00")) * 0.75
    )
    assert complaint.next_escalation_at == complaint.deadline_at
    assert events == [domain.Event(cst("2030-03-04T09:00"), "staff-7", "file", "", domain.RECEIVED, "")]


def test_an_unverified_customer_is_noted_on_the_first_event():
    _, events = Complaint.file(
        intake(),
        complaint_id="c-1",
        team_id="",
        needs_verification=True,
        policy=PolicySnapshot.defaults(),
        calendar=CALENDAR,
        moment=cst("2030-03-04T09:00"),
    )
    assert events[0].note == "customer not verified: classification unreachable"


@pytest.mark.parametrize(
    ("received", "due", "why"),
    [
        ("2030-09-27T10:00", "2030-10-08", "Sunday 29 Sep works, 1-7 Oct off"),
        ("2030-09-28T10:00", "2030-10-08", "received on a Saturday: the make-up Sunday is day 1"),
        ("2030-10-09T10:00", "2030-10-12", "the make-up Saturday counts"),
        ("2030-03-08T23:59", "2030-03-13", "late on a Friday: counting starts Monday"),
    ],
)
def test_deadlines_count_working_days_after_the_day_of_receipt(received, due, why):
    assert filed(received).deadline_at == end_of(due), why


def test_a_deadline_in_a_year_without_data_is_estimated():
    complaint = filed("2030-12-30T09:00")  # 31 Dec known, 1 and 2 Jan 2031 guessed
    assert complaint.deadline_at == end_of("2031-01-02") and complaint.deadline_estimated


def test_intake_problems_name_every_field():
    bad = Intake.of(
        idempotency_key=" ",
        licence_number="",
        channel="pigeon",
        category="weather",
        severity="extreme",
        description="  ",
        received_by="",
        received_at=cst("2030-03-04T10:00"),
    )
    fields = {name for name, _ in bad.problems(cst("2030-03-04T09:00"))}
    assert fields == {
        "idempotency_key",
        "licence_number",
        "channel",
        "category",
        "severity",
        "description",
        "received_by",
        "received_at",
    }
    assert intake().problems(cst("2030-03-04T09:00")) == []


@pytest.mark.parametrize(
    ("received_at", "ok"),
    [
        (datetime.datetime(1999, 12, 31, 23, 59, tzinfo=datetime.UTC), False),
        (domain.RECEIVED_NOT_BEFORE, True),
        (cst("2030-03-04T09:00") + domain.CLOCK_SKEW, True),
        (cst("2030-03-04T09:00") + domain.CLOCK_SKEW + datetime.timedelta(seconds=1), False),
    ],
)
def test_the_receipt_time_window(received_at, ok):
    assert (domain.received_at_problems(received_at, cst("2030-03-04T09:00")) == []) is ok


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("licence_number", "L-2"),
        ("channel", "visit"),
        ("category", "price"),
        ("severity", "high"),
        ("description", "something else"),
        ("received_by", "staff-8"),
        ("received_at", "2030-03-04T09:01"),
    ],
)
def test_a_retry_differs_in_any_single_field(name, value):
    complaint = filed()
    same = {"received_at": cst("2030-03-04T09:00")}
    assert intake(**same).differences(complaint) == []
    changed = {**same, name: cst(value) if name == "received_at" else value}
    assert intake(**changed).differences(complaint) == [name]


def test_a_retry_without_a_receipt_time_matches_the_stored_one():
    assert intake().differences(filed()) == []


# -- policy --------------------------------------------------------------------------------
def test_policy_defaults_are_the_documented_ones_as_version_0():
    assert PolicySnapshot.defaults() == PolicySnapshot(
        0, 3, True, 0.75, ("owner", "team_leader", "county", "city"), 1
    )


def test_policy_outputs_left_out_keep_their_default():
    policy = PolicySnapshot.from_outputs(4, {"deadline_working_days": 5, "escalation_levels": ["county"]})
    assert policy == dataclasses.replace(
        PolicySnapshot.defaults(), version=4, deadline_working_days=5, escalation_levels=("county",)
    )


# -- the state machine ---------------------------------------------------------------------
@pytest.mark.parametrize("state", domain.STATES)
@pytest.mark.parametrize("action", domain.ACTIONS)
def test_every_transition_is_allowed_or_refused_by_the_table(state, action):
    complaint = filed()
    complaint.state = state
    moment = cst("2030-03-05T09:00")
    if (state, action) in domain.TRANSITIONS:
        events = complaint.act(action, "staff-7", "", moment, CALENDAR)
        assert complaint.state == domain.TRANSITIONS[(state, action)]
        assert events[-1] == domain.Event(moment, "staff-7", action, state, complaint.state, "")
    else:
        before = dataclasses.asdict(complaint)
        with pytest.raises(domain.IllegalTransition) as refused:
            complaint.act(action, "staff-7", "", moment, CALENDAR)
        assert refused.value.subject == "c-1"
        assert dataclasses.asdict(complaint) == before


def test_a_refusal_names_what_is_allowed():
    complaint = filed()
    complaint.state = domain.CLOSED
    with pytest.raises(domain.IllegalTransition, match="nothing, it is closed"):
        complaint.act("reopen", "s", "", cst("2030-03-05T09:00"), CALENDAR)
    complaint.state = domain.RECEIVED
    with pytest.raises(domain.IllegalTransition, match=r"allowed: accept, escalate"):
        complaint.act("resolve", "s", "", cst("2030-03-05T09:00"), CALENDAR)


def test_resolving_counts_working_days_and_schedules_the_return_visit():
    complaint = filed("2030-09-27T10:00")
    complaint.act("accept", "s", "", cst("2030-09-27T11:00"), CALENDAR)
    complaint.act("resolve", "s", "", cst("2030-10-08T11:00"), CALENDAR)
    assert complaint.resolution_working_days == 3  # Sun 29 Sep, Mon 30 Sep, Tue 8 Oct
    assert complaint.next_escalation_at is None and complaint.resolved_at == cst("2030-10-08T11:00")
    # two working days after Tue 8 Oct: Wed 9, Thu 10
    assert complaint.return_visit_due_at == datetime.datetime(2030, 10, 10, 9, tzinfo=datetime.UTC)


def test_hand_off_keeps_the_owner_and_only_open_complaints_are_handed_off():
    complaint = filed()
    events = complaint.hand_off("brand-mgr", "supply question", "staff-7", cst("2030-03-05T09:00"))
    assert (complaint.owner, complaint.handler) == ("staff-7", "brand-mgr")
    assert events[0].note == "staff-7 -> brand-mgr: supply question (owner stays staff-7)"
    complaint.state = domain.CLOSED
    with pytest.raises(domain.Refused):
        complaint.hand_off("x", "y", "z", cst("2030-03-05T09:00"))


# -- the paused clock ----------------------------------------------------------------------
def test_waiting_on_the_retailer_pauses_the_clock_across_holidays():
    complaint = filed("2030-09-26T10:00")  # Thursday; due end of Mon 30 Sep
    assert complaint.deadline_at == end_of("2030-09-30")
    complaint.act("accept", "s", "", cst("2030-09-26T11:00"), CALENDAR)
    complaint.act("wait_on_retailer", "s", "", cst("2030-09-27T11:00"), CALENDAR)  # Friday
    assert complaint.paused_at == cst("2030-09-27T11:00")
    complaint.act("resume", "s", "", cst("2030-10-09T11:00"), CALENDAR)  # Wednesday after the holidays
    # stood still on the working days after Fri 27 Sep up to Wed 9 Oct: Sun 29, Mon 30, Tue 8, Wed 9
    assert complaint.paused_working_days == 4 and complaint.paused_at is None
    # from Mon 30 Sep four more working days: Tue 8, Wed 9, Thu 10, Fri 11 Oct
    assert complaint.deadline_at == end_of("2030-10-11")
    assert complaint.next_escalation_at == complaint.deadline_at


def test_no_pause_when_the_policy_says_so():
    complaint = filed(policy=dataclasses.replace(PolicySnapshot.defaults(), pause_clock_while_waiting=False))
    complaint.act("accept", "s", "", cst("2030-03-04T10:00"), CALENDAR)
    complaint.act("wait_on_retailer", "s", "", cst("2030-03-04T11:00"), CALENDAR)
    assert complaint.paused_at is None
    complaint.act("resume", "s", "", cst("2030-03-11T11:00"), CALENDAR)
    assert complaint.deadline_at == end_of("2030-03-07")


def test_a_pause_past_the_deadline_moves_nothing():
    complaint = filed()
    complaint.act("accept", "s", "", cst("2030-03-04T10:00"), CALENDAR)
    complaint.act("wait_on_retailer", "s", "", cst("2030-03-04T11:00"), CALENDAR)
    complaint.escalate_when_due(cst("2030-03-08T09:00"), CALENDAR)  # overdue while waiting
    complaint.state = domain.WAITING
    complaint.act("resume", "s", "", cst("2030-03-11T11:00"), CALENDAR)
    assert complaint.deadline_at == end_of("2030-03-07") and complaint.paused_working_days == 0


# -- the escalation ladder -----------------------------------------------------------------
def test_the_ladder_climbs_one_level_per_working_day_after_the_deadline():
    complaint = filed("2030-09-25T10:00")  # Wednesday; due end of Sun 29 Sep (make-up day)
    assert complaint.deadline_at == end_of("2030-09-29")
    events = complaint.escalate_when_due(end_of("2030-09-29"), CALENDAR)
    assert [e.action for e in events] == ["escalate_to_owner", "escalate"]
    assert (complaint.escalation_level, complaint.escalated_to, complaint.state) == (
        1,
        "owner",
        domain.ESCALATED,
    )
    assert complaint.overdue_at == complaint.deadline_at
    assert complaint.next_escalation_at == end_of("2030-09-30")  # one working day on
    events = complaint.escalate_when_due(end_of("2030-10-08"), CALENDAR)  # 1-7 Oct off: two more due
    assert [e.action for e in events] == ["escalate_to_team_leader", "escalate_to_county"]
    assert complaint.next_escalation_at == end_of("2030-10-09")
    events = complaint.escalate_when_due(end_of("2030-12-31"), CALENDAR)
    assert [e.action for e in events] == ["escalate_to_city"]
    assert (complaint.escalation_level, complaint.next_escalation_at) == (4, None)
    assert complaint.escalate_when_due(end_of("2030-12-31"), CALENDAR) == []
    complaint.state = domain.IN_PROGRESS
    with pytest.raises(domain.Refused, match="top escalation level"):
        complaint.act("escalate", "s", "", end_of("2030-12-31"), CALENDAR)


def test_escalating_by_hand_takes_the_next_level_and_notes_it():
    complaint = filed()
    events = complaint.act("escalate", "staff-7", "angry caller", cst("2030-03-04T10:00"), CALENDAR)
    assert [(e.action, e.note) for e in events] == [
        ("escalate_to_owner", "escalated by hand: angry caller"),
        ("escalate", "angry caller"),
    ]
    assert complaint.next_escalation_at == end_of("2030-03-08")  # deadline + 1 working day


def test_an_empty_ladder_never_escalates():
    complaint = filed(policy=dataclasses.replace(PolicySnapshot.defaults(), escalation_levels=()))
    assert complaint.next_escalation_at is None


# -- return visits -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("satisfaction", "state"), [(1, domain.REOPENED), (2, domain.REOPENED), (3, domain.RETURN_VISITED)]
)
def test_a_dissatisfied_return_visit_reopens(satisfaction, state):
    complaint = filed()
    complaint.act("accept", "s", "", cst("2030-03-04T10:00"), CALENDAR)
    complaint.act("resolve", "s", "", cst("2030-03-05T10:00"), CALENDAR)
    events, visit = complaint.record_return_visit(
        satisfaction, "ok", "clerk", cst("2030-03-07T10:00"), CALENDAR
    )
    assert complaint.state == state and complaint.reopened is (state == domain.REOPENED)
    assert complaint.satisfaction == satisfaction
    assert visit == domain.ReturnVisit("c-1", cst("2030-03-07T10:00"), "clerk", satisfaction, "ok")
    assert events[0].note == f"satisfaction {satisfaction}: ok"
    if complaint.reopened:
        assert events[-1].action == "reopen" and complaint.resolved_at is None
        assert complaint.next_escalation_at == complaint.deadline_at


def test_an_overdue_complaint_reopened_resumes_its_ladder():
    complaint = filed()
    complaint.escalate_when_due(end_of("2030-03-07"), CALENDAR)
    complaint.act("resolve", "s", "", cst("2030-03-08T10:00"), CALENDAR)
    complaint.act("reopen", "s", "", cst("2030-03-09T10:00"), CALENDAR)
    assert complaint.escalation_level == 1 and complaint.next_escalation_at == end_of("2030-03-08")


# -- verification and recomputation --------------------------------------------------------
def test_verifying_the_customer_clears_the_flag():
    complaint = filed()
    complaint.needs_verification, complaint.team_id = True, ""
    events = complaint.verify_customer("team-9", cst("2030-03-05T09:00"))
    assert (complaint.needs_verification, complaint.team_id) == (False, "team-9")
    assert [(e.actor, e.action, e.note) for e in events] == [("system", "customer_verified", "team team-9")]


def test_a_changed_calendar_moves_the_deadline_with_its_paused_days():
    complaint = filed("2030-12-30T09:00")
    assert complaint.recompute_deadline(CALENDAR, cst("2030-12-30T10:00"), "why") == []  # nothing changed
    complaint.paused_working_days = 1  # as if the clock had stood still a day
    new_year = CalendarYear(2031, "admin", frozenset({DAY(2031, 1, 1)}), frozenset())
    events = complaint.recompute_deadline(
        WorkingCalendar([YEAR_2030, new_year]), cst("2030-12-30T10:00"), "calendar year 2031 set"
    )
    # 31 Dec, (1 Jan off), 2, 3 Jan, then the paused day: Mon 6 Jan
    assert complaint.deadline_at == end_of("2031-01-06") and not complaint.deadline_estimated
    assert events[0].action == "deadline_recomputed"
    assert events[0].note.startswith("calendar year 2031 set: ")


# -- statistics ----------------------------------------------------------------------------
def test_figures_per_key():
    due = end_of("2030-03-07")
    outcomes = [
        domain.Outcome("a", due - datetime.timedelta(hours=1), due, None, 2, 4),
        domain.Outcome("a", due + datetime.timedelta(hours=1), due, due, 4, None),
        domain.Outcome("b", None, due, due, None, None),
    ]
    assert domain.figures(outcomes) == [
        domain.Figures("a", 2, 2, 1, 1, 3.0, 4.0),
        domain.Figures("b", 1, 0, 0, 1, 0.0, 0.0),
    ]


# -- the details: every event in full, every message word for word ---------------------------
T = cst("2030-03-05T09:00")


def test_filing_records_the_moment_and_derives_the_schedule_from_the_deadline():
    complaint = filed()
    assert complaint.created_at == complaint.updated_at == cst("2030-03-04T09:00")
    assert (complaint.deadline_at, complaint.deadline_estimated) == (end_of("2030-03-07"), False)


def test_intake_trims_identifiers_and_explains_each_problem():
    trimmed = intake(idempotency_key=" k ", licence_number=" L-1 ", received_by=" staff-7 ")
    assert (trimmed.idempotency_key, trimmed.licence_number, trimmed.received_by) == ("k", "L-1", "staff-7")
    bad = intake(idempotency_key="", description=" ", channel="p" * 50)
    problems = dict(bad.problems(T))
    assert problems["idempotency_key"] == "is required"
    assert problems["description"] == "must not be empty"
    assert problems["channel"] == (
        f"unknown value {'p' * 40!r}: use one of hotline, retailer_app, visit, inspection, other"
    )
    assert domain.received_at_problems(T + datetime.timedelta(hours=1), T) == ["is in the future"]
    assert domain.received_at_problems(cst("1999-06-01T00:00"), T) == ["must not be before 2000-01-01"]


def test_every_policy_output_is_read():
    outputs = {
        "deadline_working_days": 5,
        "pause_clock_while_waiting": False,
        "warn_at_share": 0.5,
        "escalation_levels": ["county", "city"],
        "escalation_interval_working_days": 2,
    }
    assert PolicySnapshot.from_outputs(2, outputs) == PolicySnapshot(2, 5, False, 0.5, ("county", "city"), 2)
    assert PolicySnapshot.from_outputs(2, {}) == dataclasses.replace(PolicySnapshot.defaults(), version=2)


def test_refusals_say_what_and_whom():
    with pytest.raises(domain.IllegalTransition) as refused:
        domain.next_state(domain.WAITING, "start_work")
    assert str(refused.value) == (
        "cannot start work a complaint that is waiting on retailer (allowed: escalate, resume)"
    )
    assert refused.value.subject == ""
    complaint = filed()
    complaint.state = domain.CLOSED
    with pytest.raises(domain.IllegalTransition) as closed:
        complaint.act("reopen", "s", "", T, CALENDAR)
    assert str(closed.value) == "cannot reopen a complaint that is closed (allowed: nothing, it is closed)"
    with pytest.raises(domain.Refused) as handed:
        complaint.hand_off("x", "y", "z", T)
    assert (str(handed.value), handed.value.subject) == (
        "complaint c-1 is closed; only open complaints are handed off",
        "c-1",
    )
    assert domain.Refused("no").subject == ""


def test_hand_off_event_in_full():
    complaint = filed()
    assert complaint.hand_off("brand-mgr", "supply", "staff-7", T) == [
        domain.Event(
            T,
            "staff-7",
            "hand_off",
            domain.RECEIVED,
            domain.RECEIVED,
            "staff-7 -> brand-mgr: supply (owner stays staff-7)",
        )
    ]
    assert complaint.updated_at == T


def test_escalation_events_in_full():
    complaint = filed()
    complaint.state = domain.IN_PROGRESS
    events = complaint.escalate_when_due(end_of("2030-03-07"), CALENDAR)
    passed = f"deadline {end_of('2030-03-07').isoformat()} passed"
    assert events == [
        domain.Event(
            end_of("2030-03-07"),
            "system",
            "escalate_to_owner",
            domain.IN_PROGRESS,
            domain.IN_PROGRESS,
            passed,
        ),
        domain.Event(
            end_of("2030-03-07"), "system", "escalate", domain.IN_PROGRESS, domain.ESCALATED, "overdue"
        ),
    ]
    assert complaint.updated_at == end_of("2030-03-07")
    # escalated already: the next level is recorded, the state stays
    later = complaint.escalate_when_due(end_of("2030-03-08"), CALENDAR)
    assert [(e.action, e.from_state, e.to_state) for e in later] == [
        ("escalate_to_team_leader", domain.ESCALATED, domain.ESCALATED)
    ]
    complaint.escalation_level, complaint.state = 4, domain.IN_PROGRESS
    with pytest.raises(domain.Refused) as top:
        complaint.act("escalate", "s", "", T, CALENDAR)
    assert (str(top.value), top.value.subject) == (
        "complaint c-1 is already at the top escalation level",
        "c-1",
    )


def test_the_sweep_escalates_the_state_only_where_the_state_machine_allows_it():
    complaint = filed()
    complaint.state = domain.RESOLVED  # not open, so the sweep never picks it; still no jump
    events = complaint.escalate_when_due(end_of("2030-03-07"), CALENDAR)
    assert [e.action for e in events] == ["escalate_to_owner"] and complaint.state == domain.RESOLVED


def test_escalating_by_hand_without_a_note():
    complaint = filed()
    assert complaint.act("escalate", "staff-7", "", T, CALENDAR) == [
        domain.Event(
            T, "staff-7", "escalate_to_owner", domain.RECEIVED, domain.RECEIVED, "escalated by hand"
        ),
        domain.Event(T, "staff-7", "escalate", domain.RECEIVED, domain.ESCALATED, ""),
    ]


def test_the_ladder_steps_by_the_policy_interval():
    policy = dataclasses.replace(PolicySnapshot.defaults(), escalation_interval_working_days=2)
    complaint = filed(policy=policy)
    complaint.escalate_when_due(end_of("2030-03-07"), CALENDAR)
    assert complaint.next_escalation_at == end_of("2030-03-11")  # Fri 8, Mon 11


def test_reopening_an_escalated_but_not_overdue_complaint_restarts_at_the_deadline():
    complaint = filed()
    complaint.act("escalate", "s", "", T, CALENDAR)  # by hand, level 1, not overdue
    complaint.act("resolve", "s", "", T, CALENDAR)
    complaint.act("reopen", "s", "", T, CALENDAR)
    assert complaint.next_escalation_at == complaint.deadline_at


def test_two_pauses_add_up_and_an_estimate_stays_an_estimate():
    # 2030 and 2032 known, 2031 not: a deadline counted through 2031 is an estimate even
    # when its extension falls in 2032.
    calendar = WorkingCalendar([YEAR_2030, CalendarYear(2032, "library")])
    complaint, _ = Complaint.file(
        intake(received_at=cst("2031-12-29T09:00")),
        complaint_id="c-1",
        team_id="",
        needs_verification=False,
        policy=PolicySnapshot.defaults(),
        calendar=calendar,
        moment=cst("2031-12-29T09:00"),
    )
    assert (complaint.deadline_at, complaint.deadline_estimated) == (end_of("2032-01-01"), True)
    complaint.act("accept", "s", "", cst("2031-12-29T10:00"), calendar)
    for paused, resumed in (
        ("2031-12-29T11:00", "2031-12-30T11:00"),
        ("2031-12-30T12:00", "2031-12-31T12:00"),
    ):
        complaint.act("wait_on_retailer", "s", "", cst(paused), calendar)
        complaint.act("resume", "s", "", cst(resumed), calendar)
    assert complaint.paused_working_days == 2
    assert (complaint.deadline_at, complaint.deadline_estimated) == (end_of("2032-01-05"), True)


def test_a_resumed_clock_on_known_days_is_exact():
    complaint = filed()
    complaint.act("accept", "s", "", T, CALENDAR)
    complaint.act("wait_on_retailer", "s", "", T, CALENDAR)
    complaint.act("resume", "s", "", cst("2030-03-06T09:00"), CALENDAR)
    assert (complaint.deadline_at, complaint.deadline_estimated) == (end_of("2030-03-08"), False)


def test_return_visit_events_in_full():
    complaint = filed()
    complaint.act("accept", "s", "", T, CALENDAR)
    complaint.act("resolve", "s", "", T, CALENDAR)
    events, _ = complaint.record_return_visit(2, "meh", "clerk", T, CALENDAR)
    assert events == [
        domain.Event(
            T, "clerk", "record_return_visit", domain.RESOLVED, domain.RETURN_VISITED, "satisfaction 2: meh"
        ),
        domain.Event(
            T, "clerk", "reopen", domain.RETURN_VISITED, domain.REOPENED, "dissatisfied at the return visit"
        ),
    ]
    assert complaint.return_visit_due_at is not None


def test_verification_and_recomputation_events_in_full():
    complaint = filed()
    assert complaint.verify_customer("team-9", T) == [
        domain.Event(T, "system", "customer_verified", domain.RECEIVED, domain.RECEIVED, "team team-9")
    ]
    complaint.paused_working_days = 1
    events = complaint.recompute_deadline(CALENDAR, T, "why")
    note = f"why: {end_of('2030-03-07').isoformat()} -> {end_of('2030-03-08').isoformat()}"
    assert events == [
        domain.Event(T, "system", "deadline_recomputed", domain.RECEIVED, domain.RECEIVED, note)
    ]
    assert complaint.updated_at == T


def test_the_warning_event():
    assert domain.warning(T) == domain.Event(T, "system", "warn", "", "", "share of the time used")


def test_figures_count_on_time_at_the_deadline_and_missing_days_as_zero():
    due = end_of("2030-03-07")
    outcomes = [
        domain.Outcome("a", due, due, due, None, None),
        domain.Outcome("a", due, due, due, 2, None),
    ]
    assert domain.figures(outcomes) == [domain.Figures("a", 2, 2, 2, 2, 1.0, 0.0)]


def test_a_dissatisfied_visit_to_an_overdue_complaint_resumes_its_ladder():
    complaint = filed()
    complaint.escalate_when_due(end_of("2030-03-07"), CALENDAR)
    complaint.act("resolve", "s", "", cst("2030-03-08T10:00"), CALENDAR)
    complaint.record_return_visit(1, "no", "clerk", cst("2030-03-11T10:00"), CALENDAR)
    assert complaint.next_escalation_at == end_of("2030-03-08")  # level 2 was due a working day on
    assert domain.IllegalTransition(domain.CLOSED, "reopen").subject == ""
