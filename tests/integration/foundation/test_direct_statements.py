"""The direct statements (compiled once, run on the driver's cursor) on SQLite and
PostgreSQL: literals the statement holds are used, JSON and moments are processed as
SQLAlchemy's own execution processes them, and a value left out is refused by name."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from services.common.config import parse_database_url
from services.common.database import DirectQuery, DirectStatement, create_database_engine

metadata = sa.MetaData()
things = sa.Table(
    "direct_things",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String),
    sa.Column("kind", sa.String),
    sa.Column("parts", sa.JSON),
    sa.Column("at", sa.DateTime(timezone=True)),
)
AT = datetime.datetime(2026, 11, 25, 8, 30, tzinfo=datetime.UTC)
INSERT = DirectStatement(
    sa.insert(things).values(
        kind="fixed", **{name: sa.bindparam(name) for name in ("id", "name", "parts", "at")}
    )
)
READ = DirectQuery(sa.select(things).where(things.c.id == sa.bindparam("_id")))


@pytest.fixture
def engine(db_url):
    engine = create_database_engine(parse_database_url("test", db_url))
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


def test_values_and_literals_are_stored_as_core_stores_them(engine):
    parts = {"services": ["a", "名"], "n": 2**70}
    with engine.begin() as connection:
        processed: dict = {}
        values = {"id": 1, "name": "one", "parts": parts, "at": AT}
        assert INSERT.execute(connection, values, processed) == 1
        assert INSERT.execute(connection, {**values, "id": 2}, processed) == 1  # the JSON encoded once
        connection.execute(sa.insert(things).values(id=3, name="one", kind="fixed", parts=parts, at=AT))
    with engine.connect() as connection:
        direct = READ.first(connection, {"_id": 1})
        core = connection.execute(sa.select(things).where(things.c.id == 3)).mappings().first()
        assert READ.first(connection, {"_id": 99}) is None
    assert {**direct, "id": 3} == dict(core)
    assert (
        direct["kind"] == "fixed" and direct["parts"] == parts and direct["at"].astimezone(datetime.UTC) == AT
    )


def test_a_value_left_out_is_refused_by_name(engine):
    with engine.begin() as connection, pytest.raises(Exception, match="name"):
        INSERT.execute(connection, {"id": 1, "parts": [], "at": AT})
