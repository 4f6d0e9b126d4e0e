"""Alembic, driven from code: one migration history per service, applied at start-up
or by ``retailcare migrate``. Never ``create_all`` over an existing database."""

from __future__ import annotations

import pathlib

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

VERSION_TABLE = "alembic_version"


def alembic_config(migrations_dir: pathlib.Path, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(migrations_dir: pathlib.Path, engine: Engine) -> None:
    command.upgrade(alembic_config(migrations_dir, engine), "head")


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
