"""Following classification's changes: a change of what a customer is promised issues
the next commitment-card version, dated at the change.

Classification's change feed gives each history entry (a change of the customer's
classification) with an increasing id and the card it makes. The follower handles them
in id order from the last one it handled (its cursor). Two rules keep the versions true
to the day:

- a gap in the ids may be a write that has not committed yet (PostgreSQL hands out ids
  before commit), so the follower waits at a gap until the change after it has settled
  (is older than the longest write); a gap still there then is an id never used;
- a card is dated at its change, so a change older than the customer's last card (issued
  since, when someone asked for the card before the follower came by) issues nothing:
  that card already shows the menu of a later moment.

A customer that holds no card yet gets its first when the card is first produced (the
gateway, a finding, a return visit): a card that was never published was never held.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from services.evaluation.domain.supervision import CommitmentCard


@dataclass(frozen=True)
class EntitlementChange:
    """One entry of the feed: its id, when it happened, whose, and the card it makes (not
    issued), made from the entry when first asked for: a change of a customer that holds
    no card never needs it."""

    id: int
    changed_at: datetime.datetime
    licence_number: str
    make_card: Callable[[], CommitmentCard] = field(repr=False, compare=False)

    @functools.cached_property
    def card(self) -> CommitmentCard:
        return self.make_card()

    @classmethod
    def of(cls, change_id: int, changed_at: datetime.datetime, card: CommitmentCard) -> EntitlementChange:
        """A change whose card is already made."""
        return cls(change_id, changed_at, card.licence_number, lambda: card)


@dataclass(frozen=True)
class FeedPage:
    """A page of the feed, oldest first, and whether changes were left after it as it was
    read (it was full, or cut short by its size): while they were, the follower reads on."""

    changes: list[EntitlementChange]
    has_more: bool


def followable(
    changes: list[EntitlementChange], cursor: int, now: datetime.datetime, settle: datetime.timedelta
) -> list[EntitlementChange]:
    """The changes after ``cursor`` that can be handled now, in id order: up to the first
    one that follows a gap in the ids and is younger than ``settle``."""
    taken, previous = [], cursor
    for change in sorted(changes, key=lambda c: c.id):
        if change.id <= previous:
            continue
        if change.id != previous + 1 and now - change.changed_at < settle:
            break
        taken.append(change)
        previous = change.id
    return taken


def card_after(change: EntitlementChange, latest: CommitmentCard | None) -> CommitmentCard | None:
    """The card version ``change`` issues after the customer's ``latest``: None when the
    customer holds no card, when ``latest`` was issued after the change or when nothing
    the customer is promised differs."""
    if latest is None or latest.issued_at is None or change.changed_at < latest.issued_at:
        return None
    return change.card.issued_after(latest, change.changed_at)


def issue_all(
    changes: list[EntitlementChange], latest: dict[str, CommitmentCard | None]
) -> list[CommitmentCard]:
    """The versions a batch of changes issues, in order; ``latest`` holds each customer's
    last card before the batch (a customer may change more than once in a batch), and
    a customer missing from it holds none."""
    held = dict(latest)
    issued = []
    for change in changes:
        card = card_after(change, held.get(change.licence_number))
        if card is not None:
            issued.append(card)
            held[change.licence_number] = card
    return issued
