"""A reclassification batch's bulk write (save_reclassified: one guarded UPDATE ... FROM
VALUES per chunk, the history copied from the rows written) stores exactly what plain Core
statements store, on SQLite and PostgreSQL: the current classification of every customer
whose version is still the one read, a history entry only for a change, nothing for a
customer written meanwhile (returned as stale)."""

import datetime

import pytest
import sqlalchemy as sa

from services.classification import domain, storage
from services.classification.domain import Customer, Effect, Outcome
from services.classification.ports import CustomerQuery
from services.classification.storage import SqlUnitOfWork, classifications, customers
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from tests.support.databases import migrated_engine

CREATED = datetime.datetime(2026, 11, 2, 8, 0, tzinfo=datetime.UTC)
MOMENT = datetime.datetime(2026, 11, 24, 21, 30, 5, 123456, tzinfo=datetime.UTC)
SHARED_MENU = {  # one object for several customers, as the memoised rule sets give it
    "scarce_brand_supply": {"allocation_tier": "A"},
    "personal_care": {"care_actions": ["生日问候", "节日问候"]},
}
CURRENT = (*domain.OUTCOME_PARTS, "classified_at", "classification_reason", "version")
HISTORY = tuple(c.name for c in classifications.c if c.name not in {"id", "customer_id"})


def _outcome(grade: int, version: int, services: dict | None = None, star: int = 3) -> Outcome:
    return Outcome(
        grade=grade,
        star_level=star,
        size_class=2,
        classification_code=f"A1{grade}",
        segment="growth" if grade % 2 else "",
        services=SHARED_MENU if services is None else services,
        grading_version=version,
        entitlements_version=version + 1,
        reasons={"grade": f"g-{grade}", "services.scarce_brand_supply": "tier-A"},
        grading_fired=(f"g-{grade}", "star-3"),
        entitlement_fired=() if grade % 3 else ("tier-A",),
    )


@pytest.fixture
def engine(db_url):
    with migrated_engine(db_url, "classification") as engine:
        yield engine


def _register(engine, licences: list[str]) -> None:
    with SqlUnitOfWork(engine) as uow:
        for index, licence in enumerate(licences):
            inputs = domain.normalised_inputs(
                {
                    "licence_number": licence,
                    "name": "Shop",
                    "business_format": "grocery",
                    "market_type": "urban",
                    "monthly_sales_cartons": 30.0 + index,
                }
            )
            customer = Customer.register(inputs, "team-1", _outcome(10, 1), CREATED)
            uow.customers.add(customer)
            uow.customers.add_history(customer)


def _page(engine) -> list[Customer]:
    with SqlUnitOfWork(engine, read_only=True) as uow:
        return uow.customers.comparable_page(CustomerQuery(), 0, 100, explained=True)


def _decide(batch: list[Customer]) -> list[tuple[Customer, Effect]]:
    """Changes (some with the shared menu, one with a menu and star level of its own),
    refreshes (same result on newer versions) and customers left as they are."""
    decided = []
    for index, customer in enumerate(batch):
        if index % 4 == 0:
            outcome = _outcome(10, 2)  # the same noticed result on newer versions: a refresh
        elif index % 4 == 1:
            outcome = _outcome(10, 1)  # the same on the same versions: nothing
        elif index == 2:
            outcome = _outcome(12, 2, services={"free_phone_ordering": {}}, star=4)
        else:
            outcome = _outcome(11 + index % 3, 2)
        effect = customer.record(outcome, domain.RECLASSIFY, MOMENT)
        if effect is not Effect.NOTHING:
            decided.append((customer, effect))
    return decided


def _core_write(engine, decided: list[tuple[Customer, Effect]]) -> None:
    """The same writes as plain Core statements (SQLAlchemy processing every value)."""
    with SqlUnitOfWork(engine) as uow:
        connection = uow.customers.connection
        for customer, effect in decided:
            record = customer.classification
            values = {
                **{name: getattr(record.outcome, name) for name in domain.OUTCOME_PARTS},
                "classified_at": record.classified_at,
                "classification_reason": record.reason,
            }
            for name in ("grading_fired", "entitlement_fired"):
                values[name] = list(values[name])
            connection.execute(
                sa.update(customers)
                .where(customers.c.id == customer.id)
                .values(version=customers.c.version + 1, **values)
            )
            if effect is Effect.CHANGE:
                uow.customers.add_history(customer)


def _stored(engine) -> tuple[list, list]:
    """Current columns and history entries as text, as the database holds them, by licence."""
    with engine.connect() as connection:
        current = connection.execute(
            sa.select(
                customers.c.licence_number, *(sa.cast(customers.c[n], sa.Text) for n in CURRENT)
            ).order_by(customers.c.id)
        ).all()
        history = connection.execute(
            sa.select(customers.c.licence_number, *(sa.cast(classifications.c[n], sa.Text) for n in HISTORY))
            .join(customers, customers.c.id == classifications.c.customer_id)
            .order_by(classifications.c.id)
        ).all()
    return current, history


@pytest.mark.parametrize("chunk", [storage._BULK_ROWS, 3])
def test_the_bulk_write_stores_what_core_statements_store(engine, db_url, monkeypatch, chunk):
    monkeypatch.setattr(storage, "_BULK_ROWS", chunk)  # 3: several statements a batch
    licences = [f"L-{n:02d}" for n in range(10)]
    _register(engine, licences)
    decided = _decide(_page(engine))
    with SqlUnitOfWork(engine) as uow:
        assert uow.customers.save_reclassified(decided) == []
    assert all(customer.version == 1 for customer, _ in decided)
    bulk = _stored(engine)

    other = create_database_engine(parse_database_url("test", db_url))  # the same writes, by Core
    try:
        with other.begin() as connection:
            connection.execute(sa.delete(classifications))
            connection.execute(sa.delete(customers))
        _register(other, licences)
        _core_write(other, _decide(_page(other)))
        assert _stored(other) == bulk
    finally:
        other.dispose()

    current, history = bulk
    assert len(current) == 10 and [row[-1] for row in current].count("1") == len(decided)
    changed = [c.licence_number for c, effect in decided if effect is Effect.CHANGE]
    assert [row[0] for row in history] == licences + changed  # registrations, then the changes
    with SqlUnitOfWork(engine, read_only=True) as uow:
        for customer, _ in decided:
            read = uow.customers.get(customer.licence_number)
            assert read.classification == customer.classification
            assert read.version == customer.version


def test_a_customer_written_after_the_read_is_left_as_written_and_returned_stale(engine):
    _register(engine, ["L-1", "L-2", "L-3"])
    batch = _page(engine)
    decided = [(c, c.record(_outcome(15, 2), domain.RECLASSIFY, MOMENT)) for c in batch]
    with SqlUnitOfWork(engine, read_only=True) as uow:
        meanwhile = uow.customers.get("L-2")
    meanwhile.record(_outcome(20, 2, star=5), domain.ON_DEMAND, MOMENT)
    with SqlUnitOfWork(engine) as uow:
        assert uow.customers.save_classification(meanwhile)

    with SqlUnitOfWork(engine) as uow:
        stale = uow.customers.save_reclassified(decided)
    assert [c.licence_number for c in stale] == ["L-2"]
    assert [c.version for c, _ in decided] == [1, 0, 1]
    with SqlUnitOfWork(engine, read_only=True) as uow:
        kept = uow.customers.get("L-2")
        assert kept.classification == meanwhile.classification and kept.version == 1
        for licence in ("L-1", "L-3"):
            assert uow.customers.get(licence).outcome == _outcome(15, 2)
        entries = uow.customers.history(kept, 0, 10)
    assert [entry.reason for entry in entries] == [domain.ON_DEMAND, domain.CREATE]
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(classifications)).scalar_one() == 6


def test_nothing_decided_writes_nothing(engine):
    _register(engine, ["L-1"])
    with SqlUnitOfWork(engine) as uow:
        assert uow.customers.save_reclassified([]) == []
    assert _stored(engine)[0][0][-1] == "0"
