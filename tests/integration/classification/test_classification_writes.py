"""An on-demand classification's writes (the guarded UPDATE and its history entry, run on
the driver's cursor) store exactly what Core statements store, read back as written on
SQLite and PostgreSQL, and write nothing when the customer changed after it was read."""

import datetime

import pytest
import sqlalchemy as sa

from services.classification import domain
from services.classification.domain import Customer, Outcome
from services.classification.storage import SqlUnitOfWork, classifications, customers
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.migrations import upgrade_to_head
from services.composition import service_definition

CREATED = datetime.datetime(2026, 11, 2, 8, 0, tzinfo=datetime.UTC)
CLASSIFIED = datetime.datetime(2026, 11, 24, 21, 30, 5, 123456, tzinfo=datetime.UTC)


def _outcome(tier: str, version: int) -> Outcome:
    return Outcome(
        grade=12,
        star_level=3,
        size_class=2,
        classification_code="A12",
        segment="growth",
        services={
            "scarce_brand_supply": {"allocation_tier": tier},
            "personal_care": {"care_actions": ["生日问候"]},
        },
        grading_version=version,
        entitlements_version=version + 1,
        reasons={"grade": "g-12", "services.scarce_brand_supply": f"tier-{tier}"},
        grading_fired=("g-12", "star-3"),
        entitlement_fired=(f"tier-{tier}",),
    )


@pytest.fixture
def engine(db_url):
    engine = create_database_engine(parse_database_url("test", db_url))
    upgrade_to_head(service_definition("classification").migrations_dir, engine)
    yield engine
    engine.dispose()


def _registered(engine, licence: str) -> Customer:
    inputs = domain.normalised_inputs(
        {
            "licence_number": licence,
            "name": "Shop",
            "business_format": "grocery",
            "market_type": "urban",
            "monthly_sales_cartons": 30.0,
        }
    )
    customer = Customer.register(inputs, "team-1", _outcome("C", 1), CREATED)
    with SqlUnitOfWork(engine) as uow:
        uow.customers.add(customer)
        uow.customers.add_history(customer)
    return customer


CURRENT = (*domain.OUTCOME_PARTS, "classified_at", "classification_reason")
HISTORY = tuple(c.name for c in classifications.c if c.name not in {"id", "customer_id"})


def _stored(engine, table, names, where) -> list[tuple]:
    """The stored values as text, as the database holds them (JSON and moments included)."""
    with engine.connect() as connection:
        return connection.execute(
            sa.select(*(sa.cast(table.c[name], sa.Text) for name in names)).where(where).order_by(table.c.id)
        ).all()


def test_a_classification_is_stored_as_core_statements_store_it_and_reads_back_as_written(engine):
    _registered(engine, "L-1")
    through_core = _registered(engine, "L-2")
    with SqlUnitOfWork(engine, read_only=True) as uow:
        direct = uow.customers.get("L-1")
    direct.record(_outcome("A", 2), domain.ON_DEMAND, CLASSIFIED)
    with SqlUnitOfWork(engine) as uow:
        assert uow.customers.save_classification(direct)
    # The same classification written through plain Core statements.
    through_core.record(_outcome("A", 2), domain.ON_DEMAND, CLASSIFIED)
    with SqlUnitOfWork(engine) as uow:
        uow.customers.save(through_core)
        uow.customers.add_history(through_core)

    with SqlUnitOfWork(engine, read_only=True) as uow:
        read = uow.customers.get("L-1")
        entries = uow.customers.history(read, 0, 10)
    assert read.classification == direct.classification
    assert read.version == direct.version == 1
    assert [entry.reason for entry in entries] == [domain.ON_DEMAND, domain.CREATE]
    assert entries[0] == direct.classification
    assert _stored(engine, customers, CURRENT, customers.c.id == direct.id) == _stored(
        engine, customers, CURRENT, customers.c.id == through_core.id
    )
    assert _stored(engine, classifications, HISTORY, classifications.c.customer_id == direct.id) == _stored(
        engine, classifications, HISTORY, classifications.c.customer_id == through_core.id
    )


def test_a_customer_changed_after_it_was_read_gets_nothing_written(engine):
    _registered(engine, "L-1")
    with SqlUnitOfWork(engine, read_only=True) as uow:
        stale = uow.customers.get("L-1")
        fresh = uow.customers.get("L-1")
    fresh.record(_outcome("B", 2), domain.ON_DEMAND, CLASSIFIED)
    with SqlUnitOfWork(engine) as uow:
        assert uow.customers.save_classification(fresh)
    stale.record(_outcome("A", 3), domain.ON_DEMAND, CLASSIFIED + datetime.timedelta(seconds=1))
    with SqlUnitOfWork(engine) as uow:
        assert not uow.customers.save_classification(stale)
    with SqlUnitOfWork(engine, read_only=True) as uow:
        read = uow.customers.get("L-1")
        entries = uow.customers.history(read, 0, 10)
    assert read.classification == fresh.classification
    assert [entry.outcome.services["scarce_brand_supply"] for entry in entries] == [
        {"allocation_tier": "B"},
        {"allocation_tier": "C"},
    ]
