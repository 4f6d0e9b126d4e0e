"""Alembic, driven from code: one migration history per service, applied at start-up
or by ``retailcare migrate``. Never ``create_all`` over an existing database.

Replicas starting together on an empty database would race to create the same tables,
so an upgrade holds a lock for its database: a PostgreSQL advisory lock (per schema),
or a lock file next to a SQLite database. The second one in then finds it at head."""

from __future__ import annotations

import contextlib
import fcntl
import pathlib
from collections.abc import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

VERSION_TABLE = "alembic_version"


def alembic_config(migrations_dir: pathlib.Path, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(migrations_dir: pathlib.Path, engine: Engine) -> None:
    with migration_lock(engine):
        command.upgrade(alembic_config(migrations_dir, engine), "head")


_LOCK_PREFIX = {"prefix": "retailcare.migrations:"}
_LOCK_KEY = "hashtext(:prefix || current_schema())"  # one lock per schema migrated


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Held by one upgrade of a database (PostgreSQL schema, SQLite file) at a time."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text(f"SELECT pg_advisory_lock({_LOCK_KEY})"), _LOCK_PREFIX)
            try:
                yield
            finally:
                connection.execute(text(f"SELECT pg_advisory_unlock({_LOCK_KEY})"), _LOCK_PREFIX)
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file is closed
        yield


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def head_revision(migrations_dir: pathlib.Path, engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(migrations_dir, engine)).get_current_head()


def run_env(context) -> None:
    """The body of every service's ``migrations/env.py``."""
    engine: Engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            version_table=VERSION_TABLE,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
