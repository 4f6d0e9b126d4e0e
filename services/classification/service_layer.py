"""Use cases of the classification service: load, call the domain, save, commit. One
transaction each; bulk work (import, reclassification) one per batch, so a long run
never holds the database. They return domain objects and plain dataclasses."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from services.classification import domain
from services.classification import metrics as classification_metrics
from services.classification.domain import (
    ENTITLEMENTS_RULE_SET,
    GRADING_RULE_SET,
    INPUT_NAMES,
    ClassificationRecord,
    Customer,
    Effect,
    MarketZone,
    PreviewReport,
    ServiceDescription,
)
from services.classification.ports import (
    CannotDecide,
    CustomerQuery,
    DuplicateLicence,
    InvalidDraft,
    RuleSets,
    UnitOfWork,
    UnitOfWorkFactory,
)
from services.common import paging
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.common.times import now

log = logging.getLogger("retailcare.classification")
CATALOGUE_FILE = pathlib.Path(__file__).parent / "service_catalogue.yaml"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
BATCH = 1000
OPTIMISTIC_ATTEMPTS = 3  # reads and decisions outside the write transaction, per call
DESCRIPTIONS_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Reason:
    output: str  # grade, star_level, services.scarce_brand_supply, ...
    rule_set: str
    version: int
    rule_id: str
    rule_description: str


@dataclass(frozen=True)
class Explanation:
    classification: ClassificationRecord | None
    reasons: list[Reason]


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    errors: list[tuple[int, str, str]]  # (row number, field, what is wrong)


@dataclass(frozen=True)
class DecidedOn:
    """The rule-set versions a stored classification (and the menu it grants) was decided
    on, against the versions active now. Any other active version, newer by number or
    activated by a rollback, means the reclassification job has not reached the customer."""

    grading_version: int
    entitlements_version: int
    active_grading_version: int
    active_entitlements_version: int

    @classmethod
    def of(cls, customer: Customer, active: Mapping[str, int]) -> DecidedOn:
        outcome = customer.outcome
        return cls(
            grading_version=outcome.grading_version if outcome else 0,
            entitlements_version=outcome.entitlements_version if outcome else 0,
            active_grading_version=active.get(GRADING_RULE_SET, 0),
            active_entitlements_version=active.get(ENTITLEMENTS_RULE_SET, 0),
        )

    @property
    def newer_version_active(self) -> bool:
        return (self.grading_version, self.entitlements_version) != (
            self.active_grading_version,
            self.active_entitlements_version,
        )


@dataclass
class ReclassifyProgress:
    total: int
    processed: int = 0
    changed: int = 0  # customers whose classification changed in a way they notice
    failed: int = 0  # the active rule sets could not decide them; left as they were
    skipped: int = 0  # changed by another writer after they were read; left as written
    last_id: int = 0  # the last customer of the batches done: a resumed run continues after it


class Cached:
    """A value read again once it is ``seconds`` old, or at the next read after ``clear``
    (a change made in this process). A read that a ``clear`` overtook is not kept."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._generation = 0
        self._entry: tuple[int, float, Any] | None = None  # (generation, read at, value)

    def get(self, read: Callable[[], Any]) -> Any:
        entry, moment = self._entry, self.clock()
        if entry is not None and entry[0] == self._generation and moment - entry[1] < self.seconds:
            return entry[2]
        generation = self._generation
        value = read()
        if generation == self._generation and self.seconds > 0:
            self._entry = (generation, moment, value)
        return value

    def clear(self) -> None:
        self._generation += 1
        self._entry = None


class ClassificationUseCases:
    def __init__(
        self,
        new_unit_of_work: UnitOfWorkFactory,
        rule_sets: RuleSets,
        descriptions_cache_seconds: float = DESCRIPTIONS_CACHE_SECONDS,
    ):
        self.new_unit_of_work = new_unit_of_work
        self.rule_sets = rule_sets
        # The menu's service descriptions: they change only through update_description,
        # which clears this process's copy; another replica's copy is at most this old.
        self._descriptions = Cached(descriptions_cache_seconds)

    # -- start-up ------------------------------------------------------------------------------
    def load_service_catalogue(self) -> None:
        """Seeds the service descriptions on first start; later edits live in the database."""
        with self.new_unit_of_work() as uow:
            if uow.descriptions.any():
                return
            catalogue = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
            uow.descriptions.seed(
                [ServiceDescription(service=s, updated_at=now(), **entry) for s, entry in catalogue.items()]
            )

    # -- helpers -----------------------------------------------------------------------------
    def _decide(self, inputs: Mapping[str, Any]) -> domain.Outcome:
        outcome = self._outcome(inputs)
        classification_metrics.record(outcome)
        return outcome

    def _outcome(
        self,
        inputs: Mapping[str, Any],
        keep_grading: domain.Outcome | None = None,
        decide: Callable[[str, dict], Any] | None = None,
    ) -> domain.Outcome:
        """Both rule sets decide (with ``decide``, a bulk run's memoised one; uncounted);
        with ``keep_grading``, only the entitlements, on that grading."""
        decide = decide or self.rule_sets.decide
        try:
            if keep_grading is None:
                return domain.classify(inputs, decide)
            return domain.entitle_again(inputs, keep_grading, decide)
        except (domain.IncompleteDecision, CannotDecide) as problem:
            # The active rule sets cannot decide this customer: not the caller's input.
            raise FailedPrecondition(f"cannot classify: {problem}", subject=GRADING_RULE_SET) from None

    @staticmethod
    def _check(uow: UnitOfWork, inputs: Mapping[str, Any]) -> None:
        problems = domain.check_inputs(inputs, lambda code: uow.zones.get(code) is not None)
        if problems:
            raise InvalidArgument(problems)

    @staticmethod
    def _team_of(uow: UnitOfWork, code: str) -> str:
        zone = uow.zones.get(code) if code else None
        return zone.team_id if zone else ""

    @staticmethod
    def _customer(uow: UnitOfWork, licence: str) -> Customer:
        licence = domain.normalise_licence(licence)
        if not licence:
            raise InvalidArgument([("licence_number", "is required")])
        customer = uow.customers.get(licence)
        if customer is None:
            raise NotFound("customer", licence)
        return customer

    def _add(self, uow: UnitOfWork, inputs: dict) -> Customer:
        team_id = self._team_of(uow, inputs["market_zone"])
        customer = Customer.register(inputs, team_id, self._decide(inputs), now())
        try:
            uow.customers.add(customer)
        except DuplicateLicence:
            raise AlreadyExists("customer", customer.licence_number) from None
        uow.customers.add_history(customer)
        return customer

    def _revise(self, uow: UnitOfWork, customer: Customer, values: Mapping[str, Any], fields) -> None:
        inputs = customer.revised_inputs(values, fields)
        self._check(uow, inputs)
        customer.revise(inputs, self._team_of(uow, inputs["market_zone"]), self._decide(inputs), now())
        uow.customers.save(customer)
        uow.customers.add_history(customer)

    # -- customers ---------------------------------------------------------------------------
    def create(self, values: Mapping[str, Any]) -> Customer:
        inputs = domain.normalised_inputs(values)
        with self.new_unit_of_work() as uow:
            self._check(uow, inputs)
            if uow.customers.get(inputs["licence_number"]) is not None:
                raise AlreadyExists("customer", inputs["licence_number"])
            return self._add(uow, inputs)

    def update(self, licence: str, values: Mapping[str, Any], mask: list[str]) -> Customer:
        problems = domain.check_update_mask(mask)
        if problems:
            raise InvalidArgument(problems)
        with self.new_unit_of_work() as uow:
            customer = self._customer(uow, licence)
            try:
                customer.ensure_active()
            except domain.CustomerInactive as inactive:
                raise FailedPrecondition(str(inactive), subject=inactive.licence) from None
            self._revise(uow, customer, values, mask or INPUT_NAMES)
            return customer

    def get(self, licence: str) -> Customer:
        with self.new_unit_of_work(read_only=True) as uow:
            return self._customer(uow, licence)

    def list(self, query: CustomerQuery, page_size: int, page_token: str) -> tuple[list[Customer], str]:
        size = paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        scope = f"customers {query.activity} {sorted((k, v) for k, v in query.equals.items() if v)}"
        after = paging.decode_token(page_token, scope)
        with self.new_unit_of_work(read_only=True) as uow:
            customers = uow.customers.page(query, after, size)
        token = paging.encode_token(customers[-1].id, scope) if len(customers) == size else ""
        return customers, token

    def deactivate(self, licence: str, reason: str) -> Customer:
        with self.new_unit_of_work() as uow:
            customer = self._customer(uow, licence)
            if customer.deactivate(reason, now()):
                uow.customers.save(customer)
            return customer

    def classify_on_demand(self, licence: str) -> Customer:
        """Reads and decides outside the write transaction, which then only writes (on the
        connection that read), and only if nobody changed the customer meanwhile (its
        version); after a few such races in a row it decides inside the transaction, as a
        last resort."""
        for _ in range(OPTIMISTIC_ATTEMPTS):
            with self.new_unit_of_work(read_only=True) as uow:
                customer = self._customer(uow, licence)
                customer.record(self._decide(customer.inputs), domain.ON_DEMAND, now())
                with uow.write():
                    if uow.customers.save_classification(customer):
                        return customer
        with self.new_unit_of_work() as uow:
            customer = self._customer(uow, licence)
            customer.record(self._decide(customer.inputs), domain.ON_DEMAND, now())
            uow.customers.save(customer)
            uow.customers.add_history(customer)
            return customer

    def history(
        self, licence: str, page_size: int, page_token: str
    ) -> tuple[list[ClassificationRecord], str]:
        size = paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        with self.new_unit_of_work(read_only=True) as uow:
            customer = self._customer(uow, licence)
            scope = f"history {customer.licence_number}"
            offset = paging.decode_token(page_token, scope)
            entries = uow.customers.history(customer, offset, size)
        return entries, paging.encode_token(offset + size, scope) if len(entries) == size else ""

    def facts(self, licence: str, rule_set: str) -> tuple[str, dict]:
        """The customer's licence number and the facts ``rule_set`` decides it with (a dry
        run of a draft on a real customer): its inputs for the grading, with its stored
        star level for the entitlements."""
        if rule_set not in (GRADING_RULE_SET, ENTITLEMENTS_RULE_SET):
            raise InvalidArgument([("rule_set", f"must be {GRADING_RULE_SET} or {ENTITLEMENTS_RULE_SET}")])
        customer = self.get(licence)
        if rule_set == GRADING_RULE_SET:
            return customer.licence_number, domain.grading_facts(customer.inputs)
        if customer.outcome is None:
            raise FailedPrecondition(
                f"customer {customer.licence_number} has no star level yet; classify it first",
                subject=customer.licence_number,
            )
        return customer.licence_number, domain.entitlement_facts(customer.inputs, customer.outcome.star_level)

    def explain(self, licence: str) -> Explanation:
        customer = self.get(licence)
        explained = customer.outcome.explained() if customer.outcome else []
        reasons = [
            Reason(output, rule_set, version, rule_id, self.rule_sets.describe(rule_set, version, rule_id))
            for output, rule_set, version, rule_id in explained
        ]
        return Explanation(customer.classification, reasons)

    # -- the service menu ----------------------------------------------------------------------
    def descriptions(self) -> list[ServiceDescription]:
        with self.new_unit_of_work(read_only=True) as uow:
            return uow.descriptions.all()

    def update_description(self, values: Mapping[str, Any]) -> ServiceDescription:
        description = ServiceDescription(**values)
        problems = description.problems()
        if problems:
            raise InvalidArgument(problems)
        with self.new_unit_of_work() as uow:
            if uow.descriptions.get(description.service) is None:
                raise NotFound("service", description.service)
            description.updated_at = now()
            uow.descriptions.save(description)
        self._descriptions.clear()
        return description

    def menu(self, licence: str) -> tuple[Customer, list[tuple[ServiceDescription, dict]]]:
        """The customer's services, described; the descriptions come from a copy at most
        ``descriptions_cache_seconds`` old (see __init__), not read on every call."""
        with self.new_unit_of_work(read_only=True) as uow:
            customer = self._customer(uow, licence)
            descriptions = self.menu_descriptions(uow.descriptions.all)
        return customer, domain.menu(customer, descriptions)

    def menu_descriptions(self, read: Callable[[], list[ServiceDescription]]) -> list[ServiceDescription]:
        """The menus' service descriptions: this process's copy (see __init__), or ``read()``'s."""
        return self._descriptions.get(read)

    def decided_on(self, customer: Customer) -> DecidedOn:
        """On which versions the customer's classification and menu were decided, and
        whether another is active (read from memory: no database call)."""
        return DecidedOn.of(customer, self.rule_sets.serving_versions())

    # -- territories ---------------------------------------------------------------------------
    def upsert_zone(self, code: str, name: str, team_id: str) -> MarketZone:
        problems = domain.check_required("zone.", {"code": code, "name": name, "team_id": team_id})
        if problems:
            raise InvalidArgument(problems)
        with self.new_unit_of_work() as uow:
            zone = uow.zones.get(code)
            if zone is None:
                zone = MarketZone(code=code, name=name, team_id=team_id, updated_at=now())
            else:
                try:
                    zone.rename(name, team_id, now())
                except domain.ZoneOwnedElsewhere as owned:
                    raise FailedPrecondition(str(owned), owned.code) from None
            uow.zones.save(zone)
            return zone

    def zones(self, page_size: int, page_token: str) -> tuple[list[MarketZone], str]:
        size = paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        offset = paging.decode_token(page_token, "zones")
        with self.new_unit_of_work(read_only=True) as uow:
            zones = uow.zones.page(offset, size)
        return zones, paging.encode_token(offset + size, "zones") if len(zones) == size else ""

    def reassign_zone(self, code: str, team_id: str) -> tuple[MarketZone, int]:
        problems = domain.check_required("", {"code": code, "team_id": team_id})
        if problems:
            raise InvalidArgument(problems)
        with self.new_unit_of_work() as uow:
            zone = uow.zones.get(code)
            if zone is None:
                raise NotFound("market zone", code)
            zone.reassign(team_id, now())
            uow.zones.save(zone)
            return zone, uow.customers.move_zone(zone)

    # -- bulk work -----------------------------------------------------------------------------
    def import_batch(self, rows: list[tuple[int, Mapping[str, Any]]], update_existing: bool) -> ImportResult:
        """Creates (or updates) every good row of a batch and reports each bad one."""
        created = updated = 0
        errors: list[tuple[int, str, str]] = []
        seen: dict[str, int] = {}
        numbered = [(number, domain.normalised_inputs(values)) for number, values in rows]
        with self.new_unit_of_work() as uow:
            existing = uow.customers.get_many({inputs["licence_number"] for _, inputs in numbered})
            for number, inputs in numbered:
                licence = inputs["licence_number"]
                if licence in seen:
                    errors.append((number, "licence_number", f"repeats row {seen[licence]} of this import"))
                    continue
                seen[licence] = number
                try:
                    if licence not in existing:
                        self._check(uow, inputs)
                        self._add(uow, inputs)
                        created += 1
                    elif update_existing:
                        self._revise(uow, existing[licence], inputs, INPUT_NAMES)
                        updated += 1
                    else:
                        raise AlreadyExists("customer", licence)
                except InvalidArgument as invalid:
                    errors.extend((number, name, why) for name, why in invalid.violations)
                except AlreadyExists as taken:
                    errors.append((number, "licence_number", taken.message))
                except FailedPrecondition as undecided:
                    errors.append((number, "", undecided.message))
        return ImportResult(created, updated, errors)

    def reclassify_stragglers(
        self, batch_size: int, rule_set: str, version: int = 0
    ) -> Iterator[ReclassifyProgress]:
        """The last pass of an activation's job: the active customers not on the serving
        versions, found in SQL. A replica that had not loaded the activation yet may have
        written a customer on the old version after the job's sweep had passed it."""
        query = CustomerQuery(off_versions=self.rule_sets.serving_versions())
        return self.reclassify(query, 0, batch_size, rule_set=rule_set, version=version)

    def _comparable_batches(
        self, query: CustomerQuery, after: int = 0, batch_size: int = BATCH, explained: bool = False
    ) -> Iterator[list[Customer]]:
        """The selected customers after id ``after`` in id order, ``batch_size`` at a time,
        each batch its own read."""
        while True:
            with self.new_unit_of_work(read_only=True) as uow:
                batch = uow.customers.comparable_page(query, after, batch_size, explained)
            if not batch:
                return
            yield batch
            after = batch[-1].id

    def _decide_again(
        self, customer: Customer, serving: Mapping[str, int], rule_set: str, decide
    ) -> domain.Outcome | None:
        """What the job of an activation of ``rule_set`` decides for a customer: nothing
        (None) when it is on the serving versions of both rule sets already, since the same
        inputs on the same versions decide the same. A customer behind on the grading is the
        grading job's, which decides both rule sets (a new grading can change the star level
        the services follow); one behind only on the entitlements is the entitlements job's,
        which decides them alone, keeping the stored grading. A job leaves the other's
        customers to it (None), so each job counts the changes its own version makes,
        however the two jobs' passes interleave."""
        before = customer.outcome
        if before is None:
            return self._outcome(customer.inputs, decide=decide)
        grading_serving = before.grading_version == serving.get(GRADING_RULE_SET)
        if rule_set == GRADING_RULE_SET:
            return None if grading_serving else self._outcome(customer.inputs, decide=decide)
        if not grading_serving or before.entitlements_version == serving.get(ENTITLEMENTS_RULE_SET):
            return None
        return self._outcome(customer.inputs, keep_grading=before, decide=decide)

    def reclassify(
        self,
        query: CustomerQuery,
        after_id: int = 0,
        batch_size: int = BATCH,
        rule_set: str = "",
        version: int = 0,
    ) -> Iterator[ReclassifyProgress]:
        """Progress after each batch (of the customers after ``after_id``, which a resumed
        run passes). A customer changed by another writer between the read and the write
        is left as that writer stored it and counted as skipped. ``rule_set`` is that of
        the activation a job reclassifies for: then only what is not on the serving
        versions is decided again (_decide_again); without it, every customer is. Customers
        the rule sets cannot tell apart are decided once per run (memoised). With
        ``version`` (a job's, of ``rule_set``) the run stops, writing nothing of the batch in
        hand, at a batch any customer of which was decided on another version: a newer one
        began serving, and that version's job counts those customers."""
        with self.new_unit_of_work(read_only=True) as uow:
            progress = ReclassifyProgress(total=uow.customers.count(query))
        # Keeping the stored grading needs its reasons and fired rules read back.
        explained = rule_set == ENTITLEMENTS_RULE_SET
        decide = self.rule_sets.memoised()
        for batch in self._comparable_batches(query, after_id, batch_size, explained):
            moment = now()
            serving = self.rule_sets.serving_versions() if rule_set else {}
            decided, outcomes = [], []
            for customer in batch:
                try:
                    if rule_set:
                        outcome = self._decide_again(customer, serving, rule_set, decide)
                        if outcome is None:
                            continue  # on the serving versions already: nothing to write
                    else:
                        outcome = self._outcome(customer.inputs, decide=decide)
                except FailedPrecondition as problem:
                    progress.failed += 1  # counted and logged; the others are still reclassified
                    log.error(
                        "customer not reclassified",
                        extra={"customer_id": customer.id, "problem": problem.message},
                    )
                    continue
                outcomes.append((customer, outcome))
            if version and any(outcome.version_of(rule_set) != version for _, outcome in outcomes):
                return
            for customer, outcome in outcomes:
                effect = customer.record(outcome, domain.RECLASSIFY, moment)
                if effect is not Effect.NOTHING:
                    decided.append((customer, effect))
            classification_metrics.record_many([outcome for _, outcome in outcomes])
            skipped = set()
            if decided:
                with self.new_unit_of_work() as uow:
                    skipped = {c.id for c in uow.customers.save_reclassified(decided)}
            if skipped:
                classification_metrics.SKIPPED.inc(len(skipped))
                log.warning(
                    "customers changed while being reclassified were left as written",
                    extra={"customer_ids": sorted(skipped)},
                )
            progress.skipped += len(skipped)
            progress.changed += sum(
                1 for customer, effect in decided if effect is Effect.CHANGE and customer.id not in skipped
            )
            progress.processed += len(batch)
            progress.last_id = batch[-1].id
            yield dataclasses.replace(progress)

    def preview(self, draft_source: str, sample_size: int) -> PreviewReport:
        """What a draft rule set would change for the active customers; changes nothing."""
        started = time.perf_counter()
        try:
            draft = self.rule_sets.draft(draft_source)
        except InvalidDraft as invalid:
            raise InvalidArgument([("draft_source", problem) for problem in invalid.problems]) from None
        report = PreviewReport(rule_set=draft.name)

        def decide(name: str, facts: dict):
            return draft.decide(facts) if name == draft.name else self.rule_sets.decide(name, facts)

        try:
            for batch in self._comparable_batches(CustomerQuery()):
                for customer in batch:
                    after = domain.classify_with_draft(customer.inputs, customer.outcome, draft.name, decide)
                    report.count(customer.licence_number, customer.outcome, after, sample_size)
        except (domain.IncompleteDecision, CannotDecide) as problem:
            raise InvalidArgument([("draft_source", f"cannot classify every customer: {problem}")]) from None
        finally:
            draft.close()
        report.seconds = time.perf_counter() - started
        return report
