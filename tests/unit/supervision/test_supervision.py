"""Commitment cards, findings and their accountability steps, in plain Python: the domain,
the use cases over in-memory ports, and the printable page."""

import datetime

import pytest
from retailcare.evaluation.v1 import evaluation_pb2 as epb

from gateway import commitment_card
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.evaluation.domain.errors import Invalid, Missing, Refused
from services.evaluation.domain.people import Staff
from services.evaluation.domain.supervision import (
    CommitmentCard,
    CommitmentItem,
    Finding,
    broken_commitments,
)
from services.evaluation.mapping import commitment_card_message
from services.evaluation.supervision import Supervision
from tests.unit.evaluation.fakes import FakeUnitOfWork

NOW = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)
VISIT = CommitmentItem(
    "customer_manager_visit",
    "客户经理拜访",
    "standard",
    ("greet", "check stock"),
    "4 visits a month",
    "we visit you",
    {"visits_per_month": 4},
)
GUIDANCE = CommitmentItem(
    "business_guidance", "经营指导", "personalised", ("advise",), "monthly", "we advise", {}
)


def card(*items, manager="cm-1", version=3):
    return CommitmentCard("L-1", items or (VISIT,), version, manager, "team-1")


def finding(**values):
    defaults = {
        "id": "f-1",
        "inspector_id": "in-1",
        "licence_number": "L-1",
        "service": "customer_manager_visit",
        "kind": "not_delivered",
        "evidence": ("the retailer says nobody came",),
        "found_at": NOW,
    }
    return Finding(**{**defaults, **values})


# ---- the card --------------------------------------------------------------------------


def test_a_card_is_a_new_version_only_when_its_content_changes():
    first = card().issued_after(None, NOW)
    assert (first.version, first.issued_at) == (1, NOW)
    assert card().issued_after(first, NOW) is None
    assert card(VISIT, GUIDANCE).issued_after(first, NOW).version == 2
    assert card(manager="cm-2").issued_after(first, NOW).version == 2
    # The order of the items is not content.
    both = card(VISIT, GUIDANCE).issued_after(None, NOW)
    assert card(GUIDANCE, VISIT).issued_after(both, NOW) is None


# ---- findings ---------------------------------------------------------------------------


def test_a_finding_names_every_bad_field():
    bad = finding(inspector_id="", service="a b", kind="late", evidence=(), found_at=NOW)
    with pytest.raises(Invalid) as error:
        bad.validate(NOW)
    assert {field for field, _ in error.value.violations} == {
        "finding.inspector_id",
        "finding.service",
        "finding.kind",
        "finding.evidence",
    }
    with pytest.raises(Invalid) as error:
        finding(found_at=NOW + datetime.timedelta(hours=1), evidence=(" ",)).validate(NOW)
    assert {field for field, _ in error.value.violations} == {"finding.found_at", "finding.evidence"}


def test_a_finding_concerns_an_item_of_the_card_and_its_responsible_people():
    tied = finding().against(card())
    assert (tied.staff_id, tied.team_id, tied.card_version) == ("cm-1", "team-1", 0)
    assert finding(staff_id="cm-9").against(card()).staff_id == "cm-9"
    with pytest.raises(Invalid) as error:
        finding(service="business_guidance").against(card())
    assert error.value.violations[0][0] == "finding.service"
    assert "entitled: customer_manager_visit" in error.value.violations[0][1]


def test_a_decision_needs_a_hearing_and_is_taken_once():
    open_finding = finding().against(card())
    with pytest.raises(Refused, match="no hearing"):
        open_finding.decided(True, "tl-1", "", NOW)
    with pytest.raises(Invalid):
        open_finding.heard("  ", NOW)
    heard = open_finding.heard("I was ill", NOW)
    assert (heard.state, heard.response, heard.heard_at) == ("heard", "I was ill", NOW)
    with pytest.raises(Refused):
        heard.heard("again", NOW)
    with pytest.raises(Invalid) as error:
        heard.decided(True, "", "x" * 2001, NOW)
    assert {field for field, _ in error.value.violations} == {"decided_by", "note"}
    upheld = heard.decided(True, "tl-1", "confirmed", NOW)
    assert upheld.state == "upheld" and upheld.broken_commitment
    assert not heard.decided(False, "tl-1", "", NOW).broken_commitment
    with pytest.raises(Refused, match="already decided"):
        upheld.decided(False, "tl-1", "", NOW)


def test_broken_commitments_count_upheld_findings_in_the_window():
    window = (NOW - datetime.timedelta(days=1), NOW + datetime.timedelta(days=1))

    def tied(staff_id, upheld=None, found_at=NOW):
        f = finding(staff_id=staff_id, found_at=found_at).against(card())
        return f if upheld is None else f.heard("r", NOW).decided(upheld, "tl-1", "", NOW)

    findings = [
        tied("cm-1", True),
        tied("cm-1", True),
        tied("cm-2", True),
        tied("cm-2", False),  # dismissed
        tied("cm-3"),  # not decided
        tied("cm-3", True, NOW - datetime.timedelta(days=5)),  # another period
    ]
    assert broken_commitments(findings, window) == {"cm-1": 2, "cm-2": 1}


# ---- use cases over in-memory ports -----------------------------------------------------


class Directory:
    def __init__(self, cards):
        self.cards = cards

    def commitment_card(self, licence_number):
        if licence_number not in self.cards:
            raise Missing("customer", licence_number)
        return self.cards[licence_number]


@pytest.fixture
def supervision():
    uow = FakeUnitOfWork()
    with uow:
        uow.people.save_staff(Staff("in-1", "Wu", "inspector", "logistics", "county", True))
        uow.people.save_staff(Staff("cm-1", "Li", "customer_manager", "customer_service", "", True))
    return Supervision(uow, Directory({"L-1": card()}))


def test_the_card_held_on_a_day(supervision, monkeypatch):
    monkeypatch.setattr("services.common.times.now", lambda: NOW)
    issued, new = supervision.commitment_card("L-1")
    assert new and issued.version == 1
    assert supervision.commitment_card("L-1") == (issued, False)
    supervision.directory.cards["L-1"] = card(VISIT, GUIDANCE)
    later = NOW + datetime.timedelta(days=2)
    monkeypatch.setattr("services.common.times.now", lambda: later)
    assert supervision.commitment_card("L-1")[0].version == 2
    assert supervision.commitment_card("L-1", "2026-11-24")[0].version == 1
    assert supervision.commitment_card("L-1", "2026-11-26")[0].version == 2
    with pytest.raises(NotFound):
        supervision.commitment_card("L-1", "2026-11-23")
    with pytest.raises(NotFound):
        supervision.commitment_card("L-404")
    with pytest.raises(InvalidArgument):
        supervision.commitment_card("L-1", "24.11.2026")


def test_a_refused_finding_writes_nothing_and_a_decision_waits_for_the_hearing(supervision, monkeypatch):
    monkeypatch.setattr("services.common.times.now", lambda: NOW)
    with pytest.raises(InvalidArgument) as error:
        supervision.record_finding(finding(service="business_guidance", found_at=None))
    assert [field for field, _ in error.value.violations] == ["finding.service"]
    with pytest.raises(InvalidArgument) as error:
        supervision.record_finding(finding(inspector_id="in-9", staff_id="cm-9", found_at=None))
    assert {field for field, _ in error.value.violations} == {"finding.inspector_id", "finding.staff_id"}
    assert supervision.findings("", "L-1", "") == []

    recorded = supervision.record_finding(finding(found_at=None))
    assert (recorded.found_at, recorded.staff_id, recorded.card_version) == (NOW, "cm-1", 1)
    with pytest.raises(FailedPrecondition):
        supervision.decide_finding(recorded.id, True, "tl-1", "")
    supervision.record_hearing(recorded.id, "I was ill")
    decided, plan = supervision.decide_finding(recorded.id, True, "tl-1", "")
    assert supervision.findings("cm-1", "", "") == [decided] and plan is None
    with pytest.raises(NotFound):
        supervision.record_hearing("nope", "x")
    with pytest.raises(InvalidArgument):
        supervision.findings("", "", "")


# ---- the printable page -----------------------------------------------------------------


def test_the_page_escapes_every_text_and_speaks_both_languages():
    hostile = CommitmentItem(
        "customer_manager_visit",
        "<script>x</script>",
        "standard",
        ("<i>step</i>",),
        "a & b",
        '"c"',
        {"k": "<v>"},
    )
    message = commitment_card_message(card(hostile).issued_after(None, NOW))
    zh = commitment_card.render(message, "<Shop>", "zh")
    assert "<script>" not in zh and "&lt;script&gt;" in zh and "&lt;Shop&gt;" in zh
    assert "&lt;i&gt;step&lt;/i&gt;" in zh and "a &amp; b" in zh and "&lt;v&gt;" in zh
    assert "服务承诺卡" in zh and "责任部门" in zh and "2026-11-24 09:00 UTC" in zh
    en = commitment_card.render(message, "Shop", "en")
    assert "Service commitment card" in en and "服务承诺卡" not in en
    assert en.count("<tr>") == 2  # the header row and the one item
    assert isinstance(message, epb.CommitmentCard)
