"""Databases for tests: a SQLite file, or a fresh schema on the local PostgreSQL server."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import Engine

# On a test whose point does not depend on the database (a request refused before anything
# is read or stored), where the ``db_url`` fixture would run it on both: SQLite only.
ONE_DATABASE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

POSTGRES_URL = os.environ.get("RETAILCARE_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("RETAILCARE_TEST_REQUIRE_POSTGRES") == "1"


def _connect() -> psycopg.Connection:
    return psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True)


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        with _connect():
            return None
    except psycopg.Error as error:
        return f"no PostgreSQL at {POSTGRES_URL}: {str(error).splitlines()[0]}"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections use a new, empty schema; dropped afterwards."""
    problem = postgres_available()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _connect() as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with _connect() as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.contextmanager
def database_url(kind: str, tmp_path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        with postgres_schema() as url:
            yield url


@contextlib.contextmanager
def migrated_engine(db_url: str, service: str) -> Iterator[Engine]:
    """An engine on ``db_url`` (the ``db_url`` fixture's) with ``service``'s migrations
    applied, disposed of afterwards."""
    # Imported here: every test imports this module (tests/conftest.py), few need these.
    from services.common.config import parse_database_url
    from services.common.database import create_database_engine
    from services.common.migrations import upgrade_to_head
    from services.composition import service_definition

    engine = create_database_engine(parse_database_url("test", db_url))
    try:
        upgrade_to_head(service_definition(service).migrations_dir, engine)
        yield engine
    finally:
        engine.dispose()
