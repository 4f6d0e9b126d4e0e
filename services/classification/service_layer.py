"""Use cases of the classification service: one function each, one transaction each."""

from __future__ import annotations

import logging
import pathlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from services.classification import domain
from services.classification import metrics as classification_metrics
from services.classification.rules import ENTITLEMENTS, GRADING
from services.classification.storage import (
    ClassificationRow,
    CustomerRow,
    MarketZoneRow,
    ServiceDescriptionRow,
)
from services.common import paging
from services.common.database import unit_of_work
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.common.rules.engine import FactsError
from services.common.rules.registry import RuleSetRegistry
from services.common.rules.validation import validate
from services.common.times import now

log = logging.getLogger("retailcare.classification")
CATALOGUE_FILE = pathlib.Path(__file__).parent / "service_catalogue.yaml"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
BATCH = 1000
SUMMARY_COLUMNS = (
    "grade",
    "star_level",
    "classification_code",
    "segment",
    "services",
)  # as Outcome.summary()
FILTER_FIELDS = (
    "business_format",
    "market_type",
    "zone_type",
    "district",
    "market_zone",
    "team_id",
    "star_level",
    "grade",
)


@dataclass
class PreviewReport:
    rule_set: str
    customers: int = 0
    changed: int = 0
    grade_transitions: Counter = field(default_factory=Counter)
    star_transitions: Counter = field(default_factory=Counter)
    gained: Counter = field(default_factory=Counter)
    lost: Counter = field(default_factory=Counter)
    reparameterised: Counter = field(default_factory=Counter)
    sample: list = field(default_factory=list)  # (licence, before Outcome-like dict, after Outcome)
    seconds: float = 0.0


def _filter_clauses(filters: Mapping[str, Any], activity: str) -> list:
    table = CustomerRow.__table__.c
    clauses = [
        getattr(table, name) == value for name, value in filters.items() if name in FILTER_FIELDS and value
    ]
    if activity == "active":
        clauses.append(table.active.is_(True))
    elif activity == "inactive":
        clauses.append(table.active.is_(False))
    return clauses


def _apply_outcome(row: CustomerRow, outcome: domain.Outcome, reason: str, when) -> ClassificationRow:
    values = _outcome_values(outcome)
    for column, value in values.items():
        setattr(row, column, value)
    row.classified_at, row.classification_reason = when, reason
    return ClassificationRow(customer_id=row.id, reason=reason, classified_at=when, **values)


def _outcome_values(outcome: domain.Outcome) -> dict:
    return {
        "grade": outcome.grade,
        "star_level": outcome.star_level,
        "size_class": outcome.size_class,
        "classification_code": outcome.classification_code,
        "segment": outcome.segment,
        "services": outcome.services,
        "reasons": outcome.reasons,
        "grading_fired": list(outcome.grading_fired),
        "entitlement_fired": list(outcome.entitlement_fired),
        "grading_version": outcome.grading_version,
        "entitlements_version": outcome.entitlements_version,
    }


class Classification:
    def __init__(self, engine: Engine, registry: RuleSetRegistry):
        self.engine = engine
        self.registry = registry

    # -- start-up ------------------------------------------------------------------
    def load_service_catalogue(self) -> None:
        """Seeds the service descriptions on first start; later edits live in the database."""
        with unit_of_work(self.engine) as session:
            if session.exec(select(ServiceDescriptionRow).limit(1)).first() is not None:
                return
            for service, entry in yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8")).items():
                session.add(ServiceDescriptionRow(service=service, updated_at=now(), **entry))

    # -- classifying ------------------------------------------------------------------
    def _classify(self, customer: Mapping[str, Any]) -> domain.Outcome:
        try:
            outcome = domain.classify(customer, self.registry.decide)
        except (domain.IncompleteDecision, FactsError) as problem:
            # The active rule sets cannot decide this customer: not the caller's input.
            raise FailedPrecondition(f"cannot classify: {problem}", subject=GRADING.name) from None
        classification_metrics.record(outcome)
        return outcome

    def _known_zone(self, session: Session):
        return lambda code: session.get(MarketZoneRow, code) is not None

    def _team_of(self, session: Session, zone: str) -> str:
        row = session.get(MarketZoneRow, zone) if zone else None
        return row.team_id if row else ""

    def _customer(self, session: Session, licence: str) -> CustomerRow:
        if not licence:
            raise InvalidArgument([("licence_number", "is required")])
        row = session.exec(select(CustomerRow).where(CustomerRow.licence_number == licence)).first()
        if row is None:
            raise NotFound("customer", licence)
        return row

    # -- customers ----------------------------------------------------------------------
    def create(self, values: dict) -> CustomerRow:
        with unit_of_work(self.engine) as session:
            problems = domain.check_customer(values, self._known_zone(session))
            if problems:
                raise InvalidArgument(problems)
            if session.exec(
                select(CustomerRow.id).where(CustomerRow.licence_number == values["licence_number"])
            ).first():
                raise AlreadyExists("customer", values["licence_number"])
            return self._insert(session, values, "create")

    def _insert(self, session: Session, values: dict, reason: str) -> CustomerRow:
        outcome = self._classify(values)
        moment = now()
        row = CustomerRow(
            **values,
            team_id=self._team_of(session, values.get("market_zone", "")),
            created_at=moment,
            updated_at=moment,
        )
        session.add(row)
        session.flush()
        session.add(_apply_outcome(row, outcome, reason, moment))
        return row

    def update(self, licence: str, values: dict, mask: list[str]) -> CustomerRow:
        unknown = [path for path in mask if path not in domain.INPUT_FIELDS]
        if unknown:
            raise InvalidArgument([("update_mask", f"unknown field {path!r}") for path in unknown])
        if "licence_number" in mask:
            raise InvalidArgument([("update_mask", "licence_number names the customer and cannot change")])
        with unit_of_work(self.engine) as session:
            row = self._customer(session, licence)
            if not row.active:
                raise FailedPrecondition(f"customer {licence} is inactive", subject=licence)
            return self._update_row(session, row, values, mask or list(domain.INPUT_FIELDS), "update")

    def _update_row(
        self, session: Session, row: CustomerRow, values: dict, fields: list[str], reason: str
    ) -> CustomerRow:
        merged = {name: getattr(row, name) for name in domain.INPUT_FIELDS}
        merged.update({name: values.get(name) for name in fields if name != "licence_number"})
        for name in domain.TEXT_FIELDS:
            merged[name] = merged[name] or ""
        problems = domain.check_customer(merged, self._known_zone(session))
        if problems:
            raise InvalidArgument(problems)
        outcome = self._classify(merged)
        moment = now()
        for name, value in merged.items():
            setattr(row, name, value)
        row.team_id, row.updated_at = self._team_of(session, merged["market_zone"]), moment
        session.add(_apply_outcome(row, outcome, reason, moment))
        session.add(row)
        return row

    def get(self, licence: str) -> CustomerRow:
        with Session(self.engine) as session:
            return self._customer(session, licence)

    def list(
        self, filters: dict, activity: str, page_size: int, page_token: str
    ) -> tuple[list[CustomerRow], str]:
        size, after = (
            paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
            paging.decode_token(page_token),
        )
        with Session(self.engine) as session:
            query = select(CustomerRow).where(CustomerRow.id > after, *_filter_clauses(filters, activity))
            rows = session.exec(query.order_by(CustomerRow.id).limit(size)).all()
        token = paging.encode_token(rows[-1].id) if len(rows) == size else ""
        return list(rows), token

    def deactivate(self, licence: str, reason: str) -> CustomerRow:
        with unit_of_work(self.engine) as session:
            row = self._customer(session, licence)
            if row.active:
                row.active, row.deactivated_at, row.deactivation_reason = False, now(), reason
                row.updated_at = row.deactivated_at
                session.add(row)
            return row

    def classify_on_demand(self, licence: str) -> CustomerRow:
        with unit_of_work(self.engine) as session:
            row = self._customer(session, licence)
            outcome = self._classify({name: getattr(row, name) for name in domain.INPUT_FIELDS})
            session.add(_apply_outcome(row, outcome, "on_demand", now()))
            session.add(row)
            return row

    def history(
        self, licence: str, page_size: int, page_token: str
    ) -> tuple[CustomerRow, list[ClassificationRow], str]:
        size, offset = (
            paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
            paging.decode_token(page_token),
        )
        with Session(self.engine) as session:
            row = self._customer(session, licence)
            entries = session.exec(
                select(ClassificationRow)
                .where(ClassificationRow.customer_id == row.id)
                .order_by(ClassificationRow.id.desc())
                .offset(offset)
                .limit(size)
            ).all()
        return row, list(entries), paging.encode_token(offset + size) if len(entries) == size else ""

    def rule_description(self, rule_set: str, version: int, rule_id: str) -> str:
        compiled = self.registry.serving(rule_set)
        if compiled.version == version:
            rule = compiled._rules.get(rule_id)  # noqa: SLF001 - same package family
            return rule.description if rule else ""
        return ""

    # -- the service menu -----------------------------------------------------------------
    def descriptions(self) -> list[ServiceDescriptionRow]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(ServiceDescriptionRow).order_by(
                        ServiceDescriptionRow.kind.desc(), ServiceDescriptionRow.service
                    )
                )
            )

    def update_description(self, values: dict) -> ServiceDescriptionRow:
        problems = [
            (name, "is required")
            for name in ("service", "name", "standard", "commitment")
            if not values.get(name)
        ]
        if not values.get("procedure_steps"):
            problems.append(("procedure_steps", "list at least one step"))
        if values.get("kind") not in ("standard", "personalised"):
            problems.append(("kind", "must be standard or personalised"))
        if problems:
            raise InvalidArgument([(f"description.{name}", why) for name, why in problems])
        with unit_of_work(self.engine) as session:
            row = session.get(ServiceDescriptionRow, values["service"])
            if row is None:
                raise NotFound("service", values["service"])
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now()
            session.add(row)
            return row

    def menu(self, licence: str) -> tuple[CustomerRow, list[tuple[ServiceDescriptionRow, dict]]]:
        customer = self.get(licence)
        described = {row.service: row for row in self.descriptions()}
        items = []
        for service, parameters in customer.services.items():
            description = described.get(service) or ServiceDescriptionRow(
                service=service,
                name=service,
                kind="",
                procedure_steps=[],
                standard="",
                commitment="",
                updated_at=now(),
            )
            items.append((description, parameters))
        order = list(described)
        items.sort(key=lambda item: order.index(item[0].service) if item[0].service in order else len(order))
        return customer, items

    # -- territories -------------------------------------------------------------------------
    def upsert_zone(self, code: str, name: str, team_id: str) -> MarketZoneRow:
        problems = [
            (f"zone.{f}", "is required")
            for f, v in (("code", code), ("name", name), ("team_id", team_id))
            if not v
        ]
        if problems:
            raise InvalidArgument(problems)
        with unit_of_work(self.engine) as session:
            row = session.get(MarketZoneRow, code)
            if row is not None and row.team_id != team_id:
                raise FailedPrecondition(
                    f"zone {code} belongs to team {row.team_id}; use ReassignMarketZone to move it", code
                )
            row = row or MarketZoneRow(code=code, name=name, team_id=team_id, updated_at=now())
            row.name, row.updated_at = name, now()
            session.add(row)
            return row

    def zones(self) -> list[MarketZoneRow]:
        with Session(self.engine) as session:
            return list(session.exec(select(MarketZoneRow).order_by(MarketZoneRow.code)))

    def reassign_zone(self, code: str, team_id: str) -> tuple[MarketZoneRow, int]:
        if not code or not team_id:
            raise InvalidArgument(
                [(f, "is required") for f, v in (("code", code), ("team_id", team_id)) if not v]
            )
        with unit_of_work(self.engine) as session:
            row = session.get(MarketZoneRow, code)
            if row is None:
                raise NotFound("market zone", code)
            row.team_id, row.updated_at = team_id, now()
            session.add(row)
            moved = session.execute(
                sa.update(CustomerRow)
                .where(CustomerRow.market_zone == code)
                .values(team_id=team_id, updated_at=row.updated_at)
            ).rowcount
            return row, moved

    # -- bulk work -----------------------------------------------------------------------------
    def import_batch(
        self, rows: list[tuple[int, dict]], update_existing: bool
    ) -> tuple[int, int, list[tuple[int, str, str]]]:
        """Creates (or updates) every good row of a batch; returns created, updated, row errors."""
        created = updated = 0
        errors: list[tuple[int, str, str]] = []
        seen: dict[str, int] = {}
        with unit_of_work(self.engine) as session:
            for number, values in rows:
                licence = values.get("licence_number") or ""
                if licence in seen:
                    errors.append((number, "licence_number", f"repeats row {seen[licence]} of this import"))
                    continue
                seen[licence] = number
                try:
                    with session.begin_nested():
                        existing = (
                            session.exec(
                                select(CustomerRow).where(CustomerRow.licence_number == licence)
                            ).first()
                            if licence
                            else None
                        )
                        if existing is None:
                            problems = domain.check_customer(values, self._known_zone(session))
                            if problems:
                                raise InvalidArgument(problems)
                            self._insert(session, values, "create")
                            created += 1
                        elif update_existing:
                            self._update_row(session, existing, values, list(domain.INPUT_FIELDS), "update")
                            updated += 1
                        else:
                            raise InvalidArgument([("licence_number", f"customer {licence} already exists")])
                except (InvalidArgument, FailedPrecondition, IntegrityError) as problem:
                    violations = getattr(problem, "violations", None) or [("", str(problem).splitlines()[0])]
                    errors.extend((number, name, why) for name, why in violations)
        return created, updated, errors

    def reclassify(self, filters: dict, activity: str) -> Iterator[tuple[int, int, int, int]]:
        """Yields (processed, total, changed, failed) after each batch."""
        table = CustomerRow.__table__
        clauses = _filter_clauses(filters, activity)
        with Session(self.engine) as session:
            total = session.execute(
                sa.select(sa.func.count()).select_from(table).where(*clauses)
            ).scalar_one()
        processed = changed = failed = 0
        # Versions and what a customer would notice decide whether anything is written;
        # reasons and fired rules are not read back (decoding them cost a third of the time).
        compared = (*SUMMARY_COLUMNS, "grading_version", "entitlements_version")
        columns = [
            table.c.id,
            *(table.c[name] for name in domain.INPUT_FIELDS),
            *(table.c[name] for name in compared),
        ]
        for batch in self._batches(columns, clauses):
            updates, history = [], []
            moment = now()
            for customer in batch:
                try:
                    outcome = self._classify(customer)
                except FailedPrecondition as problem:
                    failed += 1  # counted and logged; the others are still reclassified
                    log.error(
                        "customer not reclassified",
                        extra={"customer_id": customer["id"], "problem": problem.message},
                    )
                    continue
                before = tuple(customer[name] for name in compared)
                if before == (*outcome.summary(), outcome.grading_version, outcome.entitlements_version):
                    continue  # same result on the same versions: nothing to record
                values = _outcome_values(outcome)
                updates.append(
                    {
                        "_id": customer["id"],
                        **values,
                        "classified_at": moment,
                        "classification_reason": "reclassify",
                    }
                )
                # History records what changed for the customer; a new version that
                # decides the same only refreshes the current row's versions and reasons.
                if before[: len(SUMMARY_COLUMNS)] != outcome.summary():
                    changed += 1
                    history.append(
                        {
                            "customer_id": customer["id"],
                            **values,
                            "reason": "reclassify",
                            "classified_at": moment,
                        }
                    )
            if updates:
                with unit_of_work(self.engine) as session:
                    session.execute(
                        sa.update(table).where(table.c.id == sa.bindparam("_id")),
                        updates,
                        execution_options={"synchronize_session": False},
                    )
                    if history:
                        session.execute(sa.insert(ClassificationRow.__table__), history)
            processed += len(batch)
            yield processed, total, changed, failed

    def _batches(self, columns: list, clauses: list) -> Iterator[list]:
        """The selected customers in id order, BATCH at a time, each batch its own read."""
        table = CustomerRow.__table__
        after = 0
        while True:
            with Session(self.engine) as session:
                batch = (
                    session.execute(
                        sa.select(*columns)
                        .where(table.c.id > after, *clauses)
                        .order_by(table.c.id)
                        .limit(BATCH)
                    )
                    .mappings()
                    .all()
                )
            if not batch:
                return
            yield batch
            after = batch[-1]["id"]

    def preview(self, draft_source: str, sample_size: int) -> PreviewReport:
        started = time.perf_counter()
        result = validate(draft_source, self.registry.kinds)
        if not result.valid:
            raise InvalidArgument([("draft_source", str(d)) for d in result.errors])
        draft = result.compiled
        report = PreviewReport(rule_set=draft.name)
        table = CustomerRow.__table__

        def decide(name: str, facts: dict):
            return draft.decide(facts) if name == draft.name else self.registry.decide(name, facts)

        try:
            columns = [
                table.c.id,
                table.c.licence_number,
                *(table.c[name] for name in domain.INPUT_FIELDS),
                *(
                    table.c[name]
                    for name in (*SUMMARY_COLUMNS, "size_class", "grading_version", "entitlements_version")
                ),
            ]
            for batch in self._batches(columns, [table.c.active.is_(True)]):
                for customer in batch:
                    report.customers += 1
                    if draft.name == ENTITLEMENTS.name and customer["star_level"] is not None:
                        after_outcome = _with_services(
                            customer,
                            decide(
                                ENTITLEMENTS.name, domain.entitlement_facts(customer, customer["star_level"])
                            ),
                        )
                    else:
                        after_outcome = domain.classify(customer, decide)
                    _count_change(report, customer, after_outcome, sample_size)
        except (domain.IncompleteDecision, FactsError) as problem:
            raise InvalidArgument([("draft_source", f"cannot classify every customer: {problem}")]) from None
        finally:
            draft.close()
        report.seconds = time.perf_counter() - started
        return report


def _with_services(customer: Mapping[str, Any], decision) -> domain.Outcome:
    return domain.Outcome(
        grade=customer["grade"],
        star_level=customer["star_level"],
        size_class=customer["size_class"],
        classification_code=customer["classification_code"],
        segment=customer["segment"],
        services=decision.outputs.get("services", {}),
        grading_version=customer["grading_version"],
        entitlements_version=decision.version,
    )


def _count_change(
    report: PreviewReport, customer: Mapping[str, Any], outcome: domain.Outcome, sample_size: int
) -> None:
    before = (
        customer["grade"],
        customer["star_level"],
        customer["classification_code"],
        customer["segment"],
        customer["services"],
    )
    if before == outcome.summary():
        return
    report.changed += 1
    if customer["grade"] != outcome.grade:
        report.grade_transitions[(customer["grade"] or 0, outcome.grade)] += 1
    if customer["star_level"] != outcome.star_level:
        report.star_transitions[(customer["star_level"] or 0, outcome.star_level)] += 1
    old_services = customer["services"] or {}
    old, new = set(old_services), set(outcome.services)
    for service in new - old:
        report.gained[service] += 1
    for service in old - new:
        report.lost[service] += 1
    for service in old & new:
        if old_services[service] != outcome.services[service]:
            report.reparameterised[service] += 1
    if len(report.sample) < sample_size:
        report.sample.append((customer["licence_number"], dict(customer), outcome))
