"""The edges of the supervision domain: every field of a card's content, the limits of a
finding and of a return-visit answer, the messages that name them, sampling by hash."""

import datetime
import hashlib
import math

import pytest

from services.evaluation.domain.errors import Invalid, Refused
from services.evaluation.domain.return_visits import Customer, ReturnVisitTask, assign, sample
from services.evaluation.domain.supervision import CommitmentCard, CommitmentItem, Finding, broken_commitments

NOW = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)
ITEM = CommitmentItem("customer_manager_visit", "拜访", "standard", ("a", "b"), "weekly", "we come", {"n": 1})
CARD = CommitmentCard("L-1", (ITEM,), 3, "cm-1", "team-1")


def finding(**values):
    defaults = {
        "id": "f-1",
        "inspector_id": "in-1",
        "licence_number": "L-1",
        "service": "customer_manager_visit",
        "kind": "not_delivered",
        "evidence": ("seen",),
        "found_at": NOW,
    }
    return Finding(**{**defaults, **values})


def fields(error) -> list[str]:
    return [field for field, _ in error.value.violations]


@pytest.mark.parametrize(
    "change",
    [
        {"name": "other"},
        {"kind": "personalised"},
        {"procedure_steps": ("a",)},
        {"procedure_steps": ("b", "a")},
        {"standard": "monthly"},
        {"commitment": "we call"},
        {"parameters": {"n": 2}},
        {"service": "retail_price_upkeep"},
    ],
)
def test_every_part_of_an_item_is_content(change):
    changed = CommitmentCard("L-1", (CommitmentItem(**{**ITEM.__dict__, **change}),), 3, "cm-1", "team-1")
    assert changed.content_key != CARD.content_key
    assert changed.issued_after(CARD.issued_after(None, NOW), NOW).version == 2


@pytest.mark.parametrize(
    "card",
    [
        CommitmentCard("L-1", (ITEM,), 4, "cm-1", "team-1"),
        CommitmentCard("L-1", (ITEM,), 3, "cm-2", "team-1"),
        CommitmentCard("L-1", (ITEM,), 3, "cm-1", "team-2"),
        CommitmentCard("L-1", (), 3, "cm-1", "team-1"),
    ],
)
def test_the_version_manager_and_team_are_content(card):
    assert card.content_key != CARD.content_key


def test_a_card_key_is_a_sha256_of_its_content_and_a_new_card_follows_the_last():
    assert len(CARD.content_key) == 64 and int(CARD.content_key, 16) >= 0
    # The licence and the issue data are not content: the same promises, the same key.
    assert CommitmentCard("L-2", (ITEM,), 3, "cm-1", "team-1", 7, NOW).content_key == CARD.content_key
    issued = CARD.issued_after(None, NOW)
    assert (issued.version, issued.issued_at, issued.services()) == (1, NOW, ("customer_manager_visit",))
    later = NOW + datetime.timedelta(days=1)
    third = CommitmentCard("L-1", (), 3, "cm-1", "team-1").issued_after(
        CommitmentCard("L-1", (ITEM,), 3, "cm-1", "team-1", 2, NOW), later
    )
    assert (third.version, third.issued_at) == (3, later)


def test_the_limits_of_a_finding_and_their_messages():
    assert finding(evidence=("x" * 2000,) * 20, found_at=NOW, staff_id="cm-1").validate(NOW)
    with pytest.raises(Invalid) as error:
        finding(evidence=("x",) * 21).validate(NOW)
    assert error.value.violations == [("finding.evidence", "at most 20 pieces of 1-2000 characters each")]
    with pytest.raises(Invalid) as error:
        finding(evidence=("x" * 2001,)).validate(NOW)
    assert fields(error) == ["finding.evidence"]
    with pytest.raises(Invalid) as error:
        finding(evidence=()).validate(NOW)
    assert error.value.violations == [("finding.evidence", "give at least one piece of evidence")]
    with pytest.raises(Invalid) as error:
        finding(kind="lost").validate(NOW)
    assert error.value.violations == [
        ("finding.kind", "must be one of not_delivered, standard_not_met, card_mismatch")
    ]
    with pytest.raises(Invalid) as error:
        finding(found_at=NOW + datetime.timedelta(microseconds=1)).validate(NOW)
    assert error.value.violations == [("finding.found_at", "cannot be in the future")]
    with pytest.raises(Invalid) as error:
        finding(staff_id="a b", licence_number="", inspector_id="").validate(NOW)
    assert fields(error) == ["finding.inspector_id", "finding.licence_number", "finding.staff_id"]


def test_a_finding_against_the_card_keeps_a_named_staff_member_and_takes_the_cards_team():
    card = CommitmentCard("L-1", (ITEM,), 3, "cm-1", "team-1", version=5)
    tied = finding(staff_id="cm-7", team_id="x").against(card)
    assert (tied.staff_id, tied.team_id, tied.card_version) == ("cm-7", "team-1", 5)
    with pytest.raises(Invalid) as error:
        finding(service="personal_care").against(CommitmentCard("L-1", (), 3, "cm-1", "team-1"))
    assert error.value.violations == [
        ("finding.service", "customer L-1 is not entitled to it (entitled: none)")
    ]
    other = CommitmentItem("retail_price_upkeep", "", "", (), "", "", {})
    with pytest.raises(Invalid) as error:
        finding(service="personal_care").against(CommitmentCard("L-1", (ITEM, other), 3, "cm-1", "team-1"))
    assert error.value.violations == [
        (
            "finding.service",
            "customer L-1 is not entitled to it (entitled: customer_manager_visit, retail_price_upkeep)",
        )
    ]


def test_the_limits_of_a_hearing_and_a_decision():
    open_finding = finding()
    assert open_finding.heard("x" * 2000, NOW).response == "x" * 2000
    with pytest.raises(Invalid) as error:
        open_finding.heard("x" * 2001, NOW)
    assert error.value.violations == [("response", "must be 1-2000 characters")]
    heard = open_finding.heard("r", NOW)
    with pytest.raises(Refused) as refusal:
        heard.heard("again", NOW)
    assert refusal.value.message == "finding f-1 is heard; only an open finding is heard"
    assert refusal.value.subject == "f-1"
    later = NOW + datetime.timedelta(hours=1)
    dismissed = heard.decided(False, "tl-1", "x" * 2000, later)
    assert (dismissed.state, dismissed.decided_by, dismissed.decision_note, dismissed.decided_at) == (
        "dismissed",
        "tl-1",
        "x" * 2000,
        later,
    )
    with pytest.raises(Invalid) as error:
        heard.decided(True, "tl-1", "x" * 2001, NOW)
    assert error.value.violations == [("note", "at most 2000 characters")]
    with pytest.raises(Refused) as refusal:
        open_finding.decided(True, "tl-1", "", NOW)
    assert refusal.value.message == (
        "finding f-1 has had no hearing; record the staff member's response first"
    )
    assert refusal.value.subject == "f-1"
    with pytest.raises(Refused) as refusal:
        dismissed.decided(True, "tl-1", "", NOW)
    assert refusal.value.message == "finding f-1 is already decided (dismissed)"
    assert refusal.value.subject == "f-1"
    # An invalid decision on an open finding names the fields before refusing the state.
    with pytest.raises(Invalid):
        open_finding.decided(True, "", "", NOW)


def test_broken_commitments_count_from_the_start_of_the_window_to_before_its_end():
    end = NOW + datetime.timedelta(days=1)

    def upheld(found_at, staff_id="cm-1"):
        return finding(found_at=found_at, staff_id=staff_id).heard("r", NOW).decided(True, "tl", "", NOW)

    findings = [
        upheld(NOW),
        upheld(end - datetime.timedelta(microseconds=1)),
        upheld(end),
        upheld(NOW, "cm-2"),
    ]
    assert broken_commitments(findings, (NOW, end)) == {"cm-1": 2, "cm-2": 1}
    assert broken_commitments([], (NOW, end)) == {}


# ---- return visits --------------------------------------------------------------------


def task(**values):
    return ReturnVisitTask(
        **{
            "id": "t-1",
            "period_id": "p",
            "licence_number": "L-1",
            "star_level": 5,
            "zone": "Z1",
            "assignee_id": "lg-1",
            "due_on": datetime.date(2026, 11, 24),
            **values,
        }
    )


def test_the_limits_of_an_answer_and_their_messages():
    items = tuple(CommitmentItem(f"s{n}", "", "", (), "", "", {}) for n in range(50))
    card = CommitmentCard("L-1", items, 1, "cm-1", "team-1")
    done = task().answered(
        "lg-1", [1, 5] * 25, "x" * 2000, [(f"s{n}", True) for n in range(50)], NOW, card, {}
    )
    assert (done.satisfaction, done.opinion, done.answered_by) == ((1, 5) * 25, "x" * 2000, "lg-1")
    assert done.delivered == tuple((f"s{n}", True) for n in range(50))
    with pytest.raises(Invalid) as error:
        task().answered("lg-1", [3] * 51, "", [], NOW, card, {})
    assert error.value.violations == [("satisfaction", "give 1-50 answers")]
    with pytest.raises(Invalid) as error:
        task().answered("lg-1", [0], "", [], NOW, card, {})
    assert error.value.violations == [("satisfaction", "each answer is 1 to 5")]
    with pytest.raises(Invalid) as error:
        task().answered("lg-1", [6], "x" * 2001, [], NOW, card, {})
    assert error.value.violations == [
        ("satisfaction", "each answer is 1 to 5"),
        ("opinion", "at most 2000 characters"),
    ]
    with pytest.raises(Invalid) as error:
        task().answered("lg-1", [3], "", [(f"s{n % 50}", True) for n in range(51)], NOW, card, {})
    assert error.value.violations == [("delivered", "at most 50 items, each naming a service")]
    with pytest.raises(Invalid) as error:
        task().answered("lg-1", [3], "", [("a b", True)], NOW, card, {})
    assert error.value.violations == [("delivered", "at most 50 items, each naming a service")]
    with pytest.raises(Invalid) as error:
        task().answered("lg-1", [3], "", [("s1", True), ("s1", False)], NOW, card, {})
    assert error.value.violations == [("delivered", "each service at most once")]
    with pytest.raises(Refused) as refusal:
        done.answered("lg-1", [3], "", [], NOW, card, {})
    assert refusal.value.message == "return visit t-1 is already answered and closed"
    assert refusal.value.subject == "t-1"
    # No item asked about is an answer too (the satisfaction alone).
    assert task().answered("lg-1", [3], "", [], NOW, card, {}).delivered == ()


def test_a_task_is_overdue_only_while_open_and_after_its_due_day():
    due = datetime.date(2026, 11, 24)
    assert not task(due_on=due).overdue(due)
    assert task(due_on=due).overdue(due + datetime.timedelta(days=1))
    assert not task(due_on=due, state="closed").overdue(due + datetime.timedelta(days=1))


def test_sampling_draws_by_the_hash_of_the_seed_and_the_licence():
    customers = [Customer(f"L-{n}", 3, "Z1") for n in range(9)] + [Customer("M-1", 4, "Z0")]
    chosen = sample(customers, lambda star, zone: 0.34 if star == 3 else 1.0, "2026-11")

    def draw(c):
        return hashlib.sha256(f"2026-11:{c.licence_number}".encode()).hexdigest()

    expected = sorted(customers[:9], key=draw)[: math.ceil(0.34 * 9)]
    # Groups in order of star level then zone: three stars before four.
    assert chosen == [*expected, customers[9]]
    assert sample(customers, lambda star, zone: 0.0, "x") == []
    assert len(sample(customers, lambda star, zone: 1.0, "x")) == 10
    seen = []
    sample(customers, lambda star, zone: seen.append((star, zone)) or 0.0, "x")
    assert seen == [(3, "Z1"), (4, "Z0")]
    with pytest.raises(Invalid) as error:
        sample(customers, lambda star, zone: -0.01, "x")
    assert error.value.violations == [("share", "the rule set gave -0.01 for 3 stars in Z1")]
    with pytest.raises(Invalid):
        sample(customers, lambda star, zone: 1.01, "x")


def test_assignment_starts_with_the_first_assignee():
    customers = [Customer(f"L-{n}", 3, "Z1") for n in range(4)]
    assert assign(customers, ["a"]) == [(c, "a") for c in customers]
    assert [s for _, s in assign(customers, ["a", "b", "c"])] == ["a", "b", "c", "a"]
    assert assign([], ["a"]) == []
