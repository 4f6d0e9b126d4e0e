"""The card follower's rules: which changes can be handled now (gaps in the ids wait until
they settle) and which card versions a batch of changes issues, dated at the change."""

import datetime

from prometheus_client import REGISTRY

from services.evaluation import metrics  # noqa: F401  (registers the follower's counters)
from services.evaluation.domain.card_follow import EntitlementChange, card_after, followable, issue_all
from services.evaluation.domain.supervision import CommitmentCard, CommitmentItem

T0 = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)
SETTLE = datetime.timedelta(seconds=60)


def _card(licence="L1", visits=2, manager="cm-1", version=0, issued_at=None, entitlements=1):
    item = CommitmentItem(
        "customer_manager_visit",
        "Visit",
        "standard",
        ("call",),
        "monthly",
        "we come",
        {"visits_per_month": visits},
    )
    return CommitmentCard(licence, (item,), entitlements, manager, "team-1", version, issued_at)


def _change(change_id, minutes=0, **card):
    return EntitlementChange.of(change_id, T0 + datetime.timedelta(minutes=minutes), _card(**card))


def test_changes_are_taken_in_id_order_up_to_a_young_gap():
    changes = [_change(3, 2), _change(1), _change(2, 1), _change(5, 3), _change(6, 4)]
    now = T0 + datetime.timedelta(minutes=3, seconds=30)  # change 5 is 30 s old: 4 may still commit
    assert [c.id for c in followable(changes, 0, now, SETTLE)] == [1, 2, 3]
    # Once the change after the gap has settled, the gap is an id never used.
    settled = T0 + datetime.timedelta(minutes=4)  # change 5 is exactly SETTLE old
    assert [c.id for c in followable(changes, 0, settled, SETTLE)] == [1, 2, 3, 5, 6]


def test_the_cursor_counts_as_the_id_before_the_first_change():
    now = T0 + datetime.timedelta(seconds=1)
    assert [c.id for c in followable([_change(8), _change(9)], 7, now, SETTLE)] == [8, 9]
    assert followable([_change(9)], 7, now, SETTLE) == []  # 8 may still commit
    assert followable([_change(7), _change(6)], 7, now, SETTLE) == []  # handled already
    assert followable([_change(7)], 7, now + datetime.timedelta(hours=1), SETTLE) == []  # however old
    assert followable([], 7, now, SETTLE) == []


def test_a_changed_menu_issues_the_next_version_dated_at_the_change():
    held = _card(version=3, issued_at=T0 - datetime.timedelta(days=2))
    change = _change(1, 5, visits=3)
    issued = card_after(change, held)
    assert (issued.version, issued.issued_at) == (4, change.changed_at)
    assert issued.items[0].parameters == {"visits_per_month": 3}


def test_no_version_without_a_change_of_what_is_promised():
    held = _card(version=1, issued_at=T0)
    assert card_after(_change(1, 5), held) is None
    # Another manager, team or rule-set version is what the card shows: a new version.
    assert card_after(_change(2, 5, manager="cm-2"), held).version == 2
    assert card_after(_change(3, 5, entitlements=2), held).version == 2


def test_a_customer_without_a_card_gets_none_from_the_follower():
    assert card_after(_change(1, visits=3), None) is None


def test_a_change_older_than_the_last_card_issues_nothing():
    """Someone asked for the card after the change and before the follower came by: that
    card already shows a later menu; dating an older change after it would reorder them."""
    held = _card(visits=4, version=2, issued_at=T0 + datetime.timedelta(minutes=10))
    assert card_after(_change(1, 5, visits=3), held) is None
    # The same moment is not older: the change of that moment is compared.
    assert card_after(_change(2, 10, visits=3), held).version == 3


def test_a_batch_issues_versions_in_order_per_customer():
    held = {"L1": _card(version=1, issued_at=T0 - datetime.timedelta(days=1)), "L2": None}
    changes = [
        _change(1, 1, visits=3),
        _change(2, 2, licence="L2", visits=3),  # no card yet: none
        _change(3, 3, visits=3),  # the same as the version the first change issued
        _change(4, 4, visits=2),  # back again: another version
    ]
    issued = issue_all(changes, held)
    assert [
        (c.licence_number, c.version, c.issued_at, c.items[0].parameters["visits_per_month"]) for c in issued
    ] == [
        ("L1", 2, changes[0].changed_at, 3),
        ("L1", 3, changes[3].changed_at, 2),
    ]
    assert held["L1"].version == 1  # the caller's map is left alone


def test_the_card_of_a_change_is_made_only_for_a_customer_that_holds_one():
    """Most changes are of customers without a card: their menus are never turned into cards."""
    made = []

    def make(licence):
        made.append(licence)
        return _card(licence=licence, visits=3)

    changes = [
        EntitlementChange(1, T0, "L1", lambda: make("L1")),
        EntitlementChange(2, T0, "L2", lambda: make("L2")),
    ]
    issued = issue_all(changes, {"L1": _card(version=1, issued_at=T0 - datetime.timedelta(days=1))})
    assert [(c.licence_number, c.version) for c in issued] == [("L1", 2)]
    assert made == ["L1"]


def test_every_follower_failure_reason_is_exported_before_the_first_failure():
    """A rate() over a reason that never happened is 0, not an absent series."""
    for reason in ("unreachable", "conflict", "lease_lost", "error"):
        value = REGISTRY.get_sample_value("evaluation_card_follow_failures_total", {"reason": reason})
        assert value is not None, reason
