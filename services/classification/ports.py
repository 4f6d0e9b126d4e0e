"""What the classification use cases need from storage and from the rule sets, as small
Protocols: storage.py implements them over SQL, the unit tests over memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.classification.domain import (
    ClassificationRecord,
    Customer,
    Effect,
    MarketZone,
    ServiceDescription,
)


@dataclass(frozen=True)
class CustomerQuery:
    """Which customers: equal to each non-empty value (FILTER_FIELDS), and by activity."""

    equals: dict[str, Any] = field(default_factory=dict)
    activity: str = "active"  # active, inactive or all
    # rule set -> version: only customers not decided on every one of them (or never decided)
    off_versions: dict[str, int] = field(default_factory=dict)


class DuplicateLicence(Exception):
    """Another writer stored a customer with this licence number first."""


class CustomerRepository(Protocol):
    def get(self, licence: str) -> Customer | None: ...

    def get_many(self, licences: Iterable[str]) -> dict[str, Customer]: ...

    def add(self, customer: Customer) -> None:
        """Stores a new customer and gives it an id; DuplicateLicence if the licence is taken
        (and then nothing of it is stored)."""

    def save(self, customer: Customer) -> None:
        """Stores the customer's inputs, state and current classification."""

    def add_history(self, customer: Customer) -> None:
        """Appends the customer's current classification to its history."""

    def save_classification(self, customer: Customer) -> bool:
        """Writes the customer's current classification and a history entry of it, only
        if the customer is unchanged since it was read (its version); False, writing
        nothing, when another writer changed it meanwhile."""

    def history(self, customer: Customer, offset: int, limit: int) -> list[ClassificationRecord]:
        """Its history, newest first."""

    def page(self, query: CustomerQuery, after_id: int, limit: int) -> list[Customer]:
        """Customers with an id above after_id, in id order."""

    def count(self, query: CustomerQuery) -> int: ...

    def comparable_page(
        self, query: CustomerQuery, after_id: int, limit: int, explained: bool = False
    ) -> list[Customer]:
        """Like page, but each classification without its explanation (reasons and fired
        rules) unless ``explained``: what a bulk comparison needs, read fast."""

    def save_reclassified(self, decided: list[tuple[Customer, Effect]]) -> list[Customer]:
        """Writes each customer's current classification (and a history entry when the
        effect is CHANGE) only where the customer is unchanged since it was read;
        returns the ones it left alone because another writer changed them."""

    def move_zone(self, zone: MarketZone) -> int:
        """Gives the zone's customers the zone's team; how many moved."""


class ZoneRepository(Protocol):
    def get(self, code: str) -> MarketZone | None: ...

    def save(self, zone: MarketZone) -> None: ...

    def page(self, offset: int, limit: int) -> list[MarketZone]:
        """Zones by code."""


class ServiceDescriptionRepository(Protocol):
    def any(self) -> bool: ...

    def get(self, service: str) -> ServiceDescription | None: ...

    def save(self, description: ServiceDescription) -> None: ...

    def seed(self, descriptions: list[ServiceDescription]) -> None:
        """Stores each description whose service is not stored yet; replicas seeding at
        the same moment are no error."""

    def all(self) -> list[ServiceDescription]:
        """Standard services first, then by service name."""


class UnitOfWork(Protocol):
    """One transaction over the repositories: committed when the ``with`` block ends,
    rolled back when it raises. A read-only one never writes."""

    customers: CustomerRepository
    zones: ZoneRepository
    descriptions: ServiceDescriptionRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc_info) -> None: ...

    def write(self) -> AbstractContextManager[None]:
        """Of a read-only unit of work: a write transaction on what it read from (one
        connection, not two), committed when the block ends, rolled back when it raises.
        What was read before it may have been changed by another writer since: guard the
        writes (save_classification's version)."""


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...


class Decision(Protocol):
    version: int
    outputs: dict
    fired: tuple
    reasons: dict


class DraftRuleSet(Protocol):
    name: str

    def decide(self, facts: dict) -> Decision: ...

    def close(self) -> None: ...


class InvalidDraft(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class CannotDecide(Exception):
    """The facts do not fit the active rule set (not the caller's input)."""


class RuleSets(Protocol):
    def decide(self, rule_set: str, facts: dict) -> Decision:
        """CannotDecide when the facts do not fit the active version."""

    def describe(self, rule_set: str, version: int, rule_id: str) -> str:
        """The rule's description if that version is the one serving, else ''."""

    def memoised(self) -> Callable[[str, dict], Decision]:
        """Like decide, for one bulk run: facts a rule set cannot tell apart are decided
        once (the decisions are shared: never change them)."""

    def serving_versions(self) -> dict[str, int]:
        """The version of each rule set deciding now (0 for one not loaded)."""

    def draft(self, source: str) -> DraftRuleSet:
        """A compiled draft document; InvalidDraft lists what is wrong with it."""
