"""Visit record cards (拜访记录卡) and the omission check against the customer's menu.

An omission is an entitled service due at every visit that the card does not show, or a
procedure step of a service done that the card skips. Cards are append-only: a
correction is a new card that supersedes an earlier one, naming who corrects and why.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace

from services.evaluation.domain.errors import Invalid, Refused, require
from services.evaluation.domain.people import check_id

# The standard services delivered at every customer-manager visit; a menu granting one
# of them expects it on every card. Other services are checked for skipped steps only.
DUE_AT_EVERY_VISIT = ("customer_manager_visit", "storefront_image_upkeep", "retail_price_upkeep")
MAX_ITEMS, MAX_STEPS, MAX_TEXT = 20, 20, 2000


@dataclass(frozen=True)
class MenuItem:
    service: str
    steps: int  # how many procedure steps the service description lists
    visits_per_month: int = 0


@dataclass(frozen=True)
class Menu:
    """A customer's service menu as classification gave it."""

    licence_number: str
    items: tuple[MenuItem, ...]
    entitlements_version: int
    customer_manager_id: str = ""
    team_id: str = ""

    @property
    def visits_per_month(self) -> int:
        return max((item.visits_per_month for item in self.items), default=0)


@dataclass(frozen=True)
class VisitItem:
    service: str
    steps_done: tuple[int, ...]
    note: str = ""


@dataclass(frozen=True)
class Omission:
    service: str
    step: int  # 0: the whole service
    description: str


@dataclass(frozen=True)
class VisitCard:
    id: str
    staff_id: str
    licence_number: str
    visited_at: datetime.datetime
    items: tuple[VisitItem, ...]
    notes: str = ""
    recorded_at: datetime.datetime | None = None
    checked: bool = False
    entitlements_version: int = 0
    visits_per_month_due: int = 0
    items_due: int = 0  # services due plus steps of services done: what omissions are counted against
    omissions: tuple[Omission, ...] = ()
    supersedes_card_id: str = ""
    superseded_by_card_id: str = ""
    corrected_by: str = ""
    correction_reason: str = ""

    def validate(self, now: datetime.datetime) -> VisitCard:
        problems = check_id("staff_id", self.staff_id) + check_id("licence_number", self.licence_number)
        if self.visited_at > now:
            problems.append(("visited_at", "must not be in the future"))
        if not self.items:
            problems.append(("items", "a card records at least one service item"))
        if len(self.items) > MAX_ITEMS:
            problems.append(("items", f"at most {MAX_ITEMS} items"))
        seen = set()
        for index, item in enumerate(self.items):
            problems += check_id(f"items[{index}].service", item.service)
            if item.service in seen:
                problems.append((f"items[{index}].service", "appears twice"))
            seen.add(item.service)
            if len(item.steps_done) > MAX_STEPS or any(s < 1 or s > MAX_STEPS for s in item.steps_done):
                problems.append((f"items[{index}].steps_done", f"steps are numbered 1-{MAX_STEPS}"))
            if len(item.note) > MAX_TEXT:
                problems.append((f"items[{index}].note", f"at most {MAX_TEXT} characters"))
        if len(self.notes) > MAX_TEXT:
            problems.append(("notes", f"at most {MAX_TEXT} characters"))
        if self.supersedes_card_id:
            if not self.corrected_by.strip():
                problems.append(("corrected_by", "a correction names who corrects"))
            if not self.correction_reason.strip():
                problems.append(("correction_reason", "a correction says why"))
        elif self.corrected_by or self.correction_reason:
            problems.append(("supersedes_card_id", "names the card a correction replaces"))
        require(problems)
        return self

    def checked_against(self, menu: Menu) -> VisitCard:
        omissions: list[Omission] = []
        done = {item.service: item for item in self.items}
        entitled = {item.service: item for item in menu.items}
        due = 0
        for service in DUE_AT_EVERY_VISIT:
            if service in entitled:
                due += 1
                if service not in done:
                    omissions.append(
                        Omission(service, 0, f"{service} is due at every visit and was not done")
                    )
        for service, item in done.items():
            menu_item = entitled.get(service)
            if menu_item is None:
                continue  # a service outside the menu is recorded, not counted
            due += menu_item.steps
            for step in range(1, menu_item.steps + 1):
                if step not in item.steps_done:
                    omissions.append(Omission(service, step, f"step {step} of {service} was skipped"))
        return replace(
            self,
            checked=True,
            entitlements_version=menu.entitlements_version,
            visits_per_month_due=menu.visits_per_month,
            items_due=due,
            omissions=tuple(omissions),
        )

    def superseding(self, earlier: VisitCard) -> None:
        """Checks that this card may correct ``earlier``."""
        if earlier.superseded_by_card_id:
            raise Refused(
                f"card {earlier.id} was already corrected by {earlier.superseded_by_card_id}", earlier.id
            )
        if (earlier.staff_id, earlier.licence_number) != (self.staff_id, self.licence_number):
            raise Invalid(
                [("supersedes_card_id", "a correction keeps the staff member and customer of the card")]
            )


@dataclass(frozen=True)
class VisitTotals:
    """One staff member's visits in a period (current cards only)."""

    cards: int = 0
    checked_cards: int = 0
    items_due: int = 0
    omissions: int = 0
    visits_by_customer: dict = field(default_factory=dict)  # licence -> visits


def coverage(visits_by_customer: dict[str, int], due_by_customer: dict[str, int]) -> tuple[int, int]:
    """(visits that count, visits due): a customer's extra visits do not make up for another's."""
    done = sum(min(visits_by_customer.get(licence, 0), due) for licence, due in due_by_customer.items())
    return done, sum(due_by_customer.values())
