"""Service supervision (服务监督): the commitment card a customer holds, the findings of
inspection groups about committed items, and accountability for broken commitments.

A card is what the company publishes to a customer: each entitled service with its
content, procedure, standard and the responsible person and team. Cards are versioned
per customer; a new version is issued only when the content changes, so the card a
customer held on a day is the last version issued by the end of that day.

A finding moves open -> heard (the responsible staff member's response) -> upheld or
dismissed (the decision). An upheld finding is a broken commitment (违诺) counted against
the staff member and team in the period the finding falls in.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, replace

from services.evaluation.domain.errors import Invalid, Refused, require
from services.evaluation.domain.people import check_id

NOT_DELIVERED, STANDARD_NOT_MET, CARD_MISMATCH = "not_delivered", "standard_not_met", "card_mismatch"
KINDS = (NOT_DELIVERED, STANDARD_NOT_MET, CARD_MISMATCH)
OPEN, HEARD, UPHELD, DISMISSED = "open", "heard", "upheld", "dismissed"
STATES = (OPEN, HEARD, UPHELD, DISMISSED)
MAX_EVIDENCE, MAX_TEXT = 20, 2000


@dataclass(frozen=True)
class CommitmentItem:
    service: str
    name: str
    kind: str
    procedure_steps: tuple[str, ...]
    standard: str
    commitment: str
    parameters: dict  # the entitlement's parameters, as the menu gives them


@dataclass(frozen=True)
class CommitmentCard:
    licence_number: str
    items: tuple[CommitmentItem, ...]
    entitlements_version: int
    responsible_person: str
    team_id: str
    version: int = 0  # 0: not issued yet
    issued_at: datetime.datetime | None = None

    @property
    def content_key(self) -> str:
        """A digest of what the customer is promised: equal keys, same card."""
        content = {
            "items": [
                [i.service, i.name, i.kind, list(i.procedure_steps), i.standard, i.commitment, i.parameters]
                for i in sorted(self.items, key=lambda item: item.service)
            ],
            "entitlements_version": self.entitlements_version,
            "responsible_person": self.responsible_person,
            "team_id": self.team_id,
        }
        text = json.dumps(content, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def services(self) -> tuple[str, ...]:
        return tuple(item.service for item in self.items)

    def issued_after(self, previous: CommitmentCard | None, at: datetime.datetime) -> CommitmentCard | None:
        """The card as a new version following ``previous``; None when nothing changed."""
        if previous is not None and previous.content_key == self.content_key:
            return None
        return replace(self, version=(previous.version if previous else 0) + 1, issued_at=at)


@dataclass(frozen=True)
class Finding:
    id: str
    inspector_id: str
    licence_number: str
    service: str
    kind: str
    evidence: tuple[str, ...]
    found_at: datetime.datetime
    staff_id: str = ""
    team_id: str = ""
    card_version: int = 0
    state: str = OPEN
    response: str = ""
    heard_at: datetime.datetime | None = None
    decided_by: str = ""
    decision_note: str = ""
    decided_at: datetime.datetime | None = None

    def validate(self, now: datetime.datetime) -> Finding:
        problems = check_id("finding.inspector_id", self.inspector_id)
        problems += check_id("finding.licence_number", self.licence_number)
        problems += check_id("finding.service", self.service)
        if self.staff_id:
            problems += check_id("finding.staff_id", self.staff_id)
        if self.kind not in KINDS:
            problems.append(("finding.kind", f"must be one of {', '.join(KINDS)}"))
        if not self.evidence:
            problems.append(("finding.evidence", "give at least one piece of evidence"))
        elif len(self.evidence) > MAX_EVIDENCE or any(
            not text.strip() or len(text) > MAX_TEXT for text in self.evidence
        ):
            problems.append(
                ("finding.evidence", f"at most {MAX_EVIDENCE} pieces of 1-{MAX_TEXT} characters each")
            )
        if self.found_at > now:
            problems.append(("finding.found_at", "cannot be in the future"))
        require(problems)
        return self

    def against(self, card: CommitmentCard) -> Finding:
        """The finding tied to the customer's card: the service must be one the card
        commits to; the responsible person and team are the card's unless one is named."""
        if self.service not in card.services():
            listed = ", ".join(card.services()) or "none"
            raise Invalid(
                [
                    (
                        "finding.service",
                        f"customer {self.licence_number} is not entitled to it (entitled: {listed})",
                    )
                ]
            )
        return replace(
            self,
            staff_id=self.staff_id or card.responsible_person,
            team_id=card.team_id,
            card_version=card.version,
        )

    def heard(self, response: str, at: datetime.datetime) -> Finding:
        if not response.strip() or len(response) > MAX_TEXT:
            raise Invalid([("response", f"must be 1-{MAX_TEXT} characters")])
        if self.state != OPEN:
            raise Refused(f"finding {self.id} is {self.state}; only an open finding is heard", self.id)
        return replace(self, state=HEARD, response=response, heard_at=at)

    def decided(self, upheld: bool, by: str, note: str, at: datetime.datetime) -> Finding:
        problems = check_id("decided_by", by)
        if len(note) > MAX_TEXT:
            problems.append(("note", f"at most {MAX_TEXT} characters"))
        require(problems)
        if self.state == OPEN:
            raise Refused(
                f"finding {self.id} has had no hearing; record the staff member's response first", self.id
            )
        if self.state != HEARD:
            raise Refused(f"finding {self.id} is already decided ({self.state})", self.id)
        return replace(
            self, state=UPHELD if upheld else DISMISSED, decided_by=by, decision_note=note, decided_at=at
        )

    @property
    def broken_commitment(self) -> bool:
        return self.state == UPHELD


def broken_commitments(findings, window: tuple[datetime.datetime, datetime.datetime]) -> dict[str, int]:
    """Upheld findings per staff member whose finding falls in the window."""
    counts: dict[str, int] = {}
    for finding in findings:
        if finding.broken_commitment and window[0] <= finding.found_at < window[1]:
            counts[finding.staff_id] = counts.get(finding.staff_id, 0) + 1
    return counts
