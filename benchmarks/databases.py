"""Where a benchmark keeps its data: a temporary SQLite file, or a schema of its own on
the local PostgreSQL, made for the run and removed after it."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg

POSTGRES_URL = os.environ.get("RETAILCARE_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """The URL of a fresh schema on POSTGRES_URL, dropped with everything in it at the end."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.contextmanager
def database_url(backend: str, folder: str, name: str) -> Iterator[str]:
    """A URL for ``backend``: a SQLite file ``name``.db in ``folder``, or a fresh schema."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/{name}.db"
        return
    with postgres_schema() as url:
        yield url


def postgres_reachable() -> str:
    """'' when the local PostgreSQL answers, else why not (one line)."""
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return ""
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
