"""In-memory fakes of the classification ports, for unit tests of the use cases: a store
with transactions that roll back, and rule sets decided by a few lines of Python."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from dataclasses import dataclass, field

from services.classification.domain import (
    COMPARED_PARTS,
    ENTITLEMENTS_RULE_SET,
    GRADING_RULE_SET,
    ClassificationRecord,
    Customer,
    Effect,
    MarketZone,
    Outcome,
    ServiceDescription,
)
from services.classification.ports import CannotDecide, CustomerQuery, DuplicateLicence, InvalidDraft


@dataclass
class Store:
    customers: dict[int, Customer] = field(default_factory=dict)
    history: list[tuple[int, ClassificationRecord]] = field(default_factory=list)
    zones: dict[str, MarketZone] = field(default_factory=dict)
    descriptions: dict[str, ServiceDescription] = field(default_factory=dict)
    next_id: int = 1
    writes: int = 0  # customer rows written, to see that nothing was


def _matches(customer: Customer, query: CustomerQuery) -> bool:
    if query.activity != "all" and customer.active != (query.activity == "active"):
        return False
    known = {**customer.inputs, "team_id": customer.team_id}
    if customer.outcome:
        known.update(star_level=customer.outcome.star_level, grade=customer.outcome.grade)
    return all(known.get(name) == value for name, value in query.equals.items() if value)


def _without_explanation(customer: Customer) -> Customer:
    """As a bulk read returns it: the classification without reasons and fired rules."""
    if customer.classification is None:
        return customer
    outcome = Outcome(**{name: getattr(customer.outcome, name) for name in COMPARED_PARTS})
    return dataclasses.replace(
        customer, classification=dataclasses.replace(customer.classification, outcome=outcome)
    )


class FakeCustomers:
    def __init__(self, store: Store):
        self.store = store

    def _write(self, customer: Customer) -> None:
        customer.version += 1
        self.store.customers[customer.id] = copy.deepcopy(customer)
        self.store.writes += 1

    def get(self, licence):
        found = [c for c in self.store.customers.values() if c.licence_number == licence]
        return copy.deepcopy(found[0]) if found else None

    def get_many(self, licences):
        return {licence: c for licence in licences if (c := self.get(licence)) is not None}

    def add(self, customer):
        if self.get(customer.licence_number) is not None:
            raise DuplicateLicence(customer.licence_number)
        customer.id, customer.version = self.store.next_id, 0
        self.store.next_id += 1
        self.store.customers[customer.id] = copy.deepcopy(customer)
        self.store.writes += 1

    def save(self, customer):
        self._write(customer)

    def add_history(self, customer):
        self.store.history.append((customer.id, customer.classification))

    def save_classification(self, customer):
        stored = self.store.customers[customer.id]
        if stored.version != customer.version:
            return False
        stored.classification = copy.deepcopy(customer.classification)
        customer.version = stored.version = stored.version + 1
        self.store.writes += 1
        self.add_history(customer)
        return True

    def history(self, customer, offset, limit):
        entries = [record for owner, record in reversed(self.store.history) if owner == customer.id]
        return entries[offset : offset + limit]

    def page(self, query, after_id, limit):
        chosen = [c for i, c in sorted(self.store.customers.items()) if i > after_id and _matches(c, query)]
        return copy.deepcopy(chosen[:limit])

    def count(self, query):
        return sum(1 for c in self.store.customers.values() if _matches(c, query))

    def comparable_page(self, query, after_id, limit, explained=False):
        page = self.page(query, after_id, limit)
        return page if explained else [_without_explanation(c) for c in page]

    def save_reclassified(self, decided):
        stale = [c for c, _ in decided if self.store.customers[c.id].version != c.version]
        for customer, effect in decided:
            if any(customer is c for c in stale):
                continue
            stored = self.store.customers[customer.id]
            stored.classification = customer.classification
            customer.version = stored.version = stored.version + 1
            self.store.writes += 1
            if effect is Effect.CHANGE:
                self.add_history(customer)
        return stale

    def move_zone(self, zone):
        moved = [c for c in self.store.customers.values() if c.inputs["market_zone"] == zone.code]
        for customer in moved:
            customer.team_id, customer.updated_at = zone.team_id, zone.updated_at
            customer.version += 1
        return len(moved)


class FakeZones:
    def __init__(self, store: Store):
        self.store = store

    def get(self, code):
        return copy.deepcopy(self.store.zones.get(code))

    def save(self, zone):
        self.store.zones[zone.code] = copy.deepcopy(zone)

    def page(self, offset, limit):
        return copy.deepcopy(
            [self.store.zones[code] for code in sorted(self.store.zones)][offset : offset + limit]
        )


class FakeDescriptions:
    def __init__(self, store: Store):
        self.store = store

    def any(self):
        return bool(self.store.descriptions)

    def get(self, service):
        return copy.deepcopy(self.store.descriptions.get(service))

    def save(self, description):
        self.store.descriptions[description.service] = copy.deepcopy(description)

    def seed(self, descriptions):
        for description in descriptions:
            self.store.descriptions.setdefault(description.service, copy.deepcopy(description))

    def all(self):
        ordered = sorted(self.store.descriptions.values(), key=lambda d: d.service)
        return copy.deepcopy(sorted(ordered, key=lambda d: d.kind, reverse=True))


class FakeUnitOfWork:
    """Works on the store directly; puts back what it found when the block raises."""

    def __init__(self, storage: FakeStorage, read_only: bool):
        self.storage = storage
        self.read_only = read_only

    def __enter__(self):
        store = self.storage.store
        self._before = copy.deepcopy(store)
        self.customers, self.zones, self.descriptions = (
            FakeCustomers(store),
            FakeZones(store),
            FakeDescriptions(store),
        )
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None:
            self.storage.store.__dict__.update(self._before.__dict__)
        elif self.read_only:
            assert self.storage.store == self._before, "a read-only unit of work wrote"
        else:
            self.storage.commits += 1

    @contextlib.contextmanager
    def write(self):
        """A read-only unit of work's write transaction: what others wrote before it
        stands; what it writes is put back when the block raises."""
        assert self.read_only, "write() is for a read-only unit of work"
        store = self.storage.store
        self._before = copy.deepcopy(store)
        try:
            yield
        except BaseException:
            store.__dict__.update(self._before.__dict__)
            raise
        self.storage.commits += 1
        self._before = copy.deepcopy(store)


class FakeStorage:
    """The unit-of-work factory of the use cases (ports.UnitOfWorkFactory)."""

    def __init__(self):
        self.store = Store()
        self.commits = 0

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, read_only)


@dataclass(frozen=True)
class FakeDecision:
    version: int
    outputs: dict
    fired: tuple
    reasons: dict


def star_level_of(sales: float) -> int:
    return 5 if sales >= 500 else 4 if sales >= 200 else 3 if sales >= 40 else 2 if sales >= 10 else 1


class FakeRuleSets:
    """Grading by monthly sales, entitlements by star level; ``versions``, ``tiers`` and
    ``grade_step`` (cartons a grade) stand for publishing a new version, ``undecided_below``
    for a grading version that leaves small shops without a star level."""

    def __init__(self):
        self.versions = {GRADING_RULE_SET: 1, ENTITLEMENTS_RULE_SET: 1}
        self.tiers = {5: "A", 4: "B", 3: "C"}
        self.undecided_below = 0.0
        self.grade_step = 20
        self.drafts: dict[str, FakeDraft] = {}

    def grade(self, facts: dict, version: int) -> FakeDecision:
        if "monthly_sales_cartons" not in facts:
            raise CannotDecide("monthly_sales_cartons: is required")
        sales = facts["monthly_sales_cartons"]
        outputs = {
            "grade": min(30, int(sales // self.grade_step) + 1),
            "size_class": 3 if sales >= 200 else 2 if sales >= 40 else 1,
        }
        if sales >= self.undecided_below:
            outputs["star_level"] = star_level_of(sales)
        if outputs.get("star_level") == 5:
            outputs["segment"] = "key_account"
        reasons = {name: f"{name}_rule" for name in outputs}
        return FakeDecision(version, outputs, tuple(reasons.values()), reasons)

    def entitle(self, facts: dict, version: int, tiers: dict) -> FakeDecision:
        services = {"free_phone_ordering": {"channels": ["hotline_400"]}}
        if facts["star_level"] in tiers:
            services["scarce_brand_supply"] = {"allocation_tier": tiers[facts["star_level"]]}
        reasons = {"services": "grant", **{f"services.{s}": f"grant_{s}" for s in services}}
        return FakeDecision(version, {"services": services}, tuple(sorted(reasons.values())), reasons)

    def decide(self, rule_set: str, facts: dict) -> FakeDecision:
        version = self.versions[rule_set]
        if rule_set == GRADING_RULE_SET:
            return self.grade(facts, version)
        return self.entitle(facts, version, self.tiers)

    def describe(self, rule_set, version, rule_id):
        return f"{rule_id} of {rule_set}" if version == self.versions[rule_set] else ""

    def serving_versions(self):
        return dict(self.versions)

    def memoised(self):
        return self.decide

    def draft(self, source):
        if source not in self.drafts:
            raise InvalidDraft(["line 1: not a rule set document"])
        return self.drafts[source]


class FakeDraft:
    """A draft entitlements version with other scarce-brand tiers, or a grading draft that
    needs more sales for each star."""

    def __init__(
        self, rule_sets: FakeRuleSets, name: str, tiers: dict | None = None, sales_factor: float = 1.0
    ):
        self.rule_sets, self.name, self.tiers, self.sales_factor = rule_sets, name, tiers, sales_factor
        self.closed = False

    def decide(self, facts):
        version = self.rule_sets.versions[self.name] + 1
        if self.name == GRADING_RULE_SET:
            return self.rule_sets.grade(
                {**facts, "monthly_sales_cartons": facts["monthly_sales_cartons"] / self.sales_factor},
                version,
            )
        return self.rule_sets.entitle(facts, version, self.tiers)

    def close(self):
        self.closed = True
