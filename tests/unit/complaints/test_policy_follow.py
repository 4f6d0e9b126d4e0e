"""Open complaints and a newly activated complaint-policy version: what the version says
(open_complaints), which complaints may still follow it, and how a complaint follows it
(its deadline, warning and escalation under the new snapshot, one event), on the made-up
calendar year 2030."""

import copy
import dataclasses
import functools

import pytest

from services.common.rules.validation import validate
from services.complaints import domain, service_layer
from services.complaints.domain import Complaint, Intake, PolicySnapshot
from services.complaints.rules import COMPLAINT_POLICY, RULE_SETS
from services.complaints.service_layer import Complaints, PolicyStanding
from tests.support.rule_samples import default_source
from tests.unit.complaints.fakes import (
    CALENDAR,
    Decision,
    FakeComplaints,
    FakeCustomers,
    FakePolicy,
    FakeUnitOfWork,
    FixedCalendarSource,
    Store,
    cst,
    end_of,
)

KINDS = {kind.name: kind for kind in RULE_SETS}
MONDAY = "2030-03-04T09:00"


def filed(policy: PolicySnapshot | None = None, **values) -> Complaint:
    fields = {
        "idempotency_key": "k-1",
        "licence_number": "L-1",
        "channel": "hotline",
        "category": "delivery",
        "severity": "",
        "description": "late delivery",
        "received_by": "staff-7",
        "received_at": cst(MONDAY),
    }
    fields.update(values)
    complaint, _ = Complaint.file(
        Intake.of(**fields),
        complaint_id="c-1",
        team_id="team-1",
        needs_verification=False,
        policy=policy or dataclasses.replace(PolicySnapshot.defaults(), version=1),
        calendar=CALENDAR,
        moment=cst(MONDAY),
    )
    return complaint


def version(number: int, days: int, **values) -> PolicySnapshot:
    return dataclasses.replace(
        PolicySnapshot.defaults(), version=number, deadline_working_days=days, **values
    )


# -- what a version says ----------------------------------------------------------------------
def test_open_complaints_keep_their_deadline_unless_the_version_says_follow():
    assert not domain.follows_new_version({})
    assert not domain.follows_new_version({"open_complaints": "keep"})
    assert domain.follows_new_version({"open_complaints": "follow_new_version"})


def test_the_shipped_policy_says_keep():
    result = validate(default_source("complaint-policy"), KINDS)
    assert result.valid, result.errors
    decision = result.compiled.decide({"category": "delivery", "severity": "normal", "channel": "hotline"})
    assert decision.outputs["open_complaints"] == "keep"
    result.compiled.close()


def test_a_version_may_say_follow_for_some_complaints_only():
    source = default_source("complaint-policy").replace(
        "  - id: staff_conduct_no_pause",
        "  - id: critical_follow\n    priority: 45\n    when: {severity: critical}\n    then:\n"
        "      - open_complaints: {deadlines: follow_new_version}\n  - id: staff_conduct_no_pause",
    )
    result = validate(source, KINDS)
    assert result.valid, [str(e) for e in result.errors]
    critical = result.compiled.decide({"category": "delivery", "severity": "critical", "channel": "hotline"})
    normal = result.compiled.decide({"category": "delivery", "severity": "normal", "channel": "hotline"})
    assert (critical.outputs["open_complaints"], normal.outputs["open_complaints"]) == (
        "follow_new_version",
        "keep",
    )
    result.compiled.close()


def test_an_unknown_choice_is_refused_naming_the_parameter():
    source = default_source("complaint-policy").replace(
        "      - set_deadline: {working_days: 3}",
        "      - set_deadline: {working_days: 3}\n      - open_complaints: {deadlines: always}",
    )
    result = validate(source, KINDS)
    assert not result.valid
    assert any("deadlines" in str(e) and "follow_new_version" in str(e) for e in result.errors), [
        str(e) for e in result.errors
    ]


def test_the_action_is_in_the_vocabulary_with_its_choices():
    action = COMPLAINT_POLICY.vocabulary.actions["open_complaints"]
    assert action.params["deadlines"].allowed == ("follow_new_version", "keep")


# -- which complaints may follow ----------------------------------------------------------------
def test_an_open_complaint_on_another_version_whose_deadline_is_ahead_may_follow():
    complaint = filed()
    assert complaint.may_follow(2, cst("2030-03-05T09:00"))
    assert not complaint.may_follow(1, cst("2030-03-05T09:00"))  # already on it


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda c: setattr(c, "state", domain.RESOLVED), "resolved"),
        (lambda c: setattr(c, "state", domain.CLOSED), "closed"),
        (lambda c: setattr(c, "overdue_at", c.deadline_at), "overdue"),
    ],
)
def test_a_complaint_that_is_not_open_or_is_overdue_keeps_its_deadline(change, why):
    complaint = filed()
    change(complaint)
    assert not complaint.may_follow(2, cst("2030-03-05T09:00")), why
    assert complaint.follow_policy(version(2, 5), CALENDAR, cst("2030-03-05T09:00")) == []
    assert (complaint.policy.version, complaint.deadline_at) == (1, end_of("2030-03-07"))


def test_a_deadline_that_has_passed_stands():
    complaint = filed()
    after = end_of("2030-03-07")
    assert not complaint.may_follow(2, after)
    assert complaint.follow_policy(version(2, 5), CALENDAR, after) == []
    assert complaint.policy.version == 1


# -- following -----------------------------------------------------------------------------------
def test_following_moves_the_deadline_warning_and_first_escalation_with_one_event():
    complaint = filed()
    moment = cst("2030-03-05T10:00")
    events = complaint.follow_policy(version(2, 5, warn_at_share=0.5), CALENDAR, moment)
    assert complaint.deadline_at == end_of("2030-03-11")  # Mon + 5 working days: the next Monday
    assert (complaint.policy.version, complaint.policy.deadline_working_days) == (2, 5)
    assert complaint.warn_at == cst(MONDAY) + (end_of("2030-03-11") - cst(MONDAY)) * 0.5
    assert complaint.next_escalation_at == complaint.deadline_at
    assert complaint.updated_at == moment
    assert [(e.actor, e.action, e.from_state, e.to_state) for e in events] == [
        ("system", "deadline_recomputed", domain.RECEIVED, domain.RECEIVED)
    ]
    note = events[0].note
    assert "complaint-policy version 2 (was 1)" in note and "3 -> 5 working days" in note
    assert f"{end_of('2030-03-07').isoformat()} -> {end_of('2030-03-11').isoformat()}" in note


def test_following_a_version_with_the_same_deadline_records_the_version_only():
    complaint = filed()
    events = complaint.follow_policy(version(3, 3), CALENDAR, cst("2030-03-05T10:00"))
    assert (complaint.policy.version, complaint.deadline_at) == (3, end_of("2030-03-07"))
    assert [e.action for e in events] == ["policy_followed"]
    assert "deadline unchanged" in events[0].note


def test_a_shorter_deadline_may_fall_due_at_once_and_the_sweep_then_escalates():
    complaint = filed()
    complaint.follow_policy(version(2, 1), CALENDAR, cst("2030-03-05T10:00"))
    assert complaint.deadline_at == end_of("2030-03-05")  # Tue: the first working day after Mon
    events = complaint.escalate_when_due(cst("2030-03-06T09:00"), CALENDAR)
    assert complaint.overdue_at == end_of("2030-03-05")
    assert "escalate_to_owner" in [e.action for e in events]


def test_the_days_the_clock_stood_still_are_still_added():
    complaint = filed()
    complaint.paused_working_days = 2
    complaint.follow_policy(version(2, 4), CALENDAR, cst("2030-03-05T10:00"))
    assert complaint.deadline_at == end_of("2030-03-12")  # Mon + 4 + 2 working days: Tuesday


def test_a_complaint_escalated_by_hand_gets_its_next_level_on_the_new_ladder():
    complaint = filed()
    complaint.act("escalate", "staff-7", "angry caller", cst("2030-03-04T10:00"), CALENDAR)
    assert complaint.escalation_level == 1
    new = version(2, 5, escalation_levels=("team_leader", "county"), escalation_interval_working_days=2)
    complaint.follow_policy(new, CALENDAR, cst("2030-03-05T10:00"))
    assert complaint.deadline_at == end_of("2030-03-11")
    assert complaint.next_escalation_at == end_of("2030-03-13")  # the deadline + 1 level x 2 days
    assert complaint.escalated_to == "owner"  # what happened stays


def test_a_complaint_reopened_and_not_overdue_follows():
    complaint = filed()
    complaint.act("accept", "s", "", cst("2030-03-04T10:00"), CALENDAR)
    complaint.act("resolve", "s", "", cst("2030-03-04T11:00"), CALENDAR)
    complaint.act("reopen", "s", "", cst("2030-03-04T12:00"), CALENDAR)
    events = complaint.follow_policy(version(2, 5), CALENDAR, cst("2030-03-05T10:00"))
    assert [e.from_state for e in events] == [domain.REOPENED]
    assert complaint.next_escalation_at == end_of("2030-03-11")


def test_facts_are_those_of_the_intake():
    complaint = filed(category="price", severity="critical", channel="visit")
    assert complaint.facts() == {"category": "price", "severity": "critical", "channel": "visit"}


# -- the use cases over in-memory ports ------------------------------------------------------------
class FollowingComplaints(FakeComplaints):
    def may_follow(self, version, moment, after_id, limit, created_since=None):
        found = sorted(
            (c for c in self.store.complaints.values() if c.may_follow(version, moment) and c.id > after_id),
            key=lambda c: c.id,
        )
        if created_since is not None:
            found = [c for c in found if c.created_at >= created_since]
        return [copy.deepcopy(c) for c in found[:limit]]


class FollowingUnitOfWork(FakeUnitOfWork):
    def __enter__(self):
        super().__enter__()
        self.complaints = FollowingComplaints(self._working)
        return self


class ServingPolicy(FakePolicy):
    """FakePolicy that also says which version it serves; per-severity outputs."""

    def __init__(self, version, by_severity: dict[str, dict], failure=None):
        super().__init__(version, failure=failure)
        self.by_severity = by_severity

    def serving_version(self, name):
        return self.version

    def decide(self, name, facts):
        self.asked.append(facts)
        if self.failure is not None:
            raise self.failure
        return Decision(self.version, dict(self.by_severity.get(facts["severity"], {})))


FOLLOW = {"open_complaints": "follow_new_version", "deadline_working_days": 5}


def use_cases_with(store: Store, policy) -> Complaints:
    use_cases = Complaints(
        functools.partial(FollowingUnitOfWork, store), policy, FakeCustomers(), FixedCalendarSource([])
    )
    use_cases.calendar = CALENDAR
    return use_cases


def stored(store: Store, complaint_id: str, severity: str) -> Complaint:
    complaint = dataclasses.replace(filed(severity=severity), id=complaint_id, idempotency_key=complaint_id)
    store.complaints[complaint_id], store.events[complaint_id] = complaint, []
    return complaint


@pytest.fixture
def in_march(monkeypatch):
    """The clock on Tuesday 5 March 2030, between the filing and the deadline."""
    monkeypatch.setattr(service_layer, "now", lambda: cst("2030-03-05T10:00"))


def test_the_reply_says_a_deadline_is_about_to_follow_the_active_version(in_march):
    store = Store()
    critical, normal = stored(store, "c-1", "critical"), stored(store, "c-2", "normal")
    use_cases = use_cases_with(store, ServingPolicy(2, {"critical": FOLLOW}))
    assert use_cases.standing(critical) == PolicyStanding(2, 2)
    assert use_cases.standing(normal) == PolicyStanding(2, 0)  # the version says keep for it
    on_it = dataclasses.replace(critical, policy=version(2, 5))
    asked = len(use_cases.registry.asked)
    assert use_cases.standing(on_it) == PolicyStanding(2, 0)
    assert len(use_cases.registry.asked) == asked  # on the active version: nothing to decide


def test_a_policy_that_cannot_decide_leaves_the_reply_saying_the_deadline_stands(in_march):
    store = Store()
    critical = stored(store, "c-1", "critical")
    use_cases = use_cases_with(store, ServingPolicy(2, {}, failure=RuntimeError("broken")))
    assert use_cases.standing(critical) == PolicyStanding(2, 0)


def test_a_batch_moves_those_the_version_says_follow_and_saves_their_events(in_march):
    store = Store()
    for complaint_id, severity in (("c-1", "critical"), ("c-2", "normal"), ("c-3", "critical")):
        stored(store, complaint_id, severity)
    use_cases = use_cases_with(store, ServingPolicy(2, {"critical": FOLLOW}))
    first = use_cases.follow_policy(2, "", 2)
    assert (first.done, first.followed, first.moved, first.failed, first.last_id) == (2, 1, 1, 0, "c-2")
    second = use_cases.follow_policy(2, first.last_id, 2)
    assert (second.done, second.followed, second.last_id) == (1, 1, "c-3")
    assert use_cases.follow_policy(2, second.last_id, 2).done == 0
    assert {c.id: c.policy.version for c in store.complaints.values()} == {"c-1": 2, "c-2": 1, "c-3": 2}
    assert store.complaints["c-1"].deadline_at == end_of("2030-03-11")
    assert [e.action for e in store.events["c-1"]] == ["deadline_recomputed"]
    assert store.events["c-2"] == []
    again = use_cases.follow_policy(2, "", 10)  # idempotent: only the one that keeps is looked at
    assert (again.done, again.followed) == (1, 0)


def test_a_batch_decided_on_another_version_is_not_saved(in_march):
    store = Store()
    stored(store, "c-1", "critical")
    use_cases = use_cases_with(store, ServingPolicy(3, {"critical": FOLLOW}))
    assert use_cases.follow_policy(2, "", 10).stale
    assert store.complaints["c-1"].policy.version == 1 and store.events["c-1"] == []


def test_a_complaint_the_policy_cannot_decide_is_counted_and_keeps_its_deadline(in_march):
    store = Store()
    stored(store, "c-1", "critical")
    use_cases = use_cases_with(store, ServingPolicy(2, {}, failure=RuntimeError("broken")))
    batch = use_cases.follow_policy(2, "", 10)
    assert (batch.done, batch.failed, batch.followed) == (1, 1, 0)
    assert store.complaints["c-1"].policy.version == 1
