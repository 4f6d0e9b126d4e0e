"""Following a newly activated complaint-policy version at its edges: the version the
complaint is already on changes nothing, and each event says when, who and in which state."""

from services.complaints import domain
from services.complaints.domain import Event
from tests.unit.complaints.fakes import CALENDAR, cst
from tests.unit.complaints.test_policy_follow import MONDAY, filed, version


def test_the_version_the_complaint_is_on_is_not_followed_again():
    complaint = filed(policy=version(2, 3))
    assert complaint.follow_policy(version(2, 5), CALENDAR, cst("2030-03-05T10:00")) == []
    assert (complaint.policy.deadline_working_days, complaint.updated_at) == (3, cst(MONDAY))


def test_a_moved_deadline_is_one_event_at_the_moment_by_the_system_and_keeps_the_estimate_flag():
    complaint = filed()
    moment = cst("2030-03-05T10:00")
    (event,) = complaint.follow_policy(version(2, 5), CALENDAR, moment)
    assert event == Event(
        moment, "system", domain.DEADLINE_RECOMPUTED, domain.RECEIVED, domain.RECEIVED, event.note
    )
    expected = CALENDAR.deadline(complaint.received_at, 5)
    assert complaint.deadline_estimated is expected.estimated


def test_an_unchanged_deadline_is_one_event_at_the_moment_by_the_system():
    complaint = filed()
    moment = cst("2030-03-05T10:00")
    (event,) = complaint.follow_policy(version(3, 3), CALENDAR, moment)
    assert event == Event(moment, "system", "policy_followed", domain.RECEIVED, domain.RECEIVED, event.note)
