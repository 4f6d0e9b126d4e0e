"""An on-demand classification's writes (the guarded UPDATE and its history entry, run on
the driver's cursor) store exactly what Core statements store, read back as written on
SQLite and PostgreSQL, and write nothing when the customer changed after it was read; so
does the write on the connection that read the customer, which leaves out the indexed
parts still as read; a customer read on the driver's cursor is what Core reads."""

import dataclasses
import datetime

import pytest
import sqlalchemy as sa

from services.classification import domain, storage
from services.classification.domain import Customer, Outcome
from services.classification.storage import SqlUnitOfWork, classifications, customers
from tests.support.databases import migrated_engine

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
    with migrated_engine(db_url, "classification") as engine:
        yield engine


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


def _graded(tier: str, version: int, grade: int, star_level: int) -> Outcome:
    return dataclasses.replace(_outcome(tier, version), grade=grade, star_level=star_level)


@pytest.mark.parametrize(
    ("grade", "star_level"),
    [(12, 3), (20, 3), (12, 5), (20, 5)],
    ids=["grade-and-star-as-read", "new-grade", "new-star", "both-new"],
)
def test_a_classification_written_on_the_connection_that_read_it_stores_what_core_stores(
    engine, grade, star_level
):
    """The write after a read on the same connection leaves out the indexed parts still as
    read (SQLite would rewrite their index entries); what it stores is the same."""
    _registered(engine, "L-1")
    through_core = _registered(engine, "L-2")
    with SqlUnitOfWork(engine, read_only=True) as uow:
        direct = uow.customers.get("L-1")
        direct.record(_graded("A", 2, grade, star_level), domain.ON_DEMAND, CLASSIFIED)
        with uow.write():
            assert uow.customers.save_classification(direct)
    through_core.record(_graded("A", 2, grade, star_level), domain.ON_DEMAND, CLASSIFIED)
    with SqlUnitOfWork(engine) as uow:
        uow.customers.save(through_core)
        uow.customers.add_history(through_core)

    with SqlUnitOfWork(engine, read_only=True) as uow:
        read = uow.customers.get("L-1")
    assert (read.outcome.grade, read.outcome.star_level, read.version) == (grade, star_level, 1)
    assert read.classification == direct.classification
    assert _stored(engine, customers, CURRENT, customers.c.id == direct.id) == _stored(
        engine, customers, CURRENT, customers.c.id == through_core.id
    )
    assert _stored(engine, classifications, HISTORY, classifications.c.customer_id == direct.id) == _stored(
        engine, classifications, HISTORY, classifications.c.customer_id == through_core.id
    )


def test_a_write_after_the_read_checks_the_version_and_rolls_back_when_it_raises(engine):
    _registered(engine, "L-1")
    with SqlUnitOfWork(engine, read_only=True) as uow:
        stale = uow.customers.get("L-1")
        with SqlUnitOfWork(engine) as other:  # another writer between the read and the write
            other.customers.save(other.customers.get("L-1"))
        stale.record(_graded("A", 2, 20, 5), domain.ON_DEMAND, CLASSIFIED)
        with uow.write():
            assert not uow.customers.save_classification(stale)
    with SqlUnitOfWork(engine, read_only=True) as uow:
        fresh = uow.customers.get("L-1")
        fresh.record(_graded("A", 2, 20, 5), domain.ON_DEMAND, CLASSIFIED)
        with pytest.raises(RuntimeError), uow.write():
            assert uow.customers.save_classification(fresh)
            raise RuntimeError("after the write")
    with SqlUnitOfWork(engine, read_only=True) as uow:
        read = uow.customers.get("L-1")
        entries = uow.customers.history(read, 0, 10)
    assert (read.outcome.grade, read.version, len(entries)) == (12, 1, 1)
    with SqlUnitOfWork(engine) as uow, pytest.raises(TypeError):
        uow.write()


def test_the_indexed_parts_left_out_are_those_the_migrations_index(engine):
    indexed = {
        column
        for index in sa.inspect(engine).get_indexes("customers")
        for column in index["column_names"]
        if column in CURRENT
    }
    assert indexed == set(storage._INDEXED_PARTS)  # noqa: SLF001 - the list the writes use


def test_a_customer_read_on_the_driver_cursor_is_what_core_reads(engine):
    registered = _registered(engine, "L-1")
    with SqlUnitOfWork(engine) as uow:
        registered.deactivate("closed", CLASSIFIED)
        uow.customers.save(registered)
    where = customers.c.licence_number == "L-1"
    with engine.connect() as connection:
        core = dict(connection.execute(storage._READ_CUSTOMER.where(where)).mappings().one())  # noqa: SLF001
    with SqlUnitOfWork(engine, read_only=True) as uow:
        direct = storage._GET_CUSTOMER.first(uow.customers.connection, {"_licence": "L-1"})  # noqa: SLF001
        assert storage._GET_CUSTOMER.first(uow.customers.connection, {"_licence": "L-9"}) is None  # noqa: SLF001
        read = uow.customers.get("L-1")
    assert direct == core
    assert [type(direct[name]) for name in core] == [type(core[name]) for name in core]
    assert (read.active, read.deactivated_at, read.deactivation_reason) == (False, CLASSIFIED, "closed")
