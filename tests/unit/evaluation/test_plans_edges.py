"""Improvement plans: the opening event, every allowed and refused move with its wording,
the input bounds, and what a move adds to the plan."""

import datetime

import pytest

from services.evaluation.domain.errors import Invalid, Refused
from services.evaluation.domain.plans import ImprovementPlan, PlanEvent
from services.evaluation.domain.supervision import Finding

D = datetime.date
AT = datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC)
LATER = AT + datetime.timedelta(days=3)


def opened():
    return ImprovementPlan.open("p1", "cm-1", "staff", "2026-05", 42.5, 60, "tl-1", D(2026, 7, 1), AT)


def invalid(plan, *args):
    with pytest.raises(Invalid) as error:
        plan.advance(*args)
    return error.value.violations


def refusal(plan, *args):
    with pytest.raises(Refused) as error:
        plan.advance(*args)
    return error.value.message, error.value.subject


def test_an_opened_plan_records_its_trigger_and_a_system_event():
    plan = opened()
    assert plan == ImprovementPlan(
        "p1",
        "cm-1",
        "staff",
        "2026-05",
        42.5,
        60,
        "tl-1",
        D(2026, 7, 1),
        "plan",
        (),
        (),
        (PlanEvent(AT, "system", "", "plan", "score 42.5 below 60 in period 2026-05"),),
    )


def test_a_move_adds_actions_evidence_and_an_event_with_who_when_and_note():
    plan = opened().advance("tl-1", "do", ["visit twice a week"], [], "agreed", LATER)
    assert plan.state == "do" and plan.actions == ("visit twice a week",) and plan.evidence == ()
    assert plan.events[-1] == PlanEvent(LATER, "tl-1", "plan", "do", "agreed")
    plan = plan.advance("tl-1", "", ["call weekly"], ["cards of June"], "", LATER)
    assert plan.state == "do"
    assert plan.actions == ("visit twice a week", "call weekly") and plan.evidence == ("cards of June",)
    assert plan.events[-1] == PlanEvent(LATER, "tl-1", "do", "do", "")
    checked = plan.advance("tl-1", "check", [], [], "", LATER)  # evidence given earlier
    assert checked.state == "check"
    assert checked.advance("tl-1", "do", [], [], "again", LATER).state == "do"
    acted = checked.advance("tl-1", "act", [], [], "", LATER)
    assert acted.advance("tl-1", "plan", [], [], "", LATER).state == "plan"


def test_a_plan_with_actions_from_before_may_be_carried_out_again():
    plan = opened().advance("tl-1", "", ["visit twice a week"], [], "", AT)
    assert plan.advance("tl-1", "do", [], [], "", AT).state == "do"


def test_input_bounds_are_checked_together():
    plan = opened()
    assert invalid(plan, " ", "do", ["ok", " "], [], "x" * 2001, AT) == [
        ("by", "is required"),
        ("add_actions", "each action and piece of evidence is 1-2000 characters"),
        ("note", "at most 2000 characters"),
    ]
    assert invalid(plan, "tl-1", "", [], ["x" * 2001], "", AT) == [
        ("add_actions", "each action and piece of evidence is 1-2000 characters")
    ]
    longest = plan.advance("tl-1", "", ["x" * 2000], ["y" * 2000], "z" * 2000, AT)
    assert longest.events[-1].note == "z" * 2000


def test_moves_out_of_order_are_refused_naming_the_allowed_ones():
    plan = opened()
    assert refusal(plan, "tl-1", "check", [], ["e"], "", AT) == (
        "plan p1 is in plan; it can move to do",
        "p1",
    )
    doing = plan.advance("tl-1", "do", ["a"], [], "", AT)
    checked = doing.advance("tl-1", "check", [], ["e"], "", AT)
    assert refusal(checked, "tl-1", "closed", [], [], "", AT) == (
        "plan p1 is in check; it can move to act, do",
        "p1",
    )
    closed = checked.advance("tl-1", "act", [], [], "", AT).advance("tl-1", "closed", [], [], "", AT)
    assert refusal(closed, "tl-1", "", [], [], "", AT) == ("plan p1 is closed", "p1")


def test_carrying_out_needs_actions_and_checking_needs_evidence():
    plan = opened()
    assert invalid(plan, "tl-1", "do", [], [], "", AT) == [
        ("add_actions", "a plan needs actions before it is carried out")
    ]
    doing = plan.advance("tl-1", "do", ["a"], [], "", AT)
    assert invalid(doing, "tl-1", "check", [], [], "", AT) == [
        ("add_evidence", "checking a plan needs evidence of what was done")
    ]


def test_overdue_only_after_the_due_day_and_while_not_closed():
    plan = opened()
    assert not plan.overdue(D(2026, 7, 1)) and plan.overdue(D(2026, 7, 2))


def test_a_follow_up_records_the_period_and_score():
    plan = opened().followed_up("2026-06", 71.5)
    assert (plan.follow_up_period_id, plan.follow_up_score) == ("2026-06", 71.5)


def breach(state, decided_by=""):
    return Finding(
        "f-9",
        "in-1",
        "L-7",
        "retail_price_upkeep",
        "not_delivered",
        ("photo",),
        AT,
        staff_id="cm-3",
        state=state,
        decided_by=decided_by,
    )


def test_a_breach_plan_without_a_decider_is_opened_by_the_system():
    plan = ImprovementPlan.for_breach("p9", breach("upheld"), "2026-05", D(2026, 7, 1), AT)
    assert plan.events == (
        PlanEvent(
            AT,
            "system",
            "",
            "plan",
            "broken commitment: finding f-9 (not_delivered of retail_price_upkeep for L-7) upheld in period 2026-05",
        ),
    )
    assert (plan.subject_id, plan.owner_id, plan.finding_id) == ("cm-3", "cm-3", "f-9")
    decided = ImprovementPlan.for_breach("p9", breach("upheld", "tl-1"), "2026-05", D(2026, 7, 1), AT)
    assert decided.events[0].by == "tl-1"


def test_only_an_upheld_finding_opens_a_breach_plan():
    with pytest.raises(Refused) as error:
        ImprovementPlan.for_breach("p9", breach("dismissed"), "2026-05", D(2026, 7, 1), AT)
    assert (error.value.message, error.value.subject) == (
        "finding f-9 is dismissed; only an upheld finding opens a plan",
        "f-9",
    )
